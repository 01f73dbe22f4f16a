"""Commands that move freight: promote (--wait, --abort), rollback, approve, verify, refresh,
and explain (why freight is not in a stage)."""

from __future__ import annotations

import json

import click

from kargo.api.contract import FreightView, StageView, Unchanged
from kargo.cli.cmd_wait import poll_until
from kargo.cli.columns import newest_verification, promotion_alias, short_id, sort_rows
from kargo.cli.kinds import resolve_kind
from kargo.cli.printing import to_yaml
from kargo.cli.progress import Progress, wait_for_promotion
from kargo.cli.session import Session, cli, project_option, session, timeout_option
from kargo.client import KargoClientError, document
from kargo.model.common import ConditionStatus
from kargo.model.promotion import Promotion
from kargo.model.stage import VerificationInfo, VerificationPhase
from kargo.model.warehouse import REFRESH_ANNOTATION, Warehouse


def _created(s: Session, project: str, promotion: Promotion, alias: str = "") -> str:
    """`promotion/NAME created: …`, with the freight's alias (asked of the server if missing)."""
    alias = promotion_alias(promotion) or alias
    if not alias and promotion.spec.freight:
        try:
            alias = s.client.resource(project, FreightView, promotion.spec.freight).alias
        except KargoClientError:
            alias = ""
    freight = short_id(promotion.spec.freight)
    what = f"{alias} ({freight})" if alias and freight else alias or freight
    kind = "rollback" if promotion.is_rollback else "promotion"
    return f"promotion/{promotion.name} created: {kind} of {what} to {promotion.spec.stage}"


def _finish(s: Session, project: str, promotion: Promotion, timeout: float) -> None:
    """Follow a promotion to its end; exit 1 when it or its verification fails."""
    view = Progress(s.console if s.console.is_terminal else None)
    outcome = wait_for_promotion(s.client, project, promotion.name, view, timeout)
    verification = f", verification {outcome.verification.value}" if outcome.verification else ""
    reason = f": {outcome.message}" if outcome.message else ""
    click.echo(f"promotion/{promotion.name} {outcome.promotion.value}{verification}{reason}")
    if not outcome.ok:
        raise click.exceptions.Exit(1)


@cli.command("promote")
@click.argument("project_or_promotion", required=False, metavar="[PROJECT]")
@project_option
@click.option("--from", "from_stage", help="Promote the freight this stage runs now.")
@click.option("--to", "--stage", "stage", help="The stage to promote to.")
@click.option("--freight", help="The freight (name) to promote.")
@click.option("--freight-alias", help="The freight (alias) to promote.")
@click.option("--wait", is_flag=True, help="Follow steps and verification; exit 1 on failure.")
@timeout_option("30m")
@click.option("--abort", is_flag=True, help="Abort the running promotion of --stage (or named).")
def promote_command(
    project_or_promotion: str | None,
    project: str | None,
    from_stage: str | None,
    stage: str | None,
    freight: str | None,
    freight_alias: str | None,
    wait: bool,
    timeout: float,
    abort: bool,
) -> None:
    """Promote freight to a stage (the guide: kargo promote planning-poker --from A --to B).

    \b
    Examples:
      kargo promote planning-poker --from development --to production
      kargo promote --to development --freight-alias wise-otter --wait --timeout 1h30m
      kargo promote --abort --stage production
    """
    s = session()
    if abort:
        _abort(s, project_or_promotion, project, stage)
        return
    target_project = s.project(project, project_or_promotion, "promote")
    if not stage:
        raise click.UsageError(
            "say which stage to promote to: `kargo promote PROJECT --from SOURCE --to STAGE` "
            "or `--to STAGE --freight-alias ALIAS`"
        )
    if freight and freight_alias:
        raise click.UsageError("give --freight or --freight-alias, not both")
    answer = s.client.promote(target_project, stage, freight, freight_alias, from_stage)
    if isinstance(answer, Unchanged):
        click.echo(answer.message or f"{stage} already runs that freight; nothing to do")
        return
    click.echo(_created(s, target_project, answer, freight_alias or ""))
    if wait:
        _finish(s, target_project, answer, timeout)


