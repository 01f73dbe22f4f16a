"""The webhook dispatcher: tails the outbox, sends due deliveries, records every attempt.

Concurrency is bounded twice: `max_concurrency` requests in flight overall, and at most
`per_endpoint_concurrency` to any one endpoint, so a slow or hanging endpoint holds only its own
slots and never delays the others. Due deliveries are claimed per endpoint, round robin.
Database work runs in threads; the HTTP client is asynchronous.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from kargo.model.deliveries import DeliveryStatus, WebhookTestResult
from kargo.model.webhooks import WebhookConfig
from kargo.notify.attempts import record_attempt
from kargo.notify.deliveries import (
    Database,
    DeliveryLogError,
    as_read_sessions,
    as_sessions,
    queue_depth,
    run,
)
from kargo.notify.metrics import WEBHOOK_EVENTS_BEHIND, WEBHOOK_QUEUE_DEPTH
from kargo.notify.outbox import ConfigSource, OutboxReader
from kargo.notify.probing import test_webhook
from kargo.notify.retry import RetrySchedule
from kargo.notify.sending import attempt_delivery, new_client
from kargo.notify.tables import webhook_deliveries

log = logging.getLogger(__name__)
Endpoint = tuple[str, str]


class WebhookDispatcher:
    """Sends the outbox's notifications to every subscribed WebhookConfig, signed and retried."""

    def __init__(
        self,
        db: Database,
        configs: ConfigSource,
        *,
        retry_schedule: RetrySchedule | None = None,
        max_concurrency: int = 16,
        per_endpoint_concurrency: int = 4,
        poll_interval: float = 0.25,
        gap_timeout: float = 5.0,
        base_dir: Path | None = None,
    ) -> None:
        self._sessions = as_sessions(db)
        self._reads = as_read_sessions(db)
        self._config_source = configs
        self._schedule = retry_schedule
        self._max = max_concurrency
        self._per_endpoint = max(1, min(per_endpoint_concurrency, max_concurrency))
        self._poll = poll_interval
        self._base_dir = base_dir
        self._outbox = OutboxReader(
            self._sessions, self._configs, gap_timeout=gap_timeout, reads=self._reads
        )
        self._inflight: dict[int, Endpoint] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None
        self._turn = 0
        self._last_gauge = 0.0

    def _configs(self) -> Sequence[WebhookConfig]:
        """The webhook configs; a source that fails (the store unreachable) is retried later."""
        try:
            return self._config_source()
        except Exception as exc:  # any failure of the injected source: the loop must go on
            raise DeliveryLogError(f"cannot read the webhook configs: {exc}") from exc

    def schedule_for(self, config: WebhookConfig) -> RetrySchedule:
        """The retry schedule in force for a webhook (the override, else its own policy)."""
        return self._schedule or RetrySchedule.from_policy(config.spec.retry)

    async def start(self) -> None:
        """Start tailing the outbox and sending, in the background."""
        if self._loop_task is not None:
            return
        self._stopping = False
        self._client = new_client()
        self._event_loop = asyncio.get_running_loop()
        self._loop_task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop: let attempts in flight finish for `grace` seconds, then cancel them."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll (safe from any thread)."""
        loop = self._event_loop
        if loop is None or loop.is_closed():
            self._wake.set()
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # wakes during run_once (an attempt finished) run it again
            try:
                await self.run_once()
            except DeliveryLogError as exc:
                log.warning("webhook dispatcher: %s; retrying", exc)
                await asyncio.sleep(min(5.0, self._poll * 10))
            except Exception:  # a bug must not stop every notification for good
                log.exception("webhook dispatcher: unexpected failure; retrying")
                await asyncio.sleep(min(5.0, self._poll * 10))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    async def run_once(self) -> int:
        """Ingest new events and start every due delivery there is room for; how many started."""
        while await asyncio.to_thread(self._outbox.ingest):
            pass
        configs = {(c.project, c.name): c for c in await asyncio.to_thread(self._configs)}
        due = await asyncio.to_thread(self._claim_due, configs, dict(self._inflight))
        for row in due:
            self._inflight[row.id] = (row.project, row.webhook)
        for row in due:
            self._spawn(row, configs)
        await self._update_gauges()
        return len(due)

    def _config_for(
        self, configs: dict[Endpoint, WebhookConfig], project: str, name: str
    ) -> WebhookConfig | None:
        return configs.get((project, name)) or configs.get(("", name))

    def _claim_due(
        self, configs: dict[Endpoint, WebhookConfig], inflight: dict[int, Endpoint]
    ) -> list[sa.Row[Any]]:
        room = self._max - len(inflight)
        if room <= 0:
            return []
        self._turn += 1
        unconfigured: list[Endpoint] = []
        due = run(
            self._reads, lambda session: self._due(session, configs, inflight, room, unconfigured)
        )
        if unconfigured:
            now = datetime.now(UTC)
            run(
                self._sessions,
                lambda session: [self._fail_unconfigured(session, e, now) for e in unconfigured],
            )
        return due

    def _due(
        self,
        session: Session,
        configs: dict[Endpoint, WebhookConfig],
        inflight: dict[int, Endpoint],
        room: int,
        unconfigured: list[Endpoint],
    ) -> list[sa.Row[Any]]:
        unconfigured.clear()  # this may be a retry of a busy transaction
        table = webhook_deliveries
        now = datetime.now(UTC)
        pending = table.c.status == DeliveryStatus.PENDING.value
        claimed: list[sa.Row[Any]] = []
        endpoints = [
            (row.project, row.webhook)
            for row in session.execute(
                sa.select(table.c.project, table.c.webhook)
                .where(pending, table.c.next_attempt_at <= now)
                .distinct()
                .order_by(table.c.project, table.c.webhook)
            )
        ]
        if not endpoints:
            return []
        turn = self._turn % len(endpoints)
        for endpoint in endpoints[turn:] + endpoints[:turn]:
            busy = [i for i, ep in inflight.items() if ep == endpoint]
            slots = min(self._per_endpoint - len(busy), room - len(claimed))
            if slots <= 0:
                continue
            if self._config_for(configs, *endpoint) is None:
                unconfigured.append(endpoint)
                continue
            rows = session.execute(
                sa.select(table)
                .where(
                    pending,
                    table.c.next_attempt_at <= now,
                    table.c.project == endpoint[0],
                    table.c.webhook == endpoint[1],
                    table.c.id.not_in(busy) if busy else sa.true(),
                )
                .order_by(table.c.next_attempt_at, table.c.id)
                .limit(slots)
            )
            claimed.extend(rows)
            if len(claimed) >= room:
                break
        return claimed

    @staticmethod
    def _fail_unconfigured(session: Session, endpoint: Endpoint, now: datetime) -> None:
        table = webhook_deliveries
        session.execute(
            table.update()
            .where(
                table.c.project == endpoint[0],
                table.c.webhook == endpoint[1],
                table.c.status == DeliveryStatus.PENDING.value,
            )
            .values(
                status=DeliveryStatus.FAILED.value,
                last_error="the webhook is no longer configured or is disabled",
                next_attempt_at=None,
                updated_at=now,
            )
        )

    def _spawn(self, row: sa.Row[Any], configs: dict[Endpoint, WebhookConfig]) -> None:
        config = self._config_for(configs, row.project, row.webhook)
        if config is None or not config.spec.enabled:
            self._inflight.pop(row.id, None)
            return
        task = asyncio.create_task(self._deliver(row, config))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, row: sa.Row[Any], config: WebhookConfig) -> None:
        try:
            assert self._client is not None
            result = await attempt_delivery(
                self._client, config, row.message_id, row.body, self._base_dir
            )
            schedule = self.schedule_for(config)
            await asyncio.to_thread(record_attempt, self._sessions, row, config, result, schedule)
        except DeliveryLogError as exc:
            log.warning("webhook %s: cannot record attempt: %s", config.name, exc)
        finally:
            self._inflight.pop(row.id, None)
            self._wake.set()

    async def _update_gauges(self) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._last_gauge < 1.0:
            return
        self._last_gauge = now

        def read() -> tuple[int, int]:
            return run(self._reads, queue_depth), self._outbox.behind()

        depth, behind = await asyncio.to_thread(read)
        WEBHOOK_QUEUE_DEPTH.set(depth)
        WEBHOOK_EVENTS_BEHIND.set(behind)

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until nothing is due or in flight (tests and benchmarks)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if not self._inflight and not await asyncio.to_thread(self._due_count):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"webhook deliveries still due after {timeout}s")

    def _due_count(self) -> int:
        soon = datetime.now(UTC) + timedelta(seconds=1)
        table = webhook_deliveries
        query = sa.select(sa.func.count()).where(
            table.c.status == DeliveryStatus.PENDING.value, table.c.next_attempt_at <= soon
        )
        due = run(self._reads, lambda session: int(session.execute(query).scalar_one()))
        return due + self._outbox.behind()

    async def test_webhook(self, name: str, project: str | None = None) -> WebhookTestResult:
        """Send a signed `webhook.test` to the named webhook now and log it."""
        configs = list(self._config_source())
        return await test_webhook(
            name, configs, db=self._sessions, project=project, base_dir=self._base_dir
        )

    test_webhook.__test__ = False  # type: ignore[attr-defined]
