"""Read access to the project's stored resources for steps (set by the engine when it starts).

Steps sit below the store-owning engine, so the engine hands down a reader: a step that needs a
resource (the canary's analysis templates) calls `read_resource`. Without an engine (a step run
on its own) there is nothing to read and the step says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ResourceReader = Callable[[str, str, str], dict[str, Any] | None]
_reader: list[ResourceReader] = []


class NoResourceReader(LookupError):
    """No engine has registered a resource reader in this process."""


def set_resource_reader(reader: ResourceReader) -> None:
    """Register how steps read stored resources: `reader(kind, project, name) -> body | None`."""
    _reader[:] = [reader]


def read_resource(kind: str, project: str, name: str) -> dict[str, Any] | None:
    """A stored resource's body, or None when it does not exist."""
    if not _reader:
        raise NoResourceReader("no engine is running in this process to read resources from")
    return _reader[0](kind, project, name)
