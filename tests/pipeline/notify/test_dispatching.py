"""The dispatcher against a real store and a real HTTP receiver on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import sqlalchemy as sa
from kargo.model.deliveries import DeliveryStatus
from kargo.model.webhooks import WebhookConfig
from kargo.notify import EventType, RetrySchedule, WebhookDispatcher, list_deliveries, redeliver
from kargo.notify.schemas import schema_for
from kargo.store import Store
from kargo.store.errors import StoreError
from standardwebhooks.webhooks import Webhook

from tests.pipeline.notify.harness import SHORT, run_with_dispatcher
from tests.pipeline.notify.receiver import Receiver
from tests.pipeline.notify.samples import (
    PIPELINE_NOTIFICATIONS,
    PIPELINE_TYPES,
    emit,
    emit_pipeline_run,
    promotion,
    webhook,
)


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait (asynchronously) until condition holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


def one_event(store: Store, name: str = "dev-9") -> None:
    """A single promotion.succeeded event."""
    emit(store, "PromotionSucceeded", "Normal", "Promotion", name, promotion("development", name))


def test_every_event_of_a_pipeline_run_arrives_verified_once_per_webhook_id(
    store: Store, receiver: Receiver, secret_file: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_WEBHOOK_TOKEN", "token-value-123")
    header = {"name": "Authorization", "valueFrom": {"env": "TEST_WEBHOOK_TOKEN"}}
    config = webhook("local", receiver.url, secret_file[1], headers=[header])
    emit_pipeline_run(store)

    async def scenario(dispatcher: WebhookDispatcher) -> None:
        await asyncio.to_thread(receiver.wait_for, PIPELINE_NOTIFICATIONS)
        await dispatcher.idle()

    run_with_dispatcher(store, [config], scenario)
    got = receiver.all()
    assert all(r.verified for r in got)
    assert len({r.headers["webhook-id"] for r in got}) == len(got) == PIPELINE_NOTIFICATIONS
    assert {r.payload["type"] for r in got} == PIPELINE_TYPES
    assert {r.headers["authorization"] for r in got} == {"token-value-123"}
    checker = jsonschema.FormatChecker()
    for r in got:
        schema = schema_for(EventType(r.payload["type"]))
        jsonschema.Draft202012Validator(schema, format_checker=checker).validate(r.payload)
    log = list_deliveries(store.engine, webhook="local")
    assert len(log) == PIPELINE_NOTIFICATIONS
    assert {d.status for d in log} == {DeliveryStatus.SUCCEEDED}
    assert all(d.attempts == 1 and d.latency_ms is not None for d in log)
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("select * from webhook_deliveries")).all()
    stored = json.dumps([list(map(str, row)) for row in rows])
    assert secret_file[0] not in stored and "token-value-123" not in stored


def test_an_outage_is_retried_on_the_schedule_and_keeps_the_webhook_id(
    store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    receiver.respond = lambda path, headers: (503, {}) if len(receiver.all()) < 3 else (200, {})
    one_event(store)

    async def scenario(dispatcher: WebhookDispatcher) -> None:
        await asyncio.to_thread(receiver.wait_for, 1)

    run_with_dispatcher(store, [webhook("local", receiver.url, secret_file[1])], scenario)
    got = receiver.all()
    assert [r.status for r in got] == [503, 503, 503, 200]
    assert len({r.headers["webhook-id"] for r in got}) == 1
    gaps = [b.at - a.at for a, b in zip(got, got[1:], strict=False)]
    assert all(gap >= 0.15 for gap in gaps)
    [record] = list_deliveries(store.engine)
    assert record.status is DeliveryStatus.SUCCEEDED and record.attempts == 4


def test_retry_after_is_honoured_over_the_schedule(
    sqlite_store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    receiver.respond = lambda path, headers: (
        (429, {"Retry-After": "2"}) if not receiver.all() else (200, {})
    )
    one_event(sqlite_store)

    async def scenario(dispatcher: WebhookDispatcher) -> None:
        await asyncio.to_thread(receiver.wait_for, 1)

    config = webhook("local", receiver.url, secret_file[1])
    run_with_dispatcher(sqlite_store, [config], scenario, RetrySchedule.of([0.05]))
    first, second = receiver.all()
    assert second.at - first.at >= 1.9


def test_410_gone_disables_the_endpoint_until_it_is_enabled_again(
    sqlite_store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    from kargo.notify import enable_webhook, webhook_summaries

    receiver.respond = lambda path, headers: (410, {})
    config = webhook("local", receiver.url, secret_file[1])
    one_event(sqlite_store, "dev-1")

    async def scenario(dispatcher: WebhookDispatcher) -> None:
        await asyncio.to_thread(receiver.wait_for_status, 410)
        await dispatcher.idle()
        one_event(sqlite_store, "dev-2")
        dispatcher.wake()
        await asyncio.sleep(0.5)
        await dispatcher.idle()

    run_with_dispatcher(sqlite_store, [config], scenario)
    assert len(receiver.all()) == 1
    [summary] = webhook_summaries(sqlite_store.engine, [config])
    assert summary.enabled is False and "410" in (summary.disabled_reason or "")
    [record] = list_deliveries(sqlite_store.engine)
    assert record.status is DeliveryStatus.FAILED and record.attempts == 1
    assert enable_webhook(sqlite_store.engine, config.project, "local")
    [summary] = webhook_summaries(sqlite_store.engine, [config])
    assert summary.enabled is True


def test_redirects_are_not_followed(
    sqlite_store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    elsewhere = receiver.url.replace("/hooks", "/elsewhere")
    receiver.respond = lambda path, headers: (307, {"Location": elsewhere})
    one_event(sqlite_store)

    async def scenario(dispatcher: WebhookDispatcher) -> None:
        await asyncio.to_thread(receiver.wait_for_status, 307)
        await dispatcher.idle()

    config = webhook("local", receiver.url, secret_file[1])
    run_with_dispatcher(sqlite_store, [config], scenario, RetrySchedule.of([]))
    assert [r.path for r in receiver.all()] == ["/hooks"]
    [record] = list_deliveries(sqlite_store.engine, failed=True)
    assert record.status is DeliveryStatus.FAILED and "redirect" in (record.last_error or "")


def test_a_slow_endpoint_does_not_delay_the_others(
    sqlite_store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    from tests.pipeline.notify.receiver import receiving

    with receiving(secret_file[0]) as slow:
        slow.delay = 3.0
        configs = [
            webhook("slow", slow.url, secret_file[1]),
            webhook("fast", receiver.url, secret_file[1]),
        ]
        for index in range(8):
            one_event(sqlite_store, f"dev-{index}")

        async def scenario(dispatcher: WebhookDispatcher) -> None:
            started = asyncio.get_running_loop().time()
            await asyncio.to_thread(receiver.wait_for, 8, 10.0)
            assert asyncio.get_running_loop().time() - started < 2.0
            assert len(slow.all()) == 0

        run_with_dispatcher(
            sqlite_store, configs, scenario, max_concurrency=4, per_endpoint_concurrency=2
        )


def test_a_delivery_that_gave_up_can_be_redelivered_with_the_same_webhook_id(
    sqlite_store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    receiver.respond = lambda path, headers: (500, {})
    one_event(sqlite_store)
    config = webhook("local", receiver.url, secret_file[1])

    async def scenario(dispatcher: WebhookDispatcher) -> None:
        await asyncio.to_thread(receiver.wait_for_status, 500, 2)
        await dispatcher.idle()
        [failed] = list_deliveries(sqlite_store.engine, failed=True)
        assert failed.status is DeliveryStatus.FAILED and failed.last_error == "HTTP 500"
        receiver.respond = lambda path, headers: (200, {})
        await asyncio.to_thread(redeliver, sqlite_store.engine, failed.id)
        dispatcher.wake()
        await asyncio.to_thread(receiver.wait_for, 1)

    run_with_dispatcher(sqlite_store, [config], scenario, RetrySchedule.of([0.05]))
    got = receiver.all()
    assert [r.status for r in got] == [500, 500, 200]
    assert len({r.headers["webhook-id"] for r in got}) == 1
    [record] = list_deliveries(sqlite_store.engine)
    assert record.status is DeliveryStatus.SUCCEEDED and record.attempts == 3


def test_a_rotating_secret_gives_two_signatures_each_valid_alone(
    sqlite_store: Store, receiver: Receiver, secret_file: tuple[str, Path], tmp_path: Path
) -> None:
    from tests.pipeline.notify.samples import write_secret

    new_secret, new_file = write_secret(tmp_path, "new.secret")
    ref = {"file": str(new_file), "previous": {"file": str(secret_file[1])}}
    config = webhook("local", receiver.url, None, secretRef=ref)
    one_event(sqlite_store)

    async def scenario(dispatcher: WebhookDispatcher) -> None:
        await asyncio.to_thread(receiver.wait_for, 1)

    run_with_dispatcher(sqlite_store, [config], scenario)
    [request] = receiver.all()
    assert request.verified  # the receiver still holds only the previous secret
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new_secret).verify(request.body, request.headers)


def test_test_webhook_sends_a_signed_webhook_test_and_logs_it(
    sqlite_store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    config = webhook("local", receiver.url, secret_file[1])

    async def scenario(dispatcher: WebhookDispatcher) -> None:
        result = await dispatcher.test_webhook("local")
        assert result.ok and result.status == 200 and '"ok": true' in result.body
        assert result.latency_ms > 0

    run_with_dispatcher(sqlite_store, [config], scenario)
    [request] = receiver.all()
    assert request.verified and request.payload["type"] == "webhook.test"
    [record] = list_deliveries(sqlite_store.engine)
    assert record.event_type == "webhook.test" and record.status is DeliveryStatus.SUCCEEDED


def test_a_slack_webhook_gets_a_readable_coloured_message(
    sqlite_store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    config = webhook("slack", receiver.url, secret_file[1], format="slack", events=["promotion.*"])
    one_event(sqlite_store)
    emit(sqlite_store, "FreightCreated", "Normal", "Freight", "abc", {"freight": "abc"})

    async def scenario(dispatcher: WebhookDispatcher) -> None:
        await asyncio.to_thread(receiver.wait_for, 1)
        await dispatcher.idle()

    run_with_dispatcher(sqlite_store, [config], scenario)
    [request] = receiver.all()
    message = json.loads(request.body)
    assert message["text"].startswith("Promotion of wise-otter")
    assert message["attachments"][0]["color"] == "#2eb67d"


def test_a_config_source_that_fails_for_a_while_only_delays_the_deliveries(
    store: Store, receiver: Receiver, secret_file: tuple[str, Path]
) -> None:
    # The engine's configs come from the store: while PostgreSQL restarts, reading them fails
    # with a StoreError. That once ended the dispatcher's loop, and with it every later delivery.
    config = webhook("local", receiver.url, secret_file[1])
    failures = {"left": 3}

    def configs() -> list[WebhookConfig]:
        if failures["left"]:
            failures["left"] -= 1
            raise StoreError("database error at postgresql://...: connection refused")
        return [config]

    async def main() -> None:
        dispatcher = WebhookDispatcher(
            store.engine, configs, retry_schedule=SHORT, poll_interval=0.02
        )
        await dispatcher.start()
        try:
            one_event(store)
            await until(lambda: len(receiver.all()) == 1)
            await dispatcher.idle()
        finally:
            await dispatcher.stop()

    asyncio.run(main())
    assert failures["left"] == 0
    assert [r.payload["type"] for r in receiver.all()] == ["promotion.succeeded"]
