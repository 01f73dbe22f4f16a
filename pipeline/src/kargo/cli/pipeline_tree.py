"""`kargo get pipeline`: stages → freight → promotion → analysis run as a tree, like
`kubectl argo rollouts get rollout` (with `-w`, drawn again at each change)."""

from __future__ import annotations

from kargo.api.contract import StageView
from kargo.cli.columns import newest_verification
from kargo.cli.tables import age
from kargo.client import KargoClient
from kargo.model.analysis import AnalysisRun
from kargo.model.promotion import Promotion


def pipeline_order(stages: list[StageView]) -> list[StageView]:
    """Stages fed by a warehouse first, then each after the stages it takes freight from."""
    placed: list[StageView] = []
    waiting = sorted(stages, key=lambda s: s.name)
    while waiting:
        names = {s.name for s in placed}
        ready = [s for s in waiting if all(u in names for u in s.upstream_stages())]
        if not ready:  # a cycle or a missing upstream: keep the rest in name order
            ready = waiting
        placed += ready
        waiting = [s for s in waiting if s not in ready]
    return placed


def _branch(last: bool) -> tuple[str, str]:
    return ("└──", "   ") if last else ("├──", "│  ")


def read_pipeline(client: KargoClient, project: str) -> str:
    """The project's tree as the server says now: each stage's freight, promotion, verification."""
    by_name = {p.name: p for p in client.resources(project, Promotion)}
    run_names = {r.name: r for r in client.resources(project, AnalysisRun)}
    lines = [f"Pipeline: {project}"]
    ordered = pipeline_order(client.resources(project, StageView))
    for index, stage in enumerate(ordered):
        branch, indent = _branch(index == len(ordered) - 1)
        health = stage.status.health.status if stage.status.health else "Unknown"
        sources = ",".join(stage.upstream_stages()) or "warehouse"
        lines.append(f"{branch}# stage {stage.name}   {health}   (from {sources})")
        children: list[str] = []
        current = stage.status.current_freight
        if current is None:
            children.append("freight  <none>")
        else:
            children.append(f"freight  {current.alias or '-'} ({current.name[:7]})")
            if verification := newest_verification(stage):
                run = verification.analysis_run.name if verification.analysis_run else ""
                found = run_names.get(run)
                done = (
                    f" {sum(m.phase == 'Successful' for m in found.status.metric_results)}/"
                    f"{len(found.status.metric_results)} metrics"
                    if found
                    else ""
                )
                children.append(f"verification  {verification.phase}  {run or '-'}{done}")
        last = stage.status.last_promotion
        promotion = by_name.get(last.name) if last else None
        if promotion is not None:
            when = age(promotion.metadata.creation_timestamp)
            kind = "rollback" if promotion.is_rollback else "promotion"
            children.insert(1, f"{kind}  {promotion.name}  {promotion.status.phase}  {when}")
        for number, child in enumerate(children):
            mark, _ = _branch(number == len(children) - 1)
            lines.append(f"{indent}{mark}{child}")
    return "\n".join(lines)
