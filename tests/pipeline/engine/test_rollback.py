"""Rollback holds, automatic rollback on failed promotions, soak time and approvals."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.approvals import approve_freight
from kargo.engine.errors import Invalid
from kargo.engine.holds import HOLD_FREIGHT_ANNOTATION
from kargo.engine.operations import downstream_stages, refresh_warehouse, roll_back
from kargo.engine.promoting import PromotionRequest, request_promotion
from kargo.engine.registration import register_higher_layer_parsers
from kargo.model.freight import Freight
from kargo.model.stage import HOLD_ANNOTATION, Stage
from kargo.store import Store, get_model, list_models

from tests.pipeline.documents import analysis_template, documents, git_warehouse, project, stage
from tests.pipeline.harness import (
    commit,
    http_server,
    make_repo,
    promotions_of,
    rollbacks_of,
    running_engine,
    running_freight,
    wait_until,
)


def pipeline(
    repo: Path,
    soak: str = "",
    prod_steps: str = "- uses: noop",
    rollback: str = "autoRollback: {onVerification: [Failed, Error]}",
    check_url: str = "",
) -> str:
    """dev, then an auto-promoted prod; with `check_url`, prod is verified by asking it."""
    soaked = f", requiredSoakTime: {soak}" if soak else ""
    verified = "analysisTemplates: [{name: smoke}]" if check_url else None
    return documents(
        project(policies=f"- stage: prod\n  autoPromotionEnabled: true\n  {rollback}"),
        git_warehouse(repo),
        stage("dev"),
        stage("prod", prod_steps, sources=f"{{stages: [dev]{soaked}}}", verification=verified),
        *([analysis_template("smoke", check_url)] if check_url else []),
    )


def stored_stage(store: Store, name: str) -> Stage:
    found = get_model(store, Stage, "shop", name)
    assert found is not None
    return found


def new_freight(store: Store, repo: Path, n: int, seen: set[str]) -> Freight:
    commit(repo, "app/main.py", f"print('v{n}')\n", f"version {n}")
    refresh_warehouse(store, "shop", "app", actor="test")
    fresh = wait_until(
        lambda: [f for f in list_models(store, Freight, "shop") if f.name not in seen],
        what=f"freight {n}",
    )[0]
    seen.add(fresh.name)
    return fresh


def through_dev(store: Store, freight: Freight) -> None:
    request_promotion(store, PromotionRequest("shop", "dev", freight.name, actor="dev"))
    wait_until(lambda: running_freight(store, "dev") == freight.name, what="dev promotion")


def test_a_rollback_holds_the_rolled_back_freight_until_newer_freight_arrives(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    with running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline(repo)))
        first = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        seen = {first.name}
        through_dev(store, first)
        wait_until(lambda: running_freight(store, "prod") == first.name, what="auto-promotion 1")
        second = new_freight(store, repo, 2, seen)
        through_dev(store, second)
        wait_until(lambda: running_freight(store, "prod") == second.name, what="auto-promotion 2")
        # The guide's form: undo what left dev, in every stage it feeds.
        assert downstream_stages(store, "shop", "dev") == ["prod"]
        rollback = roll_back(store, "shop", "prod", None, "bad release", actor="carol")
        assert rollback.metadata.annotations["kargo.akuity.io/rollback"] == "bad release"
        wait_until(lambda: running_freight(store, "prod") == first.name, what="the rollback")
        held = stored_stage(store, "prod").metadata.annotations
        assert held[HOLD_FREIGHT_ANNOTATION] == second.name
        assert "carol" in held[HOLD_ANNOTATION] and "bad release" in held[HOLD_ANNOTATION]
        time.sleep(1.5)  # several auto-promotion passes: the bad freight must not come back
        assert running_freight(store, "prod") == first.name
        third = new_freight(store, repo, 3, seen)
        through_dev(store, third)
        wait_until(lambda: running_freight(store, "prod") == third.name, what="newer freight")
        assert HOLD_ANNOTATION not in stored_stage(store, "prod").metadata.annotations


def test_promoting_the_held_freight_explicitly_lifts_the_hold(store: Store, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    with running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline(repo)))
        first = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        seen = {first.name}
        through_dev(store, first)
        wait_until(lambda: running_freight(store, "prod") == first.name, what="auto-promotion 1")
        second = new_freight(store, repo, 2, seen)
        through_dev(store, second)
        wait_until(lambda: running_freight(store, "prod") == second.name, what="auto-promotion 2")
        roll_back(store, "shop", "prod", first.name, "try again later", actor="carol")
        wait_until(lambda: running_freight(store, "prod") == first.name, what="the rollback")
        assert HOLD_ANNOTATION in stored_stage(store, "prod").metadata.annotations
        request_promotion(store, PromotionRequest("shop", "prod", second.name, actor="dave"))
        assert HOLD_ANNOTATION not in stored_stage(store, "prod").metadata.annotations
        wait_until(lambda: running_freight(store, "prod") == second.name, what="explicit promotion")


def test_a_failed_promotion_rolls_back_when_the_policy_says_on_promotion_failed(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    # The step passes for commits whose app/main.py says v1 and fails for the others.
    check = (
        "- uses: shell\n  config:\n    command: "
        f"git -C {repo} show ${{{{ commitFrom('{repo}').ID }}}}:app/main.py | grep -q v1"
    )
    policy = "autoRollback: {onVerification: [Failed], onPromotion: [Failed, Errored]}"
    with running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline(repo, prod_steps=check, rollback=policy)))
        first = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        seen = {first.name}
        through_dev(store, first)
        wait_until(lambda: running_freight(store, "prod") == first.name, what="auto-promotion 1")
        second = new_freight(store, repo, 2, seen)
        through_dev(store, second)

        def rollbacks() -> list[dict[str, object]]:
            return [
                p
                for p in store.list("Promotion", "shop")
                if "kargo.akuity.io/rollback" in p["metadata"]["annotations"]
            ]

        found = wait_until(rollbacks, what="the automatic rollback")
        assert found[0]["spec"]["freight"] == first.name  # type: ignore[index]
        wait_until(
            lambda: rollbacks()[0]["status"].get("phase") == "Succeeded",  # type: ignore[union-attr]
            what="rollback to finish",
        )
        assert running_freight(store, "prod") == first.name
        held = stored_stage(store, "prod").metadata.annotations
        assert held[HOLD_FREIGHT_ANNOTATION] == second.name
        assert "Failed" in held[HOLD_ANNOTATION]


def test_unmet_soak_time_refuses_promotion_with_the_remaining_time_and_approval_skips_it(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    with running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline(repo, soak="1h")))
        first = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        through_dev(store, first)
        wait_until(
            lambda: "dev" in get_model(store, Freight, "shop", first.name).status.verified_in,  # type: ignore[union-attr]
            what="verified in dev",
        )
        time.sleep(0.8)
        assert running_freight(store, "prod") is None  # auto-promotion waits for the soak too
        with pytest.raises(Invalid, match=r"59m\d+s remaining of the required soak time 1h"):
            request_promotion(store, PromotionRequest("shop", "prod", first.name, actor="eve"))
        approved = approve_freight(store, "shop", first.name, "prod", actor="eve")
        assert "prod" in approved.status.approved_for
        wait_until(lambda: running_freight(store, "prod") == first.name, what="approved freight")
    approvals = [e for e in store.events("shop") if e.reason == "FreightApproved"]
    assert approvals and approvals[0].data["actor"] == "eve"


def test_an_automatic_rollback_says_which_metric_failed_with_its_value_and_condition(
    store: Store, tmp_path: Path
) -> None:
    register_higher_layer_parsers()
    repo = make_repo(tmp_path / "repo")
    with http_server() as base, running_engine(store, tmp_path / "state"):
        yaml = pipeline(repo, check_url=f"{base}/ok")
        apply_resources(store, load_text(yaml))
        first = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        seen = {first.name}
        through_dev(store, first)
        wait_until(
            lambda: "prod" in get_model(store, Freight, "shop", first.name).status.verified_in,  # type: ignore[union-attr]
            what="first freight verified in prod",
        )
        apply_resources(store, load_text(pipeline(repo, check_url=f"{base}/bad")))
        second = new_freight(store, repo, 2, seen)
        through_dev(store, second)
        # The bad freight may run for only a moment; wait on the stored promotions instead.
        wait_until(
            lambda: promotions_of(store, "shop", second.name, "Succeeded", stage="prod"),
            what="bad freight in prod",
        )
        wait_until(lambda: rollbacks_of(store, "shop", first.name), what="automatic rollback")
        wait_until(lambda: running_freight(store, "prod") == first.name, what="prod back on first")
    created = [
        e for e in store.events("shop") if e.reason == "PromotionCreated" and e.data["rollback"]
    ]
    reason = created[0].data["rollbackReason"]
    assert "verification Failed in prod" in reason
    assert "metric smoke/ok failed: measured False" in reason
    assert "condition result == true" in reason
    assert reason in created[0].message
