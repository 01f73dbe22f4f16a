"""Per-commit virtual environments, built with uv from the commit's hashed lock file.

`<state_dir>/envs/<commit>` holds the environment of one commit. It is built in a temporary
folder beside it (`uv venv --relocatable`, `uv pip sync --require-hashes`, then
`uv pip install --no-deps <app>`) and renamed into place, so it either exists complete or not
at all; the same commit again is instant.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from kargo.childenv import child_env


class EnvironmentBuildError(Exception):
    """uv failed to build the environment (bad lock file, hash mismatch, build failure)."""


class UvMissing(EnvironmentBuildError):
    """uv is not installed."""


@dataclass(frozen=True)
class BuiltEnvironment:
    """A ready environment."""

    path: Path
    commit: str
    cached: bool

    @property
    def bin(self) -> Path:
        """Its scripts folder."""
        return self.path / "bin"


def find_uv() -> str:
    """uv from PATH or ~/.local/bin/uv."""
    found = shutil.which("uv")
    if found:
        return found
    fallback = Path.home() / ".local" / "bin" / "uv"
    if fallback.exists():
        return str(fallback)
    raise UvMissing("uv is not installed: neither on PATH nor at ~/.local/bin/uv")


def environment_path(state_dir: Path, commit: str) -> Path:
    """Where the environment of a commit lives."""
    return Path(state_dir).resolve() / "envs" / commit


async def _uv(args: list[str], log: list[str]) -> None:
    # the build backend of the commit runs here: installer settings only, no engine secrets
    env = child_env({"UV_NO_PROGRESS": "1"}, build=True)
    process = await asyncio.create_subprocess_exec(
        find_uv(),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace").strip()
    log.append(f"$ uv {' '.join(args)}\n{text}")
    if process.returncode != 0:
        raise EnvironmentBuildError(
            f"uv {args[0]} {args[1] if len(args) > 1 else ''} failed:\n{text}"
        )


async def build_environment(
    state_dir: Path,
    commit: str,
    app_path: Path,
    lock_file: Path,
    python: str,
    log: list[str] | None = None,
) -> BuiltEnvironment:
    """The environment of `commit`: reused when it exists, else built atomically."""
    log = log if log is not None else []
    final = environment_path(state_dir, commit)
    if (final / "bin" / "python").exists():
        return BuiltEnvironment(final, commit, cached=True)
    if not lock_file.is_file():
        raise EnvironmentBuildError(f"lock file {lock_file} does not exist in the checkout")
    if not app_path.is_dir():
        raise EnvironmentBuildError(f"app folder {app_path} does not exist in the checkout")
    final.parent.mkdir(parents=True, exist_ok=True)
    building = final.parent / f".{commit}.building-{uuid.uuid4().hex[:8]}"
    try:
        await _uv(["venv", "--quiet", "--relocatable", "--python", python, str(building)], log)
        target = ["--python", str(building / "bin" / "python")]
        await _uv(["pip", "sync", "--quiet", "--require-hashes", *target, str(lock_file)], log)
        await _uv(["pip", "install", "--quiet", "--no-deps", *target, str(app_path)], log)
        try:
            os.rename(building, final)
        except OSError:
            if not (final / "bin" / "python").exists():  # not a concurrent build that won
                raise
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return BuiltEnvironment(final, commit, cached=False)
