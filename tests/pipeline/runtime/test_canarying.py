"""Canary releases: traffic shares through HAProxy weights, promotion and abort, on real parts."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import httpx
import pytest
from kargo.liveness import is_alive
from kargo.runtime import describe_stage
from kargo.runtime.canarying import (
    CanaryError,
    abort_canary,
    promote_canary,
    set_canary_weight,
    start_canary,
    traffic_weights,
)
from kargo.runtime.state import RuntimePaths
from kargo.runtime.steps.deploy import DeployConfig, DeployStep
from kargo.steps.base import StepContext, StepPhase

from tests.pipeline.runtime.support import (
    canary_config,
    deploy,
    logged,
    poker_spec,
    step_context,
)


@pytest.mark.parametrize(
    ("stable", "canary", "percent", "weights"),
    [
        (1, 1, 0, (1, 0)),
        (1, 1, 25, (3, 1)),
        (2, 1, 20, (2, 1)),  # 2 stable x 2 : 1 canary x 1 -> 20%
        (1, 2, 50, (2, 1)),
        (1, 1, 100, (0, 1)),
        (0, 1, 30, (0, 1)),
        (1, 1, 1, (99, 1)),
    ],
)
def test_weights_give_the_canary_its_share_of_requests(
    stable: int, canary: int, percent: int, weights: tuple[int, int]
) -> None:
    assert traffic_weights(stable, canary, percent) == weights


def commits_seen(port: int, requests: int) -> Counter[str]:
    """Which commit answered each of `requests` fresh requests to the stage."""
    seen: Counter[str] = Counter()
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for _ in range(requests):
            seen[client.get(f"http://127.0.0.1:{port}/version").json()["commit"]] += 1
    return seen


@pytest.mark.haproxy
def test_a_canary_takes_its_share_then_becomes_the_stable_version(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    (stable,) = deploy(state_dir, poker_spec("dev", "freight-a", stage_port))

    asyncio.run(start_canary(state_dir, poker_spec("dev", "freight-b", stage_port), percent=25))
    shares = commits_seen(stage_port, 80)
    set_canary_weight(state_dir, "dev", 100)
    all_canary = commits_seen(stage_port, 10)
    final = asyncio.run(promote_canary(state_dir, "dev", drain_timeout=1))

    assert sum(shares.values()) == 80 and 15 <= shares["freight-b"] <= 25  # weights 3:1
    assert all_canary == Counter({"freight-b": 10})
    assert [(i.freight, i.track) for i in final] == [("freight-b", "stable")]
    assert not is_alive(stable.pid, stable.pid_start_time)
    targets = json.loads(RuntimePaths(state_dir).targets_file.read_text())
    assert {g["labels"].get("track") for g in targets} == {"stable", None}


@pytest.mark.haproxy
def test_an_aborted_canary_gives_stable_all_traffic_back(
    state_dir: Path, haproxy: str, stage_port: int
) -> None:
    deploy(state_dir, poker_spec("dev", "freight-a", stage_port))
    (canary,) = asyncio.run(
        start_canary(state_dir, poker_spec("dev", "freight-b", stage_port), percent=50)
    )
    tracks = {(i.freight, i.track) for i in describe_stage(state_dir, "dev")}

    asyncio.run(abort_canary(state_dir, "dev", drain_timeout=1))

    assert tracks == {("freight-a", "stable"), ("freight-b", "canary")}
    assert commits_seen(stage_port, 10) == Counter({"freight-a": 10})
    assert not is_alive(canary.pid, canary.pid_start_time)
    with pytest.raises(CanaryError):
        set_canary_weight(state_dir, "dev", 10)


def canary_context(state_dir: Path, tmp_path: Path) -> StepContext:
    """A promotion of freight-b to dev."""
    return step_context(state_dir, tmp_path / "work", "dev", "freight-b", "unused")


@pytest.mark.haproxy
def test_the_deploy_step_walks_canary_steps_and_promotes_the_canary(
    state_dir: Path, tmp_path: Path, haproxy: str, stage_port: int
) -> None:
    deploy(state_dir, poker_spec("dev", "freight-a", stage_port))
    steps = [{"setWeight": 50}, {"pause": {"duration": "1s"}}]
    ctx = canary_context(state_dir, tmp_path)
    lines = logged(ctx)
    result = asyncio.run(DeployStep().run(ctx, canary_config(stage_port, "freight-b", steps)))

    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert {(i.freight, i.track) for i in describe_stage(state_dir, "dev")} == {
        ("freight-b", "stable")
    }
    assert "canary: weight 50%" in lines and "canary: pause 1s" in lines


def test_the_deploy_step_refuses_a_malformed_analysis_step_before_starting_anything(
    state_dir: Path, tmp_path: Path
) -> None:
    config = {
        "port": 1,
        "command": ["x"],
        "strategy": {"canary": {"steps": [{"analysis": {"templates": []}}]}},
    }
    ctx = canary_context(state_dir, tmp_path)

    result = asyncio.run(DeployStep().run(ctx, DeployConfig.model_validate(config)))

    assert result.phase is StepPhase.ERRORED
    assert "canary step 1: analysis" in result.message
    assert describe_stage(state_dir, "dev") == []


@pytest.mark.haproxy
def test_a_canary_deploy_run_again_after_its_promotion_finishes_without_a_new_canary(
    state_dir: Path, tmp_path: Path, haproxy: str, stage_port: int
) -> None:
    """Regression: an engine killed as the canary was promoted resumed into "has no canary"."""
    deploy(state_dir, poker_spec("dev", "freight-a", stage_port))
    spec = poker_spec("dev", "freight-b", stage_port)
    asyncio.run(start_canary(state_dir, spec, percent=50))
    (promoted,) = asyncio.run(promote_canary(state_dir, "dev", 0.2, 5))
    ctx = canary_context(state_dir, tmp_path)
    config = canary_config(stage_port, "freight-b", [{"setWeight": 50}, {"setWeight": 100}])

    result = asyncio.run(DeployStep().run(ctx, config))  # the resumed step runs it all again

    assert result.phase is StepPhase.SUCCEEDED, result.message
    running = describe_stage(state_dir, "dev")
    assert [(i.freight, i.track, i.pid) for i in running] == [("freight-b", "stable", promoted.pid)]
    assert commits_seen(stage_port, 10) == {"freight-b": 10}
