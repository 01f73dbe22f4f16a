"""`kargo describe`: one resource in full, kubectl style, with its related events.

Lines fit the terminal (COLUMNS, else 100): long values wrap under their start, table cells
other than the last are cut with `…`, the last column wraps under itself.
"""

from __future__ import annotations

import shutil
import textwrap
from datetime import datetime
from typing import Any

from kargo.cli.columns import (
    EPOCH,
    build_table,
    promotion_alias,
    promotion_steps,
    short_id,
    show_value,
)
from kargo.cli.printing import to_yaml
from kargo.cli.tables import GAP, Table, age, elapsed, render_table, rfc3339
from kargo.client import document
from kargo.model.analysis import AnalysisRun, AnalysisTemplate
from kargo.model.event import EventRecord
from kargo.model.freight import GitCommit
from kargo.model.promotion import ROLLBACK_ANNOTATION, Promotion

INDENT = "  "
KEY_WIDTH = 15
CELL = 48
"""The widest a describe table cell other than the last may be."""


class Sheet:
    """Lines of `Key:  value` pairs and indented blocks, fitted to a width."""

    def __init__(self) -> None:
        self.width = max(shutil.get_terminal_size((100, 24)).columns, 40)  # COLUMNS, else 100
        self.lines: list[str] = []

    def _wrap(self, line: str, hang: int) -> None:
        if len(line) <= self.width:
            self.lines.append(line.rstrip())
            return
        hang = hang if hang <= self.width - 20 else len(line) - len(line.lstrip()) + 4
        self.lines += textwrap.wrap(
            line, self.width, subsequent_indent=" " * hang, break_on_hyphens=False
        )

    def field(self, key: str, value: object, level: int = 0) -> None:
        """A `Key: value` line; empty values show as <none>; long values wrap under the value."""
        shown = "<none>" if value in (None, "") else " ".join(str(value).split())
        self._wrap(f"{INDENT * level}{key + ':':<{KEY_WIDTH}} {shown}", len(INDENT * level) + 16)

    def heading(self, key: str, level: int = 0) -> None:
        """A `Key:` line that a block follows."""
        self.lines.append(f"{INDENT * level}{key}:")

    def yaml(self, data: Any, level: int = 1) -> None:
        """Data as indented YAML; long lines wrap deeper than their key."""
        for line in to_yaml(data).splitlines():
            self._wrap(f"{INDENT * level}{line}", len(INDENT * level) + 4)

    def table(self, table: Table, level: int = 1) -> None:
        """An aligned table: cells cut to CELL, the last column wrapped under itself."""
        table.rows = [[_cut(c) for c in row[:-1]] + row[-1:] for row in table.rows]
        text = render_table(table, empty="")
        widths = [
            max(len(r[i]) for r in [table.headers, *table.rows])
            for i in range(len(table.headers) - 1)
        ]
        hang = len(INDENT * level) + sum(widths) + len(GAP) * len(widths)
        for line in text.splitlines():
            self._wrap(f"{INDENT * level}{line}", hang)

    def section(self, key: str, table: Table) -> None:
        """A heading and its table, or `Key: <none>` for a table without rows."""
        if not table.rows:
            self.field(key, "<none>")
            return
        self.heading(key)
        self.table(table)

    def text(self) -> str:
        """Everything written so far."""
        return "\n".join(self.lines)


def _cut(cell: str) -> str:
    return cell if len(cell) <= CELL else cell[: CELL - 1] + "…"


def _when(moment: datetime | None, now: datetime | None) -> str:
    return f"{rfc3339(moment)} ({age(moment, now)} ago)" if moment else ""


def _header(sheet: Sheet, resource: Any, now: datetime | None) -> None:
    meta = resource.metadata
    sheet.field("Name", meta.name)
    sheet.field("Project", meta.namespace)
    sheet.field("Kind", resource.kind)
    sheet.field("Created", _when(meta.creation_timestamp, now))
    sheet.field("Labels", ", ".join(f"{k}={v}" for k, v in meta.labels.items()))
    sheet.field("Annotations", ", ".join(f"{k}={v}" for k, v in meta.annotations.items()))


def _events(sheet: Sheet, events: list[EventRecord], now: datetime | None) -> None:
    table = build_table("Event", events, now=now)
    table.headers = [h for i, h in enumerate(table.headers) if i != 3]
    table.rows = [[c for i, c in enumerate(row) if i != 3] for row in table.rows]
    sheet.section("Events", table)


def describe_generic(resource: Any, events: list[EventRecord], now: datetime | None) -> str:
    """Header, spec and status as YAML, then events."""
    sheet = Sheet()
    _header(sheet, resource, now)
    served = document(resource)
    for section in ("spec", "status"):
        if served.get(section):
            sheet.heading(section.capitalize())
            sheet.yaml(served[section])
    _events(sheet, events, now)
    return sheet.text()


def _commit_line(commit: GitCommit) -> str:
    message = commit.message.split("\n")[0]
    parts = [short_id(commit.id), commit.branch, f'"{message}"' if message else ""]
    return " ".join(p for p in [*parts, f"by {commit.author}" if commit.author else ""] if p)


