"""`-o json|yaml|wide|name|jsonpath=…|jsonpath-file=…|custom-columns=…|go-template=…|
go-template-file=…`, `--no-headers`, `--sort-by` and the table: how `kargo get` writes resources.

Tables are read from the contract's models; every other form from the JSON document the server
sent (`kargo.client.document`), timestamps RFC 3339 with a `Z`."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import yaml

from kargo.cli import gotemplate
from kargo.cli.columns import build_table, name_of, sort_rows
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
from kargo.client import KargoClientError, Resource, document
from kargo.model.deliveries import DeliveryRecord


class OutputFormat(enum.StrEnum):
    """The values of `-o`."""

    TABLE = "table"
    WIDE = "wide"
    JSON = "json"
    YAML = "yaml"
    NAME = "name"
    JSONPATH = "jsonpath"
    CUSTOM_COLUMNS = "custom-columns"
    GO_TEMPLATE = "go-template"


@dataclass(frozen=True)
class Output:
    """An `-o` value: the format and, for jsonpath and custom-columns, its template."""

    format: OutputFormat = OutputFormat.TABLE
    template: str = ""

    @property
    def tabular(self) -> bool:
        """Whether the output is the table (plain or wide)."""
        return self.format in (OutputFormat.TABLE, OutputFormat.WIDE)


OUTPUT_CHOICES = (
    "json|yaml|wide|name|jsonpath=TEMPLATE|jsonpath-file=FILE|custom-columns=SPEC|"
    "go-template=TEMPLATE|go-template-file=FILE"
)
TEMPLATED = {"jsonpath": OutputFormat.JSONPATH, "go-template": OutputFormat.GO_TEMPLATE}


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
            if kind.endswith("-file") and kind.removesuffix("-file") in TEMPLATED:
                return _templated(kind.removesuffix("-file"), Path(argument).read_text())
            if kind in TEMPLATED and argument:
                return _templated(kind, argument)
            if kind == "custom-columns" and argument:
                parse_columns(argument)
                return Output(OutputFormat.CUSTOM_COLUMNS, argument)
            if not argument and kind in {"wide", "json", "yaml", "name"}:
                return Output(OutputFormat(kind))
        except OSError as exc:
            self.fail(f"{kind} {argument}: {exc.strerror or exc}", param, ctx)
        except TemplateError as exc:
            self.fail(str(exc), param, ctx)
        self.fail(f"{text!r} is not an output format; use one of {OUTPUT_CHOICES}", param, ctx)


def _templated(kind: str, template: str) -> Output:
    """A jsonpath or go-template output; a template that does not parse is an error (exit 1)."""
    try:
        check_template(template) if kind == "jsonpath" else gotemplate.parse(template)
    except (TemplateError, gotemplate.GoTemplateError) as exc:
        raise KargoClientError(f"error parsing template {template}: {exc}") from exc
    return Output(TEMPLATED[kind], template)


OUTPUT = OutputType()


def to_yaml(data: Any) -> str:
    """Block-style YAML in the resource's own key order."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def as_list(resources: list[Resource]) -> dict[str, Any]:
    """A kubectl-style List wrapping several resources."""
    return {"apiVersion": "v1", "kind": "List", "items": resources}


def structured(data: Any, output: Output) -> str | None:
    """data as `-o json|yaml|jsonpath|go-template` prints it; None for the other forms.

    A template that cannot be executed is an error (exit 1), as kubectl's.
    """
    try:
        if output.format is OutputFormat.JSON:
            return json.dumps(data, indent=2)
        if output.format is OutputFormat.YAML:
            return to_yaml(data).rstrip("\n")
        if output.format is OutputFormat.JSONPATH:
            return render_template(output.template, data)
        if output.format is OutputFormat.GO_TEMPLATE:
            return gotemplate.render(output.template, data)
    except (TemplateError, gotemplate.GoTemplateError) as exc:
        raise KargoClientError(f"error executing template {output.template!r}: {exc}") from exc
    return None


def format_resources(
    kind: Kind,
    resources: list[Any],
    output: OutputFormat | Output,
    no_headers: bool = False,
    colour: bool = False,
    single: bool = False,
    now: datetime | None = None,
    sort_by: str | None = None,
    deliveries: list[DeliveryRecord] | None = None,
) -> str:
    """The text `kargo get` prints (without a final newline) for resources (contract models)."""
    chosen = output if isinstance(output, Output) else Output(output)
    if sort_by:
        key = sort_key(sort_by)
        resources = sorted(resources, key=lambda r: key(document(r)))
    elif chosen.format not in (OutputFormat.JSON, OutputFormat.YAML):  # else as the server sent
        resources = sort_rows(kind.kind, resources)
    ordered = [document(r) for r in resources]
    text = structured(ordered[0] if single and ordered else as_list(ordered), chosen)
    if text is not None:
        return text
    if chosen.format is OutputFormat.CUSTOM_COLUMNS:
        columns = parse_columns(chosen.template)
        custom = Table([header for header, _ in columns])
        for each in ordered:
            custom.add(*column_cells(columns, each))
        return render_table(custom, no_headers=no_headers)
    if chosen.format is OutputFormat.NAME:
        return "\n".join(f"{kind.singular}/{name_of(r)}" for r in resources)
    table = build_table(
        kind.kind,
        resources,
        wide=chosen.format is OutputFormat.WIDE,
        now=now,
        presorted=True,
        deliveries=deliveries,
    )
    return render_table(table, no_headers=no_headers, colour=colour)
