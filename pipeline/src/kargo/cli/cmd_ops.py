"""Day-to-day commands: logs, export, apply, test webhook, redeliver."""

from __future__ import annotations

import json
from pathlib import Path

import click

from kargo.cli.applying import bundle
from kargo.cli.columns import sort_rows
from kargo.cli.kinds import KINDS, did_you_mean, resolve_kind
from kargo.cli.session import Session, cli, project_option, session
from kargo.cli.tables import rfc3339
from kargo.client import ApiError, KargoClientError
from kargo.model.analysis import AnalysisRun
from kargo.model.promotion import Promotion

WITH_LOGS = tuple(k for k in KINDS if k.kind in {"Promotion", "AnalysisRun"})
EXPORTABLE = tuple(k for k in KINDS if k.kind in {"Promotion", "Project"})


@cli.command("logs")
@click.argument("kind", metavar="promotion|analysisrun")
@click.argument("name", required=False)
@project_option
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the promotion ends.")
@click.option("--metric", help="analysisrun: only this metric's measurements.")
def logs_command(
    kind: str, name: str | None, project: str | None, follow: bool, metric: str | None
) -> None:
    """Print a promotion's step logs, or an analysis run's job output and measurements.

    \b
    Examples:
      kargo logs promotion planning-poker    # the newest promotion
      kargo logs promotion production.01jd -f
      kargo logs analysisrun development.01jd --metric smoke-test-success
    """
    s = session()
    chosen = resolve_kind(kind, WITH_LOGS)
    if chosen.kind == "AnalysisRun":
        if follow:
            raise click.UsageError("-f follows promotions; for a run use `kargo wait analysisrun`")
        _run_logs(s, s.project(project), name, metric)
        return
    if metric:
        raise click.UsageError("--metric applies to `kargo logs analysisrun`")
    target = s.target(name, project)
    promotion = target.name
    if promotion is None:
        promotions = sort_rows("Promotion", s.client.resources(target.project, Promotion))
        if not promotions:
            raise KargoClientError(f"no promotions in project {target.project} yet")
        promotion = promotions[0].name
    try:
        with s.naming(target.project, "promotion", promotion):
            for line in s.client.logs(target.project, promotion, follow):
                click.echo(line)
    except KeyboardInterrupt:
        return


def _run_logs(s: Session, project: str, name: str | None, metric: str | None) -> None:
    """Each metric's measurements: time, phase, the value (a job's stdout) and the message."""
    if name is None:
        runs = sort_rows("AnalysisRun", s.client.resources(project, AnalysisRun))
        if not runs:
            raise KargoClientError(f"no analysis runs in project {project} yet")
        name = runs[0].name
    run: AnalysisRun = s.get_named(project, resolve_kind("analysisrun"), name)
    results = [m for m in run.status.metric_results if metric in (None, m.name)]
    if metric and not results:
        known = [m.name for m in run.status.metric_results]
        raise KargoClientError(
            f"run {run.name} has no metric {metric!r}{did_you_mean(metric, known)}"
        )
    for result in results:
        click.echo(f"== {result.template or '-'}/{result.name}: {result.phase}")
        for measurement in result.measurements:
            when = rfc3339(measurement.started_at)
            said = f": {measurement.message}" if measurement.message else ""
            click.echo(f"{when} {measurement.phase}{said}")
            value = measurement.value
            text = value if isinstance(value, str) else json.dumps(value, indent=2)
            for line in str(text).splitlines():
                click.echo(f"  {line}")


@cli.command("export")
@click.argument("kind", metavar="promotion")
@click.argument("project_name", required=False, metavar="[PROJECT]")
@project_option
def export_command(kind: str, project_name: str | None, project: str | None) -> None:
    """Print the project's promotion configuration and recent promotions as YAML.

    \b
    Examples:
      kargo export promotion planning-poker > promotion-debug.yaml
    """
    s = session()
    resolve_kind(kind, EXPORTABLE)
    text = s.client.export(s.project(project, project_name, "export promotion"))
    click.echo(text, nl=not text.endswith("\n"))


@cli.command("apply")
@click.option(
    "-f",
    "--filename",
    "paths",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="A YAML file or a folder of them (repeatable).",
)
def apply_command(paths: tuple[Path, ...]) -> None:
    """Create or update resources from YAML files.

    \b
    Examples:
      kargo apply -f kargo/
      kargo apply -f kargo/stage.yaml -f kargo/warehouse.yaml
    """
    s = session()
    sent = bundle(list(paths))
    try:
        results = s.client.apply(sent.text)
    except ApiError as exc:
        if exc.details and all(isinstance(d, dict) and "line" in d for d in exc.details):
            raise KargoClientError(sent.describe(exc.message, exc.details)) from exc
        raise KargoClientError(sent.explain(exc.one_line())) from exc
    for result in results:
        click.echo(f"{result.kind.lower()}/{result.name} {result.action}")


@cli.group("test")
def test_group() -> None:
    """Try something out."""


@test_group.command("webhook")
@click.argument("name")
@project_option
def test_webhook_command(name: str, project: str | None) -> None:
    """Send a signed webhook.test to a webhook; exit 1 when it fails.

    \b
    Examples:
      kargo test webhook local
    """
    s = session()
    target_project = s.project(project)
    with s.naming(target_project, "webhook-config", name):
        answer = s.client.test_webhook(target_project, name)
    ok = answer.ok
    line = f"webhook/{name}: {'ok' if ok else 'FAILED'} status={answer.status} "
    line += f"latency={answer.latency_ms:.0f}ms"
    error = (answer.error or "").strip()
    click.echo(f"{line}: {error}" if error and not ok else line)
    if answer.body.strip():
        click.echo(answer.body.strip())
    if not ok:
        raise click.exceptions.Exit(1)


@cli.command("redeliver")
@click.argument("delivery_id", metavar="ID")
@project_option
def redeliver_command(delivery_id: str, project: str | None) -> None:
    """Queue a webhook delivery again.

    \b
    Examples:
      kargo get webhook-deliveries --failed
      kargo redeliver 42
    """
    s = session()
    target_project = s.project(project)
    with s.naming(target_project, "webhook-deliveries", delivery_id):
        s.client.redeliver(target_project, delivery_id)
    click.echo(f"webhook-delivery/{delivery_id} queued for redelivery")
