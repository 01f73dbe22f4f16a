"""The API's latency idle versus while 20 promotions deploy and verify.

A real `kargo server` (SQLite state folder, its own process) runs 20 stages whose promotions are
shell-step pipelines (real deploys would not fit 20 at once on a 2-core machine): each writes
log lines and sleeps over several steps, then a verification asks a local check server a few
times. Two figures, each idle and under load:
- `GET /api/v1/projects/load/stages`: p50 and p99 of sequential requests;
- watch delay: a probe applies a small resource through the API every 150 ms and a watch stream
  (`/api/v1/watch`) reports it; the delay runs from the probe's request to the event's arrival
  (which includes the write waiting for SQLite's one writer), and from the write's answer (its
  commit) to the event's arrival (the stream's own delay).
It prints the ratios under load / idle (target: p99 under load <= 3x idle) and the server's CPU
time over the loaded window, which a busy machine disturbs far less than latencies.
BENCH_PROMOTIONS (default 20) sets the number of stages promoted at once; BENCH_ROUNDS (default
1) repeats the loaded window with fresh promotions.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from support import ROOT, answers, free_port, git, wait

STAGES = int(os.environ.get("BENCH_PROMOTIONS", "20"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
IDLE_SECONDS = 12.0
PROBE_EVERY = 0.15
CHECK_EVERY = 0.5  # how often the loaded window asks whether every stage is verified
TARGET = 3.0
API = "/api/v1"


class Checks(http.server.BaseHTTPRequestHandler):
    """GET / → {"ok": true}: the verification's check server."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def pipeline(repo: Path, checks: str) -> str:
    """20 stages of shell steps, each verified by three web measurements."""
    script = "for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; sleep 0.1; done"
    docs = [
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: load}\n",
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: app, "
        f"namespace: load}}\nspec:\n  interval: 1h\n  subscriptions:\n"
        f"  - git: {{repoURL: {repo}, branch: main}}\n",
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: smoke, "
        "namespace: load}\nspec:\n  metrics:\n  - name: ok\n    provider:\n"
        f'      web: {{url: "{checks}", jsonPath: "{{$.ok}}"}}\n'
        "    successCondition: result == true\n    count: 3\n    interval: 1s\n",
    ]
    steps = "".join(
        f"      - uses: shell\n        as: step{n}\n        config: {{command: '{script}'}}\n"
        for n in range(4)
    )
    for i in range(STAGES):
        docs.append(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\n"
            f"metadata: {{name: s{i:02d}, namespace: load}}\nspec:\n"
            "  requestedFreight:\n  - origin: {kind: Warehouse, name: app}\n"
            "    sources: {direct: true}\n"
            f"  promotionTemplate:\n    spec:\n      steps:\n{steps}"
            "  verification:\n    analysisTemplates: [{name: smoke}]\n"
        )
    return "---\n".join(docs)


def probe_yaml(n: int) -> str:
    """A small resource whose label the watch stream reports back."""
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\n"
        f"metadata: {{name: probe, namespace: load, labels: {{probe: '{n}'}}}}\n"
        "spec:\n  metrics:\n  - name: m\n    provider: {web: {url: 'http://127.0.0.1:9/'}}\n"
    )


