"""`kargo describe`: one resource in full, kubectl style, with its related events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kargo.cli import fields as f
from kargo.cli.columns import build_table
from kargo.cli.printing import to_yaml
from kargo.cli.tables import Table, render_table
from kargo.cli.timefmt import age, elapsed, parse_time

Resource = dict[str, Any]
INDENT = "  "


class Sheet:
    """Lines of `Key:  value` pairs and indented blocks."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def field(self, key: str, value: object, level: int = 0) -> None:
        """A `Key: value` line; empty values show as <none>."""
        shown = "<none>" if value in (None, "") else str(value)
        self.lines.append(f"{INDENT * level}{key + ':':<15} {shown}".rstrip())

    def heading(self, key: str, level: int = 0) -> None:
        """A `Key:` line that a block follows."""
        self.lines.append(f"{INDENT * level}{key}:")

    def block(self, text: str, level: int = 1) -> None:
        """Indented lines."""
        self.lines += [f"{INDENT * level}{line}".rstrip() for line in text.splitlines()]

    def text(self) -> str:
        """Everything written so far."""
        return "\n".join(self.lines)


def _when(value: object, now: datetime | None) -> str:
    moment = parse_time(value)
    if moment is None:
        return ""
    shown = moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return f"{shown} ({age(value, now)} ago)"


def _header(sheet: Sheet, resource: Resource, now: datetime | None) -> None:
    sheet.field("Name", f.name(resource))
    sheet.field("Project", f.text(resource, "metadata.namespace"))
    sheet.field("Kind", f.text(resource, "kind"))
    sheet.field("Created", _when(f.created(resource), now))
    labels = f.dig(resource, "metadata.labels") or {}
    sheet.field("Labels", ", ".join(f"{k}={v}" for k, v in labels.items()))
    annotations = f.dig(resource, "metadata.annotations") or {}
    sheet.field("Annotations", ", ".join(f"{k}={v}" for k, v in annotations.items()))


def _events(sheet: Sheet, events: list[Resource], now: datetime | None) -> None:
    if not events:
        sheet.field("Events", "<none>")
        return
    sheet.heading("Events")
    table = build_table("Event", events, now=now)
    table.headers = [h for i, h in enumerate(table.headers) if i != 3]
    table.rows = [[c for i, c in enumerate(row) if i != 3] for row in table.rows]
    sheet.block(render_table(table, empty=""))


def describe_generic(resource: Resource, events: list[Resource], now: datetime | None) -> str:
    """Header, spec and status as YAML, then events."""
    sheet = Sheet()
    _header(sheet, resource, now)
    for section in ("spec", "status"):
        value = resource.get(section)
        if value:
            sheet.heading(section.capitalize())
            sheet.block(to_yaml(value))
    _events(sheet, events, now)
    return sheet.text()


def _commit_line(commit: Resource) -> str:
    sha = f.short_id(f.text(commit, "id", "sha"))
    message = f.text(commit, "message").split("\n")[0]
    parts = [sha, f.text(commit, "branch")]
    if message:
        parts.append(f'"{message}"')
    author = f.text(commit, "author")
    if author:
        parts.append(f"by {author}")
    return " ".join(p for p in parts if p)


def _metrics_table(run: Resource, now: datetime | None) -> Table:
    table = Table(["METRIC", "PHASE", "VALUE", "TIME", "MESSAGE"], status_columns=frozenset({1}))
    for metric in f.metric_results(run):
        measurements = f.dig(metric, "measurements") or []
        if not measurements:
            table.add(
                f.text(metric, "name"), f.text(metric, "phase"), "", "", f.text(metric, "message")
            )
        for m in measurements:
            table.add(
                f.text(metric, "name"),
                f.text(m, "phase"),
                f.show_value(m.get("value")),
                age(f.first(m, "finishedAt", "startedAt"), now),
                f.text(m, "message"),
            )
    return table


