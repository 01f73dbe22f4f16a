"""The columns of `kargo get` for each kind, normal and wide, read from the contract's models."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kargo.api.contract import AuditEntry, FreightView, StageDeliveryMetrics, StageView, TokenInfo
from kargo.cli.tables import Table, age, rfc3339, short_duration
from kargo.model.analysis import AnalysisRun
from kargo.model.deliveries import DeliveryRecord, DeliveryStatus
from kargo.model.event import EventRecord
from kargo.model.promotion import Promotion, PromotionPhase, StepExecutionPhase
from kargo.model.stage import HOLD_ANNOTATION, VerificationInfo, VerificationPhase
from kargo.model.warehouse import Warehouse
from kargo.model.webhooks import WebhookConfig, redact_url

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RECENT = timedelta(hours=24)


def name_of(resource: Any) -> str:
    """A resource's name (a delivery's or audit record's id, an event's metadata name)."""
    if isinstance(resource, DeliveryRecord | AuditEntry):
        return str(resource.id)
    if isinstance(resource, EventRecord):
        return str(resource.metadata.get("name", ""))
    if isinstance(resource, TokenInfo):
        return resource.name
    if isinstance(resource, StageDeliveryMetrics):
        return resource.stage
    return str(resource.metadata.name)


def created_of(resource: Any) -> datetime | None:
    """When a resource was created (an event: when it was last seen)."""
    if isinstance(resource, DeliveryRecord | TokenInfo):
        return resource.created_at
    if isinstance(resource, EventRecord | AuditEntry):
        return resource.last_timestamp if isinstance(resource, EventRecord) else resource.time
    moment: datetime | None = resource.metadata.creation_timestamp
    return moment


def short_id(freight_name: str) -> str:
    """A freight id shortened the way git shortens a sha."""
    return freight_name[:7] if len(freight_name) >= 40 else freight_name


def show_value(value: Any) -> str:
    """A measured value as text: JSON for objects and lists, plain otherwise."""
    if value is None:
        return ""
    if isinstance(value, dict | list | bool):
        return json.dumps(value, separators=(", ", ": "))
    return str(value)


@dataclass(frozen=True)
class StepView:
    """One promotion step as the CLI shows it: its spec merged with its recorded progress."""

    index: int
    name: str
    uses: str
    phase: str
    started: datetime | None
    finished: datetime | None
    message: str


def promotion_steps(promotion: Promotion) -> list[StepView]:
    """The steps of a promotion, those not reached yet as Pending."""
    specs, runs = promotion.spec.steps, promotion.status.step_execution_metadata
    steps = []
    for index in range(max(len(specs), len(runs))):
        spec = specs[index] if index < len(specs) else None
        run = runs[index] if index < len(runs) else None
        uses = (spec.uses if spec else "") or (run.uses if run else "")
        label = (spec.as_ if spec else "") or (run.alias if run else "") or uses
        label = label or f"step-{index + 1}"
        phase = run.status.value if run else StepExecutionPhase.PENDING.value
        if run is None and promotion.phase is PromotionPhase.RUNNING:
            phase = "Running" if promotion.status.current_step == index else phase
        message = run.message if run and run.message else ""
        failed = phase in {"Failed", "Errored"}
        if failed and not message and f"step {label} failed: " in promotion.status.message:
            message = promotion.status.message.partition(" failed: ")[2]
        started, finished = (run.started_at, run.finished_at) if run else (None, None)
        steps.append(StepView(index, label, uses, phase, started, finished, message))
    return steps


def promotion_alias(promotion: Promotion) -> str:
    """The alias of the freight a promotion carries ("" before the engine records it)."""
    return promotion.status.freight.alias if promotion.status.freight else ""


def newest_verification(stage: StageView) -> VerificationInfo | None:
    """The newest verification of the freight the stage runs now, if any."""
    current = stage.status.current_freight
    return current.verification_history[0] if current and current.verification_history else None


def stage_verified(stage: StageView) -> str:
    """Whether the current freight is verified in the stage: True, False or the run's phase.

    A stage without verification counts its freight as verified once promoted, as Kargo does.
    """
    if stage.status.current_freight is None:
        return ""
    if verification := newest_verification(stage):
        return (
            "True"
            if verification.phase is VerificationPhase.SUCCESSFUL
            else verification.phase.value
        )
    return "False" if stage.spec.verification else "True"


def stage_hold(stage: StageView) -> str:
    """The freight held back from auto-promotion on this stage, if any."""
    return stage.metadata.annotations.get(HOLD_ANNOTATION, "")


def _instances(stage: StageView) -> str:
    """`track:port state commit pid N healthy|unhealthy` per runtime instance of a stage."""
    return "; ".join(
        f"{i.track}:{i.port} {i.state} {i.commit[:7]} pid {i.pid} "
        + ("healthy" if i.healthy else "unhealthy")
        for i in stage.status.instances or []
    )


def _source(stage: StageView) -> str:
    direct = any(r.sources.direct for r in stage.spec.requested_freight)
    return ",".join(stage.upstream_stages()) or ("warehouse" if direct else "")


@dataclass(frozen=True)
class DeliverySummary:
    """A webhook's last delivery and its failures of the last 24 hours, from the delivery log."""

    last: DeliveryStatus | None = None
    recent_failures: int = 0
    last_error: str = ""


