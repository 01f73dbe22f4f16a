"""`-o json|yaml|wide|name`, `--no-headers` and the table: how `kargo get` writes resources."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any

import yaml

from kargo.cli.columns import build_table, sort_rows
from kargo.cli.kinds import Kind
from kargo.cli.tables import render_table

Resource = dict[str, Any]


class OutputFormat(enum.StrEnum):
    """The values of `-o`."""

    TABLE = "table"
    WIDE = "wide"
    JSON = "json"
    YAML = "yaml"
    NAME = "name"


def to_yaml(data: Any) -> str:
    """Block-style YAML in the resource's own key order."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def as_list(resources: list[Resource]) -> dict[str, Any]:
    """A kubectl-style List wrapping several resources."""
    return {"apiVersion": "v1", "kind": "List", "items": resources}


def resource_name_line(kind: Kind, resource: Resource) -> str:
    """`-o name`: kind/name."""
    name = (resource.get("metadata") or {}).get("name") or resource.get("id") or ""
    return f"{kind.singular}/{name}"


def format_resources(
    kind: Kind,
    resources: list[Resource],
    output: OutputFormat,
    no_headers: bool = False,
    colour: bool = False,
    single: bool = False,
    now: datetime | None = None,
) -> str:
    """The text `kargo get` prints (without a final newline)."""
    if output is OutputFormat.JSON:
        data: Any = resources[0] if single and resources else as_list(resources)
        return json.dumps(data, indent=2)
    if output is OutputFormat.YAML:
        data = resources[0] if single and resources else as_list(resources)
        return to_yaml(data).rstrip("\n")
    if output is OutputFormat.NAME:
        return "\n".join(resource_name_line(kind, r) for r in sort_rows(kind.kind, resources))
    table = build_table(kind.kind, resources, wide=output is OutputFormat.WIDE, now=now)
    return render_table(table, no_headers=no_headers, colour=colour)
