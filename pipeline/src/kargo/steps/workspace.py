"""Paths in a promotion's work folder: a configured path may never leave it."""

from __future__ import annotations

from pathlib import Path

from kargo.steps.failures import StepErrored, StepFailed


def inside(work_dir: Path, path: str, kind: str, field: str = "path") -> Path:
    """`path` joined to the work folder; a path that escapes it fails the step, naming the field."""
    root = work_dir.resolve()
    if not path:
        raise StepFailed(kind, "must not be empty", field)
    target = (root / path).resolve()
    if target != root and root not in target.parents:
        raise StepFailed(kind, f"{path!r} leaves the promotion's work folder", field)
    return target


def source_and_target(work_dir: Path, in_path: str, out_path: str, kind: str) -> tuple[Path, Path]:
    """`inPath`, which must exist, and `outPath`, both under the work folder."""
    source = inside(work_dir, in_path, kind, "inPath")
    target = inside(work_dir, out_path, kind, "outPath")
    if not source.exists():
        raise StepErrored(kind, f"{in_path!r}: no such file or folder", "inPath")
    return source, target


def existing_file(work_dir: Path, path: str, kind: str, field: str = "path") -> Path:
    """A file under the work folder that must exist (a missing one errors the step)."""
    target = inside(work_dir, path, kind, field)
    if not target.is_file():
        what = "is a folder, not a file" if target.is_dir() else "no such file"
        raise StepErrored(kind, f"{path!r}: {what}", field)
    return target


def existing_folder(work_dir: Path, path: str, kind: str, field: str = "path") -> Path:
    """A folder under the work folder that must exist."""
    target = inside(work_dir, path, kind, field)
    if not target.is_dir():
        what = "is a file, not a folder" if target.exists() else "no such folder"
        raise StepErrored(kind, f"{path!r}: {what}", field)
    return target
