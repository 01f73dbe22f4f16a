"""A pipeline of real deploys for the fault tests: Planning Poker behind HAProxy, as kargo/ does.

Two stages run the `deploy` step the repository's `kargo/stage.yaml` runs, minus git-clone and
build-venv (the app comes from the repository's .venv): `blue` switches blue/green like
development, `canary` goes through a canary like production (setWeight, pause, setWeight 100).
The checks a test makes afterwards go through HAProxy: each stage's port must answer `/version`
with the commit of the freight the stage names.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from kargo.engine.promoting import PromotionRequest, request_promotion
from kargo.liveness import is_alive
from kargo.model.promotion import PromotionPhase
from kargo.runtime import stop_all
from kargo.runtime.processes import find_marked
from kargo.runtime.state import InstanceRecord, InstanceState, RuntimePaths, load_state
from kargo.store import Store

from tests.faults.invariants import Violations, check_promotions, check_records
from tests.faults.pipeline import PROJECT, apply_with_freight, project_documents
from tests.pipeline.harness import running_engine, wait_until
from tests.services import REPO_ROOT, free_port, require_binary

VENV = REPO_ROOT / ".venv"
BLUE_GREEN = "    strategy:\n      blueGreen: {drainTimeout: 0.5, stopTimeout: 5}\n"


def canary_strategy(analysis: str = "") -> str:
    """A canary like production's: half the traffic, a pause, an optional analysis, then all."""
    return (
        "    strategy:\n      canary:\n        steps:\n"
        "        - setWeight: 50\n        - pause: {duration: 1s}\n"
        + analysis
        + "        - setWeight: 100\n"
    )


def deploy_stage(name: str, port: int, strategy: str, verification: str = "") -> str:
    """A stage whose one step deploys the app on `port` with `strategy` (YAML, indented)."""
    return (
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\n"
        f"metadata: {{name: {name}, namespace: {PROJECT}}}\nspec:\n"
        "  requestedFreight:\n  - origin: {kind: Warehouse, name: app}\n"
        "    sources: {direct: true}\n"
        "  promotionTemplate:\n    spec:\n      steps:\n"
        "      - uses: deploy\n        as: deploy\n        config:\n"
        f"          port: {port}\n          replicas: 1\n"
        f"          envDir: {VENV}\n          command: [planning-poker]\n"
        "          env:\n"
        "            PORT: ${PORT}\n"
        "            DATABASE_URL: sqlite:///${STAGE_DIR}/app.db\n"
        "            PLANNING_POKER_COMMIT: ${COMMIT}\n"
        "            PLANNING_POKER_TRUSTED_PROXIES: 127.0.0.1\n"
        "            SECRET_KEY: ${SECRET:secret-key}\n"
        "          readinessPath: /readyz\n          healthPath: /healthz\n"
        "          readinessTimeout: 60\n"
        + "\n".join("      " + line if line else line for line in strategy.split("\n"))
        + verification
    )


def deploy_pipeline(
    webhook_url: str | None, stages: dict[str, tuple[int, str]], verification: str = ""
) -> str:
    """The project and one deploy stage per entry: name -> (port, strategy)."""
    docs = project_documents(webhook_url)
    docs += [
        deploy_stage(name, port, strategy, verification.replace("STAGE_PORT", str(port)))
        for name, (port, strategy) in stages.items()
    ]
    return "---\n".join(docs)


def served_commit(port: int) -> str | None:
    """The commit a stage's port answers with through HAProxy (None when it does not answer)."""
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/version", timeout=5)
    except httpx.HTTPError:
        return None
    return str(answer.json()["commit"]) if answer.status_code == 200 else None


@dataclass
class StageServes:
    """What one stage names and what its port serves."""

    stage: str
    freight: str | None
    commit: str | None
    served: str | None


def check_serving(
    store: Store, state: Path, ports: dict[str, int], found: Violations
) -> list[StageServes]:
    """Each stage names its last success, its port serves that commit, and nothing else runs."""
    freight_commits = {
        f["metadata"]["name"]: f["commits"][0]["id"] for f in store.list("Freight", PROJECT)
    }
    last_success: dict[str, str] = {}
    for promotion in sorted(store.list("Promotion", PROJECT), key=lambda p: p["metadata"]["name"]):
        if promotion["status"].get("phase") == "Succeeded":
            last_success[promotion["spec"]["stage"]] = promotion["spec"]["freight"]
    seen = []
    for stage, port in ports.items():
        body = store.get("Stage", PROJECT, stage) or {}
        history: list[dict[str, Any]] = (body.get("status") or {}).get("freightHistory") or []
        freight = history[0]["name"] if history else None
        commit = freight_commits.get(freight or "")
        served = served_commit(port)
        if served != commit:
            found.add("stage names a freight that does not serve", f"{stage}: {commit}≠{served}")
        if freight != last_success.get(stage):
            found.add("stage is not at its last success", f"{stage}: {freight}")
        seen.append(StageServes(stage, freight, commit, served))
    check_instances(state, {s.stage: s.freight for s in seen}, found)
    return seen