def delivery_summaries(
    deliveries: list[DeliveryRecord], now: datetime | None = None
) -> dict[str, DeliverySummary]:
    """Webhook name → its delivery summary (the API keeps none on the WebhookConfig)."""
    moment = now or datetime.now(UTC)
    out: dict[str, DeliverySummary] = {}
    for d in sorted(deliveries, key=lambda d: d.created_at):
        was = out.get(d.webhook, DeliverySummary())
        recent = moment - (d.delivered_at or d.created_at) <= RECENT
        failed = recent and (bool(d.last_error) or d.status is DeliveryStatus.FAILED)
        failures = was.recent_failures + failed
        out[d.webhook] = DeliverySummary(d.status, failures, d.last_error or was.last_error)
    return out


@dataclass(frozen=True)
class Context:
    """What cells read besides the resource: the time now, the webhooks' delivery summaries."""

    now: datetime | None = None
    summaries: dict[str, DeliverySummary] = field(default_factory=dict)

    def summary(self, webhook: WebhookConfig) -> DeliverySummary:
        """The webhook's delivery summary (empty without the delivery log)."""
        return self.summaries.get(webhook.name, DeliverySummary())


Cell = Callable[[Any, Context], object]
AGE: Cell = lambda r, c: age(created_of(r), c.now)  # noqa: E731
ALL, WIDE, NARROW = "", "wide", "narrow"
STATUS_HEADERS = {
    "PHASE",
    "HEALTH",
    "VERIFIED",
    "LAST PROMOTION",
    "LAST DELIVERY",
    "TYPE",
    "STATUS",
}
"""The columns whose words are coloured on a terminal."""


def _git(w: Warehouse) -> Any:
    return next((s.git for s in w.spec.subscriptions if s.git), None)


def _commit(fr: FreightView) -> Any:
    return fr.commits[0] if fr.commits else None


def _steps_done(p: Promotion) -> str:
    steps = promotion_steps(p)
    return f"{sum(s.phase == 'Succeeded' for s in steps)}/{len(steps)}"


def _seconds(value: float | None) -> str:
    return short_duration(value) if value is not None else "-"


def _failures(m: StageDeliveryMetrics) -> str:
    rate = m.change_failure_rate
    return f"{rate:.0%} ({m.failed_changes}/{m.changes})" if rate is not None else "-"


def _transition(r: AuditEntry) -> str:
    return (
        f"{r.phase_before or ''}→{r.phase_after or ''}" if r.phase_before or r.phase_after else ""
    )


def _good_metrics(r: AnalysisRun) -> str:
    metrics = r.status.metric_results
    return f"{sum(m.phase == 'Successful' for m in metrics)}/{len(metrics)}" if metrics else ""


