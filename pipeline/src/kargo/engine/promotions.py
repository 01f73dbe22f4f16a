"""Promotion executor: run a promotion's steps in order, persisting progress after each.

Every transition is one transaction (step finished + next step started), so a killed engine
finds the interrupted step marked Running and runs it again (steps are idempotent). A step
interrupted more than MAX_RESUMES times ends the promotion Errored, so none stays Running.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kargo.engine.logbuffer import LogBuffer
from kargo.engine.promoting import promotion_event_data
from kargo.engine.releasing import release_deploy
from kargo.engine.stages import mark_promotion_finished, mark_promotion_started
from kargo.engine.writing import record_audit, record_event, transact
from kargo.model.base import utcnow
from kargo.model.durations import parse_duration
from kargo.model.event import EventReason
from kargo.model.freight import Freight
from kargo.model.promotion import (
    ABORT_ANNOTATION,
    PromotedFreight,
    Promotion,
    PromotionPhase,
    StepExecution,
    StepExecutionPhase,
)
from kargo.model.stage import PromotionStepSpec, Stage
from kargo.steps.base import (
    FreightChart,
    FreightCommit,
    FreightImage,
    StepContext,
    StepPhase,
    StepResult,
    step_kinds,
)
from kargo.steps.expressions import ExpressionError, evaluate_if, render
from kargo.store import Store, StoreConflict, StoreError, Transaction, get_model, save_model

log = logging.getLogger(__name__)

MAX_RESUMES = 3
DEFAULT_STEP_TIMEOUT = 300.0
ERROR_RETRY_SECONDS = 1.0

_FINAL_REASON = {
    PromotionPhase.SUCCEEDED: EventReason.PROMOTION_SUCCEEDED,
    PromotionPhase.FAILED: EventReason.PROMOTION_FAILED,
    PromotionPhase.ERRORED: EventReason.PROMOTION_ERRORED,
    PromotionPhase.ABORTED: EventReason.PROMOTION_ABORTED,
}


class PromotionExecutor:
    """Runs one promotion to a terminal phase."""

    def __init__(
        self, store: Store, state_dir: Path, promotion: Promotion, logs: LogBuffer | None = None
    ) -> None:
        self.store = store
        self.state_dir = state_dir
        self.promotion = promotion
        self.abort_requested = False
        self._marked: set[str] = set()  # steps this executor started (others were interrupted)
        self._logs = logs if logs is not None else LogBuffer(store)  # the engine shares one

    @property
    def project(self) -> str:
        """The promotion's project."""
        return self.promotion.project

    def _save(
        self,
        extra: Callable[[Transaction, Promotion], None] | None = None,
        before: Callable[[Transaction], bool] | None = None,
    ) -> None:
        """Write the promotion (and pending log lines, and `extra`) in one transaction.

        `before` runs first in the transaction; when it returns False nothing is written.
        """
        promotion = self.promotion
        lines = self._logs.take(promotion.project, promotion.name)

        def work(tx: Transaction) -> Promotion:
            if before is not None and not before(tx):
                return promotion
            try:
                saved = save_model(tx, promotion)
            except StoreConflict:
                # Someone else wrote it (an abort annotation): keep theirs, write ours.
                current = get_model(tx, Promotion, promotion.project, promotion.name)
                if current is None:
                    raise LookupError(f"promotion {promotion.name} was deleted") from None
                promotion.metadata = current.metadata
                saved = save_model(tx, promotion)
            for line in lines:
                tx.log(promotion.project, promotion.name, line)
            if extra is not None:
                extra(tx, saved)
            return saved

        self.promotion = transact(self.store, work)
        self.abort_requested |= ABORT_ANNOTATION in self.promotion.metadata.annotations

    async def _log(self, line: str) -> None:
        """Buffer a log line; it is written with the next save, or with the buffer's flush."""
        self._logs.add(self.promotion.project, self.promotion.name, line)

    async def execute(self) -> Promotion:
        """Run (or resume) the promotion until it ends; returns it in its final state."""
        promotion = self.promotion
        if promotion.status.phase.is_terminal():
            return promotion
        if promotion.status.phase is PromotionPhase.PENDING:
            stage, freight = self._start()
        else:
            with self.store.reading() as reader:
                stage, freight = _read_inputs(reader, promotion)
        if stage is None or freight is None:
            missing = "stage" if stage is None else "freight"
            return self._finish(PromotionPhase.ERRORED, f"the {missing} no longer exists")
        try:
            finished = await self._run_steps(stage, freight)
        except asyncio.CancelledError:
            if not self.abort_requested:
                raise
            finished = self._finish(PromotionPhase.ABORTED, "aborted by request")
        except StoreError:
            raise  # the database is down: leave the promotion Running, resume it later
        except Exception as exc:  # an engine bug must not leave the promotion Running forever
            log.exception("promotion %s crashed", promotion.name)
            finished = self._finish(PromotionPhase.ERRORED, f"engine error: {exc!r}")
        if finished.status.phase is not PromotionPhase.SUCCEEDED:
            released = await release_deploy(self.state_dir, finished)
            if released:
                await self._log(f"--- {released}")
                self._logs.flush()
        return finished

    def _start(self) -> tuple[Stage | None, Freight | None]:
        """Read the stage and freight and mark the promotion Running, in one transaction."""
        inputs: list[tuple[Stage | None, Freight | None]] = []

        def before(tx: Transaction) -> bool:
            inputs[:] = [_read_inputs(tx, self.promotion)]
            stage, freight = inputs[0]
            if stage is None or freight is None:
                return False
            self._prepare_start(freight)
            return True

        def extra(tx: Transaction, saved: Promotion) -> None:
            mark_promotion_started(tx, saved)
            record_event(
                tx,
                project=saved.project,
                reason=EventReason.PROMOTION_STARTED,
                kind="Promotion",
                name=saved.name,
                message=f"Promotion {saved.name} to stage {saved.spec.stage} started",
                data=event_data(saved),
            )
            record_audit(
                tx,
                project=saved.project,
                actor=saved.actor,
                action="promotion.start",
                resource=f"Promotion/{saved.name}",
                source="engine",
                phase_before=PromotionPhase.PENDING.value,
                phase_after=PromotionPhase.RUNNING.value,
            )

        self._save(extra, before)
        return inputs[0]

    def _prepare_start(self, freight: Freight) -> None:
        """The Running status (built afresh, so a retried transaction builds the same)."""
        status = self.promotion.status
        status.phase = PromotionPhase.RUNNING
        status.started_at = utcnow()
        status.message = ""
        status.current_step = 0
        status.freight = PromotedFreight(
            name=freight.name,
            alias=freight.alias,
            origin=freight.origin,
            commits=[c.model_dump(mode="json", by_alias=True) for c in freight.commits],
        )
        status.step_execution_metadata = [
            StepExecution(alias=s.alias_at(i), uses=s.uses, continue_on_error=s.continue_on_error)
            for i, s in enumerate(self.promotion.spec.steps)
        ]
        self._marked.clear()
        if status.step_execution_metadata:
            self._mark_running(status.step_execution_metadata[0])

    def _mark_running(self, meta: StepExecution) -> None:
        self._marked.add(meta.alias)
        meta.status = StepExecutionPhase.RUNNING
        meta.started_at = meta.started_at or utcnow()
        meta.attempts += 1

    def _context(
        self, stage: Stage, freight: Freight, step: PromotionStepSpec, index: int
    ) -> StepContext:
        promotion = self.promotion
        work_dir = self.state_dir / "work" / promotion.project / promotion.name
        work_dir.mkdir(parents=True, exist_ok=True)
        ctx = StepContext(
            project=promotion.project,
            stage=stage.name,
            promotion=promotion.name,
            freight=freight.name,
            freight_alias=freight.alias,
            commits=[
                FreightCommit(
                    repo_url=c.repo_url,
                    id=c.id,
                    branch=c.branch,
                    tag=c.tag,
                    message=c.message,
                    author=c.author,
                )
                for c in freight.commits
            ],
            images=[FreightImage(i.repo_url, i.tag, i.digest) for i in freight.images],
            charts=[FreightChart(c.repo_url, c.name, c.version) for c in freight.charts],
            work_dir=work_dir,
            state_dir=self.state_dir,
            outputs={k: dict(v) for k, v in promotion.status.state.items() if isinstance(v, dict)},
            log=self._log,
            is_rollback="kargo.akuity.io/rollback" in promotion.metadata.annotations,
            origin=freight.origin.name,
            actor=promotion.actor,
            alias=step.alias_at(index),
            step_statuses=[
                (m.alias, m.status.value)
                for m in promotion.status.step_execution_metadata
                if m.status.is_terminal()
            ],
        )
        template = stage.spec.promotion_template
        variables = [*stage.spec.vars, *(template.spec.vars if template else [])]
        variables += [*promotion.spec.vars, *step.vars]
        for var in variables:
            ctx.vars[var.name] = render(var.value, ctx, f"vars.{var.name}")
        return ctx

    async def _run_steps(self, stage: Stage, freight: Freight) -> Promotion:
        steps = self.promotion.spec.steps
        metas = self.promotion.status.step_execution_metadata
        index = self.promotion.status.current_step
        while index < len(steps):
            step, meta = steps[index], metas[index]
            if self.abort_requested:
                return self._finish(PromotionPhase.ABORTED, "aborted by request")
            if meta.status is StepExecutionPhase.RUNNING and meta.alias not in self._marked:
                if meta.attempts > MAX_RESUMES:
                    return self._finish(
                        PromotionPhase.ERRORED,
                        f"step {index + 1} ({meta.alias}, {step.uses}) was interrupted "
                        f"{meta.attempts} times by engine restarts; giving up",
                        failed_step=meta.alias,
                    )
                self._mark_running(meta)
                self._save()
                await self._log(f"--- resuming step {meta.alias} after an engine restart")
            elif meta.status is not StepExecutionPhase.RUNNING:
                self._mark_running(meta)
                self._save()
            result = await self._run_one(stage, freight, step, meta, index)
            meta.finished_at = utcnow()
            meta.message = result.message
            self.promotion.status.state[meta.alias] = _jsonable(result.outputs)
            if result.phase is StepPhase.SUCCEEDED or meta.status is StepExecutionPhase.SKIPPED:
                if meta.status is not StepExecutionPhase.SKIPPED:
                    meta.status = StepExecutionPhase.SUCCEEDED
            else:
                meta.status = StepExecutionPhase(result.phase.value)
                if not step.continue_on_error:
                    phase = PromotionPhase(result.phase.value)
                    return self._finish(
                        phase,
                        f"step {index + 1} ({meta.alias}, {step.uses}) "
                        f"{result.phase.value.lower()}: {result.message}",
                        failed_step=meta.alias,
                        error=result.message,
                    )
            index += 1
            self.promotion.status.current_step = index
            if index < len(steps):
                self._mark_running(metas[index])
                self._save()
        return self._finish(PromotionPhase.SUCCEEDED, "all steps succeeded")

    async def _run_one(
        self,
        stage: Stage,
        freight: Freight,
        step: PromotionStepSpec,
        meta: StepExecution,
        index: int,
    ) -> StepResult:
        kind = step_kinds().get(step.uses)
        if kind is None:
            known = ", ".join(sorted(step_kinds()))
            return StepResult(StepPhase.ERRORED, f"unknown step kind {step.uses!r}; known: {known}")
        try:
            ctx = self._context(stage, freight, step, index)
            if step.if_ and not evaluate_if(step.if_, ctx):
                meta.status = StepExecutionPhase.SKIPPED
                return StepResult(StepPhase.SUCCEEDED, "skipped: condition is false")
            config: Any = kind.config_model.model_validate(render(step.config, ctx))
        except ExpressionError as exc:
            return StepResult(StepPhase.ERRORED, str(exc))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return StepResult(StepPhase.ERRORED, f"config.{where}: {first['msg']}")
        await ctx.emit(f"--- step {index + 1} {meta.alias} ({step.uses}) attempt {meta.attempts}")
        retry = step.retry
        threshold = retry.error_threshold if retry else 1
        timeout = parse_duration(retry.timeout).total_seconds() if retry and retry.timeout else None
        deadline = time.monotonic() + (timeout or DEFAULT_STEP_TIMEOUT)
        instance = kind()
        while True:
            try:
                result = await instance.run(ctx, config)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a step's bug is a technical error, not a bad change
                log.exception("step %s crashed", step.uses)
                result = StepResult(StepPhase.ERRORED, f"{exc.__class__.__name__}: {exc}")
            if result.phase is StepPhase.RUNNING:
                if time.monotonic() > deadline:
                    return StepResult(StepPhase.ERRORED, f"timed out: {result.message}")
                await asyncio.sleep(max(0.05, result.retry_after))
                continue
            if result.phase is StepPhase.ERRORED and meta.error_count + 1 < threshold:
                meta.error_count += 1
                meta.message = result.message
                self._save()
                await asyncio.sleep(ERROR_RETRY_SECONDS)
                continue
            return result

    def _finish(
        self,
        phase: PromotionPhase,
        message: str,
        *,
        failed_step: str | None = None,
        error: str | None = None,
    ) -> Promotion:
        status = self.promotion.status
        before = status.phase
        status.phase = phase
        status.message = message
        status.finished_at = utcnow()
        for meta in status.step_execution_metadata:
            if meta.status is StepExecutionPhase.RUNNING:
                meta.status = StepExecutionPhase(
                    phase.value if phase is not PromotionPhase.SUCCEEDED else "Succeeded"
                )
                meta.finished_at = status.finished_at
        duration = (
            (status.finished_at - status.started_at).total_seconds() if status.started_at else 0.0
        )

        def extra(tx: Transaction, saved: Promotion) -> None:
            mark_promotion_finished(tx, saved)
            data = event_data(saved)
            data["durationSeconds"] = round(duration, 3)
            if failed_step is not None:
                data["failedStep"] = failed_step
                data["error"] = error if error is not None else message
            record_event(
                tx,
                project=saved.project,
                reason=_FINAL_REASON[phase],
                kind="Promotion",
                name=saved.name,
                message=f"Promotion {saved.name} to stage {saved.spec.stage} "
                f"{phase.value.lower()}: {message}",
                data=data,
            )
            record_audit(
                tx,
                project=saved.project,
                actor=saved.actor,
                action="promotion.finish",
                resource=f"Promotion/{saved.name}",
                source="engine",
                result=phase.value,
                phase_before=before.value,
                phase_after=phase.value,
            )

        self._save(extra)
        return self.promotion


def _read_inputs(reader: Any, promotion: Promotion) -> tuple[Stage | None, Freight | None]:
    """The promotion's stage, and its freight without status (the executor reads none of it).

    A freight's status maps grow with the stages it went through; validating them on every
    promotion cost more than the rest of the read.
    """
    stage = get_model(reader, Stage, promotion.project, promotion.spec.stage)
    body = reader.get("Freight", promotion.project, promotion.spec.freight)
    if body is None:
        return stage, None
    body.pop("status", None)
    return stage, Freight.model_validate(body)


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(json.dumps(value, default=str)))


def event_data(promotion: Promotion) -> dict[str, Any]:
    """A running or finished promotion's event data, its freight read from its status."""
    freight = promotion.status.freight
    alias = freight.alias if freight else ""
    commit = freight.commits[0].get("id", "") if freight and freight.commits else ""
    return promotion_event_data(promotion, alias, commit)
