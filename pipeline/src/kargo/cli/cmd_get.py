"""`kargo get` and `kargo describe`, for every kind, with -o, --no-headers and --watch."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click
from click.shell_completion import CompletionItem

from kargo.api.contract import StageView
from kargo.cli.columns import build_table, name_of, sort_rows
from kargo.cli.describing import (
    describe_analysis_run,
    describe_generic,
    describe_promotion,
    find_verification,
)
from kargo.cli.kinds import (
    DESCRIBABLE,
    EVENT_FIELDS,
    LISTINGS,
    Kind,
    Requirement,
    all_spellings,
    format_field_selector,
    parse_field_selector,
    resolve_kind,
    select,
)
from kargo.cli.pipeline_tree import read_pipeline
from kargo.cli.printing import (
    OUTPUT,
    OUTPUT_CHOICES,
    Output,
    OutputFormat,
    format_resources,
    structured,
)
from kargo.cli.session import Session, best_effort, cli, project_option, session
from kargo.cli.tables import render_row, render_table
from kargo.client import ApiError, KargoClientError, document
from kargo.model.analysis import AnalysisRun, AnalysisTemplate
from kargo.model.deliveries import DeliveryRecord
from kargo.model.event import EventRecord
from kargo.model.labels import labels_match, parse_label_selector
from kargo.model.promotion import Promotion

GENERIC_FIELDS = ("metadata.name", "spec.stage", "status.phase")
PIPELINE_KINDS = ("pipeline", "pipelines")
UNNAMED = {"Event", "WebhookDelivery"}
"""Kinds a NAME filters rather than fetches."""


def complete_kind(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion for the kind argument."""
    names = dict.fromkeys(n for n in all_spellings() if n.startswith(incomplete.lower()))
    return [CompletionItem(name) for name in names]


def related_events(s: Session, project: str, kind: str, name: str) -> list[EventRecord]:
    """The events about one object (empty when the server has none to give)."""
    selector = f"involvedObject.kind={kind},involvedObject.name={name}"
    events: list[EventRecord] = best_effort(
        lambda: s.client.list_resources(project, "events", selector)
    )
    return [e for e in events if (e.involved_object.kind, e.involved_object.name) == (kind, name)]


def verification_events(s: Session, project: str, freight: str, run: str) -> list[EventRecord]:
    """The freight's events about one verification run (they carry `data.analysisRun`)."""
    if not freight or not run:
        return []
    events = related_events(s, project, "Freight", freight)
    return [e for e in events if e.data.get("analysisRun") == run]


@cli.command("get")
@click.argument("kind", shell_complete=complete_kind)
@click.argument("names", nargs=-1, metavar="[PROJECT] [NAME]...")
@project_option
@click.option("-o", "--output", type=OUTPUT, default=Output(), help=f"{OUTPUT_CHOICES}.")
@click.option("--sort-by", help="Order by a JSONPath, e.g. .metadata.creationTimestamp.")
@click.option("--no-headers", is_flag=True, help="Leave the header row out.")
@click.option("-w", "--watch", is_flag=True, help="After listing, print changes as they happen.")
@click.option("--field-selector", help="e.g. involvedObject.kind=Promotion,reason!=X")
@click.option(
    "-l", "--selector", "label_selector", help="Label selector: app=poker, env in (dev,qa), !old."
)
@click.option("--limit", type=int, help="At most this many resources.")
@click.option("--webhook", help="webhook-deliveries: only those of this webhook.")
@click.option("--failed", is_flag=True, help="webhook-deliveries: only failed ones.")
@click.option("--actor", help="audit: only this actor's records.")
@click.option("--since", help="audit: only records newer than this (1h, 7d) or an ISO time.")
def get_command(**options: Any) -> None:
    """List resources, or show some: stage, freight, warehouse, promotion, analysisrun, ...

    \b
    Examples:
      kargo get promotion planning-poker        # the project's promotions
      kargo get stage development production    # two stages
      kargo get freight -o jsonpath='{.items[*].alias}'
      kargo get promotions --sort-by=.metadata.creationTimestamp -o name
      kargo get stages -o custom-columns=NAME:.metadata.name,FREIGHT:.status.freightHistory[0].alias
    """
    s, q = session(), GetOptions(**options)
    _refuse_flags_of_other_kinds(q)
    if q.kind.lower() in PIPELINE_KINDS:
        _show_pipeline(s, s.project(q.project), q.watch)
        return
    listing = next((k for k in LISTINGS if q.kind.lower() in k.names), None)
    if listing is not None:
        _show_listing(s, listing, q)
        return
    chosen = resolve_kind(q.kind)
    if chosen.kind == "Project":
        projects = {p.name: p for p in s.client.list_projects()}
        for missing in [n for n in q.names if n not in projects]:
            raise s.not_found_project(missing)
        shown = [projects[n] for n in q.names or projects]
        click.echo(q.format(chosen, shown, s.colour, single=len(q.names) == 1))
        return
    allowed = EVENT_FIELDS if chosen.kind == "Event" else GENERIC_FIELDS
    fields = parse_field_selector(q.field_selector, allowed) if q.field_selector else []
    selected = selected_by(fields, q.label_selector)  # usage errors first
    target = s.target(q.names[0] if q.names else None, q.project)
    wanted = [*([target.name] if target.name else []), *q.names[1:]]
    if q.watch and len(wanted) > 1:
        raise click.UsageError("-w watches one NAME or the whole kind; drop the other NAMEs")
    if wanted and chosen.kind not in UNNAMED:
        resources = [s.get_named(target.project, chosen, n) for n in wanted]
    else:
        listed = list_of(s, target.project, chosen, fields, q)
        resources = [r for r in listed if target.name in (None, name_of(r))]
    webhooks = chosen.kind == "WebhookConfig" and q.output.tabular and resources
    deliveries = (
        best_effort(lambda: s.client.webhook_deliveries(target.project)) if webhooks else []
    )
    if chosen.kind == "Stage" and q.output.format is OutputFormat.WIDE and resources:
        resources = _with_instances(s, target.project, resources)
    if q.output.format is OutputFormat.TABLE and not resources and not q.watch:
        click.echo(f"No {chosen.plural} found in project {target.project}.", err=True)
        return
    single = len(wanted) == 1 and chosen.kind not in UNNAMED
    if text := q.format(chosen, resources, s.colour, single, deliveries):
        click.echo(text)
    if q.watch:
        _watch(s, target.project, chosen, target.name, q, resources, selected)


