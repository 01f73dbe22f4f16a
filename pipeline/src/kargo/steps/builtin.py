"""Import the built-in step kinds so that they register themselves."""

from __future__ import annotations

from kargo.steps import fail, http, shell
from kargo.steps.base import step_kinds

BUILTIN_KINDS = (fail.FailStep.kind, fail.NoopStep.kind, http.HttpStep.kind, shell.ShellStep.kind)


def builtin_step_kinds() -> list[str]:
    """Names of the built-in step kinds (all registered once this module is imported)."""
    return sorted(k for k in step_kinds() if k in BUILTIN_KINDS)
