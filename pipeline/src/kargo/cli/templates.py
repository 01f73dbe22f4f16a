"""kubectl's JSONPath templates (`-o jsonpath=…`, `custom-columns=…`, `--sort-by`) over documents.

A template is text with `{…}` expressions: `{.items[*].metadata.name}`, `{range .items[*]}…{end}`,
`{"\\n"}`. Each expression is a JSONPath (RFC 9535, through python-jsonpath) relative to the
current node; several matches print separated by spaces, as kubectl prints them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_EXPRESSION = re.compile(r"\{((?:[^{}\"]|\"(?:[^\"\\]|\\.)*\")*)\}")


class TemplateError(ValueError):
    """A template that does not parse; the message names the expression."""


def _path(expression: str) -> str:
    """A kubectl path (`.items[0].name`, `items`, `$.x`) as an RFC 9535 query."""
    text = expression.strip()
    if text.startswith("$"):
        return text
    return "$" + (text if text.startswith((".", "[")) else "." + text)


def query(document: Any, expression: str) -> list[Any]:
    """Every value the expression selects in document."""
    import jsonpath  # here, not at the top: it is a tenth of every command's start-up

    try:
        return list(jsonpath.findall(_path(expression), document))
    except jsonpath.JSONPathError as exc:
        raise TemplateError(f"{{{expression}}}: {exc}") from exc


def _checked(expression: str) -> str:
    """The expression, or TemplateError naming it when it does not parse."""
    import jsonpath

    try:
        jsonpath.compile(_path(expression))
    except jsonpath.JSONPathError as exc:
        raise TemplateError(f"{{{expression}}}: {exc}") from exc
    return expression


def _text(value: Any) -> str:
    """A value as kubectl prints it: strings bare, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class _Node:
    """A literal, an expression or a range block of a parsed template."""

    literal: str = ""
    expression: str | None = None
    body: list[_Node] | None = None


def _parse(template: str) -> list[_Node]:
    """The template's nodes, `{range X}…{end}` nested; TemplateError for unbalanced ones."""
    stack: list[list[_Node]] = [[]]
    ranges: list[_Node] = []
    position = 0
    for match in _EXPRESSION.finditer(template):
        if match.start() > position:
            stack[-1].append(_Node(literal=template[position : match.start()]))
        inner = match.group(1).strip()
        position = match.end()
        if re.match(r"range[\s.\[$]", inner):
            body: list[_Node] = []
            block = _Node(expression=_checked(inner[5:].strip()), body=body)
            stack[-1].append(block)
            ranges.append(block)
            stack.append(body)
        elif inner == "end":
            if not ranges:
                raise TemplateError("{end} without a {range …}")
            ranges.pop()
            stack.pop()
        elif inner.startswith('"'):
            stack[-1].append(_Node(literal=json.loads(inner)))
        else:
            stack[-1].append(_Node(expression=_checked(inner)))
    if ranges:
        raise TemplateError(f"{{range {ranges[-1].expression}}} without an {{end}}")
    if position < len(template):
        stack[-1].append(_Node(literal=template[position:]))
    if any("{" in node.literal for nodes in stack for node in nodes):
        raise TemplateError(f"{template!r}: an unclosed {{; write expressions as {{.path}}")
    return stack[0]


def _render(nodes: list[_Node], document: Any) -> str:
    out = []
    for node in nodes:
        if node.body is not None and node.expression is not None:
            for item in query(document, node.expression):
                out.append(_render(node.body, item))
        elif node.expression is not None:
            out.append(" ".join(_text(v) for v in query(document, node.expression)))
        else:
            out.append(node.literal)
    return "".join(out)


def check_template(template: str) -> None:
    """Raise TemplateError unless every expression of the template parses."""
    _parse(template)


def render_template(template: str, document: Any) -> str:
    """The template filled in from document (`-o jsonpath=…`)."""
    return _render(_parse(template), document)


def parse_columns(spec: str) -> list[tuple[str, str]]:
    """`NAME:.metadata.name,PHASE:.status.phase` as (header, path) pairs."""
    columns = []
    for part in spec.split(","):
        header, found, path = part.partition(":")
        if not found or not header or not path:
            raise TemplateError(
                f"custom-columns {part!r}: write HEADER:PATH, e.g. NAME:.metadata.name"
            )
        columns.append((header, path.strip().strip("{}")))
        check_template("{" + columns[-1][1] + "}")
    return columns


def column_cells(columns: list[tuple[str, str]], document: Any) -> list[str]:
    """One row of custom columns (`<none>` where a path selects nothing, as kubectl)."""
    cells = []
    for _, path in columns:
        values = query(document, path)
        cells.append(",".join(_text(v) for v in values) if values else "<none>")
    return cells


def sort_key(expression: str) -> Any:
    """A sort key function for `--sort-by=.metadata.name` (missing values sort first)."""
    wanted = expression.strip().strip("{}")

    def key(document: Any) -> tuple[int, str, float]:
        values = query(document, wanted)
        if not values:
            return (0, "", 0.0)
        value = values[0]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (1, "", float(value))
        return (2, _text(value), 0.0)

    return key