@dataclass(frozen=True)
class GetOptions:
    """What `kargo get` was asked for, as click parsed it."""

    kind: str
    names: tuple[str, ...]
    project: str | None
    output: Output
    sort_by: str | None
    no_headers: bool
    watch: bool
    field_selector: str | None
    label_selector: str | None
    limit: int | None
    webhook: str | None
    failed: bool
    actor: str | None
    since: str | None

    def format(
        self,
        kind: Kind,
        shown: list[Any],
        colour: bool,
        single: bool = False,
        deliveries: list[DeliveryRecord] | None = None,
    ) -> str:
        """The resources in the asked form (`-o`, `--no-headers`, `--sort-by`)."""
        return format_resources(
            kind,
            shown,
            self.output,
            self.no_headers,
            colour,
            single,
            None,
            self.sort_by,
            deliveries,
        )


def list_of(
    s: Session, project: str, kind: Kind, fields: list[Requirement], q: GetOptions
) -> list[Any]:
    """Resources of one kind; field selectors are also applied here, so results are exact."""
    if kind.kind == "WebhookDelivery":
        return s.client.webhook_deliveries(project, q.webhook, q.failed)
    server_selector = format_field_selector(fields) if kind.kind == "Event" else None
    resources = s.client.list_resources(
        project, kind.plural, server_selector or None, q.label_selector, q.limit
    )
    return select(resources, fields)


def _show_listing(s: Session, kind: Kind, q: GetOptions) -> None:
    """`get tokens` (never their secrets), `get audit`, `get metrics` (per stage, over a window)."""
    if kind.kind == "StageDeliveryMetrics":
        answer = s.client.delivery_metrics(s.project(q.project), q.since or "30d")
        text = structured(document(answer), q.output)
        click.echo(text or q.format(kind, answer.stages, s.colour))
        if text is None:
            click.echo(f"over the last {answer.window} (`--since` to change)", err=True)
        return
    if kind.kind == "TokenInfo":
        items: list[Any] = s.client.list_tokens()
    else:
        items = s.client.audit(actor=q.actor, since=q.since)
    if q.output.format is OutputFormat.TABLE and not items:
        click.echo(f"No {kind.plural} found.", err=True)
        return
    click.echo(q.format(kind, items, s.colour))


def _refuse_flags_of_other_kinds(q: GetOptions) -> None:
    """A usage error for a flag that does not apply to the kind asked for (never ignored)."""
    typed = q.kind.lower()
    audit, metrics = (k.names for k in LISTINGS[1:])
    if (q.webhook or q.failed) and typed not in resolve_kind("webhook-deliveries").names:
        raise click.UsageError("--webhook and --failed apply to `kargo get webhook-deliveries`")
    if q.actor and typed not in audit:
        raise click.UsageError("--actor applies to `kargo get audit`")
    if q.since and typed not in {*audit, *metrics}:
        raise click.UsageError("--since applies to `kargo get audit` and `kargo get metrics`")


def selected_by(fields: list[Requirement], label_selector: str | None) -> Callable[[Any], bool]:
    """Whether a resource passes `--field-selector` and `-l` (set-based too): for the watch."""
    try:
        labels = parse_label_selector(label_selector)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc

    def selected(resource: Any) -> bool:
        served = document(resource)
        own = served.get("metadata", {}).get("labels") or {}
        return all(r.matches(served) for r in fields) and labels_match(own, labels)

    return selected


