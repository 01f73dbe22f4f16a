"""`explain_freight`: each "why not promoted?" reason, in a pipeline built to show it."""

from __future__ import annotations

from pathlib import Path

from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.approvals import approve_freight
from kargo.engine.explaining import explain_freight
from kargo.engine.promoting import PromotionRequest, request_promotion
from kargo.model.freight import Freight
from kargo.model.outcomes import Reason
from kargo.model.promotion import Promotion
from kargo.store import Store, list_models

from tests.pipeline.engine.fanout import fan_out_pipeline
from tests.pipeline.harness import make_repo, running_engine, wait_until


def reasons(store: Store, freight: str, stage: str) -> list[Reason]:
    return [f.reason for f in explain_freight(store, "shop", freight, stage).findings]


def phase_of(store: Store, stage: str) -> str:
    found = [p for p in list_models(store, Promotion, "shop") if p.spec.stage == stage]
    return found[-1].phase.value if found else ""


def test_each_reason_freight_is_not_in_a_stage_is_given(store: Store, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    with running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(fan_out_pipeline(repo)))
        freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        alias = freight.alias
        first = explain_freight(store, "shop", alias, "prod")
        assert not first.promotable and not first.in_stage
        assert [f.reason for f in first.findings] == [
            Reason.NOT_VERIFIED_UPSTREAM,
            Reason.NEEDS_APPROVAL,
        ]
        assert first.findings[0].message == f"{alias} is not verified in dev (upstream of prod)"
        assert f"kargo approve --freight {alias} --stage prod" in first.findings[1].message
        assert reasons(store, alias, "qa")[-1] is Reason.NO_POLICY
        assert reasons(store, alias, "staging")[-2:] == [Reason.HELD, Reason.AUTO_PROMOTION_OFF]
        assert explain_freight(store, "shop", alias, "dev").promotable

        request_promotion(store, PromotionRequest("shop", "dev", freight.name, actor="t"))
        wait_until(lambda: explain_freight(store, "shop", alias, "dev").in_stage, what="dev")
        soaking = explain_freight(store, "shop", alias, "prod")
        assert [f.reason for f in soaking.findings] == [Reason.SOAKING, Reason.NEEDS_APPROVAL]
        assert 3500 < (soaking.findings[0].seconds_left or 0) <= 3600
        assert soaking.findings[0].message.startswith(f"{alias} is soaking upstream: ")

        approve_freight(store, "shop", freight.name, "qa", "t")
        assert reasons(store, alias, "qa") == [Reason.NO_POLICY]
        assert explain_freight(store, "shop", alias, "qa").promotable
        request_promotion(store, PromotionRequest("shop", "qa", freight.name, actor="t"))
        wait_until(lambda: phase_of(store, "qa") == "Failed", what="the qa promotion to fail")
        failed = explain_freight(store, "shop", alias, "qa")
        assert failed.promotable  # a failure does not stop another try by hand
        assert Reason.PROMOTION_FAILED in [f.reason for f in failed.findings]

        approve_freight(store, "shop", freight.name, "staging", "t")
        request_promotion(store, PromotionRequest("shop", "staging", freight.name, actor="t"))
        wait_until(lambda: phase_of(store, "staging") == "Running", what="staging to run")
        running = explain_freight(store, "shop", alias, "staging")
        assert running.findings[0].reason is Reason.PROMOTION_RUNNING
        assert "of this freight into staging is Running" in running.findings[0].message
