"""Benchmark: seconds from a failed verification to production serving the previous freight.

The real engine (SQLite store, reconcilers in a thread) and the real local runtime (HAProxy,
Planning Poker instances from the repository's .venv) run a one-stage pipeline whose
verification asks a local check server. Each round promotes a good commit (verified), then a
bad one while the check server answers "bad": the verification fails, autoRollback creates a
rollback promotion, and a poller sees /version return to the good commit. The time runs from
the FreightVerificationFailed event (its stored time) to the poller's first answer with the
previous commit. Target: under 5 s.
"""

from __future__ import annotations

import asyncio
import http.server
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.controller import Engine
from kargo.engine.operations import refresh_warehouse
from kargo.engine.promoting import PromotionRequest, request_promotion
from kargo.model.freight import Freight
from kargo.model.stage import Stage, VerificationPhase
from kargo.runtime import stop_all
from kargo.runtime.processes import free_port
from kargo.store import EventFilter, Store, get_model, list_models
from support import ROOT, git, wait

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TARGET = 5.0
VERDICT = {"ok": True}


class Checks(http.server.BaseHTTPRequestHandler):
    """GET / → {"ok": true|false} as the benchmark says."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = b'{"ok": true}' if VERDICT["ok"] else b'{"ok": false}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def pipeline(repo: Path, port: int, checks: str) -> str:
    """One auto-rolled-back stage deploying Planning Poker blue/green from the repo's .venv."""
    return f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: bench}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: bench}}
spec:
  promotionPolicies:
  - stage: production
    autoRollback: {{onVerification: [Failed, Error]}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: app}}
spec:
  interval: 1h
  subscriptions:
  - git: {{repoURL: {repo}, branch: main}}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: check}}
spec:
  metrics:
  - name: ok
    provider:
      web: {{url: "{checks}", jsonPath: "{{$.ok}}"}}
    successCondition: result == true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: production}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
      - uses: deploy
        config:
          port: {port}
          repoURL: {repo}
          envDir: {ROOT / ".venv"}
          command: [planning-poker]
          env:
            PORT: ${{PORT}}
            DATABASE_URL: sqlite:///${{STAGE_DIR}}/app.db
            PLANNING_POKER_COMMIT: ${{COMMIT}}
          readinessTimeout: 30
          strategy: {{blueGreen: {{drainTimeout: 1, stopTimeout: 5}}}}
  verification:
    analysisTemplates: [{{name: check}}]
"""


class Bench:
    """The engine, its store, the repository and the stage's address."""

    def __init__(self, root: Path, store: Store, port: int) -> None:
        self.root, self.store, self.port = root, store, port
        self.repo = root / "repo"
        self.seen: set[str] = set()

    def freight(self, n: int) -> tuple[str, str]:
        """Commit, discover; (commit, freight name)."""
        (self.repo / "version.txt").write_text(f"{n}\n")
        git(self.repo, "add", "version.txt")
        git(self.repo, "commit", "-q", "-m", f"version {n}")
        commit = git(self.repo, "rev-parse", "HEAD")
        refresh_warehouse(self.store, "bench", "app", actor="bench")
        found = wait(
            "freight",
            lambda: [
                f for f in list_models(self.store, Freight, "bench") if f.name not in self.seen
            ],
        )[0]
        self.seen.add(found.name)
        return commit, found.name

    def phase(self, freight: str) -> VerificationPhase | None:
        """The stage's verification phase of freight, when it runs it."""
        stage = get_model(self.store, Stage, "bench", "production")
        head = stage.status.current_freight if stage else None
        if head is None or head.name != freight or not head.verification_history:
            return None
        return head.verification_history[0].phase

    def serving(self) -> str:
        """The commit /version reports (empty when nothing answers)."""
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.port}/version", timeout=1)
            return str(answer.json().get("commit", ""))
        except (httpx.HTTPError, ValueError):
            return ""

    def round(self, n: int) -> float:
        """One good freight, then a bad one; seconds from its failed check to the rollback."""
        VERDICT["ok"] = True
        good_commit, good = self.freight(2 * n)
        request_promotion(self.store, PromotionRequest("bench", "production", good, actor="b"))
        wait("good verified", lambda: self.phase(good) is VerificationPhase.SUCCESSFUL)
        VERDICT["ok"] = False
        bad_commit, bad = self.freight(2 * n + 1)
        request_promotion(self.store, PromotionRequest("bench", "production", bad, actor="b"))
        wait("bad served", lambda: self.serving() == bad_commit)
        wait("back to good", lambda: self.serving() == good_commit, timeout=120)
        served = time.time()
        failed = self.store.events(
            "bench", where=EventFilter(equal={"reason": "FreightVerificationFailed"})
        )
        moment: datetime = [e for e in failed if e.involved_name == bad][-1].created_at
        return served - moment.timestamp()


def main() -> int:
    """Run the rounds and print the figures."""
    with tempfile.TemporaryDirectory(prefix="bench-rollback-") as folder:
        root = Path(folder)
        repo = root / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Checks)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        state, port = root / "state", free_port()
        store = Store.open(None, state)
        loop = asyncio.new_event_loop()
        engine = Engine(store, state, resync_seconds=0.2)
        thread = threading.Thread(target=loop.run_until_complete, args=(engine.run(),))
        thread.start()
        try:
            bench = Bench(root, store, port)
            (repo / "version.txt").write_text("0\n")
            git(repo, "add", "version.txt")
            git(repo, "commit", "-q", "-m", "start")
            checks = f"http://127.0.0.1:{server.server_address[1]}/"
            apply_resources(store, load_text(pipeline(repo, port, checks)))
            bench.seen.add(
                wait("first freight", lambda: list_models(store, Freight, "bench"))[0].name
            )
            times = [bench.round(n) for n in range(1, ROUNDS + 1)]
        finally:
            asyncio.run_coroutine_threadsafe(engine.stop(), loop).result(timeout=30)
            thread.join(timeout=30)
            loop.close()
            store.close()
            server.shutdown()
            stop_all(state, timeout=5)
    median = statistics.median(times)
    for n, seconds in enumerate(times, 1):
        sys.stdout.write(
            f"round {n}: {seconds:.2f} s from failed verification to previous freight\n"
        )
    verdict = "meets" if median < TARGET else "misses"
    sys.stdout.write(
        f"median {median:.2f} s, max {max(times):.2f} s; {verdict} the {TARGET:.0f} s target\n"
    )
    return 0 if median < TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
