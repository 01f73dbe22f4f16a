"""The local runtime's promotion step kinds: git-clone, build-venv, deploy."""

from __future__ import annotations

from kargo.runtime.steps import build_venv, deploy, git_clone

__all__ = ["build_venv", "deploy", "git_clone"]