def describe_promotion(
    promotion: Resource,
    events: list[Resource],
    run: Resource | None,
    now: datetime | None = None,
) -> str:
    """A promotion in full: freight, actor, steps, the verification that followed, events."""
    sheet = Sheet()
    _header(sheet, promotion, now)
    freight = f.promotion_freight(promotion)
    alias = f.promotion_alias(promotion)
    sheet.field("Stage", f.text(promotion, "spec.stage"))
    sheet.field("Freight", f"{freight} ({alias})" if alias else freight)
    commits = f.freight_commits(f.dig(promotion, "status.freight") or {})
    for commit in commits:
        sheet.field("Commit", _commit_line(commit))
    sheet.field("Actor", f.actor(promotion))
    reason = f.meta_value(promotion, ("kargo.akuity.io/rollback",))
    rollback = "no"
    if f.is_rollback(promotion):
        rollback = f"yes ({reason})" if reason and reason.lower() != "true" else "yes"
    sheet.field("Rollback", rollback)
    sheet.field("Phase", f.promotion_phase(promotion))
    sheet.field("Message", f.text(promotion, "status.message"))
    sheet.field("Started", _when(f.first(promotion, "status.startedAt"), now))
    sheet.field("Finished", _when(f.first(promotion, "status.finishedAt"), now))
    steps = f.promotion_steps(promotion)
    if steps:
        table = Table(
            ["#", "STEP", "USES", "STATUS", "DURATION", "ERROR"], status_columns=frozenset({3})
        )
        for step in steps:
            error = step.message if step.phase not in {"Succeeded", "Running"} else ""
            table.add(
                step.index + 1,
                step.name,
                step.uses,
                step.phase,
                elapsed(step.started, step.finished, now),
                error,
            )
        sheet.heading("Steps")
        sheet.block(render_table(table, empty=""))
    else:
        sheet.field("Steps", "<none>")
    if run is None:
        sheet.field("Verification", "<none>")
    else:
        sheet.heading("Verification")
        sheet.field("AnalysisRun", f.name(run), 1)
        sheet.field("Phase", f.text(run, "status.phase", default="Pending"), 1)
        sheet.field("Message", f.text(run, "status.message"), 1)
        sheet.block(render_table(_metrics_table(run, now), empty=""))
    _events(sheet, events, now)
    return sheet.text()


def describe_analysis_run(
    run: Resource,
    events: list[Resource],
    now: datetime | None = None,
    templates: list[Resource] | None = None,
) -> str:
    """An AnalysisRun: phase and reason, then every metric with its measurements."""
    sheet = Sheet()
    _header(sheet, run, now)
    sheet.field("Stage", f.run_stage(run))
    sheet.field("Freight", f.run_freight(run))
    sheet.field("Phase", f.text(run, "status.phase", default="Pending"))
    sheet.field("Reason", f.text(run, "status.message", "status.reason"))
    sheet.field("Started", _when(f.first(run, "status.startedAt"), now))
    sheet.field("Finished", _when(f.first(run, "status.finishedAt", "status.completedAt"), now))
    metric_specs = list(f.dig(run, "spec.metrics") or [])
    for template in templates or []:
        metric_specs += f.dig(template, "spec.metrics") or []
    conditions = {
        f.text(m, "name"): f.text(m, "successCondition")
        for m in metric_specs
        if isinstance(m, dict) and f.text(m, "successCondition")
    }
    metrics = f.metric_results(run)
    if not metrics:
        sheet.field("Metrics", "<none>")
    else:
        sheet.heading("Metrics")
    for metric in metrics:
        metric_name = f.text(metric, "name")
        sheet.field("Name", metric_name, 1)
        sheet.field("Phase", f.text(metric, "phase"), 1)
        if conditions.get(metric_name):
            sheet.field("Condition", conditions[metric_name], 1)
        counts = [
            f"{key}={metric[key]}"
            for key in ("count", "successful", "failed", "inconclusive", "error")
            if isinstance(metric.get(key), int)
        ]
        if counts:
            sheet.field("Counts", " ".join(counts), 1)
        if f.text(metric, "message"):
            sheet.field("Message", f.text(metric, "message"), 1)
        table = Table(["VALUE", "PHASE", "TIME", "MESSAGE"], status_columns=frozenset({1}))
        for m in f.dig(metric, "measurements") or []:
            table.add(
                f.show_value(m.get("value")),
                f.text(m, "phase"),
                _when(f.first(m, "finishedAt", "startedAt"), now),
                f.text(m, "message"),
            )
        if table.rows:
            sheet.heading("Measurements", 1)
            sheet.block(render_table(table, empty=""), 2)
    _events(sheet, events, now)
    return sheet.text()


def describe(
    kind: str,
    resource: Resource,
    events: list[Resource],
    now: datetime | None,
    templates: list[Resource] | None = None,
) -> str:
    """The describe text for any kind that has no richer view."""
    if kind == "AnalysisRun":
        return describe_analysis_run(resource, events, now, templates)
    return describe_generic(resource, events, now)


def find_verification(promotion: Resource, runs: list[Resource]) -> Resource | None:
    """The newest AnalysisRun of the promotion's stage and freight, started after it."""
    stage = f.text(promotion, "spec.stage")
    freight = f.promotion_freight(promotion)
    began = parse_time(f.created(promotion))
    linked = f.text(promotion, "status.verification.analysisRun.name", "status.analysisRun")
    candidates = []
    for run in runs:
        if linked and f.name(run) == linked:
            return run
        if f.run_stage(run) != stage:
            continue
        run_freight = f.run_freight(run)
        if freight and run_freight and not freight.startswith(run_freight):
            continue
        started = parse_time(f.created(run))
        if began and started and started < began:
            continue
        candidates.append(run)
    candidates.sort(key=lambda r: _timestamp(f.created(r)))
    return candidates[-1] if candidates else None


def _timestamp(value: object) -> float:
    moment = parse_time(value)
    return moment.timestamp() if moment else 0.0
