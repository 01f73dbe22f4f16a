"""Delivery metrics (DORA) per stage, from the promotion history.

- deployment frequency: successful promotions into the stage in the window, and per day;
- lead time for changes: from the freight's discovery (the warehouse saw the commit) to its
  successful promotion into the stage, median over the window;
- change failure rate: of the changes (promotions that are not rollbacks), the share that failed
  or errored, or that a rollback undid before the next change;
- time to restore: from a failed change's end to the next successful promotion of the stage
  (a rollback or a fix), median.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from kargo.model.base import utcnow
from kargo.model.freight import Freight
from kargo.model.promotion import ROLLBACK_ANNOTATION, Promotion, PromotionPhase
from kargo.model.stage import Stage
from kargo.store import Store, list_models

FAILED = (PromotionPhase.FAILED, PromotionPhase.ERRORED)


@dataclass(frozen=True)
class StageMetrics:
    """The four figures of one stage over a window."""

    stage: str
    deployments: int
    per_day: float
    lead_time_seconds: float | None
    changes: int
    failed_changes: int
    time_to_restore_seconds: float | None

    @property
    def change_failure_rate(self) -> float | None:
        """Failed changes over changes (None without changes)."""
        return round(self.failed_changes / self.changes, 4) if self.changes else None

    def to_dict(self) -> dict[str, object]:
        """The API form."""
        return {
            "stage": self.stage,
            "deployments": self.deployments,
            "deploymentsPerDay": self.per_day,
            "leadTimeSeconds": self.lead_time_seconds,
            "changes": self.changes,
            "failedChanges": self.failed_changes,
            "changeFailureRate": self.change_failure_rate,
            "timeToRestoreSeconds": self.time_to_restore_seconds,
        }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _is_rollback(promotion: Promotion) -> bool:
    return ROLLBACK_ANNOTATION in promotion.metadata.annotations


def stage_metrics(
    stage: str,
    promotions: list[Promotion],
    discovered: dict[str, datetime],
    since: datetime,
    now: datetime,
) -> StageMetrics:
    """The metrics of one stage from its promotions (any order) finished after `since`."""
    done = sorted(
        (
            p
            for p in promotions
            if p.spec.stage == stage
            and p.phase.is_terminal()
            and p.phase is not PromotionPhase.ABORTED
            and p.status.finished_at is not None
            and p.status.finished_at >= since
        ),
        key=lambda p: (p.status.finished_at, p.name),
    )
    succeeded = [p for p in done if p.phase is PromotionPhase.SUCCEEDED]
    leads = [
        (p.status.finished_at - discovered[p.spec.freight]).total_seconds()
        for p in succeeded
        if not _is_rollback(p) and p.spec.freight in discovered and p.status.finished_at
    ]
    changes = [p for p in done if not _is_rollback(p)]
    failed: list[Promotion] = []
    for index, promotion in enumerate(done):
        if _is_rollback(promotion):
            continue
        after = done[index + 1] if index + 1 < len(done) else None
        undone = after is not None and _is_rollback(after)
        if promotion.phase in FAILED or undone:
            failed.append(promotion)
    restores: list[float] = []
    for promotion in failed:
        assert promotion.status.finished_at is not None
        start = promotion.status.finished_at
        fixed = next(
            (
                p
                for p in succeeded
                if p.status.finished_at and p.status.finished_at > start and p is not promotion
            ),
            None,
        )
        if fixed is not None and fixed.status.finished_at is not None:
            restores.append((fixed.status.finished_at - start).total_seconds())
    days = max((now - since).total_seconds() / 86400, 1 / 24)
    return StageMetrics(
        stage=stage,
        deployments=len(succeeded),
        per_day=round(len(succeeded) / days, 2),
        lead_time_seconds=_median(leads),
        changes=len(changes),
        failed_changes=len(failed),
        time_to_restore_seconds=_median(restores),
    )


def project_metrics(
    store: Store, project: str, window: timedelta, now: datetime | None = None
) -> list[StageMetrics]:
    """Every stage's metrics over the window ending now."""
    now = now or utcnow()
    since = now - window
    promotions = list_models(store, Promotion, project)
    discovered = {
        f.name: f.discovered_at for f in list_models(store, Freight, project) if f.discovered_at
    }
    stages = sorted(s.name for s in list_models(store, Stage, project))
    return [stage_metrics(name, promotions, discovered, since, now) for name in stages]
