"""One promotion per stage at a time, in order; an abort stops the running one."""

from __future__ import annotations

from pathlib import Path

from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.operations import abort_promotion
from kargo.engine.promoting import create_promotion
from kargo.model.freight import Freight
from kargo.model.promotion import Promotion, PromotionPhase
from kargo.model.stage import Stage
from kargo.store import Store, get_model, list_models

from tests.pipeline.documents import documents, git_warehouse, stage
from tests.pipeline.harness import make_repo, running_engine, wait_until


def pipeline(repo: Path, command: str) -> str:
    return documents(
        git_warehouse(repo, namespace="shop"),
        stage(
            "dev",
            f'- {{uses: shell, config: {{command: "echo started; {command}"}}}}',
            namespace="shop",
        ),
    )


def phases(store: Store) -> dict[str, PromotionPhase]:
    return {p.name: p.status.phase for p in list_models(store, Promotion, "shop")}


def test_promotions_to_one_stage_run_one_at_a_time_in_order(store: Store, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    with running_engine(store, tmp_path / "state") as engine:
        apply_resources(store, load_text(pipeline(repo, "sleep 0.3")))
        freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        stage = get_model(store, Stage, "shop", "dev")
        assert stage is not None
        names = [create_promotion(store, stage, freight, "test").name for _ in range(3)]
        wait_until(
            lambda: (
                all(p is PromotionPhase.SUCCEEDED for p in phases(store).values())
                and engine.is_idle()
            ),
            what="all promotions",
        )
    done = sorted(list_models(store, Promotion, "shop"), key=lambda p: p.status.started_at or 0)
    assert [p.name for p in done] == names
    for earlier, later in zip(done, done[1:], strict=False):
        assert earlier.status.finished_at is not None and later.status.started_at is not None
        assert earlier.status.finished_at <= later.status.started_at


def test_aborting_a_running_promotion_stops_it_and_keeps_the_stage(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    with running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline(repo, "sleep 30")))
        freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        stage = get_model(store, Stage, "shop", "dev")
        assert stage is not None
        running = create_promotion(store, stage, freight, "test")
        queued = create_promotion(store, stage, freight, "test")
        wait_until(lambda: phases(store)[running.name] is PromotionPhase.RUNNING, what="start")
        abort_promotion(store, "shop", queued.name, actor="dana")
        abort_promotion(store, "shop", running.name, actor="dana")
        wait_until(lambda: phases(store)[running.name] is PromotionPhase.ABORTED, what="abort")
    assert phases(store)[queued.name] is PromotionPhase.ABORTED
    reasons = [(e.reason, e.involved_name) for e in store.events("shop")]
    assert ("PromotionAborted", running.name) in reasons
    assert ("PromotionAborted", queued.name) in reasons
    final = get_model(store, Stage, "shop", "dev")
    assert final is not None and final.status.current_freight is None
