"""Repository credentials as Kargo finds them: a cred-type Secret whose repoURL matches.

A Secret matches when its `repoURL` equals the repository's URL (a trailing `/` or `.git`
aside), or when `repoURLPattern` is set and its regular expression matches the URL.
Exact matches win over patterns; among several of one sort the first by name wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kargo.steps.gitcli import GitCredentials
from kargo.steps.secretstore import StoredSecret, secrets


@dataclass(frozen=True)
class RegistryCredentials:
    """A username and password (or token) for an OCI registry or Helm repository."""

    username: str
    password: str


def _normalised(url: str) -> str:
    return url.strip().rstrip("/").removesuffix(".git").removeprefix("oci://").lower()


def matching_secret(state_dir: Path, project: str, cred_type: str, url: str) -> StoredSecret | None:
    """The project's secret of that cred type whose repoURL (or pattern) matches the URL."""
    candidates = [s for s in secrets(state_dir, project) if s.cred_type == cred_type]
    wanted = _normalised(url)
    for secret in candidates:
        exact = secret.data.get("repoURL")
        if exact and not secret.data.get("repoURLIsRegex") and _normalised(exact) == wanted:
            return secret
    for secret in candidates:
        pattern = secret.data.get("repoURLPattern") or (
            secret.data.get("repoURL") if secret.data.get("repoURLIsRegex") == "true" else None
        )
        if pattern:
            try:
                if re.search(pattern, url):
                    return secret
            except re.error:
                continue
    for secret in candidates:
        exact = secret.data.get("repoURL")
        if cred_type == "image" and exact and wanted.startswith(_normalised(exact) + "/"):
            return secret
    return None


def git_credentials(state_dir: Path, project: str, url: str) -> GitCredentials | None:
    """Credentials for a git repository, when a `git` secret matches."""
    secret = matching_secret(state_dir, project, "git", url)
    if secret is None or "password" not in secret.data:
        return None
    return GitCredentials(secret.data.get("username", ""), secret.data["password"])


def registry_credentials(
    state_dir: Path, project: str, cred_type: str, url: str
) -> RegistryCredentials | None:
    """Credentials for an image registry (`image`) or chart repository (`helm`)."""
    secret = matching_secret(state_dir, project, cred_type, url)
    if secret is None or "password" not in secret.data:
        return None
    return RegistryCredentials(secret.data.get("username", ""), secret.data["password"])
