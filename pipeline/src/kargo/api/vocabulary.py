"""`/ui/vocabulary.js`: the model's phases, kinds and annotations as an ES module for the dashboard.

The dashboard imports its constants from here instead of spelling them again, so a phase added to
`kargo.model` reaches the page without a second list to keep in step.
"""

from __future__ import annotations

import json
from enum import StrEnum

from kargo.model.analysis import AnalysisPhase
from kargo.model.promotion import ACTOR_ANNOTATION, ROLLBACK_ANNOTATION, PromotionPhase
from kargo.model.registry import PLURALS
from kargo.model.stage import HOLD_ANNOTATION, HealthState, VerificationPhase


def _phases(phases: type[StrEnum]) -> list[str]:
    return [phase.value for phase in phases]


def _terminal(
    phases: type[PromotionPhase] | type[VerificationPhase] | type[AnalysisPhase],
) -> list[str]:
    return [phase.value for phase in phases if phase.is_terminal()]


def vocabulary() -> dict[str, object]:
    """Every constant the dashboard shares with the server."""
    return {
        "PROMOTION_PHASES": _phases(PromotionPhase),
        "TERMINAL_PROMOTION_PHASES": _terminal(PromotionPhase),
        "VERIFICATION_PHASES": _phases(VerificationPhase),
        "TERMINAL_VERIFICATION_PHASES": _terminal(VerificationPhase),
        "ANALYSIS_PHASES": _phases(AnalysisPhase),
        "HEALTH_STATES": _phases(HealthState),
        "KINDS": dict(sorted(PLURALS.items())),
        "ANNOTATIONS": {
            "actor": ACTOR_ANNOTATION,
            "hold": HOLD_ANNOTATION,
            "rollback": ROLLBACK_ANNOTATION,
        },
    }


def vocabulary_module() -> str:
    """The ES module text: one `export const` per constant."""
    lines = ["// Served by the engine from kargo.model (kargo/api/vocabulary.py); do not copy."]
    lines += [f"export const {name} = {json.dumps(value)};" for name, value in vocabulary().items()]
    return "\n".join(lines) + "\n"
