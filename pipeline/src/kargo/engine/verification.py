"""Verification: after a successful promotion, run the stage's analysis templates as an
AnalysisRun, record the outcome on the stage and freight, and roll back when the policy says so.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kargo.analysis.arguments import evaluate_arguments
from kargo.analysis.errors import AnalysisArgumentError
from kargo.analysis.runs import build_analysis_run, run_analysis
from kargo.engine.naming import analysis_run_name
from kargo.engine.promoting import create_promotion
from kargo.engine.rollbacks import auto_rollback_policy, failed_metrics, verification_reason
from kargo.engine.writing import record_event, transact, update_model
from kargo.expr.library import FreightArtifacts
from kargo.model.analysis import (
    AnalysisPhase,
    AnalysisRun,
    AnalysisTemplate,
    ClusterAnalysisTemplate,
)
from kargo.model.base import utcnow
from kargo.model.event import EventReason
from kargo.model.freight import Freight, VerifiedStage
from kargo.model.project import VerificationOutcome
from kargo.model.promotion import ABORT_ANNOTATION
from kargo.model.stage import (
    AnalysisRunReference,
    FreightReference,
    Health,
    HealthState,
    Stage,
    VerificationInfo,
    VerificationPhase,
)
from kargo.steps.expressions import ExpressionError, verification_scope
from kargo.store import Store, Transaction, get_model, save_model

log = logging.getLogger(__name__)

_REASONS = {
    VerificationPhase.SUCCESSFUL: EventReason.FREIGHT_VERIFICATION_SUCCEEDED,
    VerificationPhase.FAILED: EventReason.FREIGHT_VERIFICATION_FAILED,
    VerificationPhase.ERROR: EventReason.FREIGHT_VERIFICATION_ERRORED,
    VerificationPhase.INCONCLUSIVE: EventReason.FREIGHT_VERIFICATION_INCONCLUSIVE,
    VerificationPhase.ABORTED: EventReason.FREIGHT_VERIFICATION_ABORTED,
}
ROLLBACK_ACTOR = "system"


def verification_pending(stage: Stage) -> bool:
    """Whether the stage's current freight waits for (or is in) a verification."""
    current = stage.status.current_freight
    if current is None or not current.verification_history:
        return False
    return not current.verification_history[0].phase.is_terminal()


def _info(stage: Stage) -> VerificationInfo:
    current = stage.status.current_freight
    assert current is not None and current.verification_history
    return current.verification_history[0]


def _template(store: Store, project: str, kind: str, name: str) -> AnalysisTemplate | None:
    """The stage's template: the project's AnalysisTemplate or the ClusterAnalysisTemplate."""
    if kind == "ClusterAnalysisTemplate":
        cluster = get_model(store, ClusterAnalysisTemplate, "", name)
        if cluster is None:
            return None
        return AnalysisTemplate.model_validate({**cluster.to_dict(), "kind": "AnalysisTemplate"})
    return get_model(store, AnalysisTemplate, project, name)


