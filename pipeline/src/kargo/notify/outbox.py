"""Tail the store's `events` table by `seq` and turn each event into deliveries.

The deliveries and the cursor advance are written in one transaction, so a crash either keeps
both or neither: no event is skipped and none gets two webhook-ids for one endpoint. Message ids
are derived from (project, webhook, event uid, type), so even a replay gives the same id.

On PostgreSQL a sequence value can become visible after a higher one (transactions commit in any
order), so the cursor only moves over a contiguous run of `seq`; a gap is waited for, and skipped
after `gap_timeout` seconds (a rolled-back insert leaves a gap forever).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kargo.model.deliveries import DeliveryStatus
from kargo.model.webhooks import WebhookConfig
from kargo.notify.deliveries import Sessions, as_utc, disabled_endpoints, is_disabled, run
from kargo.notify.enrichment import enrich
from kargo.notify.events import Notification, OutboxEvent, notifications_for
from kargo.notify.payloads import render_body
from kargo.notify.tables import events, webhook_cursor, webhook_deliveries

CURSOR_NAME = "webhooks"
ConfigSource = Callable[[], Sequence[WebhookConfig]]


def message_id(project: str, webhook: str, event_uid: str, event_type: str) -> str:
    """The stable Standard Webhooks `webhook-id` of one notification to one endpoint."""
    digest = hashlib.sha256(f"{project}\0{webhook}\0{event_uid}\0{event_type}".encode())
    return "msg_" + digest.hexdigest()[:32]


def subscribes(config: WebhookConfig, project: str, event_type: str) -> bool:
    """Whether a webhook wants this notification (its project, one of its globs)."""
    if config.project and config.project != project:
        return False
    return any(fnmatchcase(event_type, pattern) for pattern in config.spec.events)


def _event(row: sa.Row[Any]) -> OutboxEvent:
    data = row.data if isinstance(row.data, dict) else {}
    return OutboxEvent(
        seq=row.seq,
        uid=row.uid,
        project=row.project or "",
        reason=row.reason or "",
        type=row.type or "Normal",
        involved_kind=row.involved_kind or "",
        involved_name=row.involved_name or "",
        message=row.message or "",
        data=data,
        created_at=as_utc(row.created_at) or datetime.now(UTC),
    )


def delivery_row(
    config: WebhookConfig,
    project: str,
    event_uid: str,
    event_seq: int | None,
    notification: Notification,
    now: datetime,
) -> dict[str, Any]:
    """The delivery-log row of one notification to one webhook, due now."""
    return {
        "message_id": message_id(
            project, config.name, notification.dedupe_key(event_uid), notification.type.value
        ),
        "project": project,
        "webhook": config.name,
        "event_uid": event_uid,
        "event_seq": event_seq,
        "event_type": notification.type.value,
        "body": render_body(notification, config.spec.format),
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "cycle_attempts": 0,
        "cycle_started_at": now,
        "next_attempt_at": now,
        "event_created_at": notification.timestamp,
        "created_at": now,
        "updated_at": now,
    }


class OutboxReader:
    """Moves the cursor over new events, writing their deliveries in the same transaction."""

    def __init__(
        self,
        sessions: Sessions,
        configs: ConfigSource,
        batch_size: int = 500,
        gap_timeout: float = 5.0,
        reads: Sessions | None = None,
    ) -> None:
        self._sessions = sessions
        self._configs = configs
        self._batch_size = batch_size
        self._gap_timeout = gap_timeout
        self._gap: tuple[int, float] | None = None
        self._reads = reads or sessions
        self._last_seen: int | None = None

    def _cursor(self, session: Session) -> int:
        row = session.execute(
            sa.select(webhook_cursor.c.last_seq).where(webhook_cursor.c.name == CURSOR_NAME)
        ).first()
        if row is not None:
            return int(row.last_seq)
        now = datetime.now(UTC)
        session.execute(
            webhook_cursor.insert().values(name=CURSOR_NAME, last_seq=0, updated_at=now)
        )
        return 0

    def _contiguous(self, last: int, rows: list[sa.Row[Any]]) -> list[sa.Row[Any]]:
        taken = []
        expected = last + 1
        for row in rows:
            if row.seq != expected:
                if self._gap is None or self._gap[0] != expected:
                    self._gap = (expected, time.monotonic())
                if time.monotonic() - self._gap[1] < self._gap_timeout:
                    break
            self._gap = None
            taken.append(row)
            expected = row.seq + 1
        return taken

    def ingest(self) -> int:
        """Turn the next batch of events into deliveries; how many events were consumed."""
        if self._last_seen is not None and not run(self._reads, self._anything_after):
            return 0  # nothing new: no write transaction (and no SQLite write lock) taken
        configs = list(self._configs())
        consumed, self._last_seen = run(self._sessions, lambda s: self._ingest(s, configs))
        return consumed

    def _anything_after(self, session: Session) -> bool:
        query = sa.select(events.c.seq).where(events.c.seq > self._last_seen).limit(1)
        return session.execute(query).first() is not None

    def _ingest(self, session: Session, configs: list[WebhookConfig]) -> tuple[int, int]:
        last = self._cursor(session)
        query = (
            sa.select(events)
            .where(events.c.seq > last)
            .order_by(events.c.seq)
            .limit(self._batch_size)
        )
        rows = self._contiguous(last, list(session.execute(query)))
        if not rows:
            return 0, last
        disabled = disabled_endpoints(session)
        now = datetime.now(UTC)
        new_rows: list[dict[str, Any]] = []
        for row in rows:
            event = enrich(session, _event(row))
            for notification in notifications_for(event):
                for config in configs:
                    if not config.spec.enabled or is_disabled(disabled, config, event.project):
                        continue
                    if subscribes(config, event.project, notification.type.value):
                        new_rows.append(
                            delivery_row(
                                config, event.project, event.uid, event.seq, notification, now
                            )
                        )
        self._insert_missing(session, new_rows)
        session.execute(
            webhook_cursor.update()
            .where(webhook_cursor.c.name == CURSOR_NAME)
            .values(last_seq=rows[-1].seq, updated_at=now)
        )
        return len(rows), rows[-1].seq

    @staticmethod
    def _insert_missing(session: Session, new_rows: list[dict[str, Any]]) -> None:
        if not new_rows:
            return
        ids = [row["message_id"] for row in new_rows]
        existing: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found = session.execute(
                sa.select(webhook_deliveries.c.message_id).where(
                    webhook_deliveries.c.message_id.in_(chunk)
                )
            )
            existing.update(found.scalars())
        fresh = []
        for row in new_rows:
            if row["message_id"] not in existing:
                existing.add(row["message_id"])
                fresh.append(row)
        if fresh:
            session.execute(webhook_deliveries.insert(), fresh)

    def behind(self) -> int:
        """Events not yet consumed."""

        def work(session: Session) -> int:
            cursor = session.execute(
                sa.select(webhook_cursor.c.last_seq).where(webhook_cursor.c.name == CURSOR_NAME)
            ).scalar()
            query = sa.select(sa.func.count()).where(events.c.seq > (cursor or 0))
            return int(session.execute(query).scalar_one())

        return run(self._reads, work)
