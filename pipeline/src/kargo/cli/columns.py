"""The columns of `kargo get` for each kind, normal and wide, read from the contract's models."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from kargo.api.contract import FreightView, StageView
from kargo.cli.tables import Table
from kargo.cli.timefmt import age
from kargo.model.analysis import AnalysisRun, AnalysisTemplate
from kargo.model.event import EventRecord
from kargo.model.promotion import Promotion, PromotionPhase, StepExecutionPhase
from kargo.model.stage import HOLD_ANNOTATION, VerificationPhase
from kargo.model.warehouse import Warehouse
from kargo.model.webhooks import WebhookConfig
from kargo.notify.deliveries import DeliveryRecord
from kargo.notify.tables import DeliveryStatus

RowBuilder = Callable[[Any, bool, datetime | None], list[object]]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RECENT = timedelta(hours=24)


def name_of(resource: Any) -> str:
    """A resource's name (a delivery's id, an event's metadata name)."""
    if isinstance(resource, DeliveryRecord):
        return str(resource.id)
    if isinstance(resource, EventRecord):
        return str(resource.metadata.get("name", ""))
    return str(resource.metadata.name)


def created_of(resource: Any) -> datetime | None:
    """When a resource was created (an event: when it was last seen)."""
    if isinstance(resource, DeliveryRecord):
        return resource.created_at
    if isinstance(resource, EventRecord):
        return resource.last_timestamp
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


def url_host(url: str) -> str:
    """Scheme and host of a URL: never its credentials, path (Slack's carry a token) or query."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


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


def _promotion(p: Promotion, wide: bool, now: datetime | None) -> list[object]:
    freight = short_id(p.spec.freight)
    row: list[object] = [
        p.name,
        p.spec.stage,
        promotion_alias(p) or freight,
        p.phase,
        age(created_of(p), now),
    ]
    if wide:
        steps = promotion_steps(p)
        done = sum(s.phase == "Succeeded" for s in steps)
        rollback = "yes" if p.is_rollback else "no"
        row += [freight, p.actor, rollback, f"{done}/{len(steps)}", p.status.message]
    return row


def stage_verified(stage: StageView) -> str:
    """Whether the current freight is verified in the stage: True, False or the run's phase.

    A stage without verification counts its freight as verified once promoted, as Kargo does.
    """
    current = stage.status.current_freight
    if current is None:
        return ""
    if current.verification_history:
        phase = current.verification_history[0].phase
        return "True" if phase is VerificationPhase.SUCCESSFUL else phase.value
    return "False" if stage.spec.verification else "True"


def stage_hold(stage: StageView) -> str:
    """The freight held back from auto-promotion on this stage, if any."""
    return stage.metadata.annotations.get(HOLD_ANNOTATION, "")


def _stage(s: StageView, wide: bool, now: datetime | None) -> list[object]:
    current, last = s.status.current_freight, s.status.last_promotion
    row: list[object] = [
        s.name,
        short_id(current.name) if current else "",
        current.alias if current else "",
        s.status.health.status if s.status.health else "",
        stage_verified(s),
        last.phase if last else "",
        age(created_of(s), now),
    ]
    if wide:
        direct = any(r.sources.direct for r in s.spec.requested_freight)
        instances = [
            f"{i.track}:{i.port} {i.state} {i.commit[:7]} pid {i.pid} "
            + ("healthy" if i.healthy else "unhealthy")
            for i in s.status.instances or []
        ]
        upstream = ",".join(s.upstream_stages()) or ("warehouse" if direct else "")
        row += [upstream, stage_hold(s), last.name if last else "", "; ".join(instances)]
    return row


def _freight(fr: FreightView, wide: bool, now: datetime | None) -> list[object]:
    commit = fr.commits[0] if fr.commits else None
    row: list[object] = [
        fr.name if wide else short_id(fr.name),
        fr.alias,
        short_id(commit.id) if commit else "",
        ",".join(fr.status.currently_in),
        ",".join(fr.status.verified_in),
        age(created_of(fr), now),
    ]
    if wide:
        message = commit.message.split("\n")[0] if commit else ""
        row += [",".join(fr.status.approved_for), message, fr.status.soak_remaining]
    return row


def _warehouse(w: Warehouse, wide: bool, now: datetime | None) -> list[object]:
    git = next((s.git for s in w.spec.subscriptions if s.git), None)
    row: list[object] = [
        w.name,
        git.repo_url if git else "",
        git.branch if git else "",
        short_id(w.status.last_freight_id or ""),
        age(created_of(w), now),
    ]
    if wide:
        strategy = git.commit_selection_strategy if git else ""
        row += [strategy, w.spec.interval, w.spec.freight_creation_policy]
    return row


def _analysis_run(r: AnalysisRun, wide: bool, now: datetime | None) -> list[object]:
    metrics = r.status.metric_results
    good = sum(m.phase == "Successful" for m in metrics)
    row: list[object] = [
        r.name,
        r.spec.stage,
        short_id(r.spec.freight or ""),
        r.status.phase,
        f"{good}/{len(metrics)}" if metrics else "",
        age(created_of(r), now),
    ]
    if wide:
        row += [",".join(t.name for t in r.spec.templates), r.status.message]
    return row


def _analysis_template(t: AnalysisTemplate, wide: bool, now: datetime | None) -> list[object]:
    metrics = t.spec.metrics
    providers = dict.fromkeys(m.provider.kind for m in metrics)
    row: list[object] = [
        t.name,
        ",".join(m.name for m in metrics),
        ",".join(providers),
        age(created_of(t), now),
    ]
    if wide:
        row.append("; ".join(m.success_condition or "" for m in metrics))
    return row


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


def webhook_rows(summaries: dict[str, DeliverySummary]) -> RowBuilder:
    """The WebhookConfig row builder, with the delivery log's summaries."""

    def build(w: WebhookConfig, wide: bool, now: datetime | None) -> list[object]:
        summary = summaries.get(w.name, DeliverySummary())
        row: list[object] = [
            w.name,
            url_host(w.spec.url),
            ",".join(w.spec.events),
            w.spec.enabled,
            summary.last,
            summary.recent_failures,
            age(created_of(w), now),
        ]
        if wide:
            row += [w.spec.format, summary.last_error]
        return row

    return build


