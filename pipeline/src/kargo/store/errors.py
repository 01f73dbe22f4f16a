"""Store errors: the exception type says what the caller does next."""

from __future__ import annotations


class StoreError(Exception):
    """The database failed (unreachable, broken schema); retrying later may help."""


class StoreConflict(StoreError):
    """A write lost a race: the resource changed (or exists) since it was read; re-read."""


class StoreNotFound(StoreError):
    """The resource does not exist."""
