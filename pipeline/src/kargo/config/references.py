"""Cross-resource checks: references resolve and stage sources form no cycle."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from kargo.config.errors import ConfigIssue
from kargo.config.fields import did_you_mean
from kargo.config.loading import LoadedResource
from kargo.model.stage import Stage


def _names(resources: Iterable[BaseModel], kind: str, project: str) -> set[str]:
    return {
        getattr(r, "name", "")
        for r in resources
        if getattr(r, "kind", "") == kind and getattr(r, "project", "") == project
    }


def check_references(
    loaded: list[LoadedResource], existing: Iterable[BaseModel] = ()
) -> list[ConfigIssue]:
    """Problems with references among the loaded resources (and those already stored)."""
    new_keys = {(r.kind, getattr(r.resource, "project", ""), getattr(r.resource, "name", ""))
                for r in loaded}  # fmt: skip
    universe: list[BaseModel] = [r.resource for r in loaded]
    universe += [
        r
        for r in existing
        if (getattr(r, "kind", ""), getattr(r, "project", ""), getattr(r, "name", ""))
        not in new_keys
    ]
    issues: list[ConfigIssue] = []
    for item in loaded:
        if isinstance(item.resource, Stage):
            issues.extend(_stage_references(item, universe))
    issues.extend(_cycles(loaded, universe))
    return issues


def _stage_references(item: LoadedResource, universe: list[BaseModel]) -> list[ConfigIssue]:
    stage = item.resource
    assert isinstance(stage, Stage)
    project = stage.project
    stages = _names(universe, "Stage", project)
    warehouses = _names(universe, "Warehouse", project)
    templates = _names(universe, "AnalysisTemplate", project)
    issues = []
    for i, request in enumerate(stage.spec.requested_freight):
        path = f"spec.requestedFreight[{i}]"
        if request.origin.name not in warehouses:
            hint = did_you_mean(request.origin.name, sorted(warehouses))
            issues.append(
                ConfigIssue(
                    item.source,
                    item.line,
                    f"{path}.origin.name",
                    f"warehouse {request.origin.name!r} is not defined{hint}",
                )
            )
        if not request.sources.direct and not request.sources.stages:
            issues.append(
                ConfigIssue(
                    item.source,
                    item.line,
                    f"{path}.sources",
                    "expected `direct: true` or a list of upstream `stages`",
                )
            )
        for j, upstream in enumerate(request.sources.stages):
            if upstream not in stages:
                hint = did_you_mean(upstream, sorted(stages))
                issues.append(
                    ConfigIssue(
                        item.source,
                        item.line,
                        f"{path}.sources.stages[{j}]",
                        f"stage {upstream!r} is not defined{hint}",
                    )
                )
    if stage.spec.verification is not None:
        for k, ref in enumerate(stage.spec.verification.analysis_templates):
            if ref.name not in templates:
                hint = did_you_mean(ref.name, sorted(templates))
                issues.append(
                    ConfigIssue(
                        item.source,
                        item.line,
                        f"spec.verification.analysisTemplates[{k}].name",
                        f"analysis template {ref.name!r} is not defined{hint}",
                    )
                )
    return issues


def _cycles(loaded: list[LoadedResource], universe: list[BaseModel]) -> list[ConfigIssue]:
    graph: dict[tuple[str, str], list[str]] = {}
    for resource in universe:
        if isinstance(resource, Stage):
            graph[(resource.project, resource.name)] = resource.upstream_stages()
    issues = []
    reported: set[frozenset[str]] = set()
    for item in loaded:
        if not isinstance(item.resource, Stage):
            continue
        cycle = _find_cycle(graph, item.resource.project, item.resource.name)
        if cycle and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            issues.append(
                ConfigIssue(
                    item.source,
                    item.line,
                    "spec.requestedFreight.sources.stages",
                    "stage sources form a cycle: " + " → ".join(cycle),
                )
            )
    return issues


def _find_cycle(graph: dict[tuple[str, str], list[str]], project: str, start: str) -> list[str]:
    path: list[str] = []

    def visit(name: str) -> list[str]:
        if name in path:
            return [*path[path.index(name) :], name]
        path.append(name)
        for upstream in graph.get((project, name), []):
            found = visit(upstream)
            if found:
                return found
        path.pop()
        return []

    return visit(start)
