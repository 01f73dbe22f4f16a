"""The kind registry: kind name → model class, plural path names, and parsing by kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from kargo.model.analysis import AnalysisRun, AnalysisTemplate, ClusterAnalysisTemplate
from kargo.model.freight import Freight
from kargo.model.project import Project, ProjectConfig
from kargo.model.promotion import Promotion
from kargo.model.promotiontask import ClusterPromotionTask, PromotionTask
from kargo.model.stage import Stage
from kargo.model.warehouse import Warehouse
from kargo.model.webhooks import WebhookConfig

LineOf = Callable[[str], int | None]
"""The line of a dotted field path (`spec.metrics[0].successCondition`), or None."""
Parser = Callable[[dict[str, Any], str, int | None, LineOf | None], BaseModel]
"""A custom parser: (document, source file, first line, field lines) → model; raises errors
that carry `field`, `line` and `expected` (see kargo.analysis.errors)."""

KINDS: dict[str, type[BaseModel]] = {
    "Project": Project,
    "ProjectConfig": ProjectConfig,
    "Warehouse": Warehouse,
    "Freight": Freight,
    "Stage": Stage,
    "Promotion": Promotion,
    "AnalysisTemplate": AnalysisTemplate,
    "ClusterAnalysisTemplate": ClusterAnalysisTemplate,
    "AnalysisRun": AnalysisRun,
    "WebhookConfig": WebhookConfig,
    "PromotionTask": PromotionTask,
    "ClusterPromotionTask": ClusterPromotionTask,
}
_PARSERS: dict[str, Parser] = {}
PLURALS: dict[str, str] = {
    "projects": "Project",
    "projectconfigs": "ProjectConfig",
    "warehouses": "Warehouse",
    "freight": "Freight",
    "freights": "Freight",
    "stages": "Stage",
    "promotions": "Promotion",
    "promotiontasks": "PromotionTask",
    "clusterpromotiontasks": "ClusterPromotionTask",
    "clusteranalysistemplates": "ClusterAnalysisTemplate",
    "analysistemplates": "AnalysisTemplate",
    "analysisruns": "AnalysisRun",
    "webhookconfigs": "WebhookConfig",
}


def kind_for_plural(plural: str) -> str | None:
    """The kind a lower-case path segment names (`stages` → `Stage`), or None."""
    lowered = plural.lower()
    if lowered in PLURALS:
        return PLURALS[lowered]
    for kind in KINDS:
        if kind.lower() == lowered or kind.lower() + "s" == lowered:
            return kind
    return None


def model_for(kind: str) -> type[BaseModel] | None:
    """The model class of a kind, or None when the kind is unknown."""
    return KINDS.get(kind)


def register_parser(kind: str, parser: Parser) -> None:
    """Parse a kind with a function from a higher layer (the engine registers the analysis one)."""
    _PARSERS[kind] = parser


def parse_resource(
    document: dict[str, Any],
    source: str = "<input>",
    line: int | None = None,
    line_of: LineOf | None = None,
) -> BaseModel:
    """Validate a serialised resource into its model (raises pydantic's ValidationError)."""
    kind = str(document.get("kind", ""))
    parser = _PARSERS.get(kind)
    if parser is not None:
        return parser(document, source, line, line_of)
    cls = KINDS.get(kind)
    if cls is None:
        raise KeyError(kind)
    return cls.model_validate(document)


def known_kinds() -> list[str]:
    """The names of all registered kinds."""
    return sorted(KINDS)
