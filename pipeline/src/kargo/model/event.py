"""Events: what happened to which object, why, and how often (Kargo's reasons)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import Field

from kargo.model.base import StrictModel


class EventType(enum.StrEnum):
    """Kubernetes event types."""

    NORMAL = "Normal"
    WARNING = "Warning"


class EventReason(enum.StrEnum):
    """Reasons, named as Kargo names them."""

    PROMOTION_CREATED = "PromotionCreated"
    PROMOTION_STARTED = "PromotionStarted"
    PROMOTION_SUCCEEDED = "PromotionSucceeded"
    PROMOTION_FAILED = "PromotionFailed"
    PROMOTION_ERRORED = "PromotionErrored"
    PROMOTION_ABORTED = "PromotionAborted"
    FREIGHT_CREATED = "FreightCreated"
    FREIGHT_APPROVED = "FreightApproved"
    FREIGHT_VERIFICATION_SUCCEEDED = "FreightVerificationSucceeded"
    FREIGHT_VERIFICATION_FAILED = "FreightVerificationFailed"
    FREIGHT_VERIFICATION_ERRORED = "FreightVerificationErrored"
    FREIGHT_VERIFICATION_ABORTED = "FreightVerificationAborted"
    FREIGHT_VERIFICATION_INCONCLUSIVE = "FreightVerificationInconclusive"
    FREIGHT_VERIFICATION_STARTED = "FreightVerificationStarted"
    FREIGHT_ROLLBACK = "FreightRolledBack"
    DISCOVERY_FAILED = "DiscoveryFailed"
    AUTO_PROMOTION_SKIPPED = "AutoPromotionSkipped"

    def default_type(self) -> EventType:
        """Warning for failures, Normal otherwise."""
        warning = {"Failed", "Errored", "Aborted", "Inconclusive", "Skipped"}
        return (
            EventType.WARNING if any(self.value.endswith(w) for w in warning) else EventType.NORMAL
        )


class ObjectReference(StrictModel):
    """The object an event is about."""

    kind: str
    name: str
    namespace: str = ""


class EventRecord(StrictModel):
    """An event as the API shows it: aggregated by object, reason and message."""

    api_version: str = "v1"
    kind: str = "Event"
    metadata: dict[str, Any] = Field(default_factory=dict)
    involved_object: ObjectReference
    reason: str
    type: EventType
    message: str
    count: int = 1
    first_timestamp: datetime
    last_timestamp: datetime
    annotations: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)
