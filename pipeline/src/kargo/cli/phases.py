"""The colours of status words on a terminal (the phases themselves are `kargo.model`'s enums)."""

from __future__ import annotations

GOOD_WORDS = frozenset({"Succeeded", "Successful", "Healthy", "True", "Normal", "Verified", "ok"})
BAD_WORDS = frozenset(
    {"Failed", "Errored", "Error", "Unhealthy", "False", "Warning", "Aborted", "failed"}
)
BUSY_WORDS = frozenset({"Running", "Pending", "Progressing", "Inconclusive", "Verifying"})


def style_for(word: str) -> str | None:
    """The colour a status word gets on a terminal, or None."""
    if word in GOOD_WORDS:
        return "green"
    if word in BAD_WORDS:
        return "red"
    if word in BUSY_WORDS:
        return "yellow"
    return None
