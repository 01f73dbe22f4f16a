"""The columns of `kargo get` for each kind, normal and wide, and the order of the rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from kargo.cli import fields as f
from kargo.cli.tables import Table
from kargo.cli.timefmt import age, parse_time

Resource = dict[str, Any]
RowBuilder = Callable[[Resource, bool, datetime | None], list[object]]


def _promotion(r: Resource, wide: bool, now: datetime | None) -> list[object]:
    row: list[object] = [
        f.name(r),
        f.text(r, "spec.stage"),
        f.promotion_alias(r) or f.short_id(f.promotion_freight(r)),
        f.promotion_phase(r),
        age(f.created(r), now),
    ]
    if wide:
        steps = f.promotion_steps(r)
        done = sum(1 for s in steps if s.phase == "Succeeded")
        row += [
            f.short_id(f.promotion_freight(r)),
            f.actor(r),
            "yes" if f.is_rollback(r) else "no",
            f"{done}/{len(steps)}",
            f.text(r, "status.message"),
        ]
    return row


def _stage(r: Resource, wide: bool, now: datetime | None) -> list[object]:
    freight, alias = f.stage_current_freight(r)
    row: list[object] = [
        f.name(r),
        f.short_id(freight),
        alias,
        f.stage_health(r),
        f.stage_verified(r),
        f.stage_last_promotion_phase(r),
        age(f.created(r), now),
    ]
    if wide:
        sources = f.first(r, "spec.requestedFreight.0.sources")
        upstream = ",".join(f.names_in(f.dig(sources, "stages"))) if sources else ""
        direct = f.dig(sources, "direct") if isinstance(sources, dict) else None
        row += [
            upstream or ("warehouse" if direct else ""),
            f.stage_hold(r),
            f.text(r, "status.lastPromotion.name"),
            _instances(r),
        ]
    return row


def _instances(r: Resource) -> str:
    """`track:port state (pid, healthy|unhealthy)` per runtime instance of a stage."""
    shown = []
    for i in f.dig(r, "status.instances") or []:
        health = "healthy" if i.get("healthy") else "unhealthy"
        commit = str(i.get("commit") or "")[:7]
        shown.append(
            f"{i.get('track')}:{i.get('port')} {i.get('state')} {commit} "
            f"pid {i.get('pid')} {health}"
        )
    return "; ".join(shown)


def _freight(r: Resource, wide: bool, now: datetime | None) -> list[object]:
    commits = f.freight_commits(r)
    commit = commits[0] if commits else {}
    row: list[object] = [
        f.name(r) if wide else f.short_id(f.name(r)),
        f.freight_alias(r),
        f.short_id(f.text(commit, "id", "sha")),
        ",".join(f.names_in(f.dig(r, "status.currentlyIn"))),
        ",".join(f.names_in(f.dig(r, "status.verifiedIn"))),
        age(f.created(r), now),
    ]
    if wide:
        row += [
            ",".join(f.names_in(f.dig(r, "status.approvedFor"))),
            f.text(commit, "message").split("\n")[0],
            f.text(r, "status.soakRemaining", "status.soak"),
        ]
    return row


def _warehouse(r: Resource, wide: bool, now: datetime | None) -> list[object]:
    git = f.first(r, "spec.subscriptions.0.git", "spec.git", "spec") or {}
    row: list[object] = [
        f.name(r),
        f.text(git, "repoURL"),
        f.text(git, "branch"),
        f.short_id(
            f.text(r, "status.lastFreightID", "status.lastFreight.name", "status.lastFreightName")
        ),
        age(f.created(r), now),
    ]
    if wide:
        row += [
            f.text(git, "commitSelectionStrategy", default="NewestFromBranch"),
            f.text(r, "spec.interval"),
            f.text(r, "spec.freightCreationPolicy", default="Automatic"),
        ]
    return row


def _analysis_run(r: Resource, wide: bool, now: datetime | None) -> list[object]:
    metrics = f.metric_results(r)
    good = sum(1 for m in metrics if f.text(m, "phase") == "Successful")
    row: list[object] = [
        f.name(r),
        f.run_stage(r),
        f.short_id(f.run_freight(r)),
        f.text(r, "status.phase", default="Pending"),
        f"{good}/{len(metrics)}" if metrics else "",
        age(f.created(r), now),
    ]
    if wide:
        templates = f.first(r, "spec.templates", "status.templates") or []
        row += [
            ",".join(
                f.text(t, "templateName", "name") if isinstance(t, dict) else str(t)
                for t in templates
            ),
            f.text(r, "status.message"),
        ]
    return row


def _analysis_template(r: Resource, wide: bool, now: datetime | None) -> list[object]:
    metrics = f.dig(r, "spec.metrics") or []
    providers = []
    for metric in metrics:
        provider = metric.get("provider") if isinstance(metric, dict) else None
        kind = next(iter(provider), "") if isinstance(provider, dict) else str(provider or "")
        if kind and kind not in providers:
            providers.append(kind)
    row: list[object] = [
        f.name(r),
        ",".join(f.text(m, "name") for m in metrics),
        ",".join(providers),
        age(f.created(r), now),
    ]
    if wide:
        row.append("; ".join(f.text(m, "successCondition") for m in metrics))
    return row


def url_host(url: str) -> str:
    """Scheme and host of a URL: never its credentials, path (Slack's carry a token) or query."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _webhook_config(r: Resource, wide: bool, now: datetime | None) -> list[object]:
    events = f.first(r, "spec.events", "events") or []
    enabled = f.first(r, "spec.enabled", "enabled")
    row: list[object] = [
        f.name(r),
        f.text(r, "urlHost", "status.urlHost") or url_host(f.text(r, "spec.url")),
        ",".join(str(e) for e in events) if isinstance(events, list) else str(events),
        "False" if enabled is False else "True",
        f.text(
            r,
            "status.lastDelivery.status",
            "status.lastDeliveryStatus",
            "lastDeliveryStatus",
            "status.lastStatus",
        ),
        f.text(r, "status.recentFailures", "recentFailures", "status.failures", default="0"),
        age(f.created(r), now),
    ]
    if wide:
        row += [
            f.text(r, "spec.format", "format", default="standard"),
            f.text(r, "status.lastError", "disabledReason", "status.disabledReason"),
        ]
    return row


def _event(r: Resource, wide: bool, now: datetime | None) -> list[object]:
    kind, obj = f.event_object(r)
    row: list[object] = [
        age(f.event_last_seen(r), now),
        f.text(r, "type", "spec.type", default="Normal"),
        f.text(r, "reason", "spec.reason"),
        f"{kind.lower()}/{obj}" if kind else obj,
        f.text(r, "message", "spec.message"),
    ]
    if wide:
        row.insert(4, f.text(r, "count", "spec.count", default="1"))
    return row


def _delivery(r: Resource, wide: bool, now: datetime | None) -> list[object]:
    latency = f.first(r, "latencyMs", "status.latencyMs", "spec.latencyMs")
    row: list[object] = [
        f.name(r),
        f.text(r, "webhook", "spec.webhook", "webhookConfig"),
        f.text(r, "eventType", "type", "event", "spec.eventType", "spec.type"),
        f.text(r, "status", "phase", "status.phase", "state"),
        f.text(r, "attempts", "status.attempts", default="0"),
        f"{float(latency):.0f}ms" if isinstance(latency, int | float) else "",
        age(f.first(r, "createdAt", "metadata.creationTimestamp", "timestamp"), now),
    ]
    if wide:
        row.append(f.text(r, "lastError", "status.lastError", "error"))
    return row


def _project(r: Resource, wide: bool, now: datetime | None) -> list[object]:
    return [f.name(r), age(f.created(r), now)]


def _generic(r: Resource, wide: bool, now: datetime | None) -> list[object]:
    return [f.name(r), age(f.created(r), now)]


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
        _webhook_config,
        frozenset({4}),
    ),
    "Event": (
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        [],
        _event,
        frozenset({1}),
    ),
    "WebhookDelivery": (
        ["ID", "WEBHOOK", "EVENT", "STATUS", "ATTEMPTS", "LATENCY", "AGE"],
        ["LAST ERROR"],
        _delivery,
        frozenset({3}),
    ),
    "Project": (["NAME", "AGE"], [], _project, frozenset()),
}


