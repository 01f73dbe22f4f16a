"""kubectl field selectors: `a=b`, `a==b`, `a!=b`, comma-joined, over a fixed set of fields."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import click

from kargo.client import document

EVENT_FIELDS = ("involvedObject.kind", "involvedObject.name", "reason", "type")


class SelectorError(click.UsageError):
    """A field selector that cannot be read (exit 2); the message says what to type instead."""


class Operator(enum.StrEnum):
    """A field selector's comparison."""

    EQUALS = "="
    NOT_EQUALS = "!="


@dataclass(frozen=True)
class Requirement:
    """One `field op value` term."""

    field: str
    operator: Operator
    value: str

    def matches(self, resource: dict[str, Any]) -> bool:
        """Whether the resource satisfies this term (fields read at the top or under spec)."""
        actual = lookup(resource, self.field)
        equal = actual == self.value
        return equal if self.operator is Operator.EQUALS else not equal

    def __str__(self) -> str:
        return f"{self.field}{self.operator.value}{self.value}"


def lookup(resource: dict[str, Any], dotted: str) -> str:
    """The string at a dotted path, looked for at the top level and under `spec`."""
    for root in (resource, resource.get("spec")):
        node: Any = root
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return str(node)
    return ""


def parse_field_selector(text: str, allowed: Iterable[str] = EVENT_FIELDS) -> list[Requirement]:
    """Parse `a=b,c!=d`; refuse unknown fields and malformed terms with a suggestion."""
    fields = tuple(allowed)
    requirements: list[Requirement] = []
    for term in (t.strip() for t in text.split(",")):
        if not term:
            continue
        operator = next((op for op in ("!=", "==", "=") if op in term), None)
        if operator is None:
            raise SelectorError(
                f"field selector term {term!r} has no operator; "
                f"write it as FIELD=VALUE, e.g. involvedObject.kind=Promotion"
            )
        field, _, value = term.partition(operator)
        field, value = field.strip(), value.strip()
        if field not in fields:
            close = difflib.get_close_matches(field, fields, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise SelectorError(
                f"field selector field {field!r} is not supported; {hint}"
                f"supported: {', '.join(fields)}"
            )
        if not value:
            raise SelectorError(f"field selector term {term!r} has no value; write {field}=VALUE")
        equal = Operator.NOT_EQUALS if operator == "!=" else Operator.EQUALS
        requirements.append(Requirement(field, equal, value))
    return requirements


def format_field_selector(requirements: Iterable[Requirement]) -> str:
    """The canonical text of parsed requirements, as sent to the server."""
    return ",".join(str(r) for r in requirements)


def select(resources: Iterable[Any], requirements: list[Requirement]) -> list[Any]:
    """The resources (contract models) whose documents satisfy every requirement."""
    return [r for r in resources if all(q.matches(document(r)) for q in requirements)]
