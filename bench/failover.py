"""Benchmark: two `kargo server`s on one PostgreSQL database, and how fast the standby takes over.

Prints, over BENCH_ROUNDS rounds (default 5):
- cold start: from launching a server to it leading (the baseline: what a restart would cost);
- failover: from SIGKILL of the leader to the standby leading (it sees the dead holder on this
  host; a holder on another host is waited out, 15 s at most), and the ratio to the cold start;
- handover: from SIGTERM of the leader (it releases the lease) to the standby leading;
- a no-op promotion asked of the standby (run by the leader, which hears of it through the
  change feed) beside one asked of the leader itself, from the POST to Succeeded, and the ratio.
Target: failover well under the 15 s lease; via-standby promotions within 2x the direct ones.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from support import answers, free_port, git, postgres_answers, postgres_database, wait

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
API = "/api/v1"


def pipeline(repo: Path, stages: list[str]) -> str:
    """A project whose stages take the warehouse's freight with one no-op step."""
    head = f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: bench}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: app}}
spec:
  interval: 1h
  subscriptions:
  - git: {{repoURL: {repo}, branch: main}}
"""
    stage = """\
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: {name}}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
      - uses: noop
"""
    return head + "".join(stage.format(name=name) for name in stages)


@dataclass
class Server:
    """One `kargo server` process on the shared database."""

    name: str
    state: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, config: Path, url: str) -> float:
        """Launch it; return the moment of launch."""
        self.state.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "kargo.api", "--config", str(config), "--state-dir",
                str(self.state), "--port", str(self.port), "--database-url", url]  # fmt: skip
        env = {**os.environ, "KARGO_CONFIG": str(self.state / "cli.yaml")}
        started = time.monotonic()
        with open(self.state / "server.log", "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=log, env=env)
        wait(f"{self.name} to answer", lambda: answers(f"{self.base}/healthz"), 60, 0.05)
        return started

    def stop(self, how: int) -> float:
        """Signal it and wait for it to exit; return the moment of the signal."""
        assert self.process is not None
        sent = time.monotonic()
        self.process.send_signal(how)
        self.process.wait(timeout=30)
        self.process = None
        return sent

    def leading(self, headers: dict[str, str]) -> bool:
        try:
            answer = httpx.get(f"{self.base}{API}/leader", headers=headers, timeout=2)
        except httpx.HTTPError:
            return False
        return bool(answer.status_code == 200 and answer.json()["leading"])


def promote(server: Server, headers: dict[str, str], stage: str, freight: str) -> float:
    """Seconds from asking `server` for a promotion to its Succeeded phase."""
    started = time.monotonic()
    created = httpx.post(f"{server.base}{API}/projects/bench/promotions",
                         json={"stage": stage, "freight": freight}, headers=headers)  # fmt: skip
    created.raise_for_status()
    url = f"{server.base}{API}/projects/bench/promotions/{created.json()['metadata']['name']}"

    def done() -> bool:
        phase = httpx.get(url, headers=headers).json()["status"].get("phase")
        if phase in ("Failed", "Errored", "Aborted"):
            raise RuntimeError(f"promotion to {stage} ended {phase}")
        return phase == "Succeeded"

    wait(f"promotion to {stage}", done, 60, 0.01)
    return time.monotonic() - started


def median_ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.0f} ms, max {max(values) * 1000:6.0f} ms"


def run(work: Path, url: str) -> dict[str, Any]:
    """Every measurement, on one database."""
    repo = work / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.txt").write_text("v1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v1")
    stages = [f"{kind}-{n}" for n in range(ROUNDS * 2) for kind in ("standby", "leader")]
    config = work / "kargo"
    config.mkdir()
    (config / "pipeline.yaml").write_text(pipeline(repo, stages))
    servers = [Server("a", work / "a"), Server("b", work / "b")]
    figures: dict[str, list[float]] = {k: [] for k in ("cold", "kill", "term", "via", "direct")}
    try:
        started = servers[0].start(config, url)
        headers = {
            "Authorization": f"Bearer {(servers[0].state / 'admin.token').read_text().strip()}"
        }
        wait("a to lead", lambda: servers[0].leading(headers), 60, 0.01)
        figures["cold"].append(time.monotonic() - started)
        servers[1].start(config, url)
        items = wait("freight", lambda: httpx.get(f"{servers[0].base}{API}/projects/bench/freight",
                                                  headers=headers).json()["items"])  # fmt: skip
        freight = items[0]["metadata"]["name"]
        stage_names = iter(stages)
        for how in [signal.SIGKILL] * ROUNDS + [signal.SIGTERM] * ROUNDS:
            old, new = servers if servers[0].leading(headers) else servers[::-1]
            sent = old.stop(how)
            wait(f"{new.name} to take over", lambda: new.leading(headers), 30, 0.01)  # noqa: B023
            figures["kill" if how == signal.SIGKILL else "term"].append(time.monotonic() - sent)
            old.start(config, url)  # the old leader comes back as the standby
            figures["via"].append(promote(old, headers, next(stage_names), freight))
            figures["direct"].append(promote(new, headers, next(stage_names), freight))
    finally:
        for server in servers:
            if server.process is not None:
                server.stop(signal.SIGTERM)
    return figures


def main() -> int:
    """Run the rounds and print the figures."""
    if not postgres_answers():
        print("failover: skipped (nothing answers on 127.0.0.1:5432; several servers need it)")
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
        with postgres_database("failover") as url:
            figures = run(Path(tmp), url)
    cold = figures["cold"][0]
    kill = statistics.median(figures["kill"])
    via, direct = statistics.median(figures["via"]), statistics.median(figures["direct"])
    load = os.getloadavg()[0]
    print(f"two servers on one PostgreSQL database, {ROUNDS} rounds each (load {load:.1f})")
    print(f"  cold start to leading:    {cold * 1000:7.0f} ms (launch to the first lease)")
    ratio = kill / cold
    print(
        f"  failover after SIGKILL:   {median_ms(figures['kill'])}; ratio to cold start {ratio:.2f}"
    )
    print(f"  handover after SIGTERM:   {median_ms(figures['term'])}")
    print(f"  promotion via the standby: {median_ms(figures['via'])}")
    print(f"  promotion via the leader:  {median_ms(figures['direct'])}; ratio {via / direct:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
