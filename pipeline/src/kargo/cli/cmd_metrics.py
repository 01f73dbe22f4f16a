"""`kargo get metrics`: the delivery (DORA) metrics of each stage over a window."""

from __future__ import annotations

import click

from kargo.cli.printing import Output, structured
from kargo.cli.session import Session
from kargo.cli.tables import Table, render_table
from kargo.cli.timefmt import short_duration
from kargo.client import document

METRICS_KINDS = {"metrics", "metric", "dora"}


def _seconds(value: float | None) -> str:
    return short_duration(value) if value is not None else "-"


def show_metrics(
    s: Session, project: str, output: Output, no_headers: bool, window: str | None
) -> None:
    """Deployments (and per day), lead time, change failure rate, time to restore per stage."""
    answer = s.client.delivery_metrics(project, window or "30d")
    text = structured(document(answer), output)
    if text is not None:
        click.echo(text)
        return
    table = Table(["STAGE", "DEPLOYS", "PER DAY", "LEAD TIME", "CHANGE FAILURE", "TIME TO RESTORE"])
    for m in answer.stages:
        rate = m.change_failure_rate
        failures = f"{rate:.0%} ({m.failed_changes}/{m.changes})" if rate is not None else "-"
        table.add(
            m.stage,
            m.deployments,
            f"{m.deployments_per_day:g}",
            _seconds(m.lead_time_seconds),
            failures,
            _seconds(m.time_to_restore_seconds),
        )
    click.echo(render_table(table, no_headers))
    click.echo(f"over the last {answer.window} (`--since` to change)", err=True)
