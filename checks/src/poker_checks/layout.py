"""Where things are in the source folder a security request names.

`source` may be the app folder itself (pyproject.toml, requirements.lock, src/) or a checkout of
the whole repository (with app/ and kargo/ inside). In a checkout, or when the app folder's
parent holds kargo/, the pipeline configuration is found too, and with it the stage settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from poker_checks.targets import SecurityRequest


@dataclass(frozen=True)
class SourceLayout:
    """The files the security checks read; None where the request names nothing."""

    app_dir: Path | None
    lock: Path | None
    pyproject: Path | None
    code: Path | None
    config_dir: Path | None


def _repository_of(app_dir: Path, source: Path) -> Path | None:
    for candidate in (source, app_dir.parent):
        if (candidate / "kargo").is_dir():
            return candidate
    return None


def resolve_layout(request: SecurityRequest) -> SourceLayout:
    """The app folder, lock, pyproject.toml, code and pipeline configuration for a request."""
    source = Path(request.source) if request.source else None
    app_dir: Path | None = None
    if source is not None:
        nested = source / "app"
        app_dir = nested if (nested / "pyproject.toml").is_file() else source
    lock = Path(request.lock) if request.lock else None
    if lock is None and app_dir is not None:
        lock = app_dir / "requirements.lock"
    code = None
    if app_dir is not None:
        code = app_dir / "src" if (app_dir / "src").is_dir() else app_dir
    config_dir = Path(request.config_dir) if request.config_dir else None
    if config_dir is None and request.discover_config and app_dir is not None and source:
        repository = _repository_of(app_dir, source)
        config_dir = repository / "kargo" if repository is not None else None
    return SourceLayout(
        app_dir=app_dir,
        lock=lock,
        pyproject=app_dir / "pyproject.toml" if app_dir is not None else None,
        code=code,
        config_dir=config_dir,
    )
