"""Helpers for the step tests: a promotion context, real git repositories, running a step."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

from kargo.steps.base import FreightCommit, FreightImage, Step, StepContext, StepResult


def context(
    tmp_path: Path,
    commits: list[FreightCommit] | None = None,
    images: list[FreightImage] | None = None,
    outputs: dict[str, dict[str, Any]] | None = None,
) -> StepContext:
    """A promotion's context with its own work folder."""
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    return StepContext(
        project="shop",
        stage="dev",
        promotion="dev.01abc.f00d",
        freight="f00d",
        freight_alias="brave-otter",
        commits=commits or [],
        images=images or [],
        work_dir=work,
        state_dir=tmp_path / "state",
        outputs=outputs or {},
    )


def run(step: Step[Any], ctx: StepContext, config: dict[str, Any]) -> StepResult:
    """Validate the config as the engine does and run the step once."""
    return asyncio.run(step.run(ctx, step.config_model.model_validate(config)))


def git(repo: Path, *args: str) -> str:
    """Run git in a folder and return its output."""
    done = subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.test", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def bare_repo(tmp_path: Path, files: dict[str, str], name: str = "remote.git") -> Path:
    """A bare repository (the 'remote') whose main branch holds one commit of `files`."""
    seed = tmp_path / f"{name}-seed"
    seed.mkdir(parents=True)
    git(seed, "init", "-q", "-b", "main")
    for path, text in files.items():
        (seed / path).parent.mkdir(parents=True, exist_ok=True)
        (seed / path).write_text(text)
    git(seed, "add", ".")
    git(seed, "commit", "-q", "-m", "first")
    bare = tmp_path / name
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    return bare


def push_change(bare: Path, tmp_path: Path, path: str, text: str, branch: str = "main") -> str:
    """Someone else commits a change to the remote's branch; returns the new commit."""
    other = tmp_path / f"other-{len(list(tmp_path.iterdir()))}"
    subprocess.run(["git", "clone", "-q", "-b", branch, str(bare), str(other)], check=True)
    (other / path).parent.mkdir(parents=True, exist_ok=True)
    (other / path).write_text(text)
    git(other, "add", ".")
    git(other, "commit", "-q", "-m", f"change {path}")
    git(other, "push", "-q", "origin", branch)
    return git(other, "rev-parse", "HEAD")
