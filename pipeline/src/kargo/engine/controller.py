"""The engine: reconcilers for every kind, run as asyncio tasks, woken by store changes.

One promotion runs per stage at a time; others wait in name order (names are time-ordered,
so the queue is FIFO). On start, promotions left Running by a crash are resumed first.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Collection
from pathlib import Path
from typing import Any

from kargo import runtime
from kargo.engine.autopromotion import auto_promote
from kargo.engine.logbuffer import LogBuffer
from kargo.engine.promotions import PromotionExecutor
from kargo.engine.registration import register_higher_layer_parsers
from kargo.engine.rollbacks import roll_back_failed_promotion
from kargo.engine.stepwrites import StepResourceWriter
from kargo.engine.verification import Verifier, verification_pending
from kargo.engine.warehouses import WarehouseReconciler, discovery_due
from kargo.model.promotion import ABORT_ANNOTATION, Promotion, PromotionPhase
from kargo.model.stage import Stage
from kargo.model.warehouse import Warehouse
from kargo.runtime import steps as runtime_steps  # noqa: F401  (registers git-clone, build, deploy)
from kargo.steps import builtin  # noqa: F401  (registers the built-in step kinds)
from kargo.steps.resources import set_resource_reader, set_resource_writer
from kargo.store import Change, Store, get_model, list_models

log = logging.getLogger(__name__)

StageKey = tuple[str, str]
AUTO_PROMOTION_RESYNC = 5.0
HEAL_SECONDS = 2.0  # how often the runtime is checked for a dead router or a stage that lost it all
HEAL_RETRY_SECONDS = 30.0  # a stage whose redeploy failed is tried again after this


async def restore_runtime(state_dir: Path, resuming: Collection[str] = ()) -> None:
    """Before resuming promotions: restart a dead router, mark dead instances, redeploy stages.

    Stages in `resuming` have a promotion to resume, which deploys them; should it end otherwise,
    the periodic healing redeploys their last freight.
    """
    if not (state_dir / "runtime").exists():
        return  # nothing was ever deployed from this state folder
    try:
        outcome = await runtime.restore(state_dir, skip=resuming)
    except Exception:  # the engine must start even when the runtime cannot be restored
        log.exception("could not restore the runtime of %s", state_dir)
        return
    for stage, what in outcome.items():
        log.info("runtime: stage %s %s", stage, what)


class Engine:
    """Runs the reconcilers until stopped."""

    def __init__(self, store: Store, state_dir: Path, resync_seconds: float = 1.0) -> None:
        register_higher_layer_parsers()
        set_resource_reader(store.get)  # the canary's analysis steps read their templates
        writer = StepResourceWriter(store)
        set_resource_writer(writer.update, writer.list)  # set-metadata, set-freight-alias
        self.store = store
        self.state_dir = state_dir
        self.resync_seconds = resync_seconds
        self.warehouses = WarehouseReconciler(store, state_dir / "cache")
        self.logs = LogBuffer(store)  # every promotion's log lines, written together
        self._lock = threading.Lock()
        self._queued: dict[StageKey, dict[str, dict[str, Any]]] = defaultdict(dict)
        self._requested: set[tuple[str, str, str]] = set()
        self._dirty: set[str] = {"Stage", "Freight", "Warehouse", "ProjectConfig"}
        self._executors: dict[StageKey, tuple[PromotionExecutor, asyncio.Task[Any]]] = {}
        self._verifiers: dict[StageKey, tuple[Verifier, asyncio.Task[Any]]] = {}
        self._discovering: dict[StageKey, asyncio.Task[Any]] = {}
        self._healing: asyncio.Task[Any] | None = None
        self._healing_stages: set[str] = set()
        self._heal_after: dict[str, float] = {}  # stage -> when to try a failed redeploy again
        self._last_heal = time.monotonic()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._last_auto = 0.0
        self._verify_candidates: set[StageKey] = set()
        self._auto_projects: set[str] = set()
        self._failed_promotions: list[dict[str, Any]] = []
        self._unsubscribe = store.watch(self._on_changes)

    # --- change tracking -------------------------------------------------------------------

    def _index(self, body: dict[str, Any]) -> None:
        meta, spec = body["metadata"], body["spec"]
        project, name = meta.get("namespace") or "", meta["name"]
        key = (project, spec["stage"])
        self._requested.add((project, spec["stage"], spec["freight"]))
        phase = PromotionPhase((body.get("status") or {}).get("phase", "Pending"))
        if phase.is_terminal():
            was_queued = self._queued[key].pop(name, None) is not None
            if was_queued and phase in (PromotionPhase.FAILED, PromotionPhase.ERRORED):
                self._failed_promotions.append(body)
        else:
            self._queued[key][name] = body

    def _on_changes(self, changes: list[Change]) -> None:
        with self._lock:
            for change in changes:
                self._dirty.add(change.kind)
                if change.kind == "Promotion" and change.type.value != "DELETED":
                    self._index(change.body)
                    if ABORT_ANNOTATION in change.body["metadata"].get("annotations", {}):
                        stage = change.body["spec"]["stage"]
                        self.abort_running(change.project, stage, change.name)
                elif change.kind == "Stage":
                    if _may_need_verification(change.body):
                        self._verify_candidates.add((change.project, change.name))
                    wanted = change.body["metadata"].get("annotations", {}).get(ABORT_ANNOTATION)
                    if wanted:
                        self.abort_verification(change.project, change.name, wanted)
                elif change.kind == "ProjectConfig":
                    self._auto_projects.discard(change.project)
                    if _enables_auto_promotion(change.body):
                        self._auto_projects.add(change.project)
        self.wake()

    def wake(self) -> None:
        """Ask for a reconcile pass soon (safe from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == getattr(self, "_loop_thread", None):
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    # --- main loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Reconcile until `stop()`."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        running = [p for p in self.store.list("Promotion") if _phase(p) is PromotionPhase.RUNNING]
        await restore_runtime(self.state_dir, {p["spec"]["stage"] for p in running})
        with self._lock:
            for body in self.store.list("Promotion"):
                self._index(body)
            for body in self.store.list("Stage"):
                if _may_need_verification(body):
                    self._verify_candidates.add((body["metadata"].get("namespace", ""),
                                                 body["metadata"]["name"]))  # fmt: skip
            for body in self.store.list("ProjectConfig"):
                if _enables_auto_promotion(body):
                    self._auto_projects.add(body["metadata"].get("namespace", ""))
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    await self.reconcile_once()
                except Exception:  # one bad pass must not stop the engine
                    log.exception("reconcile pass failed")
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.resync_seconds)
                except TimeoutError:
                    with self._lock:
                        self._dirty.add("Warehouse")
        finally:
            await self._cancel_all()

    async def stop(self) -> None:
        """Stop reconciling; running promotions stay Running and resume on the next start."""
        self._stopping = True
        self.wake()

    async def _cancel_all(self) -> None:
        tasks = [t for _, t in self._executors.values()] + [t for _, t in self._verifiers.values()]
        tasks += list(self._discovering.values())
        tasks += [self._healing] if self._healing is not None else []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.logs.flush()  # the stopped promotions' last lines
        self._unsubscribe()

    async def reconcile_once(self) -> None:
        """One pass over every kind that changed (and the periodic ones)."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        if "Warehouse" in dirty:
            self._reconcile_warehouses()
        with self._lock:
            failed, self._failed_promotions = self._failed_promotions, []
        for body in failed:
            roll_back_failed_promotion(self.store, body)  # autoRollback.onPromotion
        self._schedule_promotions()
        self._heal_runtime()
        if self._verify_candidates:
            self._reconcile_verifications()
        now = time.monotonic()
        periodic = now - self._last_auto > AUTO_PROMOTION_RESYNC
        if self._auto_projects and (dirty & {"Freight", "Stage", "ProjectConfig"} or periodic):
            self._last_auto = now
            for project in sorted(self._auto_projects):
                with self._lock:
                    requested = set(self._requested)
                created = auto_promote(self.store, project, requested)
                if created:
                    log.info("auto-promotion created %s", ", ".join(created))

    def _reconcile_warehouses(self) -> None:
        for warehouse in list_models(self.store, Warehouse):
            key = (warehouse.project, warehouse.name)
            if key in self._discovering or not discovery_due(warehouse):
                continue
            task = asyncio.create_task(self.warehouses.reconcile(warehouse))
            self._discovering[key] = task
            task.add_done_callback(functools.partial(self._done, self._discovering, key))

    def _schedule_promotions(self) -> None:
        with self._lock:
            waiting = {key: list(queue.values()) for key, queue in self._queued.items() if queue}
        for key, promotions in waiting.items():
            if key in self._executors or key[1] in self._healing_stages:
                continue
            running = [p for p in promotions if p.get("status", {}).get("phase") == "Running"]
            body = min(running or promotions, key=lambda p: str(p["metadata"]["name"]))
            chosen = Promotion.model_validate(body)
            executor = PromotionExecutor(self.store, self.state_dir, chosen, self.logs)
            task = asyncio.create_task(executor.execute(), name=f"promotion {chosen.name}")
            self._executors[key] = (executor, task)
            task.add_done_callback(functools.partial(self._done, self._executors, key))

    def _heal_runtime(self) -> None:
        """Every HEAL_SECONDS, repair the runtime of the stages no promotion is deploying."""
        if self._healing is not None or time.monotonic() - self._last_heal < HEAL_SECONDS:
            return
        if not (self.state_dir / "runtime").exists():
            return
        self._last_heal = time.monotonic()
        busy = {stage for _, stage in self._executors}
        self._healing = asyncio.create_task(self._heal(busy), name="heal runtime")
        self._healing.add_done_callback(self._healed)

    async def _heal(self, busy: set[str]) -> None:
        if await asyncio.to_thread(runtime.restart_router, self.state_dir):
            log.warning("runtime: HAProxy of %s was not running: started again", self.state_dir)
        lost = await asyncio.to_thread(runtime.stages_to_restore, self.state_dir)
        for stage in lost:
            if stage in busy or any(key[1] == stage for key in self._executors):
                continue
            if time.monotonic() < self._heal_after.get(stage, 0.0):
                continue
            self._healing_stages.add(stage)
            try:
                what = await runtime.redeploy(self.state_dir, stage)
            finally:
                self._healing_stages.discard(stage)
            if what.startswith("not restored"):
                self._heal_after[stage] = time.monotonic() + HEAL_RETRY_SECONDS
            else:
                self._heal_after.pop(stage, None)
            log.warning("runtime: stage %s had no live instance: %s", stage, what)

    def _healed(self, task: asyncio.Task[Any]) -> None:
        self._healing = None
        self._last_heal = time.monotonic()
        if not task.cancelled() and task.exception() is not None:
            log.error("healing the runtime failed", exc_info=task.exception())
        self.wake()

    def _reconcile_verifications(self) -> None:
        with self._lock:
            candidates, self._verify_candidates = self._verify_candidates, set()
        for key in sorted(candidates):
            if key in self._verifiers or key in self._executors:
                self._verify_candidates.add(key)  # look again when those end
                continue
            stage = get_model(self.store, Stage, *key)
            if stage is None or not verification_pending(stage):
                continue
            verifier = Verifier(self.store, stage, self.state_dir)
            task = asyncio.create_task(verifier.verify(), name=f"verify {stage.name}")
            self._verifiers[key] = (verifier, task)
            task.add_done_callback(functools.partial(self._done, self._verifiers, key))

    def _done(self, registry: dict[StageKey, Any], key: StageKey, task: asyncio.Task[Any]) -> None:
        registry.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())
        with self._lock:
            self._dirty.add("Stage")
        self.wake()

    # --- requests from the API (any thread) ------------------------------------------------

    def abort_running(self, project: str, stage: str, promotion: str) -> bool:
        """Cancel the running executor of a promotion; True when one was running."""
        entry = self._executors.get((project, stage))
        if entry is None or entry[0].promotion.name != promotion or self._loop is None:
            return False
        executor, task = entry
        if executor.abort_requested:
            return True
        executor.abort_requested = True
        self._loop.call_soon_threadsafe(task.cancel)
        return True

    def abort_verification(self, project: str, stage: str, run: str | None = None) -> bool:
        """Stop a running verification (only the one named `run`, when given); True when one was."""
        entry = self._verifiers.get((project, stage))
        if entry is None or (run is not None and entry[0].run_name not in (run, None)):
            return False
        entry[0].aborted = True
        return True

    def is_idle(self) -> bool:
        """Whether nothing is queued or running (used by tests and the benchmark)."""
        with self._lock:
            queued = any(self._queued.values())
        return not queued and not self._executors and not self._verifiers


def _phase(body: dict[str, Any]) -> PromotionPhase:
    return PromotionPhase((body.get("status") or {}).get("phase", "Pending"))


def _may_need_verification(body: dict[str, Any]) -> bool:
    """Cheap check on a stored Stage: does its current freight wait for verification?"""
    history = (body.get("status") or {}).get("freightHistory") or []
    if not history:
        return False
    runs = history[0].get("verificationHistory") or []
    return bool(runs) and runs[0].get("phase", "Pending") in ("Pending", "Running")


def _enables_auto_promotion(body: dict[str, Any]) -> bool:
    """Cheap check on a stored ProjectConfig: does any policy turn auto-promotion on?"""
    policies = (body.get("spec") or {}).get("promotionPolicies") or []
    return any(p.get("autoPromotionEnabled") for p in policies)
