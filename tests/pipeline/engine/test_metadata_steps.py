"""set-metadata and set-freight-alias inside a running engine, read back by later steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.promoting import PromotionRequest, request_promotion
from kargo.model.freight import Freight
from kargo.store import Store, list_models

from tests.pipeline.documents import documents, git_warehouse, stage
from tests.pipeline.harness import make_repo, running_engine, wait_until

STEPS = """\
- uses: set-metadata
  config:
    updates:
    - kind: Stage
      name: dev
      values: {owner: team-a, window: {days: [mon, tue]}}
    - kind: Freight
      name: ${{ ctx.targetFreight.name }}
      values: {ticket: OPS-1}
- uses: set-freight-alias
  config:
    name: ${{ ctx.targetFreight.name }}
    alias: ALIAS
- uses: compose-output
  as: seen
  config:
    owner: ${{ stageMetadata("dev").owner }}
    ticket: ${{ freightMetadata(ctx.targetFreight.name).ticket }}
"""


def pipeline(repo: Path, alias: str) -> str:
    return documents(
        git_warehouse(repo, namespace="shop", interval=None, branch=None),
        stage("dev", STEPS.replace("ALIAS", alias), namespace="shop"),
    )


def finished(store: Store) -> dict[str, object] | None:
    done = [
        p
        for p in store.list("Promotion", "shop")
        if p["status"].get("phase") not in (None, "Pending", "Running")
    ]
    return done[-1] if done else None


def promote(tmp_path: Path, store: Store, alias: str) -> tuple[dict[str, Any], str]:
    """Promote the first freight to dev with `alias`: the promotion's status, the freight."""
    repo = make_repo(tmp_path / "repo")
    with running_engine(store, tmp_path / "state"):
        apply_resources(store, load_text(pipeline(repo, alias)))
        freight = wait_until(lambda: list_models(store, Freight, "shop"), what="freight")[0]
        request_promotion(store, PromotionRequest("shop", "dev", freight.name))
        promotion = wait_until(lambda: finished(store), what="the promotion")
    status = promotion["status"]
    assert isinstance(status, dict)
    return status, freight.name


def test_metadata_and_a_new_alias_are_stored_and_read_back(tmp_path: Path) -> None:
    store = Store.open(None, tmp_path / "state")
    try:
        status, freight = promote(tmp_path, store, "release-one")
        assert status["phase"] == "Succeeded", status["message"]
        assert status["state"]["seen"] == {"owner": "team-a", "ticket": "OPS-1"}
        stage = store.get("Stage", "shop", "dev")
        assert stage is not None
        assert stage["status"]["metadata"] == {
            "owner": "team-a",
            "window": {"days": ["mon", "tue"]},
        }
        stored = store.get("Freight", "shop", freight)
        assert stored is not None and stored["alias"] == "release-one"
        assert stored["metadata"]["labels"]["kargo.akuity.io/alias"] == "release-one"
    finally:
        store.close()


def test_an_invalid_alias_fails_the_promotion_naming_the_field(tmp_path: Path) -> None:
    store = Store.open(None, tmp_path / "state")
    try:
        status, _ = promote(tmp_path, store, "Not_Valid")
        assert status["phase"] == "Failed"
        assert (
            "set-freight-alias: config.alias: 'Not_Valid' is not a valid alias" in status["message"]
        )
    finally:
        store.close()
