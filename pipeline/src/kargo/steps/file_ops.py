"""Kargo's file steps: `copy`, `delete` and `file-write`, inside the promotion's work folder."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from kargo.model.base import StrictModel
from kargo.steps.base import StepContext, StepPhase, StepResult, register_step
from kargo.steps.failures import CheckedStep, StepErrored, StepFailed
from kargo.steps.workspace import inside, source_and_target


class CopyConfig(StrictModel):
    """Config of `copy`."""

    in_path: str = Field(min_length=1, description="The file or folder to copy.")
    out_path: str = Field(min_length=1, description="Where to copy it.")


@register_step
class CopyStep(CheckedStep[CopyConfig]):
    """Copy a file or a folder (merged into the destination; `.git` folders are skipped)."""

    kind = "copy"
    config_model = CopyConfig

    async def execute(self, ctx: StepContext, config: CopyConfig) -> StepResult:
        """Do the step's work."""
        source, target = source_and_target(ctx.work_dir, config.in_path, config.out_path, self.kind)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(
                    source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git")
                )
            else:
                shutil.copy2(source, target)
        except OSError as exc:
            raise StepErrored(self.kind, f"cannot copy: {exc.strerror}: {exc.filename}") from exc
        return StepResult(StepPhase.SUCCEEDED, f"copied {config.in_path} to {config.out_path}")


class DeleteConfig(StrictModel):
    """Config of `delete`."""

    path: str | None = Field(default=None, description="A file or folder to delete.")
    paths: list[str] = Field(default_factory=list, description="Files or folders to delete.")
    paths_are_globs: bool = Field(default=False, description="Read the paths as glob patterns.")
    strict: bool = Field(
        default=False, description="Fail when a path does not exist or a glob matches nothing."
    )

    @model_validator(mode="after")
    def _one_of(self) -> DeleteConfig:
        if (self.path is None) == (not self.paths):
            raise ValueError("set exactly one of path or paths")
        return self


@register_step
class DeleteStep(CheckedStep[DeleteConfig]):
    """Delete files or folders."""

    kind = "delete"
    config_model = DeleteConfig

    async def _targets(self, ctx: StepContext, config: DeleteConfig) -> list[Path]:
        field = "path" if config.path is not None else "paths"
        wanted = [config.path] if config.path is not None else config.paths
        targets: list[Path] = []
        for index, pattern in enumerate(wanted):
            where = field if field == "path" else f"paths[{index}]"
            assert pattern is not None
            base = inside(ctx.work_dir, pattern, self.kind, where)
            if config.paths_are_globs:
                matches = [Path(p) for p in glob.glob(str(base), recursive=True)]
                matches = [inside(ctx.work_dir, str(m), self.kind, where) for m in matches]
            else:
                matches = [base] if base.exists() or base.is_symlink() else []
            if not matches and config.strict:
                raise StepFailed(self.kind, f"{pattern!r} matches nothing", where)
            targets += matches
        return targets

    async def execute(self, ctx: StepContext, config: DeleteConfig) -> StepResult:
        """Do the step's work."""
        targets = await self._targets(ctx, config)
        for target in targets:
            if target == ctx.work_dir.resolve():
                raise StepFailed(self.kind, "will not delete the whole work folder", "path")
            try:
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
            except OSError as exc:
                raise StepErrored(
                    self.kind, f"cannot delete {exc.filename}: {exc.strerror}"
                ) from exc
        return StepResult(StepPhase.SUCCEEDED, f"deleted {len(targets)} path(s)")


class FileWriteConfig(StrictModel):
    """Config of `file-write`."""

    path: str = Field(min_length=1, description="The file to write.")
    contents: str = Field(description="What to write (may be empty).")
    permissions: str = Field(default="0600", description="Octal mode, e.g. `0644`.")
    overwrite: bool = Field(default=False, description="Replace an existing file.")

    @field_validator("permissions")
    @classmethod
    def _safe_mode(cls, value: str) -> str:
        try:
            mode = int(value, 8)
        except ValueError:
            raise ValueError(f"{value!r} is not an octal mode such as 0644") from None
        if mode & 0o111 or mode & 0o7000 or mode & 0o002 or mode > 0o777:
            raise ValueError(f"{value}: executable, special and world-writable modes are refused")
        return value


@register_step
class FileWriteStep(CheckedStep[FileWriteConfig]):
    """Write a file with the given contents and permissions."""

    kind = "file-write"
    config_model = FileWriteConfig

    async def execute(self, ctx: StepContext, config: FileWriteConfig) -> StepResult:
        """Do the step's work."""
        target = inside(ctx.work_dir, config.path, self.kind)
        if ".git" in target.relative_to(ctx.work_dir.resolve()).parts:
            raise StepFailed(self.kind, "may not write into a .git folder", "path")
        if target.is_dir():
            raise StepFailed(self.kind, f"{config.path!r} is a folder", "path")
        if target.exists() and not config.overwrite:
            raise StepFailed(self.kind, f"{config.path!r} exists (set overwrite: true)", "path")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(config.contents)
            os.chmod(target, int(config.permissions, 8))
        except OSError as exc:
            raise StepErrored(self.kind, f"cannot write {config.path}: {exc.strerror}") from exc
        return StepResult(StepPhase.SUCCEEDED, f"wrote {len(config.contents)} characters")
