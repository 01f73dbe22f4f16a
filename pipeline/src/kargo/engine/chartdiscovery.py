"""Discover Helm chart versions for a Warehouse `chart` subscription, as Kargo does.

An HTTP(S) chart repository is read from its `index.yaml` (`name` is required); an `oci://`
repository lists the tags of the chart's OCI repository (Helm writes `+` in versions as `_`).
Versions that are semantic versions meeting `semverConstraint` are kept, highest first.
"""

from __future__ import annotations

import httpx
import yaml

from kargo.engine.gitdiscovery import DiscoveryError
from kargo.engine.oci import ImageRepository, RegistryClient, RegistryError
from kargo.engine.versions import ConstraintError, constraint_check, parse_version
from kargo.model.warehouse import ChartDiscoveryResult, ChartSubscription
from kargo.steps.repocreds import RegistryCredentials


def _newest(sub: ChartSubscription, versions: list[str]) -> list[str]:
    try:
        check = constraint_check(sub.semver_constraint or "")
    except ConstraintError as exc:
        raise DiscoveryError(f"semverConstraint: {exc}") from exc
    parsed = [(v, text) for text in versions if (v := parse_version(text, strict=False))]
    kept = sorted(((v, t) for v, t in parsed if check(v)), key=lambda p: p[0], reverse=True)
    return [t for _, t in kept][: sub.discovery_limit]


def _index_versions(sub: ChartSubscription, credentials: RegistryCredentials | None) -> list[str]:
    if not sub.name:
        raise DiscoveryError(f"chart {sub.repo_url}: name is required for an HTTP chart repository")
    url = sub.repo_url.rstrip("/") + "/index.yaml"
    auth = httpx.BasicAuth(credentials.username, credentials.password) if credentials else None
    try:
        response = httpx.get(
            url,
            auth=auth,
            timeout=10.0,
            verify=not sub.insecure_skip_tls_verify,
            follow_redirects=True,
        )
    except httpx.HTTPError as exc:
        raise DiscoveryError(
            f"chart repository {sub.repo_url} is unreachable: {exc.__class__.__name__}"
        ) from exc
    if response.status_code in (401, 403):
        who = "the configured credentials" if credentials else "anonymous access"
        raise DiscoveryError(f"chart repository {sub.repo_url} refused {who}")
    if response.status_code != 200:
        raise DiscoveryError(
            f"chart repository {sub.repo_url}: index.yaml answered {response.status_code}"
        )
    try:
        index = yaml.safe_load(response.text) or {}
    except yaml.YAMLError as exc:
        raise DiscoveryError(f"chart repository {sub.repo_url}: index.yaml is not YAML") from exc
    entries = (index.get("entries") or {}) if isinstance(index, dict) else {}
    if sub.name not in entries:
        raise DiscoveryError(f"chart repository {sub.repo_url} has no chart named {sub.name!r}")
    return [str(e.get("version")) for e in entries[sub.name] or [] if isinstance(e, dict)]


def _oci_versions(sub: ChartSubscription, credentials: RegistryCredentials | None) -> list[str]:
    repository = ImageRepository.parse(sub.repo_url)
    try:
        with RegistryClient(repository, credentials, sub.insecure_skip_tls_verify) as client:
            return [t.replace("_", "+") for t in client.tags()]
    except RegistryError as exc:
        raise DiscoveryError(f"chart {sub.repo_url}: {exc}") from exc


def discover_charts(
    sub: ChartSubscription, credentials: RegistryCredentials | None = None
) -> ChartDiscoveryResult:
    """The subscription's chart versions, highest first, at most `discoveryLimit`."""
    oci = sub.repo_url.startswith("oci://")
    versions = _oci_versions(sub, credentials) if oci else _index_versions(sub, credentials)
    name = sub.name or (sub.repo_url.rstrip("/").rsplit("/", 1)[-1] if oci else "")
    return ChartDiscoveryResult(
        repoURL=sub.repo_url,
        name=name,
        semver_constraint=sub.semver_constraint or "",
        versions=_newest(sub, versions),
    )