def _event(e: EventRecord, wide: bool, now: datetime | None) -> list[object]:
    obj = e.involved_object
    row: list[object] = [
        age(e.last_timestamp, now),
        e.type,
        e.reason,
        f"{obj.kind.lower()}/{obj.name}",
        e.message,
    ]
    if wide:
        row.insert(4, e.count)
    return row


def _delivery(d: DeliveryRecord, wide: bool, now: datetime | None) -> list[object]:
    latency = f"{d.latency_ms:.0f}ms" if d.latency_ms is not None else ""
    row: list[object] = [
        d.id,
        d.webhook,
        d.event_type,
        d.status,
        d.attempts,
        latency,
        age(d.created_at, now),
    ]
    if wide:
        row.append(d.last_error)
    return row


def _generic(r: Any, wide: bool, now: datetime | None) -> list[object]:
    return [name_of(r), age(created_of(r), now)]


COLUMNS: dict[str, tuple[list[str], list[str], RowBuilder, frozenset[int]]] = {
    "Promotion": (
        ["NAME", "STAGE", "FREIGHT", "PHASE", "AGE"],
        ["FREIGHT ID", "ACTOR", "ROLLBACK", "STEPS", "MESSAGE"],
        _promotion,
        frozenset({3}),
    ),
    "Stage": (
        ["NAME", "FREIGHT", "ALIAS", "HEALTH", "VERIFIED", "LAST PROMOTION", "AGE"],
        ["SOURCE", "HOLD", "PROMOTION NAME", "INSTANCES"],
        _stage,
        frozenset({3, 4, 5}),
    ),
    "Freight": (
        ["NAME", "ALIAS", "COMMIT", "CURRENTLY IN", "VERIFIED IN", "AGE"],
        ["APPROVED FOR", "MESSAGE", "SOAK"],
        _freight,
        frozenset(),
    ),
    "Warehouse": (
        ["NAME", "REPO", "BRANCH", "LAST FREIGHT", "AGE"],
        ["STRATEGY", "INTERVAL", "CREATION"],
        _warehouse,
        frozenset(),
    ),
    "AnalysisRun": (
        ["NAME", "STAGE", "FREIGHT", "PHASE", "SUCCESSFUL", "AGE"],
        ["TEMPLATES", "MESSAGE"],
        _analysis_run,
        frozenset({3}),
    ),
    "AnalysisTemplate": (
        ["NAME", "METRICS", "PROVIDERS", "AGE"],
        ["CONDITIONS"],
        _analysis_template,
        frozenset(),
    ),
    "WebhookConfig": (
        ["NAME", "URL", "EVENTS", "ENABLED", "LAST DELIVERY", "RECENT FAILURES", "AGE"],
        ["FORMAT", "LAST ERROR"],
        webhook_rows({}),
        frozenset({4}),
    ),
    "Event": (["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], [], _event, frozenset({1})),
    "WebhookDelivery": (
        ["ID", "WEBHOOK", "EVENT", "STATUS", "ATTEMPTS", "LATENCY", "AGE"],
        ["LAST ERROR"],
        _delivery,
        frozenset({3}),
    ),
}
NEWEST_FIRST = {"Promotion", "AnalysisRun", "Freight", "WebhookDelivery"}


def sort_rows(kind: str, resources: list[Any]) -> list[Any]:
    """Promotions, runs, freight and deliveries newest first; events oldest first; else by name."""
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
    headers, extra, builder, status = COLUMNS.get(
        kind, (["NAME", "AGE"], [], _generic, frozenset())
    )
    if kind == "WebhookConfig" and deliveries is not None:
        builder = webhook_rows(delivery_summaries(deliveries, now))
    all_headers = headers + extra if wide else list(headers)
    if kind == "Event" and wide:
        all_headers = [*headers[:4], "COUNT", headers[4]]
    table = Table(all_headers, status_columns=status)
    ordered = resources if presorted else sort_rows(kind, resources)
    for resource in ordered:
        table.add(*builder(resource, wide, now))
    # Without -o wide, a stage holding freight back (a rollback) and freight still soaking
    # upstream (requiredSoakTime) show their HOLD and SOAK columns when any row has one.
    when_any: dict[str, tuple[str, Callable[[Any], str]]] = {
        "Stage": ("HOLD", stage_hold),
        "Freight": ("SOAK", lambda fr: fr.status.soak_remaining or ""),
    }
    header, cell = when_any.get(kind, ("", lambda _: ""))
    if header and not wide and any(cell(r) for r in ordered):
        table.headers.append(header)
        for row, resource in zip(table.rows, ordered, strict=True):
            row.append(cell(resource))
    return table
