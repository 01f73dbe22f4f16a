"""`kargo get metrics`: the delivery (DORA) metrics of each stage over a window."""

from __future__ import annotations

import json

import click

from kargo.cli.printing import OutputFormat, to_yaml
from kargo.cli.session import Session
from kargo.cli.tables import Table, render_table
from kargo.cli.timefmt import short_duration

METRICS_KINDS = {"metrics", "metric", "dora"}


def _seconds(value: object) -> str:
    return short_duration(float(value)) if isinstance(value, int | float) else "-"


def show_metrics(
    s: Session, project: str, fmt: OutputFormat, no_headers: bool, window: str | None
) -> None:
    """Deployments (and per day), lead time, change failure rate, time to restore per stage."""
    answer = s.client.delivery_metrics(project, window or "30d")
    if fmt is OutputFormat.JSON:
        click.echo(json.dumps(answer, indent=2))
        return
    if fmt is OutputFormat.YAML:
        click.echo(to_yaml(answer).rstrip("\n"))
        return
    table = Table(["STAGE", "DEPLOYS", "PER DAY", "LEAD TIME", "CHANGE FAILURE", "TIME TO RESTORE"])
    for m in answer.get("stages") or []:
        rate = m.get("changeFailureRate")
        failures = f"{rate:.0%} ({m['failedChanges']}/{m['changes']})" if rate is not None else "-"
        table.add(
            m["stage"],
            str(m["deployments"]),
            f"{m['deploymentsPerDay']:g}",
            _seconds(m.get("leadTimeSeconds")),
            failures,
            _seconds(m.get("timeToRestoreSeconds")),
        )
    click.echo(render_table(table, no_headers))
    click.echo(f"over the last {answer.get('window')} (`--since` to change)", err=True)
