"""Write docs/steps.md, the promotion step reference, from the registered step kinds' models."""

from __future__ import annotations

import sys
from pathlib import Path

import kargo.runtime.steps  # noqa: F401  (registers git-clone, build-venv, deploy)
import kargo.steps.builtin  # noqa: F401  (registers the built-in step kinds)
from kargo.steps.base import step_kinds
from kargo.steps.reference import render_reference

TARGET = Path(__file__).resolve().parent.parent / "docs" / "steps.md"


def main() -> int:
    """Write the reference (or, with --check, fail when it is out of date)."""
    text = render_reference(step_kinds())
    if "--check" in sys.argv[1:]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            sys.stderr.write(f"{TARGET} is out of date: run python scripts/step_reference.py\n")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
