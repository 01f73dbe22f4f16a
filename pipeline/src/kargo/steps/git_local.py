"""Kargo's git steps that change only the local clone: `git-clear`, `git-commit`, `git-tag`."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import Field, model_validator

from kargo.model.base import StrictModel
from kargo.steps.base import StepContext, StepPhase, StepResult, register_step
from kargo.steps.failures import CheckedStep, StepErrored, StepFailed
from kargo.steps.gitcli import GitError, git, head_commit, require_work_tree
from kargo.steps.workspace import existing_folder


async def _work_tree(ctx: StepContext, path: str, kind: str) -> Path:
    """The folder at `path`, which must be a git working tree."""
    folder = existing_folder(ctx.work_dir, path, kind)
    try:
        await require_work_tree(folder)
    except GitError as exc:
        raise StepErrored(kind, f"{path!r} is not a git working tree ({exc})", "path") from exc
    return folder


class GitClearConfig(StrictModel):
    """Config of `git-clear`."""

    path: str = Field(min_length=1, description="The working tree to empty.")


@register_step
class GitClearStep(CheckedStep[GitClearConfig]):
    """Delete everything in a working tree but its `.git` (as `git rm -rf .`)."""

    kind = "git-clear"
    config_model = GitClearConfig

    async def execute(self, ctx: StepContext, config: GitClearConfig) -> StepResult:
        """Do the step's work."""
        folder = await _work_tree(ctx, config.path, self.kind)
        removed = 0
        for entry in folder.iterdir():
            if entry.name == ".git":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        return StepResult(StepPhase.SUCCEEDED, f"cleared {removed} entries from {config.path}")


class GitAuthor(StrictModel):
    """Authorship of one commit (deprecated in Kargo in favour of git-clone's author)."""

    name: str = Field(min_length=1, description="The author's name.")
    email: str = Field(min_length=1, description="The author's email address.")
    signing_key: str | None = Field(default=None, description="Refused: signing unsupported.")


class GitCommitConfig(StrictModel):
    """Config of `git-commit`."""

    path: str = Field(min_length=1, description="The working tree whose changes to commit.")
    message: str | None = Field(default=None, description="The commit message.")
    message_from_steps: list[str] = Field(
        default_factory=list,
        description="Aliases of earlier steps whose `commitMessage` outputs make the message "
        "(older Kargo releases).",
    )
    author: GitAuthor | None = Field(default=None, description="Who the commit is by.")

    @model_validator(mode="after")
    def _a_message(self) -> GitCommitConfig:
        if not self.message and not self.message_from_steps:
            raise ValueError("set message (or messageFromSteps)")
        return self


def composed_message(ctx: StepContext, config: GitCommitConfig) -> str:
    """The commit message: `message`, or the named steps' commitMessage outputs combined."""
    if config.message:
        return config.message
    parts = []
    for alias in config.message_from_steps:
        step = ctx.outputs.get(alias)
        if step is None:
            raise StepFailed(
                "git-commit", f"no earlier step is named {alias!r}", "messageFromSteps"
            )
        part = step.get("commitMessage")
        if part:
            parts.append(str(part))
    if not parts:
        raise StepFailed("git-commit", "the named steps gave no commitMessage", "messageFromSteps")
    if len(parts) == 1:
        return parts[0]
    return "Kargo applied multiple changes\n\nIncluding:\n" + "".join(f"\n{p}" for p in parts)


@register_step
class GitCommitStep(CheckedStep[GitCommitConfig]):
    """Commit every change in a working tree; with no change, report the current HEAD."""

    kind = "git-commit"
    config_model = GitCommitConfig
    outputs = {"commit": "the new commit's id, or HEAD's when there was nothing to commit"}

    async def execute(self, ctx: StepContext, config: GitCommitConfig) -> StepResult:
        """Do the step's work."""
        folder = await _work_tree(ctx, config.path, self.kind)
        message = composed_message(ctx, config)
        if config.author is not None and config.author.signing_key:
            raise StepFailed(self.kind, "commit signing is not supported here", "author.signingKey")
        try:
            await git("add", "--all", ".", cwd=folder)
            staged = await git("status", "--porcelain", cwd=folder)
            if not staged.strip():
                commit = await head_commit(folder)
                return StepResult(
                    StepPhase.SUCCEEDED, "nothing to commit", outputs={"commit": commit}
                )
            who: list[str] = []
            if config.author is not None:
                who = ["-c", f"user.name={config.author.name}"]
                who += ["-c", f"user.email={config.author.email}"]
            await git(
                *who, "commit", "--quiet", "--no-verify", "--file", "-", cwd=folder, stdin=message
            )
            commit = await head_commit(folder)
        except GitError as exc:
            raise StepErrored(self.kind, str(exc)) from exc
        await ctx.emit(f"git-commit: {commit[:12]} {message.splitlines()[0]}")
        return StepResult(StepPhase.SUCCEEDED, f"committed {commit[:12]}", {"commit": commit})


class GitTagConfig(StrictModel):
    """Config of `git-tag`."""

    path: str = Field(min_length=1, description="The working tree whose HEAD to tag.")
    tag: str = Field(min_length=1, description="The tag to create.")
    message: str | None = Field(
        default=None, description="The annotation message (default: the tag's name)."
    )
    force: bool = Field(default=False, description="Replace an existing tag of that name.")


@register_step
class GitTagStep(CheckedStep[GitTagConfig]):
    """Create an annotated tag at HEAD of a working tree."""

    kind = "git-tag"
    config_model = GitTagConfig
    outputs = {"commit": "the commit the tag points at"}

    async def execute(self, ctx: StepContext, config: GitTagConfig) -> StepResult:
        """Do the step's work."""
        folder = await _work_tree(ctx, config.path, self.kind)
        try:
            await git("check-ref-format", f"refs/tags/{config.tag}")
        except GitError as exc:
            raise StepFailed(self.kind, f"{config.tag!r} is not a valid tag name", "tag") from exc
        try:
            commit = await head_commit(folder)
            existing = await git("tag", "--list", config.tag, cwd=folder)
            if existing.strip() and not config.force:
                raise StepFailed(
                    self.kind, f"tag {config.tag!r} already exists (set force: true)", "tag"
                )
            force = ["--force"] if config.force else []
            message = config.message or config.tag
            await git("tag", "--annotate", *force, config.tag, "--message", message, cwd=folder)
        except GitError as exc:
            raise StepErrored(self.kind, str(exc)) from exc
        return StepResult(
            StepPhase.SUCCEEDED, f"tagged {commit[:12]} {config.tag}", {"commit": commit}
        )
