"""Delivery (DORA) metrics against a promotion history built for the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kargo.engine.delivery import stage_metrics
from kargo.model.promotion import ROLLBACK_ANNOTATION, Promotion

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=10)


def promotion(
    name: str, freight: str, phase: str, finished: datetime, rollback: bool = False
) -> Promotion:
    annotations = {ROLLBACK_ANNOTATION: "bad verification"} if rollback else {}
    return Promotion.model_validate(
        {
            "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
            "spec": {"stage": "prod", "freight": freight},
            "status": {"phase": phase, "finishedAt": finished.isoformat()},
        }
    )


def test_the_four_figures_of_a_stage_match_its_history() -> None:
    discovered = {"a": T0, "b": T0 + timedelta(days=1), "c": T0 + timedelta(days=2), "d": T0}
    history = [
        promotion("p1", "a", "Succeeded", T0 + timedelta(hours=1)),  # lead 1h
        promotion("p2", "b", "Succeeded", discovered["b"] + timedelta(hours=2)),  # lead 2h, undone
        promotion("p3", "a", "Succeeded", discovered["b"] + timedelta(hours=2, minutes=10), True),
        promotion("p4", "c", "Failed", discovered["c"] + timedelta(minutes=30)),
        promotion("p5", "c", "Succeeded", discovered["c"] + timedelta(hours=1, minutes=30)),
        promotion("p6", "c", "Aborted", discovered["c"] + timedelta(hours=3)),  # not a change
        promotion("p7", "d", "Failed", T0 - timedelta(days=40)),  # before the window
    ]
    found = stage_metrics(
        "prod", list(reversed(history)), discovered, NOW - timedelta(days=30), NOW
    )
    assert found.deployments == 4  # p1, p2, the rollback p3, p5
    assert found.per_day == round(4 / 30, 2)
    assert found.lead_time_seconds == 5400.0  # median of 1h, 2h, 1h30m (rollbacks are no change)
    assert (found.changes, found.failed_changes) == (4, 2)  # p2 undone by p3, p4 failed
    assert found.change_failure_rate == 0.5
    assert found.time_to_restore_seconds == 2100.0  # median of 10m (p2→p3) and 1h (p4→p5)


def test_a_stage_without_promotions_has_no_rates() -> None:
    found = stage_metrics("prod", [], {}, NOW - timedelta(days=30), NOW)
    assert found.to_dict() == {
        "stage": "prod",
        "deployments": 0,
        "deploymentsPerDay": 0.0,
        "leadTimeSeconds": None,
        "changes": 0,
        "failedChanges": 0,
        "changeFailureRate": None,
        "timeToRestoreSeconds": None,
    }
