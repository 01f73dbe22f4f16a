"""The delivery log: listing, redelivery, endpoint state, and the summaries the CLI shows.

Functions take a `Sessions` (a SQLAlchemy sessionmaker) or an Engine; SQLAlchemy errors are
wrapped in `DeliveryLogError` so that none reaches a user.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kargo.model.base import StrictModel
from kargo.model.deliveries import DeliveryRecord, DeliveryStatus
from kargo.model.webhooks import WebhookConfig, redact_url
from kargo.notify.tables import webhook_deliveries, webhook_endpoints

Sessions = sessionmaker[Session]
Database = sa.Engine | Sessions
T = TypeVar("T")
RECENT = timedelta(hours=24)


class DeliveryLogError(Exception):
    """The delivery log could not be read or written (the database said why)."""


class DeliveryNotFound(DeliveryLogError):
    """No delivery has that id."""


class WebhookSummary(StrictModel):
    """What `kargo get webhook-config` prints for one webhook."""

    project: str
    name: str
    url_host: str
    events: list[str]
    format: str
    enabled: bool
    disabled_reason: str | None = None
    last_delivery_status: DeliveryStatus | None = None
    last_delivery_at: datetime | None = None
    recent_failures: int = 0


def as_sessions(db: Database) -> Sessions:
    """A sessionmaker for an Engine (write transactions: BEGIN IMMEDIATE on the store's SQLite)."""
    if isinstance(db, sa.Engine):
        return sessionmaker(db.execution_options(kargo_write=True), expire_on_commit=False)
    return db


def as_read_sessions(db: Database) -> Sessions:
    """A sessionmaker for reads that never take SQLite's write lock (a deferred BEGIN)."""
    if isinstance(db, sa.Engine):
        return sessionmaker(db, expire_on_commit=False)
    return db


def as_utc(moment: datetime | None) -> datetime | None:
    """A timezone-aware UTC datetime (SQLite hands back naive ones)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _describe(exc: SQLAlchemyError) -> str:
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return f"webhook delivery log: {type(exc).__name__}: {detail}"


def _contended(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text or "serializ" in text or "deadlock" in text


def run(db: Database, work: Callable[[Session], T], attempts: int = 6) -> T:
    """Run work in one transaction, again when the database was busy; errors: DeliveryLogError."""
    sessions = as_sessions(db)
    for attempt in range(attempts):
        try:
            with sessions.begin() as session:
                return work(session)
        except OperationalError as exc:
            if not _contended(exc) or attempt == attempts - 1:
                raise DeliveryLogError(_describe(exc)) from exc
            time.sleep(0.02 * 2**attempt)
        except SQLAlchemyError as exc:
            raise DeliveryLogError(_describe(exc)) from exc
    raise AssertionError("unreachable")


def _record(row: sa.Row[Any], with_body: bool = False) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        message_id=row.message_id,
        project=row.project,
        webhook=row.webhook,
        event_type=row.event_type,
        event_uid=row.event_uid,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        latency_ms=row.latency_ms,
        next_attempt_at=as_utc(row.next_attempt_at),
        created_at=as_utc(row.created_at) or datetime.now(UTC),
        delivered_at=as_utc(row.delivered_at),
        body=row.body if with_body else None,
    )


def list_deliveries(
    db: Database,
    *,
    project: str | None = None,
    webhook: str | None = None,
    failed: bool = False,
    limit: int = 100,
) -> list[DeliveryRecord]:
    """Newest deliveries first; `failed` keeps those that failed or last attempted in error."""
    table = webhook_deliveries
    query = sa.select(table).order_by(table.c.id.desc()).limit(limit)
    if project is not None:
        query = query.where(table.c.project == project)
    if webhook is not None:
        query = query.where(table.c.webhook == webhook)
    if failed:
        query = query.where(
            sa.or_(
                table.c.status == DeliveryStatus.FAILED.value,
                sa.and_(
                    table.c.status == DeliveryStatus.PENDING.value, table.c.last_error.is_not(None)
                ),
            )
        )
    return run(db, lambda session: [_record(row) for row in session.execute(query)])


def get_delivery(db: Database, delivery_id: int) -> DeliveryRecord:
    """One delivery with its body."""
    query = sa.select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
    row = run(db, lambda session: session.execute(query).first())
    if row is None:
        raise DeliveryNotFound(f"no webhook delivery with id {delivery_id}")
    return _record(row, with_body=True)


def redeliver(db: Database, delivery_id: int) -> DeliveryRecord:
    """Queue a delivery again now, with the same webhook-id and body and a fresh retry cycle."""
    now = datetime.now(UTC)
    table = webhook_deliveries

    def work(session: Session) -> None:
        found = session.execute(sa.select(table.c.id).where(table.c.id == delivery_id)).first()
        if found is None:
            raise DeliveryNotFound(f"no webhook delivery with id {delivery_id}")
        session.execute(
            table.update()
            .where(table.c.id == delivery_id)
            .values(
                status=DeliveryStatus.PENDING.value,
                cycle_attempts=0,
                cycle_started_at=now,
                next_attempt_at=now,
                updated_at=now,
            )
        )

    run(db, work)
    return get_delivery(db, delivery_id)


def queue_depth(session: Session) -> int:
    """How many deliveries are pending."""
    query = sa.select(sa.func.count()).where(
        webhook_deliveries.c.status == DeliveryStatus.PENDING.value
    )
    return int(session.execute(query).scalar_one())


def disabled_endpoints(session: Session) -> dict[tuple[str, str], tuple[str, str]]:
    """(project, webhook) → (url host when disabled, reason), for endpoints that answered 410."""
    rows = session.execute(sa.select(webhook_endpoints))
    return {(row.project, row.webhook): (row.url_host, row.disabled_reason) for row in rows}


def is_disabled(
    disabled: dict[tuple[str, str], tuple[str, str]], config: WebhookConfig, project: str
) -> bool:
    """Whether 410 disabled this endpoint (a new URL host enables it again)."""
    found = disabled.get((project, config.name))
    return found is not None and found[0] == redact_url(config.spec.url)


def disable_endpoint(
    session: Session, project: str, config: WebhookConfig, reason: str, now: datetime
) -> int:
    """Disable an endpoint and fail its pending deliveries; how many were failed."""
    session.execute(
        webhook_endpoints.delete().where(
            webhook_endpoints.c.project == project, webhook_endpoints.c.webhook == config.name
        )
    )
    session.execute(
        webhook_endpoints.insert().values(
            project=project,
            webhook=config.name,
            url_host=redact_url(config.spec.url),
            disabled_reason=reason,
            disabled_at=now,
        )
    )
    table = webhook_deliveries
    result = session.execute(
        table.update()
        .where(
            table.c.project == project,
            table.c.webhook == config.name,
            table.c.status == DeliveryStatus.PENDING.value,
        )
        .values(
            status=DeliveryStatus.FAILED.value,
            last_error=f"endpoint disabled: {reason}",
            next_attempt_at=None,
            updated_at=now,
        )
    )
    return int(cast("sa.CursorResult[Any]", result).rowcount)


def enable_webhook(db: Database, project: str, name: str) -> bool:
    """Clear a 410 disablement; whether there was one."""
    statement = webhook_endpoints.delete().where(
        webhook_endpoints.c.project == project, webhook_endpoints.c.webhook == name
    )

    def work(session: Session) -> int:
        return int(cast("sa.CursorResult[Any]", session.execute(statement)).rowcount)

    return bool(run(db, work))


def webhook_summaries(
    db: Database, configs: Sequence[WebhookConfig], default_project: str = ""
) -> list[WebhookSummary]:
    """Name, URL host, events, last delivery status and recent failures of each webhook."""
    table = webhook_deliveries
    since = datetime.now(UTC) - RECENT

    def work(session: Session) -> list[WebhookSummary]:
        disabled = disabled_endpoints(session)
        summaries = []
        for config in configs:
            project = config.project or default_project
            last = session.execute(
                sa.select(table.c.status, table.c.updated_at)
                .where(table.c.project == project, table.c.webhook == config.name)
                .order_by(table.c.id.desc())
                .limit(1)
            ).first()
            failures = session.execute(
                sa.select(sa.func.count()).where(
                    table.c.project == project,
                    table.c.webhook == config.name,
                    table.c.last_error.is_not(None),
                    table.c.updated_at >= since,
                )
            ).scalar_one()
            reason = None
            if is_disabled(disabled, config, project):
                reason = disabled[(project, config.name)][1]
            summaries.append(
                WebhookSummary(
                    project=project,
                    name=config.name,
                    url_host=redact_url(config.spec.url),
                    events=list(config.spec.events),
                    format=config.spec.format.value,
                    enabled=config.spec.enabled and reason is None,
                    disabled_reason=reason,
                    last_delivery_status=DeliveryStatus(last.status) if last else None,
                    last_delivery_at=as_utc(last.updated_at) if last else None,
                    recent_failures=int(failures),
                )
            )
        return summaries

    return run(db, work)
