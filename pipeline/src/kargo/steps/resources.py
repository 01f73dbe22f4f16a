"""Access to the project's stored resources for steps (set by the engine when it starts).

Steps sit below the store-owning engine, so the engine hands down a reader: a step that needs a
resource (the canary's analysis templates) calls `read_resource`. Without an engine (a step run
on its own) there is nothing to read and the step says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ResourceReader = Callable[[str, str, str], dict[str, Any] | None]
Mutation = Callable[[dict[str, Any]], None]
ResourceUpdater = Callable[[str, str, str, Mutation], dict[str, Any] | None]
ResourceLister = Callable[[str, str], list[dict[str, Any]]]
_reader: list[ResourceReader] = []
_updater: list[ResourceUpdater] = []
_lister: list[ResourceLister] = []


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


def set_resource_writer(updater: ResourceUpdater, lister: ResourceLister) -> None:
    """Register how steps change stored resources and list them (set-metadata, aliases)."""
    _updater[:] = [updater]
    _lister[:] = [lister]


def update_resource(kind: str, project: str, name: str, mutate: Mutation) -> dict[str, Any] | None:
    """Change a stored resource's body in one transaction; None when it does not exist."""
    if not _updater:
        raise NoResourceReader("no engine is running in this process to write resources to")
    return _updater[0](kind, project, name, mutate)


def list_resources(kind: str, project: str) -> list[dict[str, Any]]:
    """The stored bodies of one kind in a project."""
    if not _lister:
        raise NoResourceReader("no engine is running in this process to list resources from")
    return _lister[0](kind, project)
