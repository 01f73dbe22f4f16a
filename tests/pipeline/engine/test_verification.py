"""Verification after a promotion, automatic rollback on failure, and manual rollback."""

from __future__ import annotations

from pathlib import Path

import pytest
from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.errors import Conflict
from kargo.engine.operations import (
    abort_verification,
    plan_rollback,
    refresh_warehouse,
    roll_back,
)
from kargo.engine.promoting import PromotionRequest, request_promotion
from kargo.engine.registration import register_higher_layer_parsers
from kargo.model.freight import Freight
from kargo.model.stage import Stage, VerificationPhase
from kargo.store import EventFilter, Store, get_model, list_models

from tests.pipeline.documents import analysis_template, documents, git_warehouse, project, stage
from tests.pipeline.harness import (
    commit,
    http_server,
    make_repo,
    promotions_of,
    rollbacks_of,
    running_engine,
    wait_until,
)


def pipeline(repo: Path, check_url: str, verify: bool = True, measurements: int = 1) -> str:
    return documents(
        project(policies="- {stage: dev, autoRollback: {onVerification: [Failed, Error]}}"),
        git_warehouse(repo),
        analysis_template("smoke", check_url, measurement=f"count: {measurements}\ninterval: 1s"),
        stage("dev", verification="analysisTemplates: [{name: smoke}]" if verify else None),
    )


def current(store: Store) -> tuple[str | None, VerificationPhase | None]:
    stage = get_model(store, Stage, "shop", "dev")
    head = stage.status.current_freight if stage else None
    if head is None:
        return None, None
    phase = head.verification_history[0].phase if head.verification_history else None
    return head.name, phase


def test_passing_verification_marks_freight_verified_in_the_stage(
    store: Store, tmp_path: Path
) -> None:
    register_higher_layer_parsers()
    repo = make_repo(tmp_path / "repo")
    with http_server() as base, running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline(repo, f"{base}/ok")))
        freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        request_promotion(store, PromotionRequest("shop", "dev", freight.name, actor="bob"))
        wait_until(
            lambda: current(store) == (freight.name, VerificationPhase.SUCCESSFUL),
            what="verification",
        )
    verified = get_model(store, Freight, "shop", freight.name)
    assert verified is not None and "dev" in verified.status.verified_in
    events = store.events(
        "shop", where=EventFilter(equal={"reason": "FreightVerificationSucceeded"})
    )
    assert events[0].data["templates"][0]["name"] == "smoke"
    assert events[0].data["templates"][0]["metrics"][0]["phase"] == "Successful"


def test_failed_verification_rolls_the_stage_back_to_the_last_good_freight(
    store: Store, tmp_path: Path
) -> None:
    register_higher_layer_parsers()
    repo = make_repo(tmp_path / "repo")
    with http_server() as base, running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline(repo, f"{base}/ok")))
        good = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        request_promotion(store, PromotionRequest("shop", "dev", good.name))
        wait_until(lambda: current(store)[1] is VerificationPhase.SUCCESSFUL, what="first check")
        # The next freight meets a failing check.
        apply_resources(store, load_text(pipeline(repo, f"{base}/bad")))
        commit(repo, "app/main.py", "print('v2')\n", "bad version")
        refresh_warehouse(store, "shop", "app", actor="test")
        bad = wait_until(
            lambda: [f for f in list_models(store, Freight, "shop") if f.name != good.name],
            what="second freight",
        )[0]
        request_promotion(store, PromotionRequest("shop", "dev", bad.name))
        # The bad freight may be current for only a moment, so wait on durable records:
        # its promotion succeeded, then a rollback promotion brought the good one back.
        wait_until(
            lambda: promotions_of(store, "shop", bad.name, "Succeeded"), what="the bad promotion"
        )
        wait_until(lambda: rollbacks_of(store, "shop", good.name), what="the rollback promotion")
        wait_until(lambda: current(store)[0] == good.name, what="the rollback")
    reasons = [e.reason for e in store.events("shop")]
    assert "FreightVerificationFailed" in reasons


def test_a_manual_rollback_returns_the_stage_to_its_previous_freight(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    yaml = pipeline(repo, "http://127.0.0.1:9/unused", verify=False)
    with running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(yaml))
        first = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        request_promotion(store, PromotionRequest("shop", "dev", first.name))
        wait_until(lambda: current(store)[0] == first.name, what="first promotion")
        commit(repo, "app/main.py", "print('v2')\n", "second")
        refresh_warehouse(store, "shop", "app", actor="test")
        second = wait_until(
            lambda: [f for f in list_models(store, Freight, "shop") if f.name != first.name],
            what="second freight",
        )[0]
        request_promotion(store, PromotionRequest("shop", "dev", second.name))
        wait_until(lambda: current(store)[0] == second.name, what="second promotion")
        plan = plan_rollback(store, "shop", "dev")
        assert plan.to_freight == first.name
        roll_back(store, "shop", "dev", None, "testing", actor="carol")
        wait_until(lambda: current(store)[0] == first.name, what="rollback")


def test_an_abort_stored_on_the_stage_stops_the_running_verification(
    store: Store, tmp_path: Path
) -> None:
    register_higher_layer_parsers()
    repo = make_repo(tmp_path / "repo")
    with http_server() as base, running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline(repo, f"{base}/ok", measurements=100)))
        freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        request_promotion(store, PromotionRequest("shop", "dev", freight.name))
        wait_until(lambda: current(store)[1] is VerificationPhase.RUNNING, what="verification")
        stage = abort_verification(store, "shop", "dev")
        running = stage.status.current_freight.verification_history[0]  # type: ignore[union-attr]
        assert stage.metadata.annotations["kargo.akuity.io/abort"] == running.id
        wait_until(lambda: current(store)[1] is VerificationPhase.ABORTED, what="the abort")
    with pytest.raises(Conflict, match="no verification running"):
        abort_verification(store, "shop", "dev")