def _abort(s: Session, positional: str | None, project: str | None, stage: str | None) -> None:
    target = s.target(positional, project)
    name = target.name
    if name is None:
        if not stage:
            raise click.UsageError("say what to abort: `kargo promote --abort --stage STAGE`")
        running = [
            p
            for p in s.client.resources(target.project, Promotion)
            if p.spec.stage == stage and not p.phase.is_terminal()
        ]
        if not running:
            raise KargoClientError(f"no promotion of stage {stage} is running; nothing to abort")
        name = sort_rows("Promotion", running)[0].name
    s.client.abort_promotion(target.project, name)
    click.echo(f"promotion/{name} aborted")


@cli.command("rollback")
@click.argument("project_name", required=False, metavar="[PROJECT]")
@project_option
@click.option("--to", "to_stage", help="Undo the newest promotion out of this stage downstream.")
@click.option("--stage", help="Return this stage to its previous (or a chosen) freight.")
@click.option("--freight", help="Roll back to this freight (name).")
@click.option("--freight-alias", help="Roll back to this freight (alias).")
@click.option("--reason", help="Why; recorded with the rollback.")
@click.option("--dry-run", is_flag=True, help="Print what would change and change nothing.")
@click.option("--wait", is_flag=True, help="Follow the rollback; exit 1 when it fails.")
@timeout_option("30m")
def rollback_command(
    project_name: str | None,
    project: str | None,
    to_stage: str | None,
    stage: str | None,
    freight: str | None,
    freight_alias: str | None,
    reason: str | None,
    dry_run: bool,
    wait: bool,
    timeout: float,
) -> None:
    """Roll back (the guide: kargo rollback planning-poker --to development).

    \b
    Examples:
      kargo rollback planning-poker --to development
      kargo rollback --stage production --freight-alias brave-heron --reason 'p95 too high'
      kargo rollback --stage production --dry-run
    """
    s = session()
    target_project = s.project(project, project_name, "rollback")
    if not to_stage and not stage:
        raise click.UsageError(
            "say what to roll back: `kargo rollback PROJECT --to UPSTREAM_STAGE` or "
            "`--stage STAGE [--freight-alias ALIAS]`"
        )
    answer = s.client.rollback(
        target_project,
        toStage=to_stage,
        stage=stage,
        freight=freight,
        freightAlias=freight_alias,
        reason=reason,
        dryRun=dry_run,
    )
    promotions = answer.items
    if dry_run:
        for plan in answer.plan:
            click.echo(
                f"would roll back stage/{plan.stage}: freight {plan.from_freight} "
                f"-> {plan.to_freight} ({plan.to_alias}); nothing changed"
            )
        return
    if not promotions:
        click.echo(answer.message or to_yaml(document(answer)).rstrip("\n"))
        return
    for promotion in promotions:
        click.echo(_created(s, target_project, promotion))
    if wait:
        for promotion in promotions:
            _finish(s, target_project, promotion, timeout)


@cli.command("approve")
@project_option
@click.option("--freight", required=True, help="Freight name, alias or name prefix.")
@click.option("--stage", required=True, help="The stage it may go to.")
def approve_command(project: str | None, freight: str, stage: str) -> None:
    """Approve freight for a stage, skipping upstream verification and soak.

    \b
    Examples:
      kargo approve --freight wise-otter --stage production
    """
    s = session()
    target_project = s.project(project)
    found: FreightView = s.get_named(target_project, resolve_kind("freight"), freight)
    s.client.approve(target_project, found.name, stage)
    click.echo(f"freight/{found.name} ({found.alias}) approved for {stage}")


@cli.group("verify")
def verify_group() -> None:
    """Rerun or abort verification."""