def check_instances(state: Path, current: dict[str, str | None], found: Violations) -> None:
    """The runtime runs only each stage's current freight; no process escaped its state file."""
    paths = RuntimePaths(state)
    recorded = load_state(paths)
    known = {instance.id for instance in recorded.instances}
    for process in find_marked(state):
        if process.instance_id not in known:
            found.add("instance left running outside the state", process.instance_id)
    for instance in recorded.instances:
        alive = is_alive(instance.pid, instance.pid_start_time)
        if instance.freight != current.get(instance.stage) and alive:
            found.add("old instance left running", f"{instance.id} ({instance.state.value})")
        elif instance.state is InstanceState.SERVING and not alive:
            found.add("serving instance is dead", instance.id)


@dataclass
class Deploying:
    """An engine running in this process over a store of deploy stages, and their ports."""

    store: Store
    state: Path
    ports: dict[str, int]
    freights: list[str]

    def commit(self, freight: str) -> str:
        """The commit a freight carries."""
        body = self.store.get("Freight", PROJECT, freight) or {}
        return str(body["commits"][0]["id"])

    def promote(self, stage: str, freight: str) -> str:
        """Queue a promotion; its name."""
        promotion = request_promotion(
            self.store, PromotionRequest(PROJECT, stage, freight, actor="fault-test")
        )
        assert promotion is not None, f"{stage} already runs {freight}"
        return promotion.name

    def promotion(self, name: str) -> dict[str, Any]:
        """A promotion as stored."""
        return self.store.get("Promotion", PROJECT, name) or {}

    def wait_ended(self, name: str, timeout: float = 90.0) -> dict[str, Any]:
        """Wait until the promotion ends; return it."""
        wait_until(
            lambda: PromotionPhase(
                (self.promotion(name).get("status") or {}).get("phase", "Pending")
            ).is_terminal(),
            timeout=timeout,
            what=f"promotion {name} to end",
        )
        return self.promotion(name)

    def instances(self, stage: str) -> list[InstanceRecord]:
        """The runtime's records of a stage's instances."""
        return load_state(RuntimePaths(self.state)).stage_instances(stage)

    def check(self) -> Violations:
        """Every invariant that holds without webhooks: promotions, records, serving."""
        found = Violations()
        promotions = check_promotions(self.store, PROJECT, found)
        check_records(self.store, PROJECT, promotions, found)
        check_serving(self.store, self.state, self.ports, found)
        return found


@contextmanager
def deploying(
    tmp_path: Path,
    strategies: dict[str, str],
    freights: int,
    extra: str = "",
    verification: str = "",
) -> Iterator[Deploying]:
    """An in-process engine (SQLite) over deploy stages named by `strategies`; all stopped after.

    `extra` is more YAML documents (templates); `verification` a Stage's `verification:` block,
    where STAGE_PORT stands for the stage's port.
    """
    require_binary("haproxy")
    state = tmp_path / "state"
    ports = {name: free_port() for name in strategies}
    stages = {name: (ports[name], strategy) for name, strategy in strategies.items()}
    store = Store.open(None, state)
    try:
        documents = deploy_pipeline(None, stages, verification) + extra
        names = apply_with_freight(store, documents, freights)
        with running_engine(store, state):
            yield Deploying(store, state, ports, names)
    finally:
        stop_all(state, timeout=5)
        store.close()


def wait_serving(port: int, commit: str, timeout: float = 60.0) -> float:
    """Wait until the port serves `commit`; how many seconds that took."""
    start = time.monotonic()
    wait_until(lambda: served_commit(port) == commit, timeout=timeout, what=f"{commit} served")
    return time.monotonic() - start


class Versions:
    """A client loop on a stage's `/version` (new connection each time): what it saw, in order.

    Commits of the made-up freight grow with the freight's number, so a stage that went back to
    an older freight after serving a newer one shows as a step down.
    """

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/version"
        self.seen: list[str] = []
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        with httpx.Client(timeout=5.0, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            while not self._stop.is_set():
                try:
                    answer = client.get(self.url)
                    if answer.status_code == 200:
                        commit = str(answer.json()["commit"])
                        if not self.seen or self.seen[-1] != commit:
                            self.seen.append(commit)
                    else:
                        self.failed += 1
                except httpx.HTTPError:
                    self.failed += 1
                time.sleep(0.02)

    def went_back(self) -> list[tuple[str, str]]:
        """Each switch from a newer commit to an older one."""
        return [(a, b) for a, b in zip(self.seen, self.seen[1:], strict=False) if b < a]

    def __enter__(self) -> Versions:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
