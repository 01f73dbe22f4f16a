"""`promote --wait`: follow a promotion's steps and then its verification until both end.

On a terminal the progress is redrawn in place (rich Live); elsewhere (CI logs) one plain line
per change.
The outcome decides the exit code, so CI scripts can gate on `kargo promote … --wait`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import click
from rich.console import Console
from rich.live import Live
from rich.text import Text

from kargo.api.contract import StageView
from kargo.cli.columns import promotion_steps, show_value
from kargo.cli.describing import find_verification
from kargo.cli.tables import elapsed, style_for
from kargo.client import KargoClient, KargoClientError
from kargo.model.analysis import AnalysisRun
from kargo.model.promotion import Promotion, PromotionPhase
from kargo.model.stage import VerificationInfo, VerificationPhase

# How long to look for a verification run after the promotion succeeded before
# reporting that verification never started.
VERIFICATION_APPEAR_SECONDS = 60.0
POLL_SECONDS = 0.5


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


def progress_lines(promotion: Promotion, run: AnalysisRun | None) -> list[tuple[str, str, str]]:
    """(key, state, line) for each step reached, the promotion, each metric and the run."""
    steps = promotion_steps(promotion)
    out = []
    for step in (s for s in steps if s.phase != "Pending"):
        took = elapsed(step.started, step.finished)
        detail = f" ({took})" if took and step.phase != "Running" else ""
        error = f": {step.message}" if step.message and step.phase != "Succeeded" else ""
        line = f"step {step.index + 1}/{len(steps)} {step.name}: {step.phase}{detail}{error}"
        out.append((f"step{step.index}", step.phase, line))
    message = f" ({promotion.status.message})" if promotion.status.message else ""
    out.append(
        ("promotion", promotion.phase, f"promotion {promotion.name}: {promotion.phase}{message}")
    )
    if run is not None:
        for m in run.status.metric_results:
            value = f" value={show_value(m.latest_value)}" if m.measurements else ""
            out.append((f"metric:{m.name}", m.phase, f"verification {m.name}: {m.phase}{value}"))
        reason = f" ({run.status.message})" if run.status.message else ""
        out.append(
            ("run", run.status.phase, f"verification {run.name}: {run.status.phase}{reason}")
        )
    return out


class Progress:
    """One line per change (logs, pipes); with a console, every line redrawn in place."""

    def __init__(self, console: Console | None = None) -> None:
        self.seen: dict[str, str] = {}
        self.live = Live(console=console, refresh_per_second=8) if console else None
        if self.live:
            self.live.start()

    def show(self, promotion: Promotion, run: AnalysisRun | None) -> None:
        """Print what changed since the last call (or redraw the whole state)."""
        lines = progress_lines(promotion, run)
        if self.live:
            shown = [Text(line, style=style_for(state) or "") for _, state, line in lines]
            self.live.update(Text("\n").join(shown), refresh=True)
            return
        for key, state, line in lines:
            if self.seen.get(key) != state:
                self.seen[key] = state
                click.echo(line)

    def close(self) -> None:
        """Leave the last frame on screen."""
        if self.live:
            self.live.stop()


def wait_for_promotion(
    client: KargoClient, project: str, name: str, view: Progress, timeout: float
) -> Outcome:
    """Poll the promotion, then its verification, until both end or timeout passes."""
    deadline = time.monotonic() + timeout
    try:
        while not (promotion := client.resource(project, Promotion, name)).phase.is_terminal():
            view.show(promotion, None)
            if time.monotonic() > deadline:
                return Outcome(promotion.phase, None, f"gave up waiting after {timeout:.0f}s")
            time.sleep(POLL_SECONDS)
        view.show(promotion, None)
        if promotion.phase is not PromotionPhase.SUCCEEDED:
            return Outcome(promotion.phase, None, promotion.status.message)
        return _wait_for_verification(client, project, promotion, view, deadline)
    finally:
        view.close()


def _wait_for_verification(
    client: KargoClient, project: str, promotion: Promotion, view: Progress, deadline: float
) -> Outcome:
    """Follow the stage's verification of the promoted freight until it ends."""
    appear_by = time.monotonic() + VERIFICATION_APPEAR_SECONDS
    while True:
        stage = client.resource(project, StageView, promotion.spec.stage)
        if not stage.spec.verification:
            return Outcome(PromotionPhase.SUCCEEDED, None, "the stage has no verification")
        record = verification_record(stage, promotion)
        run = _run_for(client, project, promotion, record)
        if run is not None:
            view.show(promotion, run)
        phase = record.phase if record else VerificationPhase(run.status.phase) if run else None
        if phase is not None and phase.is_terminal():
            message = record.message if record else (run.status.message if run else "")
            return Outcome(PromotionPhase.SUCCEEDED, phase, message or "")
        if phase is None and run is None and time.monotonic() > appear_by:
            return Outcome(
                PromotionPhase.SUCCEEDED,
                VerificationPhase.PENDING,
                f"no verification started within {VERIFICATION_APPEAR_SECONDS:.0f}s; "
                "check `kargo get analysisrun`",
            )
        if time.monotonic() > deadline:
            return Outcome(PromotionPhase.SUCCEEDED, phase, "gave up waiting for verification")
        time.sleep(POLL_SECONDS)


def verification_record(stage: StageView, promotion: Promotion) -> VerificationInfo | None:
    """The stage's newest verification of the freight this promotion brought, or None."""
    entry = stage.status.current_freight
    if entry is None or not entry.verification_history:
        return None
    brought = entry.promotion == promotion.name or (
        not entry.promotion and entry.name == promotion.spec.freight
    )
    return entry.verification_history[0] if brought else None


def _run_for(
    client: KargoClient, project: str, promotion: Promotion, record: VerificationInfo | None
) -> AnalysisRun | None:
    """The AnalysisRun the record names, else the newest run matching the promotion."""
    try:
        if record and record.analysis_run:
            return client.resource(project, AnalysisRun, record.analysis_run.name)
        return find_verification(promotion, client.resources(project, AnalysisRun))
    except KargoClientError:
        return None