# Each kind's columns: (header, cell, shown always, only with -o wide, or only without).
LAYOUTS: dict[str, list[tuple[str, Cell, str]]] = {
    "Promotion": [
        ("NAME", lambda p, c: p.name, ALL),
        ("STAGE", lambda p, c: p.spec.stage, ALL),
        ("FREIGHT", lambda p, c: promotion_alias(p) or short_id(p.spec.freight), ALL),
        ("PHASE", lambda p, c: p.phase, ALL),
        ("AGE", AGE, ALL),
        ("FREIGHT ID", lambda p, c: short_id(p.spec.freight), WIDE),
        ("ACTOR", lambda p, c: p.actor, WIDE),
        ("ROLLBACK", lambda p, c: "yes" if p.is_rollback else "no", WIDE),
        ("STEPS", lambda p, c: _steps_done(p), WIDE),
        ("MESSAGE", lambda p, c: p.status.message, WIDE),
    ],
    "Stage": [
        ("NAME", lambda s, c: s.name, ALL),
        ("FREIGHT", lambda s, c: short_id(getattr(s.status.current_freight, "name", "")), ALL),
        ("ALIAS", lambda s, c: getattr(s.status.current_freight, "alias", ""), ALL),
        ("HEALTH", lambda s, c: s.status.health.status if s.status.health else "", ALL),
        ("VERIFIED", lambda s, c: stage_verified(s), ALL),
        ("LAST PROMOTION", lambda s, c: getattr(s.status.last_promotion, "phase", ""), ALL),
        ("AGE", AGE, ALL),
        ("SOURCE", lambda s, c: _source(s), WIDE),
        ("HOLD", lambda s, c: stage_hold(s), WIDE),
        ("PROMOTION NAME", lambda s, c: getattr(s.status.last_promotion, "name", ""), WIDE),
        ("INSTANCES", lambda s, c: _instances(s), WIDE),
    ],
    "Freight": [
        ("NAME", lambda f, c: f.name, WIDE),
        ("NAME", lambda f, c: short_id(f.name), NARROW),
        ("ALIAS", lambda f, c: f.alias, ALL),
        ("COMMIT", lambda f, c: short_id(getattr(_commit(f), "id", "")), ALL),
        ("CURRENTLY IN", lambda f, c: ",".join(f.status.currently_in), ALL),
        ("VERIFIED IN", lambda f, c: ",".join(f.status.verified_in), ALL),
        ("AGE", AGE, ALL),
        ("APPROVED FOR", lambda f, c: ",".join(f.status.approved_for), WIDE),
        ("MESSAGE", lambda f, c: getattr(_commit(f), "message", "").split("\n")[0], WIDE),
        ("SOAK", lambda f, c: f.status.soak_remaining, WIDE),
    ],
    "Warehouse": [
        ("NAME", lambda w, c: w.name, ALL),
        ("REPO", lambda w, c: getattr(_git(w), "repo_url", ""), ALL),
        ("BRANCH", lambda w, c: getattr(_git(w), "branch", ""), ALL),
        ("LAST FREIGHT", lambda w, c: short_id(w.status.last_freight_id or ""), ALL),
        ("AGE", AGE, ALL),
        ("STRATEGY", lambda w, c: getattr(_git(w), "commit_selection_strategy", ""), WIDE),
        ("INTERVAL", lambda w, c: w.spec.interval, WIDE),
        ("CREATION", lambda w, c: w.spec.freight_creation_policy, WIDE),
    ],
    "AnalysisRun": [
        ("NAME", lambda r, c: r.name, ALL),
        ("STAGE", lambda r, c: r.spec.stage, ALL),
        ("FREIGHT", lambda r, c: short_id(r.spec.freight or ""), ALL),
        ("PHASE", lambda r, c: r.status.phase, ALL),
        ("SUCCESSFUL", lambda r, c: _good_metrics(r), ALL),
        ("AGE", AGE, ALL),
        ("TEMPLATES", lambda r, c: ",".join(t.name for t in r.spec.templates), WIDE),
        ("MESSAGE", lambda r, c: r.status.message, WIDE),
    ],
    "AnalysisTemplate": [
        ("NAME", lambda t, c: t.name, ALL),
        ("METRICS", lambda t, c: ",".join(m.name for m in t.spec.metrics), ALL),
        (
            "PROVIDERS",
            lambda t, c: ",".join(dict.fromkeys(m.provider.kind for m in t.spec.metrics)),
            ALL,
        ),
        ("AGE", AGE, ALL),
        (
            "CONDITIONS",
            lambda t, c: "; ".join(m.success_condition or "" for m in t.spec.metrics),
            WIDE,
        ),
    ],
    "WebhookConfig": [
        ("NAME", lambda w, c: w.name, ALL),
        ("URL", lambda w, c: redact_url(w.spec.url), ALL),
        ("EVENTS", lambda w, c: ",".join(w.spec.events), ALL),
        ("ENABLED", lambda w, c: w.spec.enabled, ALL),
        ("LAST DELIVERY", lambda w, c: c.summary(w).last, ALL),
        ("RECENT FAILURES", lambda w, c: c.summary(w).recent_failures, ALL),
        ("AGE", AGE, ALL),
        ("FORMAT", lambda w, c: w.spec.format, WIDE),
        ("LAST ERROR", lambda w, c: c.summary(w).last_error, WIDE),
    ],
    "Event": [
        ("LAST SEEN", AGE, ALL),
        ("TYPE", lambda e, c: e.type, ALL),
        ("REASON", lambda e, c: e.reason, ALL),
        ("OBJECT", lambda e, c: f"{e.involved_object.kind.lower()}/{e.involved_object.name}", ALL),
        ("COUNT", lambda e, c: e.count, WIDE),
        ("MESSAGE", lambda e, c: e.message, ALL),
    ],
    "WebhookDelivery": [
        ("ID", lambda d, c: d.id, ALL),
        ("WEBHOOK", lambda d, c: d.webhook, ALL),
        ("EVENT", lambda d, c: d.event_type, ALL),
        ("STATUS", lambda d, c: d.status, ALL),
        ("ATTEMPTS", lambda d, c: d.attempts, ALL),
        ("LATENCY", lambda d, c: "" if d.latency_ms is None else f"{d.latency_ms:.0f}ms", ALL),
        ("AGE", AGE, ALL),
        ("LAST ERROR", lambda d, c: d.last_error, WIDE),
    ],
    "TokenInfo": [
        ("NAME", lambda t, c: t.name, ALL),
        ("ROLE", lambda t, c: t.role, ALL),
        ("CREATED BY", lambda t, c: t.created_by, ALL),
        ("AGE", AGE, ALL),
        ("EXPIRES", lambda t, c: rfc3339(t.expires_at) or "never", ALL),
    ],
    "AuditEntry": [
        ("TIME", lambda r, c: rfc3339(r.time), ALL),
        ("ACTOR", lambda r, c: r.actor, ALL),
        ("ACTION", lambda r, c: r.action, ALL),
        ("RESOURCE", lambda r, c: "/".join(x for x in (r.project, r.resource) if x), ALL),
        ("PHASE", lambda r, c: _transition(r), ALL),
        ("SOURCE", lambda r, c: " ".join(x for x in (r.source, r.address) if x), ALL),
        ("RESULT", lambda r, c: r.result, ALL),
    ],
    "StageDeliveryMetrics": [
        ("STAGE", lambda m, c: m.stage, ALL),
        ("DEPLOYS", lambda m, c: m.deployments, ALL),
        ("PER DAY", lambda m, c: f"{m.deployments_per_day:g}", ALL),
        ("LEAD TIME", lambda m, c: _seconds(m.lead_time_seconds), ALL),
        ("CHANGE FAILURE", lambda m, c: _failures(m), ALL),
        ("TIME TO RESTORE", lambda m, c: _seconds(m.time_to_restore_seconds), ALL),
    ],
}
GENERIC: list[tuple[str, Cell, str]] = [("NAME", lambda r, c: name_of(r), ALL), ("AGE", AGE, ALL)]
NEWEST_FIRST = {"Promotion", "AnalysisRun", "Freight", "WebhookDelivery"}
AS_SERVED = {"TokenInfo", "AuditEntry", "StageDeliveryMetrics"}
SHOWN_WHEN_ANY = {"Stage": "HOLD", "Freight": "SOAK"}
"""Wide columns that a normal table shows too when any row has a value: a stage holding freight
back after a rollback, freight still soaking upstream (requiredSoakTime)."""


