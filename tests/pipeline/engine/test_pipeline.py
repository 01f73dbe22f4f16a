"""A three-stage pipeline: discovered freight, a manual promotion, automatic ones onwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.errors import Invalid
from kargo.engine.promoting import PromotionRequest, request_promotion
from kargo.model.freight import Freight
from kargo.model.promotion import Promotion, PromotionPhase
from kargo.store import EventFilter, Store, get_model, list_models

from tests.pipeline.documents import documents, git_warehouse, project, stage
from tests.pipeline.harness import (
    commit,
    http_server,
    make_repo,
    running_engine,
    running_freight,
    wait_until,
)


def pipeline_yaml(repo: Path, base_url: str, prod_check: str = "/ok") -> str:
    policies = """\
- stage: dev
  autoPromotionEnabled: false
- stageSelector: {name: "glob:*"}
  autoPromotionEnabled: true
"""
    dev_steps = f"""\
- uses: shell
  as: build
  config:
    command: echo built ${{{{ ctx.freight }}}} for ${{{{ ctx.stage }}}}
- uses: http
  config:
    url: {base_url}/ok
    successExpression: response.status == 200 && response.body.ok == true
"""
    prod_steps = f"""\
- uses: http
  as: health
  config:
    url: {base_url}{prod_check}
- uses: shell
  config: {{command: "echo ${{{{ outputs.health.status }}}}"}}
"""
    return documents(
        project(policies=policies),
        git_warehouse(repo),
        stage("dev", dev_steps),
        stage(
            "staging",
            """- {uses: shell, config: {command: "test -n \\"$KARGO_FREIGHT\\""}}""",
            sources="{stages: [dev]}",
        ),
        stage("prod", prod_steps, sources="{stages: [staging]}"),
    )


def test_a_commit_flows_from_manual_dev_promotion_to_prod_automatically(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    with http_server() as base_url, running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline_yaml(repo, base_url)), actor="test")
        freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        assert freight.commits[0].message == "first version"
        assert "-" in freight.alias
        with pytest.raises(Invalid, match="not verified in upstream stage"):
            request_promotion(store, PromotionRequest("shop", "staging", freight.name))
        request_promotion(
            store, PromotionRequest("shop", "dev", freight_alias=freight.alias, actor="alice")
        )
        wait_until(lambda: running_freight(store, "prod") == freight.name, what="prod promotion")
    promotions = list_models(store, Promotion, "shop")
    assert {p.spec.stage for p in promotions} == {"dev", "staging", "prod"}
    assert all(p.status.phase is PromotionPhase.SUCCEEDED for p in promotions)
    by_stage = {p.spec.stage: p for p in promotions}
    assert by_stage["dev"].actor == "alice"
    assert by_stage["prod"].actor == "system"
    assert by_stage["prod"].status.state["step-1"]["stdout"] == "200"
    final = get_model(store, Freight, "shop", freight.name)
    assert final is not None and set(final.status.verified_in) == {"dev", "staging", "prod"}
    logs = [line for _, line in store.logs("shop", by_stage["dev"].name)]
    assert f"built {freight.name} for dev" in logs
    reasons = [e.reason for e in store.events("shop")]
    assert reasons.count("PromotionSucceeded") == 3 and "FreightCreated" in reasons
    # Each promotion: created, then started, then succeeded, each naming the freight and actor.
    dev = [e for e in store.events("shop") if e.involved_name == by_stage["dev"].name]
    assert [e.reason for e in dev] == ["PromotionCreated", "PromotionStarted", "PromotionSucceeded"]
    started = dev[1].data
    assert (started["stage"], started["freightAlias"], started["actor"]) == (
        "dev",
        freight.alias,
        "alice",
    )


def test_a_failing_step_fails_the_promotion_and_the_event_names_it(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    with http_server() as base_url, running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline_yaml(repo, base_url, "/broken")))
        freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        request_promotion(store, PromotionRequest("shop", "dev", freight.name))
        failed = wait_until(
            lambda: store.events("shop", where=EventFilter(equal={"reason": "PromotionFailed"})),
            what="a failed promotion",
        )
    event = failed[0]
    assert event.type == "Warning" and event.involved_kind == "Promotion"
    assert "step 1 (health, http) failed: http: unexpected status 500" in event.message
    assert event.data["failedStep"] == "health"
    assert event.data["error"] == "http: unexpected status 500"
    assert running_freight(store, "prod") is None
    assert running_freight(store, "staging") == freight.name


def test_a_new_commit_is_discovered_on_refresh(store: Store, tmp_path: Path) -> None:
    from kargo.engine.operations import refresh_warehouse

    repo = make_repo(tmp_path / "repo")
    with http_server() as base_url, running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline_yaml(repo, base_url)))
        wait_until(lambda: len(list_models(store, Freight, "shop")) == 1, what="first freight")
        sha = commit(repo, "app/main.py", "print('v2')\n", "second version")
        refresh_warehouse(store, "shop", "app", actor="test")
        found = wait_until(
            lambda: [f for f in list_models(store, Freight, "shop") if f.commits[0].id == sha],
            what="second freight",
        )
    assert found[0].commits[0].message == "second version"