def _newest_first(resources: list[Resource]) -> list[Resource]:
    def key(r: Resource) -> tuple[float, str]:
        moment = parse_time(f.created(r))
        return (moment.timestamp() if moment else 0.0, f.name(r))

    return sorted(resources, key=key, reverse=True)


def _by_last_seen(resources: list[Resource]) -> list[Resource]:
    def key(r: Resource) -> float:
        moment = parse_time(f.event_last_seen(r))
        return moment.timestamp() if moment else 0.0

    return sorted(resources, key=key)


def sort_rows(kind: str, resources: list[Resource]) -> list[Resource]:
    """Promotions, runs, freight and deliveries newest first; events oldest first; else by name."""
    if kind in {"Promotion", "AnalysisRun", "Freight", "WebhookDelivery"}:
        return _newest_first(resources)
    if kind == "Event":
        return _by_last_seen(resources)
    return sorted(resources, key=f.name)


def build_table(
    kind: str,
    resources: list[Resource],
    wide: bool = False,
    now: datetime | None = None,
    presorted: bool = False,
) -> Table:
    """The table `kargo get` prints for resources of one kind (in their order when presorted)."""
    headers, extra, builder, status = COLUMNS.get(
        kind, (["NAME", "AGE"], [], _generic, frozenset())
    )
    all_headers = headers + extra if wide else list(headers)
    if kind == "Event" and wide:
        all_headers = [*headers[:4], "COUNT", headers[4]]
    table = Table(all_headers, status_columns=status)
    ordered = resources if presorted else sort_rows(kind, resources)
    for resource in ordered:
        table.add(*builder(resource, wide, now))
    if kind == "Stage" and not wide and any(f.stage_hold(r) for r in resources):
        # A rolled-back stage holds freight back from auto-promotion: show it without -o wide.
        table.headers.append("HOLD")
        for row, resource in zip(table.rows, ordered, strict=True):
            row.append(f.stage_hold(resource))
    if kind == "Freight" and not wide and any(f.text(r, "status.soakRemaining") for r in resources):
        # Freight still soaking upstream: how long until it may move on (see requiredSoakTime).
        table.headers.append("SOAK")
        for row, resource in zip(table.rows, ordered, strict=True):
            row.append(f.text(resource, "status.soakRemaining"))
    return table


