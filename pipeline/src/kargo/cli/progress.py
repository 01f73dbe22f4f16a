"""`promote --wait`: follow a promotion's steps and then its verification until both end.

On a terminal the progress is a rich Live table; elsewhere (CI logs) one plain line per change.
The outcome decides the exit code, so CI scripts can gate on `kargo promote … --wait`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table as RichTable
from rich.text import Text

from kargo.cli import fields as f
from kargo.cli.describing import find_verification
from kargo.cli.phases import style_for
from kargo.cli.timefmt import elapsed
from kargo.client import ApiError, KargoClient, KargoClientError
from kargo.model.promotion import PromotionPhase
from kargo.model.stage import VerificationPhase

Resource = dict[str, Any]
# How long to look for a verification run after the promotion succeeded before
# reporting that verification never started.
VERIFICATION_APPEAR_SECONDS = 60.0


@dataclass
class Outcome:
    """How a promotion and its verification ended."""

    promotion: PromotionPhase
    verification: VerificationPhase | None
    message: str

    @property
    def ok(self) -> bool:
        """Whether a CI script may go on."""
        verified = self.verification in (None, VerificationPhase.SUCCESSFUL)
        return self.promotion is PromotionPhase.SUCCEEDED and verified


class ProgressView(Protocol):
    """Something that shows the state of a promotion and its run."""

    def show(self, promotion: Resource, run: Resource | None) -> None:
        """Show the latest state."""

    def close(self) -> None:
        """Stop showing."""


class PlainProgress:
    """One line per change: for logs and pipes."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def _say(self, key: str, state: str, line: str) -> None:
        if self.seen.get(key) != state:
            self.seen[key] = state
            click.echo(line)

    def show(self, promotion: Resource, run: Resource | None) -> None:
        """Print what changed since the last call."""
        steps = f.promotion_steps(promotion)
        for step in steps:
            if step.phase == "Pending":
                continue
            took = elapsed(step.started, step.finished)
            detail = f" ({took})" if took and step.phase != "Running" else ""
            error = f": {step.message}" if step.message and step.phase != "Succeeded" else ""
            self._say(
                f"step{step.index}",
                step.phase,
                f"step {step.index + 1}/{len(steps)} {step.name}: {step.phase}{detail}{error}",
            )
        phase = f.promotion_phase(promotion)
        message = f.text(promotion, "status.message")
        self._say(
            "promotion",
            phase,
            f"promotion {f.name(promotion)}: {phase}" + (f" ({message})" if message else ""),
        )
        if run is None:
            return
        for metric in f.metric_results(run):
            values = [f.show_value(m.get("value")) for m in f.dig(metric, "measurements") or []]
            value = f" value={values[-1]}" if values and values[-1] else ""
            metric_phase = f.text(metric, "phase")
            self._say(
                f"metric:{f.text(metric, 'name')}",
                metric_phase,
                f"verification {f.text(metric, 'name')}: {metric_phase}{value}",
            )
        run_phase = f.text(run, "status.phase", default="Pending")
        reason = f.text(run, "status.message")
        self._say(
            "run",
            run_phase,
            f"verification {f.name(run)}: {run_phase}" + (f" ({reason})" if reason else ""),
        )

    def close(self) -> None:
        """Nothing to stop."""


def _styled(word: str) -> Text:
    return Text(word, style=style_for(word) or "")


class LiveProgress:
    """A rich Live table of steps and metrics, redrawn in place."""

    def __init__(self, console: Console) -> None:
        self.live = Live(console=console, refresh_per_second=8, transient=False)
        self.live.start()

    def show(self, promotion: Resource, run: Resource | None) -> None:
        """Redraw."""
        title = Text.assemble(
            ("promotion ", "bold"),
            f.name(promotion),
            " → ",
            f.text(promotion, "spec.stage"),
            " ",
            _styled(f.promotion_phase(promotion)),
        )
        steps = RichTable("#", "STEP", "USES", "STATUS", "DURATION", "MESSAGE", box=None)
        for step in f.promotion_steps(promotion):
            steps.add_row(
                str(step.index + 1),
                step.name,
                step.uses,
                _styled(step.phase),
                elapsed(step.started, step.finished),
                step.message,
            )
        parts: list[Any] = [title, steps]
        if run is not None:
            parts.append(
                Text.assemble(
                    ("verification ", "bold"),
                    f.name(run),
                    " ",
                    _styled(f.text(run, "status.phase", default="Pending")),
                )
            )
            metrics = RichTable("METRIC", "PHASE", "VALUE", "MESSAGE", box=None)
            for metric in f.metric_results(run):
                values = [f.show_value(m.get("value")) for m in f.dig(metric, "measurements") or []]
                metrics.add_row(
                    f.text(metric, "name"),
                    _styled(f.text(metric, "phase")),
                    values[-1] if values else "",
                    f.text(metric, "message"),
                )
            parts.append(metrics)
        self.live.update(Group(*parts), refresh=True)

    def close(self) -> None:
        """Leave the last frame on screen."""
        self.live.stop()


