"""Kargo's `git-push`: push a working tree's commits (or a tag) to its remote, retrying races.

When the remote branch has moved on (a non-fast-forward), the step rebases the local commits
onto it (Kargo's default `AlwaysRebase` policy) and tries again, up to `maxAttempts`; a rebase
that conflicts fails the promotion at once, as no retry can resolve it.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, model_validator

from kargo.model.base import StrictModel
from kargo.steps.base import StepContext, StepPhase, StepResult, register_step
from kargo.steps.failures import CheckedStep, StepErrored, StepFailed
from kargo.steps.gitcli import (
    GitCredentials,
    GitError,
    current_branch,
    git,
    head_commit,
    remote_url,
)
from kargo.steps.repocreds import git_credentials
from kargo.steps.workspace import existing_folder

KIND = "git-push"
_REJECTED = re.compile(r"non-fast-forward|fetch first|\[rejected\]|failed to update ref", re.I)
_PROVIDERS = ("azure", "bitbucket", "gitea", "github", "gitlab")


class GitPushConfig(StrictModel):
    """Config of `git-push`."""

    path: str = Field(min_length=1, description="The working tree whose commits to push.")
    target_branch: str | None = Field(
        default=None, description="The remote branch (default: the branch checked out)."
    )
    generate_target_branch: bool = Field(
        default=False, description="Push to `kargo/promotion/<promotion>`."
    )
    tag: str | None = Field(default=None, description="A tag to push instead of a branch.")
    force: bool = Field(default=False, description="Overwrite the remote branch's history.")
    max_attempts: int = Field(default=10, ge=1, description="Pushes tried before giving up.")
    provider: str | None = Field(
        default=None, description=f"The git provider for `commitURL`: {', '.join(_PROVIDERS)}."
    )

    @model_validator(mode="after")
    def _one_target(self) -> GitPushConfig:
        chosen = [self.target_branch, self.generate_target_branch or None, self.tag]
        if sum(v is not None for v in chosen) > 1:
            raise ValueError("targetBranch, generateTargetBranch and tag exclude each other")
        if self.tag and self.force:
            raise ValueError("force cannot be used with tag")
        if self.provider is not None and self.provider not in _PROVIDERS:
            raise ValueError(f"provider must be one of {', '.join(_PROVIDERS)}")
        return self


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "conflict"


def commit_url(repo_url: str, commit: str, provider: str | None = None) -> str:
    """A browser address of the commit on a known provider, or empty for other remotes."""
    match = re.match(r"^(?:https?://|ssh://git@|git@)([^/:]+)[/:](.+?)(?:\.git)?/?$", repo_url)
    if match is None:
        return ""
    host, path = match.groups()
    name = provider or next((p for p in _PROVIDERS if p in host.lower()), None)
    if name is None and "dev.azure.com" in host:
        name = "azure"
    base = f"https://{host}/{path}"
    if name in ("github", "gitea"):
        return f"{base}/commit/{commit}"
    if name == "gitlab":
        return f"{base}/-/commit/{commit}"
    if name == "bitbucket":
        return f"{base}/commits/{commit}"
    if name == "azure":
        return f"{base}/commit/{commit}"
    return ""


@register_step
class GitPushStep(CheckedStep[GitPushConfig]):
    """Push commits (or a tag) from a working tree to its remote."""

    kind = KIND
    config_model = GitPushConfig
    outputs = {
        "branch": "the remote branch pushed to",
        "commit": "the commit pushed (HEAD after any rebase)",
        "commitURL": "the commit's address on a known git provider",
    }

    async def execute(self, ctx: StepContext, config: GitPushConfig) -> StepResult:
        """Do the step's work."""
        folder = existing_folder(ctx.work_dir, config.path, KIND)
        try:
            url = await remote_url(folder)
        except GitError as exc:
            raise StepErrored(
                KIND, f"{config.path!r} has no origin remote ({exc})", "path"
            ) from exc
        credentials = git_credentials(ctx.state_dir, ctx.project, url)
        if config.tag:
            try:
                await git(
                    "push", "origin", f"refs/tags/{config.tag}", cwd=folder, credentials=credentials
                )
                commit = await git("rev-parse", f"{config.tag}^{{commit}}", cwd=folder)
            except GitError as exc:
                if _REJECTED.search(exc.stderr) or "already exists" in exc.stderr:
                    raise StepFailed(
                        KIND, f"tag {config.tag!r} already exists remotely", "tag"
                    ) from exc
                raise StepErrored(KIND, str(exc)) from exc
            return StepResult(
                StepPhase.SUCCEEDED,
                f"pushed tag {config.tag}",
                {
                    "tag": config.tag,
                    "commit": commit,
                    "commitURL": commit_url(url, commit, config.provider),
                },
            )
        branch = await self._target(ctx, config, folder)
        for attempt in range(1, config.max_attempts + 1):
            try:
                force = ["--force"] if config.force else []
                await git(
                    "push",
                    *force,
                    "origin",
                    f"HEAD:refs/heads/{branch}",
                    cwd=folder,
                    credentials=credentials,
                )
                break
            except GitError as exc:
                if not _REJECTED.search(exc.stderr) or config.force:
                    raise StepErrored(KIND, f"push to {branch} rejected: {exc.stderr}") from exc
                if attempt == config.max_attempts:
                    raise StepErrored(
                        KIND,
                        f"branch {branch} kept moving: gave up after {attempt} attempts",
                        "maxAttempts",
                    ) from exc
                await ctx.emit(f"git-push: {branch} moved on; rebasing (attempt {attempt})")
                await self._rebase(folder, branch, credentials)
        commit = await head_commit(folder)
        await ctx.emit(f"git-push: {commit[:12]} → {branch}")
        return StepResult(
            StepPhase.SUCCEEDED,
            f"pushed {commit[:12]} to {branch}",
            {
                "branch": branch,
                "commit": commit,
                "commitURL": commit_url(url, commit, config.provider),
            },
        )

    async def _target(self, ctx: StepContext, config: GitPushConfig, folder: Path) -> str:
        if config.generate_target_branch:
            return f"kargo/promotion/{ctx.promotion}"
        if config.target_branch:
            return config.target_branch
        branch = await current_branch(folder)
        if branch is None:
            raise StepFailed(
                KIND,
                f"{config.path!r} is on no branch (a commit or tag was checked out); "
                "set targetBranch or generateTargetBranch",
                "targetBranch",
            )
        return branch

    async def _rebase(self, cwd: Path, branch: str, credentials: GitCredentials | None) -> None:
        try:
            await git("fetch", "--quiet", "origin", branch, cwd=cwd, credentials=credentials)
        except GitError as exc:
            raise StepErrored(KIND, f"cannot fetch {branch}: {exc.stderr}") from exc
        try:
            await git("rebase", "--quiet", "FETCH_HEAD", cwd=cwd)
        except GitError as exc:
            try:
                await git("rebase", "--abort", cwd=cwd)
            except GitError:
                pass
            raise StepFailed(
                KIND,
                f"merge conflict: the local commits do not rebase onto {branch} "
                f"({_last_line(exc.stderr)}); resolve it by hand",
            ) from exc