class Watcher:
    """A watch stream of analysis templates, and probes applied through the API."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base, self.headers = base, headers
        self.sent: dict[str, float] = {}
        self.committed: dict[str, float] = {}
        self.arrived: dict[str, float] = {}
        self.delays: list[float] = []
        self.recording = False
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._prober = threading.Thread(target=self._probe, daemon=True)
        self._ready = threading.Event()

    def start(self) -> None:
        """Open the stream, then start probing."""
        self._reader.start()
        self._ready.wait(10)
        self._prober.start()

    def stop(self) -> None:
        """Stop probing and reading."""
        self._stop.set()
        self._prober.join(5)

    def _read(self) -> None:
        url = f"{self.base}{API}/watch?project=load&kind=analysistemplates"
        with httpx.stream("GET", url, headers=self.headers, timeout=None) as response:
            self._ready.set()
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if not line.startswith("data: "):
                    continue
                arrived = time.perf_counter()
                body = json.loads(line[6:])
                label = (body["metadata"].get("labels") or {}).get("probe")
                sent = self.sent.pop(label, None) if label else None
                if sent is not None and self.recording:
                    self.delays.append(arrived - sent)
                    self.arrived[label] = arrived

    def after_commit(self) -> list[float]:
        """Delays from each recorded probe's answer (its commit) to its event; then forget them."""
        delays = [
            max(0.0, arrived - self.committed[label])
            for label, arrived in self.arrived.items()
            if label in self.committed
        ]
        self.arrived = {}
        return delays

    def _probe(self) -> None:
        n = 0
        with httpx.Client(headers={**self.headers, "Content-Type": "application/yaml"}) as client:
            while not self._stop.is_set():
                n += 1
                self.sent[str(n)] = time.perf_counter()
                client.post(f"{self.base}{API}/apply", content=probe_yaml(n), timeout=30)
                self.committed[str(n)] = time.perf_counter()
                self._stop.wait(PROBE_EVERY)


def sample_stages(
    base: str, headers: dict[str, str], until: Any, minimum: float = 0.0
) -> list[float]:
    """Latencies of sequential GET /stages until `until()` is true (and `minimum` s passed).

    `until()` is asked every CHECK_EVERY seconds only: it reads the stages too, and asked on
    every round it halved the loaded window's samples.
    """
    latencies: list[float] = []
    start = checked = time.monotonic()
    with httpx.Client(headers=headers, timeout=30) as client:
        while True:
            now = time.monotonic()
            if now - start >= minimum and now - checked >= CHECK_EVERY:
                checked = now
                if until():
                    break
            began = time.perf_counter()
            response = client.get(f"{base}{API}/projects/load/stages")
            latencies.append(time.perf_counter() - began)
            response.raise_for_status()
            time.sleep(0.02)
    return latencies


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def all_verified(client: httpx.Client, base: str, freight: str) -> bool:
    """Whether every stage serves `freight` and its verification ended."""
    stages = client.get(f"{base}{API}/projects/load/stages").json()["items"]
    for stage in stages:
        history = stage.get("status", {}).get("freightHistory") or []
        if not history or history[0]["name"] != freight:
            return False
        runs = history[0].get("verificationHistory") or []
        if not runs or runs[0].get("phase") in ("Pending", "Running"):
            return False
    return True


def new_freight(client: httpx.Client, base: str, repo: Path, n: int, known: set[str]) -> str:
    """Commit, refresh the warehouse, and return the new freight's name."""
    (repo / "version.txt").write_text(f"{n}\n")
    git(repo, "add", "version.txt")
    git(repo, "commit", "-q", "-m", f"version {n}")
    client.post(f"{base}{API}/projects/load/warehouses/app/refresh")

    def found() -> str | None:
        items = client.get(f"{base}{API}/projects/load/freight").json()["items"]
        fresh = [f["metadata"]["name"] for f in items if f["metadata"]["name"] not in known]
        return fresh[0] if fresh else None

    name = str(wait("new freight", found, timeout=60, every=0.2))
    known.add(name)
    return name


def report(label: str, idle: list[float], loaded: list[float]) -> float:
    """Print p50/p99 idle and loaded with the ratios; return the p99 ratio."""
    # An idle figure under 1 ms counts as 1 ms (an event often arrives before the write's answer).
    ratio50 = pct(loaded, 0.5) / max(1.0, pct(idle, 0.5))
    ratio99 = pct(loaded, 0.99) / max(1.0, pct(idle, 0.99))
    print(f"{label}:")
    print(f"  idle:   p50 {pct(idle, 0.5):7.1f} ms  p99 {pct(idle, 0.99):7.1f} ms  ({len(idle)})")
    print(
        f"  loaded: p50 {pct(loaded, 0.5):7.1f} ms  p99 {pct(loaded, 0.99):7.1f} ms  "
        f"({len(loaded)})  max {1000 * max(loaded):.0f} ms"
    )
    print(f"  ratio:  p50 {ratio50:5.2f}x   p99 {ratio99:5.2f}x")
    return ratio99