def row_for(kind: str, resource: Resource, wide: bool, now: datetime | None = None) -> list[str]:
    """One resource's cells (for --watch)."""
    single = build_table(kind, [resource], wide, now)
    return single.rows[0]


RECENT_SECONDS = 24 * 3600


def with_delivery_summary(
    configs: list[Resource], deliveries: list[Resource], now: datetime | None = None
) -> list[Resource]:
    """Copies of webhook configs whose status carries the last delivery and recent failures.

    The API keeps delivery state in the delivery log, not on the WebhookConfig, so the table's
    LAST DELIVERY and RECENT FAILURES (last 24 hours) are read from the log.
    """
    moment = now or datetime.now(UTC)
    out = []
    for config in configs:
        name = f.name(config)
        mine = [d for d in deliveries if f.text(d, "webhook", "spec.webhook") == name]
        mine.sort(key=lambda d: str(f.first(d, "createdAt") or ""), reverse=True)
        failures = 0
        for delivery in mine:
            when = parse_time(f.first(delivery, "updatedAt", "createdAt"))
            recent = when is not None and (moment - when).total_seconds() <= RECENT_SECONDS
            if recent and (f.text(delivery, "lastError") or f.text(delivery, "status") == "Failed"):
                failures += 1
        status = dict(config.get("status") or {})
        if mine:
            status.setdefault("lastDeliveryStatus", f.text(mine[0], "status"))
            status.setdefault("recentFailures", failures)
        out.append({**config, "status": status})
    return out
