"""Kargo's policies drive a real engine: glob selectors, tasks, cluster templates, strategies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.autopromotion import candidate_freight
from kargo.model.freight import Freight
from kargo.model.promotion import Promotion, PromotionPhase
from kargo.model.stage import Stage
from kargo.store import Store, get_model, list_models

from tests.pipeline.documents import analysis_template, documents, git_warehouse, project, stage
from tests.pipeline.harness import (
    http_server,
    make_repo,
    running_engine,
    running_freight,
    wait_until,
)


def three_stages(repo: Path, base_url: str) -> str:
    """Three stages named q*, one policy `glob:q*`; q1 uses a task and a cluster template."""
    task = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {name: announce}
spec:
  vars:
  - name: word
  steps:
  - uses: shell
    as: say
    config: {command: "echo task says ${{ vars.word }}"}
  - uses: shell
    config: {command: "echo heard ${{ task.outputs.say.stdout }}"}
"""
    return documents(
        project(policies='- {stageSelector: {name: "glob:q*"}, autoPromotionEnabled: true}'),
        analysis_template("healthy", f"{base_url}/ok", kind="ClusterAnalysisTemplate"),
        task,
        git_warehouse(repo),
        stage(
            "q1",
            "- {task: {name: announce}, vars: [{name: word, value: hello}]}",
            verification="analysisTemplates: [{name: healthy, kind: ClusterAnalysisTemplate}]",
        ),
        stage("q2", sources="{stages: [q1]}"),
        stage(
            "q3",
            sources="{stages: [q2], autoPromotionOptions: {selectionPolicy: MatchUpstream}}",
        ),
    )


def test_a_glob_stage_selector_auto_promotes_through_three_stages(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    with http_server() as base_url, running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(three_stages(repo, base_url)), actor="test")
        freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        wait_until(lambda: running_freight(store, "q3") == freight.name, timeout=40, what="q3")
    promotions = {p.spec.stage: p for p in list_models(store, Promotion, "shop")}
    assert set(promotions) == {"q1", "q2", "q3"}
    assert all(p.status.phase is PromotionPhase.SUCCEEDED for p in promotions.values())
    q1 = promotions["q1"]
    # The task step was inflated as Kargo names it, with its variable filled in.
    assert [s.as_ for s in q1.spec.steps] == ["task-1::say", "task-1::step-2"]
    logs = [line for _, line in store.logs("shop", q1.name)]
    assert "task says hello" in logs
    assert "heard task says hello" in logs  # task.outputs reads the task's own earlier step
    final = get_model(store, Freight, "shop", freight.name)
    assert final is not None and {"q1", "q2", "q3"} <= set(final.status.verified_in)


def _freight(
    name: str, minutes_ago: int, verified_in: dict[str, object], currently_in: list[str]
) -> Freight:
    found = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return Freight.model_validate(
        {
            "metadata": {"name": name, "namespace": "shop"},
            "origin": {"kind": "Warehouse", "name": "app"},
            "discoveredAt": found.isoformat(),
            "status": {
                "verifiedIn": verified_in,
                "currentlyIn": {s: {} for s in currently_in},
            },
        }
    )


def _stage(sources: str) -> Stage:
    text = (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\n"
        "metadata: {name: prod, namespace: shop}\n"
        "spec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: app}\n"
        f"    sources: {sources}\n"
    )
    resource = load_text(text)[0].resource
    assert isinstance(resource, Stage)
    return resource


def test_availability_all_needs_every_upstream_stage() -> None:
    now = datetime.now(UTC)
    in_a = _freight("f1", 5, {"a": {}}, ["a"])
    in_both = _freight("f0", 10, {"a": {}, "b": {}}, ["a", "b"])
    one_of = _stage("{stages: [a, b]}")
    every = _stage("{stages: [a, b], availabilityStrategy: All}")
    assert candidate_freight(one_of, [in_a, in_both], now) == in_a  # the newest verified in one
    assert candidate_freight(every, [in_a, in_both], now) == in_both
    assert candidate_freight(every, [in_a], now) is None


def test_match_upstream_takes_what_the_upstream_stage_runs_not_the_newest() -> None:
    now = datetime.now(UTC)
    newer = _freight("f2", 1, {"a": {}}, [])
    running = _freight("f1", 30, {"a": {}}, ["a"])
    newest = _stage("{stages: [a]}")
    matching = _stage("{stages: [a], autoPromotionOptions: {selectionPolicy: MatchUpstream}}")
    assert candidate_freight(newest, [newer, running], now) == newer
    assert candidate_freight(matching, [newer, running], now) == running