def _show_pipeline(s: Session, project: str, watch: bool) -> None:
    """`kargo get pipeline [-w]`: the tree, drawn again after each change while watching."""
    drawn = read_pipeline(s.client, project)
    click.echo(drawn)
    if not watch:
        return
    try:
        for _ in _changes(s, project, None):
            tree = read_pipeline(s.client, project)
            if tree != drawn:
                click.echo(("\x1b[2J\x1b[H" if s.console.is_terminal else "\n") + tree)
                drawn = tree
    except KeyboardInterrupt:
        return


def _changes(s: Session, project: str, kind: Kind | None) -> Iterator[tuple[str, Any]]:
    """The watch stream, opened again (with a growing pause) whenever it breaks or ends."""
    pause = 1.0
    while True:
        try:
            for change in s.client.watch(project, kind.plural if kind else None):
                pause = 1.0
                yield change
        except ApiError:
            raise
        except KargoClientError as exc:
            click.echo(f"watch: {exc}; reconnecting in {pause:.0f}s", err=True)
        time.sleep(pause)
        pause = min(pause * 2, 10.0)


def _watch(
    s: Session,
    project: str,
    kind: Kind,
    name: str | None,
    q: GetOptions,
    shown: list[Any],
    selected: Callable[[Any], bool],
) -> None:
    """Print each change of the watched kind (and name, and selectors) until interrupted."""
    if not kind.watchable:
        raise click.UsageError(f"{kind.plural} cannot be watched; drop -w")
    wide = q.output.format is OutputFormat.WIDE
    layout = build_table(kind.kind, shown, wide)
    if not shown and q.output.tabular and not q.no_headers:
        click.echo(render_table(layout, colour=s.colour))
    # The server starts a watch with ADDED for everything that exists: skip what is shown.
    versions = {name_of(r): r.metadata.resource_version for r in shown}

    def show(resource: Any) -> None:
        if (name and name_of(resource) != name) or not selected(resource):
            return
        if q.output.tabular:
            row = build_table(kind.kind, [resource], wide, datetime.now(UTC)).rows[0]
            click.echo(render_row(row, layout, s.colour))
        else:
            click.echo(format_resources(kind, [resource], q.output, single=True))

    try:
        for change, resource in _changes(s, project, kind):
            if resource is None:  # resync: the server dropped changes; show the current state
                click.echo("kargo: the watch fell behind; listing again", err=True)
                current = s.client.list_resources(project, kind.plural)
                versions = {name_of(r): r.metadata.resource_version for r in current}
                for listed in current:
                    show(listed)
                continue
            if resource.kind != kind.kind:
                continue
            version = resource.metadata.resource_version
            if change != "DELETED" and versions.get(name_of(resource)) == version:
                continue  # a reconnect replays what exists as ADDED
            versions[name_of(resource)] = version
            show(resource)
    except KeyboardInterrupt:
        return


@cli.command("describe")
@click.argument("kind", shell_complete=complete_kind)
@click.argument("name", required=False)
@project_option
def describe_command(kind: str, name: str | None, project: str | None) -> None:
    """Show resources in full, with their related events (promotion: the newest by default).

    Long values wrap to the terminal's width (COLUMNS).

    \b
    Examples:
      kargo describe promotion planning-poker    # the newest promotion
      kargo describe stage production
      kargo describe analysisrun NAME
    """
    s = session()
    chosen = resolve_kind(kind, DESCRIBABLE)
    target = s.target(name, project)
    if target.name:
        resources = [s.get_named(target.project, chosen, target.name)]
    else:
        resources = s.client.list_resources(target.project, chosen.plural)
        if chosen.kind in {"Promotion", "AnalysisRun"}:
            resources = sort_rows(chosen.kind, resources)[:1]
    if not resources:
        raise KargoClientError(
            f"no {chosen.plural} in project {target.project} yet"
            + ("; start one with `kargo promote --to STAGE`" if chosen.kind == "Promotion" else "")
        )
    now = datetime.now(UTC)
    texts = [_describe_one(s, target.project, r, now) for r in resources]
    click.echo("\n\n".join(texts))


def _describe_one(s: Session, project: str, resource: Any, now: datetime) -> str:
    events = related_events(s, project, resource.kind, name_of(resource))
    if isinstance(resource, Promotion):
        runs = best_effort(lambda: s.client.resources(project, AnalysisRun))
        run = find_verification(resource, runs)
        if run is not None:
            events += verification_events(s, project, resource.spec.freight, run.name)
        return describe_promotion(resource, events, run, now)
    if isinstance(resource, AnalysisRun):
        wanted = {t.name for t in resource.spec.templates}
        listed = best_effort(lambda: s.client.resources(project, AnalysisTemplate))
        events += verification_events(s, project, resource.spec.freight or "", resource.name)
        templates = [t for t in listed if t.name in wanted]
        return describe_analysis_run(resource, events, now, templates)
    return describe_generic(resource, events, now)


def _with_instances(s: Session, project: str, stages: list[StageView]) -> list[StageView]:
    """Stages with the instances the runtime runs for them (best effort, like deliveries)."""
    params = {"instances": "true"}
    found = best_effort(lambda: s.client.list_resources(project, "stages", params=params))
    by_name = {stage.name: stage for stage in found}
    return [by_name.get(stage.name, stage) for stage in stages]
