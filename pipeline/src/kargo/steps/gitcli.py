"""The git command line for the git steps: one runner, its error, and repository URLs.

Credentials reach git through an inline credential helper that reads them from the child's
environment, so no secret appears in an argument list, a log line or an error message.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_AUTHOR_NAME = "Kargo"
DEFAULT_AUTHOR_EMAIL = "no-reply@kargo.io"  # Kargo's controller default
_HELPER = '!f() { echo "username=$KARGO_GIT_USERNAME"; echo "password=$KARGO_GIT_PASSWORD"; }; f'


class GitError(Exception):
    """A git command failed; `stderr` is what git said."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


@dataclass(frozen=True)
class GitCredentials:
    """A username and password (or token) for an HTTPS remote."""

    username: str
    password: str


def is_local(repo_url: str) -> bool:
    """Whether repoURL names a folder on this machine (a path or a file:// URL)."""
    return "://" not in repo_url or repo_url.startswith("file://")


def local_path(repo_url: str) -> Path:
    """The folder a local repoURL names (relative paths are relative to the engine's folder)."""
    return Path(repo_url.removeprefix("file://")).resolve()


def same_repository(a: str, b: str) -> bool:
    """Whether two repoURLs name the same repository (paths compared resolved, URLs as written)."""
    if a == b:
        return True
    if is_local(a) and is_local(b):
        return local_path(a) == local_path(b)
    return a.rstrip("/").removesuffix(".git") == b.rstrip("/").removesuffix(".git")


def _environment(credentials: GitCredentials | None) -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    if credentials is not None:
        count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
        env[f"GIT_CONFIG_KEY_{count}"] = "credential.helper"
        env[f"GIT_CONFIG_VALUE_{count}"] = _HELPER
        env["GIT_CONFIG_COUNT"] = str(count + 1)
        env["KARGO_GIT_USERNAME"] = credentials.username
        env["KARGO_GIT_PASSWORD"] = credentials.password
    return env


async def git(
    *args: str,
    cwd: Path | None = None,
    credentials: GitCredentials | None = None,
    stdin: str | None = None,
) -> str:
    """Run git and return its output, or raise GitError with what it said."""
    try:
        process = await asyncio.create_subprocess_exec(
            "git",
            "-c",
            "advice.detachedHead=false",
            *args,
            cwd=cwd,
            env=_environment(credentials),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise GitError(f"git {args[0]}: cannot run git: {exc}") from exc
    try:
        out, err = await process.communicate(stdin.encode() if stdin is not None else None)
    except asyncio.CancelledError:  # an aborted promotion or a stopping engine: no git left over
        if process.returncode is None:
            process.kill()
        await asyncio.shield(process.wait())
        raise
    if process.returncode != 0:
        said = err.decode(errors="replace").strip() or out.decode(errors="replace").strip()
        raise GitError(f"git {' '.join(args[:3])}: {said}", said)
    return out.decode().strip()


async def current_branch(work_tree: Path) -> str | None:
    """The branch checked out in a working tree, or None on a detached HEAD."""
    try:
        return await git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=work_tree)
    except GitError:
        return None


async def head_commit(work_tree: Path) -> str:
    """The commit at HEAD."""
    return await git("rev-parse", "HEAD", cwd=work_tree)


async def remote_url(work_tree: Path) -> str:
    """The URL of the working tree's `origin`."""
    return await git("remote", "get-url", "origin", cwd=work_tree)


async def require_work_tree(path: Path) -> None:
    """Raise GitError unless path is the top of a git working tree."""
    top = await git("rev-parse", "--show-toplevel", cwd=path)
    if Path(top).resolve() != path.resolve():
        raise GitError(f"{path} is inside the working tree {top}, not at its top")