def sort_rows(kind: str, resources: list[Any]) -> list[Any]:
    """Promotions, runs, freight and deliveries newest first; events oldest first; else by name."""
    if kind in AS_SERVED:
        return list(resources)
    if kind in NEWEST_FIRST:
        return sorted(resources, key=lambda r: (created_of(r) or EPOCH, name_of(r)), reverse=True)
    if kind == "Event":
        return sorted(resources, key=lambda r: created_of(r) or EPOCH)
    return sorted(resources, key=name_of)


def build_table(
    kind: str,
    resources: list[Any],
    wide: bool = False,
    now: datetime | None = None,
    presorted: bool = False,
    deliveries: list[DeliveryRecord] | None = None,
) -> Table:
    """The table `kargo get` prints for resources of one kind (in their order when presorted)."""
    context = Context(now, delivery_summaries(deliveries or [], now))
    ordered = resources if presorted else sort_rows(kind, resources)
    layout = LAYOUTS.get(kind, GENERIC)
    columns = [(h, cell) for h, cell, shown in layout if shown in (ALL, WIDE if wide else NARROW)]
    also = SHOWN_WHEN_ANY.get(kind)
    if also and not wide:
        cell = next(cell for header, cell, _ in layout if header == also)
        columns += [(also, cell)] if any(cell(r, context) for r in ordered) else []
    status = frozenset(i for i, (h, _) in enumerate(columns) if h in STATUS_HEADERS)
    table = Table([h for h, _ in columns], status_columns=status)
    for resource in ordered:
        table.add(*(cell(resource, context) for _, cell in columns))
    return table