def main() -> int:
    """Start a server, measure idle, then under load for ROUNDS rounds."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = root / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        (repo / "version.txt").write_text("0\n")
        git(repo, "add", "version.txt")
        git(repo, "commit", "-q", "-m", "version 0")
        checks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Checks)
        threading.Thread(target=checks.serve_forever, daemon=True).start()
        config = root / "kargo"
        config.mkdir()
        checks_url = f"http://127.0.0.1:{checks.server_address[1]}/"
        (config / "pipeline.yaml").write_text(pipeline(repo, checks_url))
        state = root / "state"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "KARGO_CONFIG": str(root / "cli.yaml")}
        argv = [sys.executable, "-m", "kargo.api", "--config", str(config)]
        argv += ["--state-dir", str(state), "--port", str(port)]
        with open(root / "server.log", "wb") as log:
            server = subprocess.Popen(argv, stdout=log, stderr=log, env=env, cwd=ROOT)
        try:
            token_file = state / "admin.token"
            wait("the server", lambda: token_file.exists() and token_file.read_text().strip())
            token = (state / "admin.token").read_text().strip()
            headers = {"Authorization": f"Bearer {token}"}
            client = httpx.Client(headers=headers, timeout=30)
            wait("the API", lambda: answers(f"{base}/healthz"))
            known: set[str] = set()
            wait("freight", lambda: client.get(f"{base}{API}/projects/load/freight").json()[
                "items"], timeout=60)  # fmt: skip
            for item in client.get(f"{base}{API}/projects/load/freight").json()["items"]:
                known.add(item["metadata"]["name"])
            watcher = Watcher(base, headers)
            watcher.start()
            time.sleep(1.0)
            watcher.recording = True
            idle = sample_stages(base, headers, lambda: True, minimum=IDLE_SECONDS)
            idle_delays, watcher.delays = watcher.delays, []
            idle_after = watcher.after_commit()
            loaded_after: list[float] = []
            loaded: list[float] = []
            loaded_delays: list[float] = []
            window = cpu = 0.0
            for round_ in range(ROUNDS):
                watcher.recording = False
                freight = new_freight(client, base, repo, round_ + 1, known)
                watcher.recording = True
                started, cpu_before = time.monotonic(), cpu_seconds(server.pid)
                for i in range(STAGES):
                    answer = client.post(
                        f"{base}{API}/projects/load/promotions",
                        json={"stage": f"s{i:02d}", "freight": freight},
                    )
                    answer.raise_for_status()
                loaded += sample_stages(
                    base, headers, lambda f=freight: all_verified(client, base, f)
                )
                window += time.monotonic() - started
                cpu += cpu_seconds(server.pid) - cpu_before
                loaded_delays += watcher.delays
                watcher.delays = []
                loaded_after += watcher.after_commit()
            watcher.stop()
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            checks.shutdown()
    print(
        f"kargo server on SQLite, {STAGES} stages of 4 shell steps + a 3-measurement verification"
    )
    print(f"  load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    print(f"  loaded window: {window:.1f} s over {ROUNDS} round(s) of {STAGES} promotions")
    print(
        f"  server CPU in the loaded window: {cpu:.1f} s "
        f"({1000 * cpu / (ROUNDS * STAGES):.0f} ms per promotion and its verification)"
    )
    ratio = report("GET /stages", idle, loaded)
    report("watch delay (probe apply sent -> SSE event)", idle_delays, loaded_delays)
    report("watch delay (probe apply committed -> SSE event)", idle_after, loaded_after)
    verdict = "meets" if ratio <= TARGET else "misses"
    print(f"target p99 under load <= {TARGET:.0f}x idle: {verdict} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
