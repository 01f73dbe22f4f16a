"""A unit of work: resource writes, events, audit records and logs committed together."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kargo.model.base import utcnow
from kargo.store import schema
from kargo.store.auditchain import GENESIS, record_hash, source_address
from kargo.store.documents import Change, ChangeType
from kargo.store.driver import DriverCursor, statements_for
from kargo.store.errors import StoreConflict, StoreNotFound

_c = schema.resources.c
# Statements built once: SQLAlchemy memoizes their cache keys, so each call only binds values.
_GET = sa.select(_c.body, _c.resource_version).where(
    _c.kind == sa.bindparam("k"), _c.project == sa.bindparam("p"), _c.name == sa.bindparam("n")
)
_UPDATE = (
    schema.resources.update()
    .where(
        _c.kind == sa.bindparam("k"),
        _c.project == sa.bindparam("p"),
        _c.name == sa.bindparam("n"),
        _c.resource_version == sa.bindparam("expected"),
    )
    .values(
        body=sa.bindparam("new_body", type_=sa.JSON),
        resource_version=sa.bindparam("new_version"),
        updated_at=sa.bindparam("now"),
    )
)
_INSERT = schema.resources.insert()
_EVENT = schema.events.insert()
_AUDIT = schema.audit.insert()
_HEAD = sa.select(schema.audit_head.c.last_hash, schema.audit_head.c.count).where(
    schema.audit_head.c.id == 1
)
_LOG = schema.promotion_logs.insert()
_AUDIT_COLUMNS = (
    "project",
    "actor",
    "action",
    "resource",
    "phase_before",
    "phase_after",
    "source",
    "address",
)


def identity(body: dict[str, Any]) -> tuple[str, str, str]:
    """The (kind, project, name) key of a serialised resource."""
    meta = body.get("metadata") or {}
    return str(body["kind"]), str(meta.get("namespace") or ""), str(meta["name"])


class Transaction:
    """Writes inside one database transaction; watchers hear of them only after the commit."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.changes: list[Change] = []
        self._driver: DriverCursor | None = None
        statements = statements_for(connection)
        if statements is not None:
            self._driver = DriverCursor(connection, statements)

    def get(self, kind: str, project: str, name: str) -> dict[str, Any] | None:
        """Read a resource inside the transaction."""
        driver = self._driver
        if driver is not None:
            rows = driver.execute(driver.sql.get, (kind, project, name)).fetchall()
            return _with_version(driver.sql.decode(rows[0][0]), rows[0][1]) if rows else None
        row = self.connection.execute(_GET, {"k": kind, "p": project, "n": name}).first()
        return _with_version(row[0], row[1]) if row is not None else None

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Insert a new resource at version 1; StoreConflict when it already exists."""
        kind, project, name = identity(body)
        now = utcnow()
        stored = dict(body)
        meta = dict(stored.get("metadata") or {})
        stored["metadata"] = meta
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now.isoformat())
        meta["generation"] = 1
        meta.pop("resourceVersion", None)
        try:
            with self.connection.begin_nested():
                self.connection.execute(
                    _INSERT,
                    {
                        "kind": kind,
                        "project": project,
                        "name": name,
                        "uid": meta["uid"],
                        "resource_version": 1,
                        "body": stored,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
        except IntegrityError as exc:
            raise StoreConflict(f"{kind} {project}/{name} already exists") from exc
        result = _with_version(stored, 1)
        self.changes.append(Change(ChangeType.ADDED, kind, project, name, result))
        return result

    def update(self, body: dict[str, Any], *, spec_changed: bool = False) -> dict[str, Any]:
        """Replace a resource if its `metadata.resourceVersion` is still current, else conflict."""
        kind, project, name = identity(body)
        meta = body.get("metadata") or {}
        expected = meta.get("resourceVersion")
        if expected is None:
            raise StoreConflict(f"{kind} {project}/{name}: an update needs resourceVersion")
        stored = dict(body)
        stored["metadata"] = dict(stored["metadata"])
        stored["metadata"].pop("resourceVersion", None)
        if spec_changed:
            stored["metadata"]["generation"] = int(stored["metadata"].get("generation") or 1) + 1
        new_version = int(expected) + 1
        if self._driver is not None:
            sql = self._driver.sql
            params: tuple[Any, ...] = (sql.encode(stored), new_version, sql.date(utcnow()))
            params += (kind, project, name, int(expected))
            rowcount = self._driver.execute(sql.update, params).rowcount
        else:
            rowcount = self.connection.execute(
                _UPDATE,
                {
                    "k": kind,
                    "p": project,
                    "n": name,
                    "expected": int(expected),
                    "new_body": stored,
                    "new_version": new_version,
                    "now": utcnow(),
                },
            ).rowcount
        if rowcount != 1:
            if self.get(kind, project, name) is None:
                raise StoreNotFound(f"{kind} {project}/{name} does not exist")
            raise StoreConflict(
                f"{kind} {project}/{name} changed since version {expected}; read it again"
            )
        updated = _with_version(stored, new_version)
        self.changes.append(Change(ChangeType.MODIFIED, kind, project, name, updated))
        return updated

    def delete(self, kind: str, project: str, name: str) -> None:
        """Delete a resource; StoreNotFound when it is absent."""
        current = self.get(kind, project, name)
        if current is None:
            raise StoreNotFound(f"{kind} {project}/{name} does not exist")
        c = schema.resources.c
        self.connection.execute(
            schema.resources.delete().where(c.kind == kind, c.project == project, c.name == name)
        )
        self.changes.append(Change(ChangeType.DELETED, kind, project, name, current))

    def event(
        self,
        *,
        project: str,
        reason: str,
        type: str,
        involved_kind: str,
        involved_name: str,
        message: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append an event row (the webhooks outbox reads these)."""
        if self._driver is not None:
            sql = self._driver.sql
            params: tuple[Any, ...] = (str(uuid.uuid4()), project, str(reason), str(type))
            params += (
                involved_kind,
                involved_name,
                message,
                sql.encode(data or {}),
                sql.date(utcnow()),
            )
            self._driver.execute(sql.event, params)
            return
        self.connection.execute(
            _EVENT,
            {
                "uid": str(uuid.uuid4()),
                "project": project,
                "reason": str(reason),
                "type": str(type),
                "involved_kind": involved_kind,
                "involved_name": involved_name,
                "message": message,
                "data": data or {},
                "created_at": utcnow(),
            },
        )

    def audit(
        self,
        *,
        project: str,
        actor: str,
        action: str,
        resource: str,
        source: str,
        result: str,
        phase_before: str | None = None,
        phase_after: str | None = None,
        address: str | None = None,
    ) -> None:
        """Append an audit record, chained to the previous one by hash (see `auditchain`)."""
        # The head row is locked (PostgreSQL) or the writer holds the database (SQLite's
        # BEGIN IMMEDIATE), so records are chained in commit order.
        head = self._audit_head()
        previous, count = (head[0], head[1]) if head is not None else (GENESIS, 0)
        fields: dict[str, Any] = {
            "project": project,
            "actor": actor,
            "action": action,
            "resource": resource,
            "phase_before": phase_before,
            "phase_after": phase_after,
            "source": source,
            "address": address if address is not None else source_address.get(),
            "time": utcnow(),
            "result": result,
        }
        digest = record_hash(previous, fields)
        if self._driver is not None:
            self._chain_with_driver(self._driver, fields, previous, digest, count, head is None)
            return
        self.connection.execute(_AUDIT, {**fields, "prev_hash": previous, "hash": digest})
        values = {"last_hash": digest, "count": count + 1}
        if head is None:
            self.connection.execute(schema.audit_head.insert().values(id=1, **values))
        else:
            self.connection.execute(
                schema.audit_head.update().where(schema.audit_head.c.id == 1).values(**values)
            )

    def _audit_head(self) -> tuple[str, int] | None:
        driver = self._driver
        if driver is not None:
            rows = driver.execute(driver.sql.head, ()).fetchall()
            return (rows[0][0], rows[0][1]) if rows else None
        row = self.connection.execute(_HEAD.with_for_update()).first()
        return (row[0], row[1]) if row is not None else None

    @staticmethod
    def _chain_with_driver(
        driver: DriverCursor,
        fields: dict[str, Any],
        previous: str,
        digest: str,
        count: int,
        first: bool,
    ) -> None:
        sql = driver.sql
        params = tuple(fields[name] for name in _AUDIT_COLUMNS)
        params += (sql.date(fields["time"]), fields["result"], previous, digest)
        driver.execute(sql.audit, params)
        driver.execute(sql.head_insert if first else sql.head_update, (digest, count + 1))

    def log(self, project: str, promotion: str, line: str) -> None:
        """Append a line to a promotion's step log."""
        if self._driver is not None:
            sql = self._driver.sql
            self._driver.execute(sql.log, (project, promotion, line, sql.date(utcnow())))
            return
        self.connection.execute(
            _LOG, {"project": project, "promotion": promotion, "line": line, "created_at": utcnow()}
        )


def _with_version(body: dict[str, Any], version: int) -> dict[str, Any]:
    result = dict(body)
    meta = dict(result.get("metadata") or {})
    meta["resourceVersion"] = str(version)
    result["metadata"] = meta
    return result
