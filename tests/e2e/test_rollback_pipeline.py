"""Rollback end to end on a temporary clone: automatic (under load) and the guide's command.

Production rolls out as a canary whose analysis runs the smoke tests against the canary alone.
A commit that breaks room creation only where PLANNING_POKER_ENV=production passes development,
is auto-promoted, fails the canary analysis, and production goes back to the previous commit
without one failed request. Then `kargo rollback planning-poker --to development` returns
production to its previous freight, and auto-promotion does not bring the newer one back.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.pipeline_harness import Pipeline, git, running_pipeline
from tests.pipeline.runtime.support import Load
from tests.services import VENV_BIN, require_binary

pytestmark = [pytest.mark.e2e, pytest.mark.haproxy, pytest.mark.prometheus]

API = "app/src/planning_poker/api.py"
NOTE = "app/E2E-ROLLBACK-NOTE.txt"
BREAK_IN_PRODUCTION = """\
    if str(services(request).settings.environment.value) == "production":
        return error_response(RoomError(ErrorCode.INVALID, "e2e: rooms are broken here"))
    response.headers["X-Room-Id"] = room.id
"""


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """One running pipeline for the module."""
    require_binary("haproxy")
    require_binary("prometheus")
    with running_pipeline(tmp_path_factory.mktemp("rollback")) as running:
        yield running


def version(pipeline: Pipeline) -> str:
    return str(httpx.get(f"{pipeline.url('production')}/version", timeout=5).json()["commit"])


def ship(pipeline: Pipeline, files: dict[str, str], message: str) -> tuple[str, str]:
    """Commit, promote to development, wait for its verification to pass; (commit, freight)."""
    commit = pipeline.commit(message, files)
    freight = pipeline.freight_for(commit)["metadata"]["name"]
    promotion = pipeline.promote("development", freight)
    assert promotion["status"]["phase"] == "Succeeded", promotion["status"].get("message")
    verdict = pipeline.verification("development", freight)
    assert verdict["phase"] == "Successful", verdict
    return commit, freight


def promotions_of(pipeline: Pipeline, freight: str) -> list[dict[str, Any]]:
    return [p for p in pipeline.get("promotions") if p["spec"]["freight"] == freight]


def wait_for(what: str, check: Any, timeout: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_commit_failing_only_production_smoke_is_rolled_back_automatically_under_load(
    pipeline: Pipeline,
) -> None:
    original = (pipeline.repo / API).read_text()
    good_commit, good = ship(pipeline, {NOTE: "good\n"}, "e2e: a good change")
    pipeline.wait_current("production", good)
    pipeline.verification("production", good)
    assert version(pipeline) == good_commit

    broken = original.replace('    response.headers["X-Room-Id"] = room.id\n', BREAK_IN_PRODUCTION)
    assert broken != original
    with Load(f"{pipeline.url('production')}/version") as load:
        _, bad = ship(pipeline, {API: broken}, "e2e: rooms break in production only")
        failed = wait_for(
            "the production promotion to fail",
            lambda: [
                p
                for p in promotions_of(pipeline, bad)
                if p["spec"]["stage"] == "production" and p["status"].get("phase") == "Failed"
            ],
        )[0]
        rollback = wait_for(
            "the automatic rollback",
            lambda: [
                p
                for p in promotions_of(pipeline, good)
                if "kargo.akuity.io/rollback" in p["metadata"]["annotations"]
                and p["status"].get("phase") == "Succeeded"
            ],
        )[0]
        time.sleep(1)
    assert load.report.failed == 0, load.report.errors[:5]
    assert load.report.ok > 50
    assert version(pipeline) == good_commit
    assert pipeline.current_freight("production") == good
    assert "smoke-tests/" in failed["status"]["message"], failed["status"]["message"]
    reason = rollback["metadata"]["annotations"]["kargo.akuity.io/rollback"]
    assert "metric smoke-tests/" in reason and "measured" in reason and "condition" in reason
    created = [
        e
        for e in pipeline.events("PromotionCreated")
        if (e.get("data") or {}).get("promotion") == rollback["metadata"]["name"]
    ]
    assert created and "metric smoke-tests/" in created[0]["message"], created
    stage = pipeline.get("stages", "production")
    assert stage["metadata"]["annotations"]["kargo.akuity.io/auto-promotion-hold-freight"] == bad


def test_b_the_guide_rollback_command_returns_production_and_auto_promotion_keeps_it_there(
    pipeline: Pipeline,
) -> None:
    previous = pipeline.current_freight("production")
    previous_commit = version(pipeline)
    good_api = git(pipeline.repo, "show", f"{previous_commit}:{API}")  # undo the bad change
    files = {API: good_api, NOTE: "another good change\n"}
    commit, newer = ship(pipeline, files, "e2e: another good change")
    pipeline.wait_current("production", newer, timeout=240)
    pipeline.verification("production", newer)
    assert version(pipeline) == commit

    kargo = [str(VENV_BIN / "kargo"), "rollback", "planning-poker", "--to", "development"]
    dry = subprocess.run([*kargo, "--dry-run"], env=pipeline.env, capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert "would roll back stage/production" in dry.stdout and "nothing changed" in dry.stdout
    assert pipeline.current_freight("production") == newer
    done = subprocess.run(
        [*kargo, "--wait"], env=pipeline.env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert pipeline.current_freight("production") == previous
    assert version(pipeline) == previous_commit
    rollback = [
        p
        for p in promotions_of(pipeline, str(previous))
        if p["metadata"]["annotations"].get("kargo.akuity.io/create-actor") != "system"
        and "kargo.akuity.io/rollback" in p["metadata"]["annotations"]
    ][-1]
    state = json.dumps(rollback["status"].get("state") or {})
    assert '"cached": true' in state, state  # the previous environment was not rebuilt
    time.sleep(4)  # several auto-promotion passes
    assert pipeline.current_freight("production") == previous
    assert version(pipeline) == previous_commit
