"""Analysis between canary steps: templates run against the canary alone; failure aborts it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.registration import register_higher_layer_parsers
from kargo.liveness import is_alive
from kargo.runtime import describe_stage
from kargo.runtime.steps.deploy import DeployConfig, DeployStep
from kargo.steps.base import StepPhase
from kargo.steps.resources import set_resource_reader
from kargo.store import Store

from tests.pipeline.runtime.support import canary_config, deploy, logged, poker_spec, step_context
from tests.pipeline.runtime.test_canarying import commits_seen

TEMPLATE = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: test}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: version-check, namespace: test}
spec:
  args:
  - name: stage-url
  - name: track
  metrics:
  - name: serves-wanted-commit
    provider:
      web: {url: "{{args.stage-url}}/version", jsonPath: "{$.commit}"}
    successCondition: result == "freight-b"
"""


@pytest.fixture
def templates(tmp_path: Path) -> Iterator[Store]:
    """A real store holding the template, read by the deploy step as the engine hands it down."""
    register_higher_layer_parsers()
    store = Store.open(None, tmp_path / "store")
    apply_resources(store, load_text(TEMPLATE))
    set_resource_reader(store.get)
    try:
        yield store
    finally:
        store.close()


def analysed(port: int, commit: str) -> DeployConfig:
    """Half the traffic to the canary, the version check, then all of it."""
    analysis = {"templates": [{"templateName": "version-check"}]}
    steps = [{"setWeight": 50}, {"analysis": analysis}, {"setWeight": 100}]
    return canary_config(port, commit, steps)


@pytest.mark.haproxy
def test_a_failing_canary_analysis_returns_weight_to_zero_stops_the_canary_and_fails(
    state_dir: Path, tmp_path: Path, haproxy: str, stage_port: int, templates: Store
) -> None:
    deploy(state_dir, poker_spec("dev", "freight-a", stage_port))
    ctx = step_context(state_dir, tmp_path / "work", "dev", "freight-c", "unused")
    lines = logged(ctx)
    result = asyncio.run(DeployStep().run(ctx, analysed(stage_port, "freight-c")))

    assert result.phase is StepPhase.FAILED
    assert "metric version-check/serves-wanted-commit failed" in result.message
    assert "measured 'freight-c'" in result.message
    assert 'condition result == "freight-b"' in result.message
    running = describe_stage(state_dir, "dev")
    assert [(i.freight, i.track) for i in running] == [("freight-a", "stable")]
    assert commits_seen(stage_port, 10) == {"freight-a": 10}
    assert any(line.startswith("canary: aborted") for line in lines)


@pytest.mark.haproxy
def test_a_passing_canary_analysis_checks_the_canary_alone_and_the_canary_is_promoted(
    state_dir: Path, tmp_path: Path, haproxy: str, stage_port: int, templates: Store
) -> None:
    (stable,) = deploy(state_dir, poker_spec("dev", "freight-a", stage_port))
    ctx = step_context(state_dir, tmp_path / "work", "dev", "freight-b", "unused")

    # At weight 50 half the router's answers are freight-a: only the canary's own address passes.
    result = asyncio.run(DeployStep().run(ctx, analysed(stage_port, "freight-b")))

    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert [(i.freight, i.track) for i in describe_stage(state_dir, "dev")] == [
        ("freight-b", "stable")
    ]
    assert not is_alive(stable.pid, stable.pid_start_time)


@pytest.mark.haproxy
def test_cancelling_a_canary_promotion_as_abort_does_stops_the_canary_and_keeps_stable(
    state_dir: Path, tmp_path: Path, haproxy: str, stage_port: int
) -> None:
    deploy(state_dir, poker_spec("dev", "freight-a", stage_port))
    ctx = step_context(state_dir, tmp_path / "work", "dev", "freight-b", "unused")
    steps = [{"setWeight": 10}, {"pause": {"duration": "1h"}}]
    config = canary_config(stage_port, "freight-b", steps)
    lines = logged(ctx)

    async def abort_during_pause() -> None:
        task = asyncio.create_task(DeployStep().run(ctx, config))
        while "canary: pause 3600s" not in lines:
            await asyncio.sleep(0.05)
        task.cancel()  # what the engine does on `kargo promote --abort`
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(abort_during_pause())

    assert [(i.freight, i.track) for i in describe_stage(state_dir, "dev")] == [
        ("freight-a", "stable")
    ]
    assert commits_seen(stage_port, 10) == {"freight-a": 10}
