"""`kargo explain freight F --stage S`: every reason freight is not (yet) in a stage."""

from __future__ import annotations

import json

import click

from kargo.cli.session import project_option, session
from kargo.client import document


@click.group("explain")
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
