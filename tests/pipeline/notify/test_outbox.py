"""The outbox reader: cursor, gaps in `seq`, projects, metrics, and secrets that cannot be read."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kargo.notify import WEBHOOK_DELIVERIES, WebhookDispatcher, get_delivery, list_deliveries
from kargo.notify.deliveries import as_sessions
from kargo.notify.outbox import OutboxReader
from kargo.notify.sending import AttemptOutcome, attempt_delivery, new_client
from kargo.store import Store, schema

from tests.pipeline.notify.harness import run_with_dispatcher
from tests.pipeline.notify.receiver import Receiver
from tests.pipeline.notify.samples import PROJECT, emit, promotion, webhook


def insert_event(store: Store, seq: int, project: str = PROJECT) -> None:
    """An event row with an explicit seq (to make a gap, as a rolled-back insert leaves one)."""
    row = {
        "seq": seq,
        "uid": f"uid-{seq}",
        "project": project,
        "reason": "PromotionSucceeded",
        "type": "Normal",
        "involved_kind": "Promotion",
        "involved_name": f"p-{seq}",
        "message": "done",
        "data": promotion("development", f"p-{seq}"),
        "created_at": datetime.now(UTC),
    }
    with store.engine.begin() as connection:
        connection.execute(schema.events.insert().values(**row))


def test_the_cursor_waits_at_a_gap_in_seq_then_moves_past_it(
    sqlite_store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    config = webhook("local", receiver.url, secret_file[1])
    reader = OutboxReader(as_sessions(sqlite_store.engine), lambda: [config], gap_timeout=0.3)
    insert_event(sqlite_store, 1)
    insert_event(sqlite_store, 3)
    assert reader.ingest() == 1  # seq 2 may still be committing elsewhere
    assert reader.ingest() == 0
    insert_event(sqlite_store, 2)  # it was: taken in order
    assert reader.ingest() == 2
    insert_event(sqlite_store, 5)
    assert reader.ingest() == 0
    time.sleep(0.35)  # seq 4 never comes (rolled back): skipped after the timeout
    assert reader.ingest() == 1
    assert [d.event_uid for d in list_deliveries(sqlite_store.engine)] == [
        "uid-5",
        "uid-3",
        "uid-2",
        "uid-1",
    ]
    assert reader.ingest() == 0 and reader.behind() == 0


def test_a_webhook_of_one_project_gets_only_that_projects_events(
    sqlite_store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    config = webhook("local", receiver.url, secret_file[1], events=["promotion.succeeded"])
    reader = OutboxReader(as_sessions(sqlite_store.engine), lambda: [config])
    insert_event(sqlite_store, 1, project="other-project")
    insert_event(sqlite_store, 2)
    emit(sqlite_store, "PromotionCreated", "Normal", "Promotion", "x", promotion("dev", "x"))
    assert reader.ingest() == 3
    [delivery] = list_deliveries(sqlite_store.engine)
    assert delivery.event_uid == "uid-2" and delivery.event_type == "promotion.succeeded"


def test_an_unreadable_secret_is_a_retryable_failure_that_names_the_variable_not_a_value(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MISSING_WEBHOOK_SECRET", raising=False)
    config = webhook("local", receiver.url, None, secretRef={"env": "MISSING_WEBHOOK_SECRET"})

    async def attempt() -> AttemptOutcome:
        async with new_client() as client:
            result = await attempt_delivery(client, config, "msg_1", "{}")
        assert result.error == "environment variable MISSING_WEBHOOK_SECRET is not set"
        return result.outcome

    assert asyncio.run(attempt()) is AttemptOutcome.BROKEN_CONFIG
    assert receiver.all() == []


def test_successful_deliveries_are_counted_in_the_metrics(
    sqlite_store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    counter = WEBHOOK_DELIVERIES.labels(PROJECT, "metrics", "succeeded")
    before = counter._value.get()
    emit(sqlite_store, "PromotionSucceeded", "Normal", "Promotion", "m", promotion("dev", "m"))

    async def scenario(dispatcher: WebhookDispatcher) -> None:
        await asyncio.to_thread(receiver.wait_for, 1)
        await dispatcher.idle()

    config = webhook("metrics", receiver.url, secret_file[1])
    run_with_dispatcher(sqlite_store, [config], scenario)
    assert counter._value.get() == before + 1


def test_a_token_in_a_webhook_url_path_never_reaches_the_logs(
    receiver: Receiver, secret_file: tuple[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    config = webhook("slack", receiver.url + "/T000/B000/s3cr3t-token", secret_file[1])

    async def attempt() -> None:
        async with new_client() as client:
            await attempt_delivery(client, config, "msg_1", "{}")

    with caplog.at_level(logging.DEBUG):
        asyncio.run(attempt())
    assert receiver.all() and any("HTTP Request" in r.getMessage() for r in caplog.records)
    assert not any("s3cr3t-token" in record.getMessage() for record in caplog.records)


def test_rollback_reasons_and_template_types_are_read_from_the_resources_when_data_omits_them(
    store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    rollback = {"kargo.akuity.io/rollback": "verification Failed in production"}
    smoke_type = {"notifications.kargo.akuity.io/type": "smoke.completed"}
    with store.transaction() as tx:
        for kind, name, annotations in [
            ("Promotion", "rb-1", rollback),
            ("AnalysisTemplate", "smoke-tests", smoke_type),
        ]:
            meta = {"name": name, "namespace": PROJECT, "annotations": annotations}
            tx.create({"kind": kind, "metadata": meta, "spec": {}})
    # As the engine writes them: the final promotion event says nothing of the rollback, and
    # verification templates carry no annotations.
    emit(
        store, "PromotionSucceeded", "Normal", "Promotion", "rb-1", promotion("production", "rb-1")
    )
    metric = {"name": "smoke", "phase": "Failed", "result": '{"passed": false, "checks": []}'}
    template: dict[str, Any] = {"name": "smoke-tests", "phase": "Failed", "annotations": {}}
    template["metrics"] = [metric]
    data: dict[str, Any] = {
        "stage": "production",
        "freight": "f1",
        "phase": "Failed",
        "templates": [template],
    }
    emit(store, "FreightVerificationFailed", "Warning", "Freight", "f1", data)
    config = webhook("local", receiver.url, secret_file[1])
    reader = OutboxReader(as_sessions(store.engine), lambda: [config])
    assert reader.ingest() == 2
    types = sorted(d.event_type for d in list_deliveries(store.engine))
    assert types == [
        "promotion.succeeded",
        "rollback.succeeded",
        "smoke.completed",
        "verification.failed",
    ]
    [rolled_back] = [
        d for d in list_deliveries(store.engine) if d.event_type == "rollback.succeeded"
    ]
    body = get_delivery(store.engine, rolled_back.id).body or ""
    assert "verification Failed in production" in body