@verify_group.command("stage")
@click.argument("name")
@project_option
@click.option("--abort", is_flag=True, help="Stop the running verification.")
@click.option("--wait", is_flag=True, help="Wait for the verification's end; exit 1 unless good.")
@timeout_option("30m")
def verify_stage_command(
    name: str, project: str | None, abort: bool, wait: bool, timeout: float
) -> None:
    """Rerun the stage's verification of its current freight (or --abort it).

    \b
    Examples:
      kargo verify stage production
      kargo verify stage production --wait --timeout 1h
      kargo verify stage production --abort
    """
    s = session()
    target_project = s.project(project)
    with s.naming(target_project, "stage", name, about="stage"):
        s.client.verify_stage(target_project, name, abort)
    click.echo(f"stage/{name} verification {'aborted' if abort else 'restarted'}")
    if wait:
        _wait_verification(s, target_project, name, timeout)


def _wait_verification(s: Session, project: str, name: str, timeout: float) -> None:
    """Follow the stage's newest verification to its end; exit 1 unless Successful."""

    def ended() -> VerificationInfo | None:
        newest = newest_verification(s.client.resource(project, StageView, name))
        return newest if newest is not None and newest.phase.is_terminal() else None

    verification = poll_until(f"the verification of stage/{name}", ended, timeout)
    message = f": {verification.message}" if verification.message else ""
    click.echo(f"stage/{name} verification {verification.phase}{message}")
    if verification.phase is not VerificationPhase.SUCCESSFUL:
        raise click.exceptions.Exit(1)


@cli.group("refresh")
def refresh_group() -> None:
    """Ask for discovery now."""


@refresh_group.command("warehouse")
@click.argument("name")
@project_option
@click.option(
    "--wait", is_flag=True, help="Wait until the warehouse has looked; exit 1 on failure."
)
@timeout_option("5m")
def refresh_warehouse_command(name: str, project: str | None, wait: bool, timeout: float) -> None:
    """Make a warehouse look for new freight now.

    \b
    Examples:
      kargo refresh warehouse planning-poker
    """
    s = session()
    target_project = s.project(project)
    with s.naming(target_project, "warehouse", name):
        asked = s.client.refresh_warehouse(target_project, name)
    click.echo(f"warehouse/{name} refresh requested")
    if wait:
        _wait_discovery(s, target_project, asked, timeout)


def _wait_discovery(s: Session, project: str, asked: Warehouse, timeout: float) -> None:
    """Wait until the warehouse handled this refresh; exit 1 when discovery failed."""
    token = asked.metadata.annotations.get(REFRESH_ANNOTATION)

    def handled() -> Warehouse | None:
        warehouse = s.client.resource(project, Warehouse, asked.name)
        return warehouse if warehouse.status.last_handled_refresh == token else None

    warehouse = poll_until(f"warehouse/{asked.name} to discover", handled, timeout)
    failed = [c for c in warehouse.status.conditions if c.status == ConditionStatus.FALSE]
    if failed:
        raise KargoClientError(f"warehouse/{asked.name} discovery failed: {failed[0].message}")
    click.echo(
        f"warehouse/{asked.name} discovered: last freight {warehouse.status.last_freight_id}"
    )


@cli.group("explain")
def explain_group() -> None:
    """Say why something is the way it is."""


@explain_group.command("freight")
@click.argument("freight")
@project_option
@click.option("--stage", required=True, help="The stage it is not in.")
@click.option("-o", "--output", type=click.Choice(["json"]), help="Output format.")
def explain_freight_command(
    freight: str, project: str | None, stage: str, output: str | None
) -> None:
    """Why FREIGHT (name, prefix or alias) is not in the stage: the same answer as the dashboard.

    \b
    Examples:
      kargo explain freight wise-otter --stage production
      kargo explain freight 3f2a1b9 --stage production -o json
    """
    s = session()
    answer = s.client.explain_freight(s.project(project), freight, stage)
    if output == "json":
        click.echo(json.dumps(document(answer), indent=2))
        return
    if answer.in_stage:
        verdict = f"is in {stage}"
    else:
        verdict = f"{'can' if answer.promotable else 'cannot'} be promoted to {stage} now"
    click.echo(f"freight {answer.alias or answer.freight} {verdict}")
    for reason in answer.reasons:
        note = "" if reason.blocking else " (does not stop a promotion by hand)"
        click.echo(f"  {reason.reason}: {reason.message}{note}")
