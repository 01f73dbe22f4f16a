"""Reading resource JSON: dotted paths with fallbacks, so each column has one definition.

The engine writes Kargo's field names; where Kargo and this engine may place a value differently
(the alias of a freight, the current freight of a stage) every known place is tried in order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

Resource = dict[str, Any]

ALIAS_KEYS = ("kargo.akuity.io/alias", "kargo.akuity.io/freight-alias")
HOLD_KEY = "kargo.akuity.io/auto-promotion-hold"
ACTOR_KEYS = ("kargo.akuity.io/create-actor", "kargo.akuity.io/actor", "actor")


def dig(resource: Any, path: str) -> Any:
    """The value at a dotted path (list indices allowed), or None."""
    node = resource
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def first(resource: Any, *paths: str) -> Any:
    """The value at the first path that holds something other than None or ""."""
    for path in paths:
        value = dig(resource, path)
        if value not in (None, ""):
            return value
    return None


def text(resource: Any, *paths: str, default: str = "") -> str:
    """first() as a string."""
    value = first(resource, *paths)
    return default if value is None else str(value)


def name(resource: Resource) -> str:
    """metadata.name (or a delivery's id)."""
    return text(resource, "metadata.name", "id", "name")


def created(resource: Resource) -> Any:
    """When the resource was created."""
    return first(resource, "metadata.creationTimestamp", "createdAt", "creationTimestamp")


def meta_value(resource: Resource, keys: tuple[str, ...]) -> str:
    """The first of keys found in the labels or annotations."""
    for section in ("labels", "annotations"):
        values = dig(resource, f"metadata.{section}") or {}
        for key in keys:
            if values.get(key):
                return str(values[key])
    return ""


def names_in(value: Any) -> list[str]:
    """Stage names held as a map (Kargo's `currentlyIn: {dev: {}}`) or as a list."""
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                out.append(text(item, "name", "stage"))
            else:
                out.append(str(item))
        return [o for o in out if o]
    return []


def short_id(freight_name: str) -> str:
    """A freight id shortened the way git shortens a sha."""
    return freight_name[:7] if len(freight_name) >= 40 else freight_name


def freight_alias(resource: Resource) -> str:
    """A freight's memorable alias."""
    return text(resource, "alias", "spec.alias", "status.alias") or meta_value(resource, ALIAS_KEYS)


def freight_commits(resource: Resource) -> list[Resource]:
    """A freight's commits."""
    value = first(resource, "commits", "spec.commits", "status.commits")
    return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []


def actor(resource: Resource) -> str:
    """Who asked for it."""
    return text(resource, "spec.actor", "status.actor") or meta_value(resource, ACTOR_KEYS)


# -- promotions ----------------------------------------------------------------------------------


def promotion_freight(resource: Resource) -> str:
    """The freight a promotion carries."""
    return text(resource, "spec.freight", "status.freight.name")


def promotion_alias(resource: Resource) -> str:
    """The alias of the freight a promotion carries."""
    return text(
        resource, "status.freight.alias", "spec.freightAlias", "status.freightAlias"
    ) or meta_value(resource, ALIAS_KEYS)


def promotion_phase(resource: Resource) -> str:
    """A promotion's phase, Pending until the engine says otherwise."""
    return text(resource, "status.phase", default="Pending")


def is_rollback(resource: Resource) -> bool:
    """Whether a promotion is a rollback."""
    flag = first(resource, "spec.rollback", "status.rollback", "spec.isRollback")
    if isinstance(flag, dict):
        return True
    return bool(flag) or bool(meta_value(resource, ("kargo.akuity.io/rollback",)))


@dataclass(frozen=True)
class StepView:
    """One promotion step as the CLI shows it."""

    index: int
    name: str
    uses: str
    phase: str
    started: Any
    finished: Any
    message: str


def promotion_steps(resource: Resource) -> list[StepView]:
    """The steps of a promotion, their spec merged with their recorded progress."""
    specs = first(resource, "spec.steps", "status.steps") or []
    progress = first(resource, "status.stepExecutionMetadata", "status.stepStatuses")
    if progress is None and first(resource, "spec.steps") is not None:
        progress = dig(resource, "status.steps")
    progress = progress if isinstance(progress, list) else []
    current = first(resource, "status.currentStep")
    count = max(len(specs), len(progress))
    overall = text(resource, "status.message")
    steps = []
    for index in range(count):
        spec = specs[index] if index < len(specs) and isinstance(specs[index], dict) else {}
        done = (
            progress[index] if index < len(progress) and isinstance(progress[index], dict) else {}
        )
        uses = text(spec, "uses", "kind") or text(done, "uses", "kind")
        label = text(spec, "as", "name", "alias") or text(done, "alias", "name", "as") or uses
        phase = text(done, "status", "phase")
        if not phase:
            phase = "Running" if isinstance(current, int) and current == index else "Pending"
            if promotion_phase(resource) == "Succeeded":
                phase = "Succeeded"
        steps.append(
            StepView(
                index=index,
                name=label or f"step-{index + 1}",
                uses=uses,
                phase=phase,
                started=first(done, "startedAt", "started"),
                finished=first(done, "finishedAt", "finished"),
                message=text(done, "message", "error") or _step_error(overall, phase, label),
            )
        )
    return steps


def _step_error(overall: str, phase: str, label: str) -> str:
    """A failed step's error from the promotion's message (`step 2 (health, http) failed: …`)."""
    if phase not in {"Failed", "Errored"} or not overall:
        return ""
    if f"({label}," in overall or f"step {label} " in overall:
        head, found, tail = overall.partition(" failed: ")
        return tail if found else overall
    return ""


# -- stages --------------------------------------------------------------------------------------


def stage_current_freight(resource: Resource) -> tuple[str, str]:
    """The (id, alias) of the freight a stage runs now, or empty strings."""
    current = first(resource, "status.currentFreight", "status.freight")
    if isinstance(current, dict):
        return text(current, "name", "id"), freight_alias(current)
    history = dig(resource, "status.freightHistory")
    if isinstance(history, list) and history:
        entry = history[0]
        items = entry.get("items") if isinstance(entry, dict) else None
        if isinstance(items, dict) and items:
            ref = next(iter(items.values()))
            return text(ref, "name"), freight_alias(ref)
        if isinstance(entry, dict):
            return text(entry, "name", "freight"), freight_alias(entry)
    return "", ""


def stage_health(resource: Resource) -> str:
    """A stage's health word."""
    return text(resource, "status.health.status", "status.health", "status.phase")


def stage_verified(resource: Resource) -> str:
    """Whether the current freight is verified in the stage: True, False or the run's phase.

    A stage without verification counts its freight as verified once promoted, as Kargo does.
    """
    value = first(
        resource,
        "status.currentFreight.verified",
        "status.verified",
        "status.verification.phase",
        "status.freightHistory.0.verificationHistory.0.phase",
    )
    if isinstance(value, bool):
        return "True" if value else "False"
    if value == "Successful":
        return "True"
    if value in (None, ""):
        if not stage_current_freight(resource)[0]:
            return ""
        return "False" if first(resource, "spec.verification") else "True"
    return str(value)


def stage_last_promotion_phase(resource: Resource) -> str:
    """The phase of the stage's last promotion."""
    return text(resource, "status.lastPromotion.status.phase", "status.lastPromotion.phase")


def stage_hold(resource: Resource) -> str:
    """The freight held back from auto-promotion on this stage, if any."""
    annotated = meta_value(resource, (HOLD_KEY,))
    if annotated:
        return annotated
    hold = first(resource, "status.autoPromotionHold", "status.hold", "status.holds")
    if isinstance(hold, dict):
        return text(hold, "freightAlias", "alias", "freight", "name") or "yes"
    if isinstance(hold, list):
        return ",".join(text(h, "freightAlias", "alias", "freight") for h in hold if h)
    return "" if hold in (None, False) else str(hold)


# -- analysis ------------------------------------------------------------------------------------


def run_stage(resource: Resource) -> str:
    """The stage an AnalysisRun verifies."""
    return text(resource, "spec.stage", "status.stage") or meta_value(
        resource, ("kargo.akuity.io/stage",)
    )


def run_freight(resource: Resource) -> str:
    """The freight an AnalysisRun verifies."""
    return text(resource, "spec.freight", "status.freight") or meta_value(
        resource, ("kargo.akuity.io/freight",)
    )


def show_value(value: Any) -> str:
    """A measured value as text: JSON for objects and lists, plain otherwise."""
    if value is None:
        return ""
    if isinstance(value, dict | list | bool):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def metric_results(resource: Resource) -> list[Resource]:
    """An AnalysisRun's per-metric results."""
    value = first(resource, "status.metricResults", "status.metrics")
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def event_object(resource: Resource) -> tuple[str, str]:
    """The (kind, name) an event is about."""
    return (
        text(resource, "involvedObject.kind", "spec.involvedObject.kind"),
        text(resource, "involvedObject.name", "spec.involvedObject.name"),
    )


def event_last_seen(resource: Resource) -> Any:
    """When an event was last seen."""
    return first(
        resource,
        "lastTimestamp",
        "spec.lastTimestamp",
        "firstTimestamp",
        "spec.firstTimestamp",
        "metadata.creationTimestamp",
    )
