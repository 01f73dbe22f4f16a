"""The phases the CLI reads from the server, as enums (docs/api.md, Kargo and Argo Rollouts)."""

from __future__ import annotations

import enum


class PromotionPhase(enum.StrEnum):
    """A Promotion's phase; Failed means the change was bad, Errored that something broke."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERRORED = "Errored"
    ABORTED = "Aborted"
    UNKNOWN = "Unknown"

    @classmethod
    def parse(cls, value: object) -> PromotionPhase:
        """The phase named by value, or UNKNOWN."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.UNKNOWN

    def is_terminal(self) -> bool:
        """Whether the promotion has ended."""
        return self in {self.SUCCEEDED, self.FAILED, self.ERRORED, self.ABORTED}


class AnalysisPhase(enum.StrEnum):
    """An AnalysisRun's (or one metric's or measurement's) phase."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    ERROR = "Error"
    INCONCLUSIVE = "Inconclusive"
    UNKNOWN = "Unknown"

    @classmethod
    def parse(cls, value: object) -> AnalysisPhase:
        """The phase named by value, or UNKNOWN."""
        try:
            return cls(str(value))
        except ValueError:
            return cls.UNKNOWN

    def is_terminal(self) -> bool:
        """Whether the run (or metric) has ended."""
        return self in {self.SUCCESSFUL, self.FAILED, self.ERROR, self.INCONCLUSIVE}


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
