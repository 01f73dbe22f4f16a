"""`kargo wait KIND NAME --for=… --timeout=…`: block until a resource reaches a state.

As `kubectl wait`, for an automatic promotion or a verification someone else started.
`--for=phase=P` reads the kind's phase (a stage's is its current freight's verification);
`--for=jsonpath={…}=VALUE` any field. Exit 0 when the state is reached, 1 when the resource
ended in another terminal phase or the timeout passed (as `kubectl argo rollouts status` does).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import click

from kargo.cli.kinds import resolve_kind
from kargo.cli.session import cli, project_option, session, timeout_option
from kargo.cli.templates import TemplateError, check_template, query
from kargo.client import KargoClientError, document
from kargo.model.analysis import AnalysisPhase
from kargo.model.promotion import PromotionPhase
from kargo.model.stage import VerificationPhase

PHASE_PATHS = {
    "Promotion": ".status.phase",
    "AnalysisRun": ".status.phase",
    "Stage": ".status.freightHistory[0].verificationHistory[0].phase",
}
TERMINAL = {
    "Promotion": {p.value for p in PromotionPhase if p.is_terminal()},
    "AnalysisRun": {p.value for p in AnalysisPhase if p.is_terminal()},
    "Stage": {p.value for p in VerificationPhase if p.is_terminal()},
}
WAITABLE = ("promotion", "stage", "freight", "analysisrun")
T = TypeVar("T")


def parse_condition(kind: str, text: str) -> tuple[str, str]:
    """`phase=Succeeded` or `jsonpath={.status.phase}=Succeeded` as (path, wanted value)."""
    form, _, rest = text.partition("=")
    if form == "phase" and rest and kind in PHASE_PATHS:
        return PHASE_PATHS[kind], rest
    if form == "jsonpath" and rest.startswith("{") and "}=" in rest:
        path, _, wanted = rest[1:].partition("}=")
        try:
            check_template("{" + path + "}")
        except TemplateError as exc:
            raise click.UsageError(f"--for {text!r}: {exc}") from exc
        return path, wanted
    phases = f"phase=PHASE ({'|'.join(sorted(TERMINAL[kind]))}) or " if kind in TERMINAL else ""
    raise click.UsageError(f"--for {text!r}: write {phases}jsonpath={{.path}}=VALUE")


def poll_until(what: str, check: Callable[[], T | None], timeout: float) -> T:
    """check() every second until it returns something; KargoClientError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise KargoClientError(f"timed out waiting for {what}")
        time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))


def _value(resource: Any, path: str) -> str:
    found = query(document(resource), path)
    return "" if not found or found[0] is None else str(found[0])


@cli.command("wait")
@click.argument("kind", type=click.Choice(WAITABLE, case_sensitive=False))
@click.argument("name")
@project_option
@click.option("--for", "condition", required=True, help="phase=PHASE or jsonpath={.path}=VALUE.")
@timeout_option("5m", "How long to wait.")
def wait_command(kind: str, name: str, project: str | None, condition: str, timeout: float) -> None:
    """Wait until a promotion, stage, freight or analysis run reaches a state.

    \b
    Examples:
      kargo wait promotion production.01jd --for=phase=Succeeded --timeout=10m
      kargo wait stage production --for=phase=Successful      # its verification
      kargo wait freight wise-otter --for='jsonpath={.status.verifiedIn.production}={}'
      kargo wait analysisrun NAME --for=phase=Successful --timeout=1h30m
    """
    s = session()
    chosen = resolve_kind(kind)
    path, wanted = parse_condition(chosen.kind, condition)
    target = s.project(project)
    deadline = time.monotonic() + timeout
    resource = s.get_named(target, chosen, name)
    shown = f"{chosen.singular}/{resource.metadata.name}"
    while True:
        value = _value(resource, path)
        if value == wanted:
            click.echo(f"{shown} condition met ({path}={value})")
            return
        if value in TERMINAL.get(chosen.kind, set()) and path == PHASE_PATHS.get(chosen.kind):
            raise KargoClientError(f"{shown} ended {value}, not {wanted}")
        if time.monotonic() >= deadline:
            raise KargoClientError(
                f"timed out waiting for {shown} ({path} is {value or 'empty'}, not {wanted})"
            )
        time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
        resource = s.client.get_resource(target, chosen.plural, resource.metadata.name)
