"""The resource kinds the CLI knows, their API paths and their kubectl-style aliases."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import click


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
