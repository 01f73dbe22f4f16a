"""Notification types and payloads: every event of a pipeline run, checked against the schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from kargo.model.webhooks import WebhookFormat
from kargo.notify.events import EventType, OutboxEvent, notifications_for, test_notification
from kargo.notify.payloads import GREEN, RED, envelope, render_body
from kargo.notify.schemas import all_schemas, schema_for

from tests.pipeline.notify.samples import (
    PIPELINE_NOTIFICATIONS,
    PIPELINE_RUN,
    PIPELINE_TYPES,
    PROJECT,
)


def outbox_events() -> list[OutboxEvent]:
    """PIPELINE_RUN as rows of the events table."""
    return [
        OutboxEvent(
            seq=seq,
            uid=f"uid-{seq}",
            project=PROJECT,
            reason=reason,
            type=severity,
            involved_kind=kind,
            involved_name=name,
            message=f"{reason} for {name}",
            data=data,
            created_at=datetime.now(UTC),
        )
        for seq, (reason, severity, kind, name, data) in enumerate(PIPELINE_RUN, start=1)
    ]


def validate(document: dict[str, Any]) -> None:
    """Validate an envelope against its type's schema, formats included."""
    schema = schema_for(EventType(document["type"]))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    validator.validate(document)


def by_type(kind: str) -> dict[str, Any]:
    """The data of the first notification of a type in the pipeline run."""
    for event in outbox_events():
        for notification in notifications_for(event):
            if notification.type.value == kind:
                return notification.data
    raise AssertionError(f"no {kind} notification")


def test_every_schema_is_a_valid_json_schema_and_every_type_has_one() -> None:
    schemas = all_schemas()
    assert set(schemas) == set(EventType)
    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_a_pipeline_run_gives_every_type_and_every_payload_matches_its_schema() -> None:
    notifications = [n for event in outbox_events() for n in notifications_for(event)]
    assert {n.type.value for n in notifications} == PIPELINE_TYPES
    assert len(notifications) == PIPELINE_NOTIFICATIONS
    for notification in [*notifications, test_notification(PROJECT, "local")]:
        validate(json.loads(render_body(notification, WebhookFormat.STANDARD)))


def test_a_failed_promotion_names_the_step_and_the_error() -> None:
    data = by_type("promotion.failed")
    assert data["failure"] == {"step": "deploy", "error": "port busy"}
    assert data["freight"] == {"id": "f3c1a9e", "alias": "wise-otter", "commit": "0a1b2c3d4e5f6789"}
    assert data["actor"] == "admin" and data["durationSeconds"] == 12.5


def test_smoke_results_list_each_check_and_whether_it_passed() -> None:
    data = by_type("smoke.completed")
    assert data["passed"] is True and data["total"] == 3 and data["failed"] == 0
    assert [c["name"] for c in data["checks"]] == ["health", "create-room", "vote-and-reveal"]


def test_security_findings_count_by_severity_and_list_the_worst_first() -> None:
    data = by_type("security.findings")
    assert data["counts"] == {"critical": 0, "high": 1, "medium": 2, "low": 0}
    assert data["topFindings"][0]["id"] == "GHSA-2"
    assert data["advisoryDatabaseAgeHours"] == 30.5


def test_load_test_figures_come_from_the_metric_results() -> None:
    data = by_type("loadtest.completed")
    assert (data["rps"], data["p50"], data["p95"], data["p99"]) == (98.4, 21.0, 180.0, 260.0)
    assert data["errorRate"] == 0.0 and data["cpu"] == 0.41 and data["memory"] == 96.5


def test_a_rollback_promotion_announces_the_rollback_with_its_reason() -> None:
    data = by_type("rollback.started")
    assert data["rollbackReason"] == "smoke failed" and data["rollback"] is True


def test_reasons_nobody_subscribes_to_give_no_notification() -> None:
    event = outbox_events()[0]
    quiet = OutboxEvent(**{**event.__dict__, "reason": "FreightApproved"})
    assert notifications_for(quiet) == []


@pytest.mark.parametrize(
    ("kind", "colour"), [("promotion.succeeded", GREEN), ("promotion.failed", RED)]
)
def test_slack_messages_are_coloured_by_outcome_and_read_well(kind: str, colour: str) -> None:
    notification = next(
        n for e in outbox_events() for n in notifications_for(e) if n.type.value == kind
    )
    message = json.loads(render_body(notification, WebhookFormat.SLACK))
    assert message["attachments"][0]["color"] == colour
    assert "wise-otter" in message["text"] and notification.data["stage"] in message["text"]
    assert envelope(notification)["type"] == kind
