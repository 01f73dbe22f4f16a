"""docs/steps.md is the reference generated from the step models, and is current."""

from __future__ import annotations

import kargo.runtime.steps  # noqa: F401  (registers git-clone, build-venv, deploy)
import kargo.steps.builtin  # noqa: F401
from kargo.steps.base import step_kinds
from kargo.steps.reference import render_reference

from tests.services import REPO_ROOT


def test_the_step_reference_is_current() -> None:
    expected = render_reference(step_kinds())
    current = (REPO_ROOT / "docs" / "steps.md").read_text(encoding="utf-8")
    assert current == expected, "docs/steps.md is out of date: run python scripts/step_reference.py"


def test_the_reference_lists_fields_defaults_and_outputs() -> None:
    text = render_reference(step_kinds())
    assert "| `checkout[].branch` | string | N |  | A branch to check out. |" in text
    assert "| `maxAttempts` | int | N | `10` | Pushes tried before giving up. |" in text
    assert "| `commitURL` | the commit's address on a known git provider |" in text
    assert "## `kustomize-set-image`" in text and "## `argocd-update`" in text
