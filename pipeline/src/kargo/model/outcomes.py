"""The words of the engine's answers: what applying did, why freight is not in a stage, what
the audit chain check found.

The engine (`kargo.engine.applying`, `kargo.engine.explaining`) decides them; the API contract and
the CLI read them from here without loading the engine.
"""

from __future__ import annotations

import enum

from kargo.model.base import StrictModel


class ApplyAction(enum.StrEnum):
    """What applying did to one resource (kubectl's words)."""

    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"


class Reason(enum.StrEnum):
    """One thing that keeps freight out of a stage (or says it is there)."""

    IN_STAGE = "InStage"
    WRONG_WAREHOUSE = "WrongWarehouse"
    NOT_VERIFIED_UPSTREAM = "NotVerifiedUpstream"
    SOAKING = "Soaking"
    NEEDS_APPROVAL = "NeedsApproval"
    HELD = "Held"
    NO_POLICY = "NoMatchingPolicy"
    AUTO_PROMOTION_OFF = "AutoPromotionOff"
    NEWER_FREIGHT = "NewerFreightFirst"
    PROMOTION_RUNNING = "PromotionRunning"
    PROMOTION_FAILED = "PromotionFailed"


class ChainReport(StrictModel):
    """The audit trail's hash chain check (the API answers 409 when the chain is broken)."""

    ok: bool
    records: int
    message: str
    broken_at: int | None = None
    checked_with_key: bool = False
    keyed_records: int = 0