def make_view(console: Console, live: bool) -> ProgressView:
    """A Live view on a terminal, else plain lines."""
    return LiveProgress(console) if live else PlainProgress()


def wait_for_promotion(
    client: KargoClient,
    project: str,
    name: str,
    view: ProgressView,
    timeout: float,
    poll: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Poll the promotion, then its verification, until both end or timeout passes."""
    deadline = time.monotonic() + timeout
    promotion: Resource = {}
    try:
        while True:
            promotion = client.get_resource(project, "promotions", name)
            view.show(promotion, None)
            phase = PromotionPhase(f.promotion_phase(promotion))
            if phase.is_terminal():
                break
            if time.monotonic() > deadline:
                return Outcome(phase, None, f"gave up waiting after {timeout:.0f}s")
            sleep(poll)
        if phase is not PromotionPhase.SUCCEEDED:
            return Outcome(phase, None, f.text(promotion, "status.message"))
        return _wait_for_verification(client, project, promotion, view, deadline, poll, sleep)
    finally:
        view.close()


def _wait_for_verification(
    client: KargoClient,
    project: str,
    promotion: Resource,
    view: ProgressView,
    deadline: float,
    poll: float,
    sleep: Callable[[float], None],
) -> Outcome:
    """Follow the stage's verification of the promoted freight until it ends."""
    stage_name = f.text(promotion, "spec.stage")
    appear_by = time.monotonic() + VERIFICATION_APPEAR_SECONDS
    while True:
        try:
            stage = client.get_resource(project, "stages", stage_name)
        except ApiError:
            stage = {}
        if not f.first(stage, "spec.verification"):
            return Outcome(PromotionPhase.SUCCEEDED, None, "the stage has no verification")
        record = verification_record(stage, promotion)
        run = _run_for(client, project, promotion, record)
        if run is not None:
            view.show(promotion, run)
        phase_text = f.text(record, "phase") or (f.text(run, "status.phase") if run else "")
        phase = VerificationPhase(phase_text) if phase_text else None
        if phase is not None and phase.is_terminal():
            message = f.text(record, "message") or (f.text(run, "status.message") if run else "")
            return Outcome(PromotionPhase.SUCCEEDED, phase, message)
        if phase is None and run is None and time.monotonic() > appear_by:
            return Outcome(
                PromotionPhase.SUCCEEDED,
                VerificationPhase.PENDING,
                f"no verification started within {VERIFICATION_APPEAR_SECONDS:.0f}s; "
                "check `kargo get analysisrun`",
            )
        if time.monotonic() > deadline:
            return Outcome(PromotionPhase.SUCCEEDED, phase, "gave up waiting for verification")
        sleep(poll)


def verification_record(stage: Resource, promotion: Resource) -> Resource:
    """The stage's newest verification of the freight this promotion brought, or {}."""
    history = f.dig(stage, "status.freightHistory")
    if not isinstance(history, list) or not history or not isinstance(history[0], dict):
        return {}
    entry = history[0]
    brought = f.text(entry, "promotion") == f.name(promotion) or (
        not f.text(entry, "promotion") and f.text(entry, "name") == f.promotion_freight(promotion)
    )
    records = entry.get("verificationHistory")
    if not brought or not isinstance(records, list) or not records:
        return {}
    return records[0] if isinstance(records[0], dict) else {}


def _run_for(
    client: KargoClient, project: str, promotion: Resource, record: Resource
) -> Resource | None:
    """The AnalysisRun the record names, else the newest run matching the promotion."""
    named = f.text(record, "analysisRun.name")
    try:
        if named:
            return client.get_resource(project, "analysisruns", named)
        return find_verification(promotion, client.list_resources(project, "analysisruns"))
    except KargoClientError:
        return None
