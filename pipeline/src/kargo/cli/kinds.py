"""How a user picks resources: the kinds the CLI knows (API paths, kubectl-style aliases) and
kubectl field selectors (`a=b`, `a==b`, `a!=b`, comma-joined, over a fixed set of fields)."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import click

from kargo.client import document


class UnknownKind(click.UsageError):
    """A kind name the CLI does not know (exit 2); the message suggests the closest one."""


@dataclass(frozen=True)
class Kind:
    """A resource kind: its Kind name, its API path segment and what users may type for it."""

    kind: str
    plural: str
    singular: str
    aliases: tuple[str, ...] = ()
    watchable: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling that selects this kind."""
        return (self.singular, self.plural, self.kind.lower(), *self.aliases)


KINDS: tuple[Kind, ...] = (
    Kind("Project", "projects", "project", ("proj", "projs")),
    Kind("Stage", "stages", "stage", ("st",)),
    Kind("Freight", "freight", "freight", ("freights", "fr")),
    Kind("Warehouse", "warehouses", "warehouse", ("wh", "warehouses")),
    Kind("Promotion", "promotions", "promotion", ("promo", "promos")),
    Kind("AnalysisRun", "analysisruns", "analysisrun", ("ar", "analysis-run", "analysis-runs")),
    Kind(
        "AnalysisTemplate",
        "analysistemplates",
        "analysistemplate",
        ("at", "analysis-template", "analysis-templates"),
    ),
    Kind(
        "WebhookConfig",
        "webhookconfigs",
        "webhook-config",
        ("webhook-configs", "webhookconfig", "whc", "webhooks", "webhook"),
    ),
    Kind("Event", "events", "event", ("ev",)),
    Kind(
        "WebhookDelivery",
        "webhookdeliveries",
        "webhook-delivery",
        ("webhook-deliveries", "webhookdelivery", "deliveries", "delivery"),
        watchable=False,
    ),
    Kind("ProjectConfig", "projectconfigs", "projectconfig", ("project-config", "pc")),
)

DESCRIBABLE = tuple(k for k in KINDS if k.kind not in {"WebhookDelivery"})
LISTINGS: tuple[Kind, ...] = (
    Kind("TokenInfo", "tokens", "token"),
    Kind("AuditEntry", "audit records", "audit", ("audits", "auditrecords")),
    Kind("StageDeliveryMetrics", "metrics", "metric", ("dora",)),
)
"""What `get` lists besides the API's resources: tokens, the audit trail, delivery metrics."""


def all_spellings(kinds: tuple[Kind, ...] = KINDS) -> list[str]:
    """Every name a user may type for a kind."""
    return [name for kind in kinds for name in kind.names]


def resolve_kind(text: str, kinds: tuple[Kind, ...] = KINDS) -> Kind:
    """The kind a user typed, case-insensitively; UnknownKind with a "did you mean" otherwise."""
    wanted = text.strip().lower()
    for kind in kinds:
        if wanted in kind.names:
            return kind
    close = difflib.get_close_matches(wanted, all_spellings(kinds), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    known = ", ".join(k.singular for k in kinds)
    raise UnknownKind(f"unknown resource kind {text!r}; {hint}known kinds: {known}")


def did_you_mean(name: str, candidates: list[str]) -> str:
    """` did you mean 'x'?` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    if not close:
        prefixed = [c for c in candidates if c.startswith(name) or name in c]
        close = prefixed[:1]
    return f"; did you mean {close[0]!r}?" if close else ""


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