class Verifier:
    """Runs one stage's verification to its end."""

    def __init__(self, store: Store, stage: Stage, state_dir: Path | None = None) -> None:
        self.store = store
        self.stage = stage
        self.state_dir = state_dir  # where secrets and config maps live (None: none)
        self.aborted = False
        self.run_name: str | None = None  # the AnalysisRun, once created or found
        self.annotations: dict[str, dict[str, str]] = {}
        self.templates: list[AnalysisTemplate] = []

    async def verify(self) -> VerificationPhase:
        """Create (or resume) the AnalysisRun and wait for its outcome."""
        stage = self.stage
        current = stage.status.current_freight
        assert current is not None and stage.spec.verification is not None
        templates = self.templates  # kept: a rollback's reason names their failed metrics
        for ref in stage.spec.verification.analysis_templates:
            template = _template(self.store, stage.project, ref.kind, ref.name)
            if template is None:
                return self._finish(None, VerificationPhase.ERROR, f"{ref.kind} {ref.name} missing")
            templates.append(template)
            self.annotations[template.name] = dict(template.metadata.annotations)
        run = self._existing_run()
        if run is None:
            name = analysis_run_name(stage.name, current.name)
            commit = current.commits[0].get("id") if current.commits else None
            try:
                run = build_analysis_run(
                    name=name,
                    templates=templates,
                    args=self._arguments(current),
                    project=stage.project,
                    stage=stage.name,
                    freight=current.name,
                    commit=str(commit) if commit else None,
                    labels={"kargo.akuity.io/stage": stage.name},
                )
            except AnalysisArgumentError as exc:
                return self._finish(None, VerificationPhase.ERROR, str(exc))
            run.metadata.name = name  # build_analysis_run may rename it (a shadowed variable)
            run = self._start(run)
        self.run_name = run.name
        # An abort asked while no engine was running this verification (a new leader resumes it).
        self.aborted |= stage.metadata.annotations.get(ABORT_ANNOTATION) == run.name
        saved = [run]

        async def save(updated: AnalysisRun) -> None:
            updated.metadata = saved[0].metadata
            saved[0] = transact(self.store, lambda tx: save_model(tx, updated))

        async def is_terminated() -> bool:
            return self.aborted

        final = await run_analysis(run, templates, save=save, is_terminated=is_terminated)
        phase = VerificationPhase(final.status.phase.value)
        if self.aborted and phase is not VerificationPhase.SUCCESSFUL:
            phase = VerificationPhase.ABORTED
        return self._finish(saved[0], phase, final.status.message or "")

    def _arguments(self, current: FreightReference) -> dict[str, str]:
        """The stage's verification args with their `${{ }}` evaluated, as Kargo does."""
        stage = self.stage
        assert stage.spec.verification is not None
        origin = current.origin.name if current.origin else ""
        env, functions = verification_scope(
            stage.project,
            stage.name,
            [(v.name, v.value) for v in stage.spec.vars],
            [FreightArtifacts(origin, commits=current.commits)],
            self.state_dir,
        )
        try:
            return evaluate_arguments(
                {a.name: a.value or "" for a in stage.spec.verification.args}, env, functions
            )
        except ExpressionError as exc:
            raise AnalysisArgumentError(str(exc)) from None

    def _existing_run(self) -> AnalysisRun | None:
        ref = _info(self.stage).analysis_run
        if ref is None:
            return None
        return get_model(self.store, AnalysisRun, self.stage.project, ref.name)

    def _start(self, run: AnalysisRun) -> AnalysisRun:
        def work(tx: Transaction) -> AnalysisRun:
            saved = save_model(tx, run)

            def mutate(stage: Stage) -> None:
                info = _info(stage)
                info.phase = VerificationPhase.RUNNING
                info.start_time = utcnow()
                info.id = saved.name
                info.analysis_run = AnalysisRunReference(
                    name=saved.name, namespace=stage.project, phase="Running"
                )

            update_model(tx, Stage, self.stage.project, self.stage.name, mutate)
            return saved

        return transact(self.store, work)

    def _finish(
        self, run: AnalysisRun | None, phase: VerificationPhase, message: str
    ) -> VerificationPhase:
        stage = self.stage
        current = stage.status.current_freight
        assert current is not None

        def work(tx: Transaction) -> None:
            def mutate(latest: Stage) -> None:
                info = _info(latest)
                info.phase = phase
                info.message = message
                info.finish_time = utcnow()
                if info.analysis_run is not None:
                    info.analysis_run.phase = phase.value
                healthy = phase is VerificationPhase.SUCCESSFUL
                latest.status.health = Health(
                    status=HealthState.HEALTHY if healthy else HealthState.UNHEALTHY,
                    issues=[] if healthy else [f"verification {phase.value}: {message}"],
                )

            update_model(tx, Stage, stage.project, stage.name, mutate)
            if phase is VerificationPhase.SUCCESSFUL:

                def verified(freight: Freight) -> None:
                    freight.status.verified_in[stage.name] = VerifiedStage(verified_at=utcnow())

                update_model(tx, Freight, stage.project, current.name, verified)
            record_event(
                tx,
                project=stage.project,
                reason=_REASONS.get(phase, EventReason.FREIGHT_VERIFICATION_ERRORED),
                kind="Freight",
                name=current.name,
                message=f"Verification of freight {current.alias} in stage {stage.name} "
                f"{phase.value.lower()}" + (f": {message}" if message else ""),
                data=_event_data(
                    stage.name, current.name, current.alias, run, phase, self.annotations
                ),
            )

        transact(self.store, work)
        if phase in (VerificationPhase.FAILED, VerificationPhase.ERROR):
            self._maybe_roll_back(phase, run, message)
        return phase

    def _maybe_roll_back(
        self, phase: VerificationPhase, run: AnalysisRun | None, message: str
    ) -> None:
        stage = get_model(self.store, Stage, self.stage.project, self.stage.name)
        if stage is None:
            return
        rollback = auto_rollback_policy(self.store, stage)
        if rollback is None or VerificationOutcome(phase.value) not in rollback.on_verification:
            return
        target = last_stable_freight(stage)
        if target is None:
            return
        freight = get_model(self.store, Freight, stage.project, target)
        if freight is None:
            return
        metrics = failed_metrics(run, self.templates)
        reason = verification_reason(stage.name, phase.value, metrics, message)
        create_promotion(self.store, stage, freight, ROLLBACK_ACTOR, rollback_reason=reason)


def last_stable_freight(stage: Stage) -> str | None:
    """The newest earlier freight in the stage's history that was not a failed verification."""
    current = stage.status.current_freight
    for reference in stage.status.freight_history[1:]:
        if current is not None and reference.name == current.name:
            continue
        phases = [v.phase for v in reference.verification_history]
        if not phases or phases[0] is VerificationPhase.SUCCESSFUL:
            return reference.name
    return None


def _event_data(
    stage: str,
    freight: str,
    alias: str,
    run: AnalysisRun | None,
    phase: VerificationPhase,
    annotations: dict[str, dict[str, str]],
) -> dict[str, Any]:
    templates: dict[str, dict[str, Any]] = {}
    if run is not None:
        for ref in run.spec.templates:
            templates[ref.name] = {
                "name": ref.name,
                "phase": AnalysisPhase.SUCCESSFUL.value,
                "annotations": annotations.get(ref.name, {}),
                "metrics": [],
            }
        for result in run.status.metric_results:
            entry = templates.setdefault(
                result.template or "",
                {"name": result.template or "", "phase": "", "annotations": {}, "metrics": []},
            )
            entry["metrics"].append(
                {
                    "name": result.name,
                    "phase": result.phase.value,
                    "value": result.latest_value,
                    "message": result.message or "",
                    "result": result.latest_value,
                }
            )
            if result.phase.severity() > AnalysisPhase(entry["phase"] or "Successful").severity():
                entry["phase"] = result.phase.value
    return {
        "stage": stage,
        "freight": freight,
        "freightAlias": alias,
        "analysisRun": run.name if run is not None else "",
        "phase": phase.value,
        "templates": list(templates.values()),
    }
