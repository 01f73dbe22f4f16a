"""Kargo's `tar` and `untar`, confined to the work folder (no member may escape it)."""

from __future__ import annotations

import fnmatch
import tarfile
from pathlib import Path, PurePosixPath

from pydantic import Field

from kargo.model.base import StrictModel
from kargo.steps.base import StepContext, StepPhase, StepResult, register_step
from kargo.steps.failures import CheckedStep, StepErrored, StepFailed
from kargo.steps.workspace import inside, source_and_target


def ignored(relative: str, patterns: str | None) -> bool:
    """Whether a path matches the `.gitignore`-style patterns (globs by name or by path)."""
    for raw in (patterns or "").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        anchored = pattern.startswith("/")
        pattern = pattern.strip("/")
        parts = PurePosixPath(relative).parts
        if fnmatch.fnmatch(relative, pattern) or (
            not anchored and any(fnmatch.fnmatch(part, pattern) for part in parts)
        ):
            return True
    return False


class TarConfig(StrictModel):
    """Config of `tar`."""

    in_path: str = Field(min_length=1, description="The file or folder to archive.")
    out_path: str = Field(min_length=1, description="The archive to write (replaced if there).")
    ignore: str | None = Field(
        default=None, description="Glob patterns to leave out (.gitignore style)."
    )
    gzip: bool = Field(default=False, description="Compress with gzip.")


@register_step
class TarStep(CheckedStep[TarConfig]):
    """Archive a file or folder."""

    kind = "tar"
    config_model = TarConfig

    async def execute(self, ctx: StepContext, config: TarConfig) -> StepResult:
        """Do the step's work."""
        source, target = source_and_target(ctx.work_dir, config.in_path, config.out_path, self.kind)
        files = (
            [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file())
        )
        base = source.parent if source.is_file() else source
        target.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        with tarfile.open(target, "w:gz" if config.gzip else "w") as archive:
            for file in files:
                relative = file.relative_to(base).as_posix()
                if file == target or ignored(relative, config.ignore):
                    continue
                archive.add(file, arcname=relative, recursive=False)
                count += 1
        return StepResult(StepPhase.SUCCEEDED, f"archived {count} file(s)")


class UntarConfig(StrictModel):
    """Config of `untar`."""

    in_path: str = Field(min_length=1, description="The archive to extract.")
    out_path: str = Field(min_length=1, description="The folder to extract into.")
    strip_components: int = Field(default=0, ge=0, description="Leading path parts to drop.")
    ignore: str | None = Field(
        default=None, description="Glob patterns to skip (.gitignore style)."
    )


@register_step
class UntarStep(CheckedStep[UntarConfig]):
    """Extract a (possibly gzipped) tar archive."""

    kind = "untar"
    config_model = UntarConfig

    async def execute(self, ctx: StepContext, config: UntarConfig) -> StepResult:
        """Do the step's work."""
        source = inside(ctx.work_dir, config.in_path, self.kind, "inPath")
        target = inside(ctx.work_dir, config.out_path, self.kind, "outPath")
        if not source.is_file():
            raise StepErrored(self.kind, f"{config.in_path!r}: no such file", "inPath")
        try:
            archive = tarfile.open(source)
        except tarfile.TarError as exc:
            raise StepFailed(
                self.kind, f"{config.in_path!r} is not a tar archive: {exc}", "inPath"
            ) from exc
        count = 0
        with archive:
            for member in archive.getmembers():
                parts = PurePosixPath(member.name).parts[config.strip_components :]
                if not parts or not (member.isfile() or member.isdir()):
                    continue  # links and devices are never extracted
                relative = "/".join(parts)
                if ignored(relative, config.ignore):
                    continue
                destination = (target / relative).resolve()
                if target.resolve() not in destination.parents:
                    raise StepFailed(
                        self.kind, f"member {member.name!r} would leave outPath", "inPath"
                    )
                if member.isdir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                extracted = archive.extractfile(member)
                if extracted is not None:
                    destination.write_bytes(extracted.read())
                    Path(destination).chmod(member.mode & 0o755 or 0o644)
                    count += 1
        return StepResult(StepPhase.SUCCEEDED, f"extracted {count} file(s)")
