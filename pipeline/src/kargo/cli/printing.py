"""`-o json|yaml|wide|name|jsonpath=…|jsonpath-file=…|custom-columns=…`, `--no-headers`,
`--sort-by` and the table: how `kargo get` writes resources."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import yaml

from kargo.cli.columns import build_table, sort_rows
from kargo.cli.kinds import Kind
from kargo.cli.tables import Table, render_table
from kargo.cli.templates import (
    TemplateError,
    check_template,
    column_cells,
    parse_columns,
    render_template,
    sort_key,
)

Resource = dict[str, Any]


class OutputFormat(enum.StrEnum):
    """The values of `-o`."""

    TABLE = "table"
    WIDE = "wide"
    JSON = "json"
    YAML = "yaml"
    NAME = "name"
    JSONPATH = "jsonpath"
    CUSTOM_COLUMNS = "custom-columns"


@dataclass(frozen=True)
class Output:
    """An `-o` value: the format and, for jsonpath and custom-columns, its template."""

    format: OutputFormat = OutputFormat.TABLE
    template: str = ""

    @property
    def tabular(self) -> bool:
        """Whether the output is the table (plain or wide)."""
        return self.format in (OutputFormat.TABLE, OutputFormat.WIDE)


OUTPUT_CHOICES = "json|yaml|wide|name|jsonpath=TEMPLATE|jsonpath-file=FILE|custom-columns=SPEC"


class OutputType(click.ParamType[Output, object]):
    """The `-o` option: kubectl's output forms."""

    name = "format"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> Output:
        """An Output, or a usage error listing the forms."""
        if isinstance(value, Output):
            return value
        text = str(value)
        kind, _, argument = text.partition("=")
        try:
            if kind == "jsonpath-file":
                template = Path(argument).read_text()
                check_template(template)
                return Output(OutputFormat.JSONPATH, template)
            if kind in ("jsonpath", "custom-columns") and argument:
                parse_columns(argument) if kind == "custom-columns" else check_template(argument)
                return Output(OutputFormat(kind), argument)
            if not argument and kind in {f.value for f in OutputFormat} - {
                "table",
                "jsonpath",
                "custom-columns",
            }:
                return Output(OutputFormat(kind))
        except (OSError, TemplateError) as exc:
            self.fail(str(exc), param, ctx)
        self.fail(f"{text!r} is not an output format; use one of {OUTPUT_CHOICES}", param, ctx)


OUTPUT = OutputType()


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
    output: OutputFormat | Output,
    no_headers: bool = False,
    colour: bool = False,
    single: bool = False,
    now: datetime | None = None,
    sort_by: str | None = None,
) -> str:
    """The text `kargo get` prints (without a final newline)."""
    chosen = output if isinstance(output, Output) else Output(output)
    output = chosen.format
    ordered = (
        sorted(resources, key=sort_key(sort_by)) if sort_by else sort_rows(kind.kind, resources)
    )
    if output is OutputFormat.JSONPATH:
        document = ordered[0] if single and ordered else as_list(ordered)
        return render_template(chosen.template, document)
    if output is OutputFormat.CUSTOM_COLUMNS:
        columns = parse_columns(chosen.template)
        custom = Table([header for header, _ in columns])
        for resource in ordered:
            custom.add(*column_cells(columns, resource))
        return render_table(custom, no_headers=no_headers)
    if sort_by:
        resources = ordered
    if output is OutputFormat.JSON:
        data: Any = resources[0] if single and resources else as_list(resources)
        return json.dumps(data, indent=2)
    if output is OutputFormat.YAML:
        data = resources[0] if single and resources else as_list(resources)
        return to_yaml(data).rstrip("\n")
    if output is OutputFormat.NAME:
        return "\n".join(resource_name_line(kind, r) for r in ordered)
    wide = output is OutputFormat.WIDE
    table = build_table(kind.kind, resources, wide=wide, now=now, presorted=bool(sort_by))
    return render_table(table, no_headers=no_headers, colour=colour)
