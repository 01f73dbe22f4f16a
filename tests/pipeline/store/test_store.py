"""The store keeps documents with resourceVersion, and events/audit in the same transaction."""

from __future__ import annotations

from typing import Any

import pytest
from kargo.model.stage import Stage
from kargo.store import (
    ChangeType,
    EventFilter,
    Store,
    StoreConflict,
    StoreNotFound,
    get_model,
    save_model,
)


def stage_body(name: str = "dev") -> dict[str, Any]:
    return {
        "apiVersion": "kargo.akuity.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"requestedFreight": [{"origin": {"name": "w"}, "sources": {"direct": True}}]},
    }


def test_a_created_resource_starts_at_version_one_and_counts_up(store: Store) -> None:
    with store.transaction() as tx:
        created = tx.create(stage_body())
    assert created["metadata"]["resourceVersion"] == "1"
    with store.transaction() as tx:
        updated = tx.update(created)
    assert updated["metadata"]["resourceVersion"] == "2"
    assert store.require("Stage", "shop", "dev")["metadata"]["resourceVersion"] == "2"


def test_a_stale_update_is_refused_with_a_conflict_and_not_lost(store: Store) -> None:
    with store.transaction() as tx:
        created = tx.create(stage_body())
    with store.transaction() as tx:
        first = dict(created, spec={**created["spec"], "vars": [{"name": "a", "value": "1"}]})
        tx.update(first)
    with pytest.raises(StoreConflict, match="changed since version 1"):
        with store.transaction() as tx:
            tx.update(created)
    assert store.require("Stage", "shop", "dev")["spec"]["vars"] == [{"name": "a", "value": "1"}]


def test_creating_an_existing_resource_is_a_conflict(store: Store) -> None:
    with store.transaction() as tx:
        tx.create(stage_body())
    with pytest.raises(StoreConflict, match="already exists"):
        with store.transaction() as tx:
            tx.create(stage_body())


def test_an_event_is_rolled_back_with_the_change_it_describes(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.create(stage_body())
            tx.event(
                project="shop",
                reason="PromotionCreated",
                type="Normal",
                involved_kind="Stage",
                involved_name="dev",
                message="lost",
            )
            tx.audit(project="shop", actor="a", action="x", resource="r", source="t", result="ok")
            raise RuntimeError("crash before commit")
    assert store.get("Stage", "shop", "dev") is None
    assert store.events() == []
    assert store.audit_records() == []


def test_events_are_appended_in_order_with_their_data(store: Store) -> None:
    with store.transaction() as tx:
        for i in range(3):
            tx.event(
                project="shop",
                reason="PromotionFailed" if i else "PromotionCreated",
                type="Warning" if i else "Normal",
                involved_kind="Promotion",
                involved_name=f"p{i}",
                message=f"m{i}",
                data={"stage": "dev", "i": i},
            )
    events = store.events("shop")
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert [e.data["i"] for e in events] == [0, 1, 2]
    assert events[0].created_at.tzinfo is not None
    failed = store.events("shop", where=EventFilter(equal={"reason": "PromotionFailed"}))
    assert [e.involved_name for e in failed] == ["p1", "p2"]
    assert [e.seq for e in store.events(after_seq=events[1].seq)] == [events[2].seq]


def test_watchers_hear_only_committed_changes(store: Store) -> None:
    heard: list[tuple[ChangeType, str]] = []
    unsubscribe = store.watch(lambda changes: heard.extend((c.type, c.name) for c in changes))
    with store.transaction() as tx:
        tx.create(stage_body("a"))
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.create(stage_body("b"))
            raise RuntimeError("rolled back")
    with store.transaction() as tx:
        tx.delete("Stage", "shop", "a")
    unsubscribe()
    assert heard == [(ChangeType.ADDED, "a"), (ChangeType.DELETED, "a")]


def test_typed_models_round_trip_through_the_store(store: Store) -> None:
    stage = Stage.model_validate(stage_body())
    with store.transaction() as tx:
        saved = save_model(tx, stage)
    assert saved.metadata.resource_version == "1"
    loaded = get_model(store, Stage, "shop", "dev")
    assert loaded is not None and loaded.spec.requested_freight[0].sources.direct
    with pytest.raises(StoreNotFound):
        with store.transaction() as tx:
            tx.delete("Stage", "shop", "missing")


def test_migrating_twice_changes_nothing(store: Store) -> None:
    store.migrate()
    with store.transaction() as tx:
        tx.create(stage_body())
    store.migrate()
    assert store.get("Stage", "shop", "dev") is not None