def _metrics_table(run: AnalysisRun, now: datetime | None) -> Table:
    table = Table(["METRIC", "PHASE", "VALUE", "TIME", "MESSAGE"], status_columns=frozenset({1}))
    for metric in run.status.metric_results:
        if not metric.measurements:
            table.add(metric.name, metric.phase, "", "", metric.message)
        for m in metric.measurements:
            moment = m.finished_at or m.started_at
            table.add(metric.name, m.phase, show_value(m.value), age(moment, now), m.message)
    return table


def describe_promotion(
    promotion: Promotion,
    events: list[EventRecord],
    run: AnalysisRun | None,
    now: datetime | None = None,
) -> str:
    """A promotion in full: freight, actor, steps, the verification that followed, events."""
    sheet = Sheet()
    _header(sheet, promotion, now)
    freight, alias = promotion.spec.freight, promotion_alias(promotion)
    sheet.field("Stage", promotion.spec.stage)
    sheet.field("Freight", f"{freight} ({alias})" if alias else freight)
    carried = promotion.status.freight
    for commit in carried.commits if carried else []:
        sheet.field("Commit", _commit_line(GitCommit.model_validate(commit)))
    sheet.field("Actor", promotion.actor)
    reason = promotion.metadata.annotations.get(ROLLBACK_ANNOTATION, "")
    rollback = "no"
    if promotion.is_rollback:
        rollback = f"yes ({reason})" if reason and reason.lower() != "true" else "yes"
    sheet.field("Rollback", rollback)
    sheet.field("Phase", promotion.phase)
    sheet.field("Message", promotion.status.message)
    sheet.field("Started", _when(promotion.status.started_at, now))
    sheet.field("Finished", _when(promotion.status.finished_at, now))
    table = Table(
        ["#", "STEP", "USES", "STATUS", "DURATION", "ERROR"], status_columns=frozenset({3})
    )
    for step in promotion_steps(promotion):
        error = step.message if step.phase not in {"Succeeded", "Running"} else ""
        took = elapsed(step.started, step.finished, now)
        table.add(step.index + 1, step.name, step.uses, step.phase, took, error)
    sheet.section("Steps", table)
    if run is None:
        sheet.field("Verification", "<none>")
    else:
        sheet.heading("Verification")
        sheet.field("AnalysisRun", run.name, 1)
        sheet.field("Phase", run.status.phase, 1)
        sheet.field("Message", run.status.message, 1)
        sheet.table(_metrics_table(run, now))
    _events(sheet, events, now)
    return sheet.text()


def describe_analysis_run(
    run: AnalysisRun,
    events: list[EventRecord],
    now: datetime | None = None,
    templates: list[AnalysisTemplate] | None = None,
) -> str:
    """An AnalysisRun: phase and reason, then every metric with its measurements."""
    sheet = Sheet()
    _header(sheet, run, now)
    sheet.field("Stage", run.spec.stage)
    sheet.field("Freight", run.spec.freight)
    sheet.field("Phase", run.status.phase)
    sheet.field("Reason", run.status.message)
    sheet.field("Started", _when(run.status.started_at, now))
    sheet.field("Finished", _when(run.status.finished_at, now))
    conditions = {m.name: m.success_condition for t in templates or [] for m in t.spec.metrics}
    metrics = run.status.metric_results
    if not metrics:
        sheet.field("Metrics", "<none>")
    else:
        sheet.heading("Metrics")
    for metric in metrics:
        sheet.field("Name", metric.name, 1)
        sheet.field("Phase", metric.phase, 1)
        if conditions.get(metric.name):
            sheet.field("Condition", conditions[metric.name], 1)
        counts = {"count": metric.count, "successful": metric.successful, "failed": metric.failed}
        counts |= {
            k: v for k, v in (("inconclusive", metric.inconclusive), ("error", metric.error)) if v
        }
        sheet.field("Counts", " ".join(f"{k}={v}" for k, v in counts.items()), 1)
        if metric.message:
            sheet.field("Message", metric.message, 1)
        table = Table(["VALUE", "PHASE", "TIME", "MESSAGE"], status_columns=frozenset({1}))
        for m in metric.measurements:
            table.add(
                show_value(m.value), m.phase, _when(m.finished_at or m.started_at, now), m.message
            )
        if table.rows:
            sheet.heading("Measurements", 1)
            sheet.table(table, 2)
    _events(sheet, events, now)
    return sheet.text()


def find_verification(promotion: Promotion, runs: list[AnalysisRun]) -> AnalysisRun | None:
    """The newest AnalysisRun of the promotion's stage and freight, started after it."""
    began = promotion.metadata.creation_timestamp
    candidates = [
        run
        for run in runs
        if run.spec.stage == promotion.spec.stage
        and promotion.spec.freight.startswith(run.spec.freight or "")
        and not (
            began and run.metadata.creation_timestamp and run.metadata.creation_timestamp < began
        )
    ]
    return max(candidates, key=lambda r: r.metadata.creation_timestamp or EPOCH, default=None)
