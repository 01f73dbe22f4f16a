"""`promote --wait` without a terminal prints one plain line per change."""

from __future__ import annotations

import pytest
from kargo.cli.progress import Outcome, Progress
from kargo.model.promotion import PromotionPhase
from kargo.model.stage import VerificationPhase

from tests.pipeline.cli.conftest import load


def test_plain_progress_prints_each_step_change_once(capsys: pytest.CaptureFixture[str]) -> None:
    finished = load("promotions")[0]
    running = finished.model_copy(deep=True)
    running.status.phase = PromotionPhase.RUNNING
    running.status.message = ""
    del running.status.step_execution_metadata[1:]
    running.status.current_step = 1
    view = Progress()
    view.show(running, None)
    view.show(running, None)
    view.show(finished, None)
    assert capsys.readouterr().out.splitlines() == [
        "step 1/3 clone: Succeeded (1.4s)",
        "step 2/3 build: Running",
        "promotion production.01jdx7k2m4q8r0s3t5v7w9y1z2: Running",
        "step 2/3 build: Succeeded (7.5s)",
        "step 3/3 deploy: Failed (30.1s): instance did not become ready in 30s",
        "promotion production.01jdx7k2m4q8r0s3t5v7w9y1z2: Failed "
        "(step deploy failed: instance did not become ready in 30s)",
    ]


def test_plain_progress_prints_metrics_with_their_latest_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    view = Progress()
    view.show(load("promotions")[1], load("analysisruns")[0])
    out = capsys.readouterr().out
    assert "verification response-time: Failed value=812.4" in out
    assert (
        "verification development.01jdx6f0000000000000000001: Failed (metric response-time" in out
    )


def test_only_a_succeeded_and_verified_promotion_lets_ci_go_on() -> None:
    assert Outcome(PromotionPhase.SUCCEEDED, None, "").ok
    assert Outcome(PromotionPhase.SUCCEEDED, VerificationPhase.SUCCESSFUL, "").ok
    assert not Outcome(PromotionPhase.SUCCEEDED, VerificationPhase.FAILED, "").ok
    assert not Outcome(PromotionPhase.SUCCEEDED, VerificationPhase.ABORTED, "").ok
    assert not Outcome(PromotionPhase.SUCCEEDED, VerificationPhase.PENDING, "").ok
    assert not Outcome(PromotionPhase.ERRORED, None, "").ok
