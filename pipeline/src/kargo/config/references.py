"""Cross-resource checks: references resolve and stage sources form no cycle.

Each problem points at the line of the referring field. Cluster-scoped kinds
(ClusterPromotionTask, ClusterAnalysisTemplate) are looked up outside any project.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from kargo.config.errors import ConfigIssue
from kargo.config.fields import did_you_mean
from kargo.config.loading import LoadedResource
from kargo.model.stage import PromotionStepSpec, Stage


def _key(resource: BaseModel) -> tuple[str, str, str]:
    return (
        str(getattr(resource, "kind", "")),
        str(getattr(resource, "project", "")),
        str(getattr(resource, "name", "")),
    )


def _names(resources: Iterable[BaseModel], kind: str, project: str) -> set[str]:
    return {_key(r)[2] for r in resources if _key(r)[:2] == (kind, project)}


def check_references(
    loaded: list[LoadedResource], existing: Iterable[BaseModel] = ()
) -> list[ConfigIssue]:
    """Problems with references among the loaded resources (and those already stored)."""
    new_keys = {_key(r.resource) for r in loaded}
    universe: list[BaseModel] = [r.resource for r in loaded]
    universe += [r for r in existing if _key(r) not in new_keys]
    issues: list[ConfigIssue] = []
    for item in loaded:
        if isinstance(item.resource, Stage):
            issues.extend(_stage_references(item, universe))
    issues.extend(_cycles(loaded, universe))
    return issues


def _missing(item: LoadedResource, path: tuple[str | int, ...], what: str, name: str,
             known: set[str]) -> ConfigIssue:  # fmt: skip
    hint = did_you_mean(name, sorted(known))
    return item.issue(path, f"{what} {name!r} is not defined{hint}")


def _stage_references(item: LoadedResource, universe: list[BaseModel]) -> list[ConfigIssue]:
    stage = item.resource
    assert isinstance(stage, Stage)
    project = stage.project
    stages = _names(universe, "Stage", project)
    warehouses = _names(universe, "Warehouse", project)
    issues = []
    for i, request in enumerate(stage.spec.requested_freight):
        at = ("spec", "requestedFreight", i)
        if request.origin.name not in warehouses:
            issues.append(
                _missing(
                    item, (*at, "origin", "name"), "warehouse", request.origin.name, warehouses
                )
            )
        if not request.sources.direct and not request.sources.stages:
            issues.append(
                item.issue(
                    (*at, "sources"), "expected `direct: true` or a list of upstream `stages`"
                )
            )
        for j, upstream in enumerate(request.sources.stages):
            if upstream not in stages:
                issues.append(
                    _missing(item, (*at, "sources", "stages", j), "stage", upstream, stages)
                )
    if stage.spec.verification is not None:
        for k, ref in enumerate(stage.spec.verification.analysis_templates):
            scope = "" if ref.kind == "ClusterAnalysisTemplate" else project
            templates = _names(universe, ref.kind, scope)
            if ref.name not in templates:
                what = "cluster analysis template" if scope == "" else "analysis template"
                path = ("spec", "verification", "analysisTemplates", k, "name")
                issues.append(_missing(item, path, what, ref.name, templates))
    issues.extend(_task_references(item, stage.steps(), universe))
    return issues


def _task_references(
    item: LoadedResource, steps: list[PromotionStepSpec], universe: list[BaseModel]
) -> list[ConfigIssue]:
    issues = []
    for index, step in enumerate(steps):
        if step.task is None:
            continue
        scope = "" if step.task.kind == "ClusterPromotionTask" else _key(item.resource)[1]
        tasks = _names(universe, step.task.kind, scope)
        if step.task.name not in tasks:
            path = ("spec", "promotionTemplate", "spec", "steps", index, "task", "name")
            issues.append(_missing(item, path, step.task.kind, step.task.name, tasks))
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
                item.issue(_source_path(item.resource, cycle[1]), "stage sources form a cycle: "
                           + " → ".join(cycle))
            )  # fmt: skip
    return issues


def _source_path(stage: Stage, upstream: str) -> tuple[str | int, ...]:
    """The field where `stage` names `upstream` as a source."""
    for i, request in enumerate(stage.spec.requested_freight):
        if upstream in request.sources.stages:
            return ("spec", "requestedFreight", i, "sources", "stages",
                    request.sources.stages.index(upstream))  # fmt: skip
    return ("spec", "requestedFreight")


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
