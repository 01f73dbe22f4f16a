"""The promotion path's hot statements, run on the driver's own cursor.

SQLAlchemy's per-statement work (cache key, parameter processing, result setup) cost more than
the statements themselves on SQLite. These few statements are written once per dialect and run
on the DBAPI cursor of the transaction's connection, with the values stored exactly as
SQLAlchemy would store them (its own bind processors for dates; the JSON columns as JSON text).
Driver errors become SQLAlchemy's DBAPIError, so the store wraps them as before.
Only pysqlite and psycopg are handled; any other driver uses SQLAlchemy statements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.JSONDecoder().decode

_GET = "SELECT body, resource_version FROM resources WHERE kind = %s AND project = %s AND name = %s"
_UPDATE = (
    "UPDATE resources SET body = {json}, resource_version = %s, updated_at = %s "
    "WHERE kind = %s AND project = %s AND name = %s AND resource_version = %s"
)
_EVENT = (
    "INSERT INTO events (uid, project, reason, type, involved_kind, involved_name, message, "
    "data, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, {json}, %s)"
)
_AUDIT = (
    "INSERT INTO audit (project, actor, action, resource, phase_before, phase_after, source, "
    "address, time, result, prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "%s, %s)"
)
_HEAD = "SELECT last_hash, count FROM audit_head WHERE id = 1{lock}"
_HEAD_UPDATE = "UPDATE audit_head SET last_hash = %s, count = %s WHERE id = 1"
_HEAD_INSERT = "INSERT INTO audit_head (id, last_hash, count) VALUES (1, %s, %s)"
_LOG = "INSERT INTO promotion_logs (project, promotion, line, created_at) VALUES (%s, %s, %s, %s)"


class DriverStatements:
    """The hot statements in one dialect's SQL, run on a connection's DBAPI cursor."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self.sqlite = dialect.name == "sqlite"
        self.dbapi_error: type[Exception] = dialect.loaded_dbapi.Error
        json_param = "%s" if self.sqlite else "CAST(%s AS JSON)"
        lock = "" if self.sqlite else " FOR UPDATE"
        self.date: Callable[[Any], Any] = _sqlite_date(dialect) if self.sqlite else _same
        self.get = self._sql(_GET)
        self.update = self._sql(_UPDATE.format(json=json_param))
        self.event = self._sql(_EVENT.format(json=json_param))
        self.audit = self._sql(_AUDIT)
        self.head = self._sql(_HEAD.format(lock=lock))
        self.head_update = self._sql(_HEAD_UPDATE)
        self.head_insert = self._sql(_HEAD_INSERT)
        self.log = self._sql(_LOG)

    def _sql(self, text: str) -> str:
        return text.replace("%s", "?") if self.sqlite else text

    def encode(self, value: Any) -> str:
        """A JSON column's value as stored."""
        return _encode(value)

    def decode(self, value: Any) -> Any:
        """A JSON column's value as read (psycopg parses JSON itself, pysqlite does not)."""
        return _decode(value) if isinstance(value, str) else value


def statements_for(connection: sa.Connection) -> DriverStatements | None:
    """The statements for this connection's dialect, or None when its driver is not handled."""
    dialect = connection.dialect
    key = f"{dialect.name}+{dialect.driver}"
    if key not in ("sqlite+pysqlite", "postgresql+psycopg"):
        return None
    found = _BY_KEY.get(key)
    if found is None:
        found = _BY_KEY[key] = DriverStatements(dialect)
    return found


_BY_KEY: dict[str, DriverStatements] = {}


class DriverCursor:
    """Runs hot statements on one transaction's DBAPI cursor; driver errors become DBAPIError."""

    def __init__(self, connection: sa.Connection, statements: DriverStatements) -> None:
        self.sql = statements
        self._cursor = connection.connection.cursor()

    def execute(self, statement: str, params: Sequence[Any]) -> Any:
        """Run one statement; returns the cursor (for fetchone and rowcount)."""
        try:
            self._cursor.execute(statement, params)
        except self.sql.dbapi_error as exc:
            raise DBAPIError.instance(statement, params, exc, self.sql.dbapi_error) from exc
        return self._cursor

    def close(self) -> None:
        """Release the cursor."""
        self._cursor.close()


def _same(value: Any) -> Any:
    return value


def _sqlite_date(dialect: sa.Dialect) -> Callable[[Any], Any]:
    """SQLAlchemy's own DateTime bind processor for SQLite (the stored text format)."""
    processor = sa.DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    assert processor is not None

    def convert(value: datetime) -> Any:
        return processor(value)

    return convert
