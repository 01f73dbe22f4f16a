"""The `git-clone` step (Kargo's name and config): check the freight's commit out into work_dir.

A local repository is cloned with `--shared` (no copy of its objects); a URL is cloned normally.
Each checkout is made in a temporary folder and renamed into place; a checkout that already holds
the wanted commit is kept, so running the step again after a crash is instant.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from kargo.model.base import StrictModel
from kargo.steps.base import FreightCommit, Step, StepContext, StepPhase, StepResult, register_step


class GitError(Exception):
    """A git command failed."""


class Checkout(StrictModel):
    """One checkout: which revision, and where under work_dir."""

    commit: str | None = None
    branch: str | None = None
    tag: str | None = None
    from_freight: bool = False
    path: str = Field(min_length=1)

    @model_validator(mode="after")
    def one_revision(self) -> Checkout:
        """Exactly one of commit, branch, tag, fromFreight."""
        chosen = [self.commit, self.branch, self.tag, self.from_freight or None]
        if sum(value is not None for value in chosen) != 1:
            raise ValueError("set exactly one of commit, branch, tag or fromFreight: true")
        return self


class GitCloneConfig(StrictModel):
    """Config of `git-clone`."""

    repo_url: str = Field(alias="repoURL", min_length=1)
    checkout: list[Checkout] = Field(min_length=1)


def is_local(repo_url: str) -> bool:
    """Whether repoURL names a folder on this machine (a path or a file:// URL)."""
    return "://" not in repo_url or repo_url.startswith("file://")


def local_path(repo_url: str) -> Path:
    """The folder a local repoURL names (relative paths are relative to the engine's folder)."""
    return Path(repo_url.removeprefix("file://")).resolve()


async def git(*args: str, cwd: Path | None = None) -> str:
    """Run git and return its output, or raise GitError with what it said."""
    process = await asyncio.create_subprocess_exec(
        "git",
        "-c",
        "advice.detachedHead=false",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {err.decode(errors='replace').strip()}")
    return out.decode().strip()


def freight_commit(ctx: StepContext, repo_url: str) -> FreightCommit:
    """The freight's commit from this repository (or its only commit)."""
    wanted = local_path(repo_url) if is_local(repo_url) else None
    for commit in ctx.commits:
        same = commit.repo_url == repo_url or (
            wanted is not None
            and is_local(commit.repo_url)
            and local_path(commit.repo_url) == wanted
        )
        if same:
            return commit
    if len(ctx.commits) == 1:
        return ctx.commits[0]
    raise GitError(f"freight {ctx.freight} carries no commit from {repo_url}")


async def materialise(repo_url: str, revision: str, destination: Path) -> str:
    """Check revision out at destination (atomically); return the commit id."""
    if (destination / ".git").exists():
        try:
            head = await git("rev-parse", "HEAD", cwd=destination)
            wanted = await git("rev-parse", f"{revision}^{{commit}}", cwd=destination)
            if head == wanted:
                return head
        except GitError:
            pass
        shutil.rmtree(destination)
    source = str(local_path(repo_url)) if is_local(repo_url) else repo_url
    temporary = destination.parent / f".{destination.name}.clone-{uuid.uuid4().hex[:8]}"
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        shared = ["--shared"] if is_local(repo_url) else []
        await git("clone", "--quiet", "--no-checkout", *shared, source, str(temporary))
        await git("checkout", "--quiet", "--detach", revision, cwd=temporary)
        head = await git("rev-parse", "HEAD", cwd=temporary)
        temporary.rename(destination)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return head


@register_step
class GitCloneStep(Step[GitCloneConfig]):
    """Materialise the freight's commit (or a named revision) into the promotion's work_dir."""

    kind = "git-clone"
    config_model = GitCloneConfig

    async def run(self, ctx: StepContext, config: GitCloneConfig) -> StepResult:
        """Clone, or keep the checkout that is already there."""
        outputs: dict[str, Any] = {"checkouts": []}
        try:
            for checkout in config.checkout:
                if checkout.from_freight:
                    revision = freight_commit(ctx, config.repo_url).id
                else:
                    revision = checkout.commit or checkout.tag or f"origin/{checkout.branch}"
                destination = (ctx.work_dir / checkout.path).resolve()
                commit = await materialise(config.repo_url, revision, destination)
                await ctx.emit(f"git-clone: {commit[:12]} at {destination}")
                outputs["checkouts"].append({"path": str(destination), "commit": commit})
        except (GitError, OSError) as exc:
            return StepResult(StepPhase.ERRORED, message=str(exc))
        outputs["commit"] = outputs["checkouts"][0]["commit"]
        outputs["path"] = outputs["checkouts"][0]["path"]
        return StepResult(
            StepPhase.SUCCEEDED, message=f"checked out {outputs['commit'][:12]}", outputs=outputs
        )
