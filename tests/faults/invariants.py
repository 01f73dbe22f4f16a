"""The invariants every fault test checks after recovery, counted so a report can show figures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kargo.model.promotion import PromotionPhase
from kargo.store import Store

from tests.pipeline.notify.receiver import Receiver

FINAL_REASONS = {"PromotionSucceeded", "PromotionFailed", "PromotionErrored", "PromotionAborted"}
WEBHOOK_TYPES = {
    "PromotionCreated": "promotion.created",
    "PromotionStarted": "promotion.started",
    "PromotionSucceeded": "promotion.succeeded",
    "PromotionFailed": "promotion.failed",
    "PromotionErrored": "promotion.errored",
}


@dataclass
class Violations:
    """Invariant violations found, by kind, with a few examples each."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, example: str) -> None:
        """Count one violation of `kind`."""
        self.counts[kind] += 1
        self.examples.setdefault(kind, [])
        if len(self.examples[kind]) < 3:
            self.examples[kind].append(example)

    @property
    def total(self) -> int:
        """All violations."""
        return sum(self.counts.values())

    def report(self, seed: int) -> str:
        """One line per kind, and how to replay."""
        lines = [f"{kind}: {n} (e.g. {self.examples[kind]})" for kind, n in self.counts.items()]
        return f"seed {seed} (replay with FAULT_SEED={seed}): " + "; ".join(lines)


def check_all(
    database_url: str | None, state: Path, project: str, served: Path, receiver: Receiver
) -> tuple[list[dict[str, Any]], Violations]:
    """Every invariant, read from the store (once the servers stopped); the promotions too."""
    store = Store.open(database_url, state)
    try:
        found = Violations()
        promotions = check_promotions(store, project, found)
        check_served(store, project, served, found)
        check_records(store, project, promotions, found)
        check_deliveries(store, project, receiver, found)
    finally:
        store.close()
    return promotions, found


def check_promotions(store: Store, project: str, found: Violations) -> list[dict[str, Any]]:
    """Promotions stuck non-terminal; returns them all."""
    promotions = store.list("Promotion", project)
    for body in promotions:
        phase = PromotionPhase(body.get("status", {}).get("phase", "Pending"))
        if not phase.is_terminal():
            found.add("stuck non-terminal", f"{body['metadata']['name']} {phase.value}")
    return promotions


def check_served(store: Store, project: str, served: Path, found: Violations) -> None:
    """Each stage names the freight its last step wrote as served, and that of its last success."""
    promotions = sorted(store.list("Promotion", project), key=lambda p: p["metadata"]["name"])
    last_success: dict[str, str] = {}
    for body in promotions:
        if body["status"].get("phase") == "Succeeded":
            last_success[body["spec"]["stage"]] = body["spec"]["freight"]
    for stage in store.list("Stage", project):
        name = stage["metadata"]["name"]
        history = stage.get("status", {}).get("freightHistory") or []
        current = history[0]["name"] if history else None
        file = served / name
        serving = file.read_text().strip() if file.exists() else None
        if current != serving:
            found.add("stage names a freight that does not serve", f"{name}: {current}≠{serving}")
        if current != last_success.get(name):
            found.add("stage is not at its last success", f"{name}: {current}")
        check_runs(promotions, name, served, found)


def check_runs(
    promotions: list[dict[str, Any]], stage: str, served: Path, found: Violations
) -> None:
    """The deploying step's runs on a stage: each promotion's freight, in order, repeated at most.

    A rerun after a crash repeats the same freight. A promotion that ended otherwise (Errored
    after too many interruptions) may have run the step before it gave up, as in Kargo, where
    steps are not undone; its runs are left out, and the stage must still name its last success.
    """
    runs = served / f"{stage}.runs"
    ran = runs.read_text().split() if runs.exists() else []
    mine = [p for p in promotions if p["spec"]["stage"] == stage]
    other = {p["spec"]["freight"] for p in mine if p["status"].get("phase") != "Succeeded"}
    kept = [f for f in ran if f not in other]
    distinct = [f for i, f in enumerate(kept) if i == 0 or kept[i - 1] != f]
    succeeded = [p["spec"]["freight"] for p in mine if p["status"].get("phase") == "Succeeded"]
    if distinct != succeeded:
        found.add("step ran with different effects", f"{stage}: {distinct} vs {succeeded}")


def check_records(
    store: Store, project: str, promotions: list[dict[str, Any]], found: Violations
) -> None:
    """Each promotion has one created, one started and one final event, and matching audit."""
    events = Counter(
        (e.involved_name, e.reason) for e in store.events(project) if e.involved_kind == "Promotion"
    )
    starts = Counter(
        (r.resource, r.action) for r in store.audit_records(project) if r.source == "engine"
    )
    for body in promotions:
        name = body["metadata"]["name"]
        for reason in ("PromotionCreated", "PromotionStarted"):
            _exactly_once(found, "event", f"{name} {reason}", events[(name, reason)])
        finals = sum(events[(name, reason)] for reason in FINAL_REASONS)
        _exactly_once(found, "event", f"{name} final", finals)
        for action in ("promotion.start", "promotion.finish"):
            _exactly_once(
                found, "audit record", f"{name} {action}", starts[(f"Promotion/{name}", action)]
            )


def _exactly_once(found: Violations, what: str, label: str, count: int) -> None:
    if count == 0:
        found.add(f"{what} lost", label)
    elif count > 1:
        found.add(f"{what} duplicated", f"{label} x{count}")


def check_deliveries(store: Store, project: str, receiver: Receiver, found: Violations) -> None:
    """Every promotion event reached the receiver, always under the same webhook-id."""
    ids: dict[str, set[str]] = {}
    for request in receiver.accepted():
        payload = request.payload or {}
        uid = payload.get("data", {}).get("event", {}).get("uid", "")
        ids.setdefault(f"{payload.get('type')}:{uid}", set()).add(request.headers["webhook-id"])
    for key, webhook_ids in ids.items():
        if len(webhook_ids) > 1:
            found.add("webhook sent twice under different ids", f"{key} {sorted(webhook_ids)}")
    for event in store.events(project):
        kind = WEBHOOK_TYPES.get(event.reason)
        if kind is not None and f"{kind}:{event.uid}" not in ids:
            found.add("webhook delivery lost", f"{kind} {event.involved_name}")
