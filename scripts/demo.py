"""make demo / make down: run the whole pipeline on one machine and carry a commit through it.

`up` starts, in the background and surviving make's exit (logs under .kargo/logs/): the webhook
receiver (8095), the checks service (8090), Prometheus (9090) and the engine (8080) with kargo/.
It refreshes the warehouse, promotes the newest freight to development, waits for it, then waits
for production (auto-promotion after verification) when the stages are verified. It is safe to
run again: what already runs is reused. `down` stops what `up` started, then the runtime's app
instances and HAProxy. Every failure is reported as such; the exit code is non-zero when
development does not end up serving the freight.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import install_cli

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".kargo"
LOGS = STATE / "logs"
PIDS = STATE / "demo-processes.json"
BIN = ROOT / ".venv" / "bin"
ENGINE = "http://127.0.0.1:8080"
PROJECT = "planning-poker"
ADMIN_TOKEN_FILE = "admin.token"  # written by `kargo server` on its first start
WAREHOUSE = "planning-poker"
STAGES = {"development": "http://127.0.0.1:8101", "production": "http://127.0.0.1:8102"}
TERMINAL = {"Succeeded", "Failed", "Errored", "Aborted"}
VERIFIED_TERMINAL = {"Successful", "Failed", "Error", "Inconclusive", "Aborted"}


@dataclass
class Service:
    """A background process of the demo."""

    name: str
    argv: list[str]
    health: str
    timeout: float = 60.0
    optional: bool = False
    env: dict[str, str] = field(default_factory=dict)


def services() -> list[Service]:
    """What `make demo` runs, in start order (the engine last: it needs the others)."""
    found: list[Service] = []
    receiver = ROOT / "deploy" / "local" / "webhook_receiver.py"
    if receiver.exists():
        found.append(
            Service(
                "webhook-receiver",
                [
                    str(BIN / "python"),
                    str(receiver),
                    "--port",
                    "8095",
                    "--create-secret",
                    "--secret-file",
                    str(STATE / "webhook-receiver.secret"),
                    "--store",
                    str(STATE / "webhooks-received.jsonl"),
                ],
                "http://127.0.0.1:8095/healthz",
                optional=True,
            )
        )
    found.append(
        Service(
            "checks",
            [str(BIN / "poker-checks"), "serve", "--port", "8090"],
            "http://127.0.0.1:8090/healthz",
            optional=True,
        )
    )
    prometheus = shutil.which("prometheus")
    if prometheus:
        found.append(
            Service(
                "prometheus",
                [
                    prometheus,
                    f"--config.file={ROOT / 'deploy' / 'local' / 'prometheus.yml'}",
                    f"--storage.tsdb.path={STATE / 'prometheus'}",
                    "--web.listen-address=127.0.0.1:9090",
                    "--storage.tsdb.retention.time=2d",
                ],
                "http://127.0.0.1:9090/-/ready",
                optional=True,
            )
        )
    found.append(
        Service(
            "engine",
            [
                str(BIN / "kargo"),
                "server",
                "--config",
                str(ROOT / "kargo"),
                "--state-dir",
                str(STATE),
                "--port",
                "8080",
            ],
            f"{ENGINE}/healthz",
            timeout=90,
        )
    )
    return found


def load_pids() -> dict[str, dict[str, Any]]:
    """The processes a previous `up` started."""
    try:
        data: dict[str, dict[str, Any]] = json.loads(PIDS.read_text())
        return data
    except (OSError, ValueError):
        return {}


def start_time(pid: int) -> int | None:
    """The kernel start time of a live process (guards against pid reuse)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else int(fields[19])


def alive(entry: dict[str, Any]) -> bool:
    """Whether a recorded process still runs."""
    return start_time(int(entry["pid"])) == entry.get("start")


def healthy(url: str) -> bool:
    """Whether url answers 200."""
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def start(service: Service, pids: dict[str, dict[str, Any]]) -> str:
    """Start a service unless ours (or an equivalent) already answers; say what happened."""
    entry = pids.get(service.name)
    if entry and alive(entry) and healthy(service.health):
        return "already running"
    if healthy(service.health):
        return "already answering (not started by this demo)"
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{service.name}.log", "ab")  # handed to the child, closed below
    process = subprocess.Popen(
        service.argv,
        cwd=ROOT,
        env={**os.environ, **service.env},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    pids[service.name] = {
        "pid": process.pid,
        "start": start_time(process.pid),
        "argv": service.argv,
    }
    PIDS.write_text(json.dumps(pids, indent=2))
    deadline = time.monotonic() + service.timeout
    while time.monotonic() < deadline:
        if healthy(service.health):
            return f"started (pid {process.pid})"
        if process.poll() is not None:
            raise RuntimeError(
                f"{service.name} exited with {process.returncode}; see {LOGS / service.name}.log"
            )
        time.sleep(0.3)
    raise RuntimeError(f"{service.name} did not answer {service.health} in {service.timeout:.0f}s")


class Engine:
    """The engine's REST API (docs/api.md)."""

    def __init__(self) -> None:
        self.http = httpx.Client(base_url=ENGINE, timeout=30.0)

    def headers(self) -> dict[str, str]:
        """The bearer token: KARGO_TOKEN, else the admin token the engine wrote on first start."""
        token = os.environ.get("KARGO_TOKEN", "")
        if not token:
            try:
                token = (STATE / ADMIN_TOKEN_FILE).read_text().strip()
            except OSError:
                return {}
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One request; raise RuntimeError with the API's own message on failure."""
        try:
            response = self.http.request(method, path, json=body, headers=self.headers())
        except httpx.HTTPError as exc:
            raise RuntimeError(f"engine API {method} {path}: {exc}") from exc
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:300]
            raise RuntimeError(f"engine API {method} {path}: {response.status_code} {message}")
        return response.json() if response.content else None

    def items(self, kind: str) -> list[dict[str, Any]]:
        """A list of resources of the project."""
        data = self.call("GET", f"/api/v1/projects/{PROJECT}/{kind}")
        return list(data.get("items", data) if isinstance(data, dict) else data)

    def get(self, kind: str, name: str) -> dict[str, Any]:
        """One resource."""
        return dict(self.call("GET", f"/api/v1/projects/{PROJECT}/{kind}/{name}"))


def newest_freight(engine: Engine, timeout: float = 60.0) -> dict[str, Any]:
    """Refresh the warehouse and return its newest freight."""
    engine.call("POST", f"/api/v1/projects/{PROJECT}/warehouses/{WAREHOUSE}/refresh")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        freight = engine.items("freight")
        if freight:
            return max(freight, key=lambda f: f["metadata"].get("creationTimestamp") or "")
        time.sleep(1)
    raise RuntimeError(f"the warehouse found no freight in {timeout:.0f}s")


def current_freight(stage: dict[str, Any]) -> dict[str, Any] | None:
    """The freight a stage runs, from its status."""
    history = stage.get("status", {}).get("freightHistory") or []
    return history[0] if history else None


def promote(engine: Engine, stage: str, freight: str, timeout: float = 600.0) -> str:
    """Promote freight to stage and wait for the promotion's end; return its phase."""
    answer = engine.call(
        "POST", f"/api/v1/projects/{PROJECT}/promotions", {"stage": stage, "freight": freight}
    )
    if answer.get("unchanged"):
        return "Succeeded (already running that freight)"
    name = answer["metadata"]["name"]
    print(f"  promotion {name} created; waiting (kargo logs promotion {name})")
    return wait_promotion(engine, name, timeout)


def wait_promotion(engine: Engine, name: str, timeout: float) -> str:
    """Wait until a promotion ends; return its phase and message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = engine.get("promotions", name).get("status", {})
        if status.get("phase") in TERMINAL:
            message = status.get("message", "")
            return f"{status['phase']}" + (f": {message}" if message else "")
        time.sleep(1)
    return f"still running after {timeout:.0f}s"


def wait_verification(engine: Engine, stage: str, freight: str, timeout: float) -> str:
    """Wait for the stage's verification of freight; return its phase."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = current_freight(engine.get("stages", stage))
        if current and current.get("name") == freight:
            history = current.get("verificationHistory") or []
            if history and history[0].get("phase") in VERIFIED_TERMINAL:
                message = history[0].get("message", "")
                return str(history[0]["phase"]) + (f": {message}" if message else "")
        time.sleep(2)
    return f"not finished after {timeout:.0f}s"


def print_measurements(engine: Engine, stage: str) -> None:
    """Each template's phase and each metric's last measurement of the stage's verification."""
    current = current_freight(engine.get("stages", stage)) or {}
    history = current.get("verificationHistory") or [{}]
    run_name = (history[0].get("analysisRun") or {}).get("name")
    if not run_name:
        return
    run = engine.get("analysisruns", run_name)
    print(f"  analysis run {run_name} (kargo describe analysisrun {run_name})")
    templates: dict[str, list[str]] = {}
    phases: dict[str, set[str]] = {}
    for metric in run.get("status", {}).get("metricResults") or []:
        template = metric.get("template") or "-"
        measurements = metric.get("measurements") or [{}]
        value = brief(measurements[-1].get("value"))
        templates.setdefault(template, []).append(f"{metric['name']}={value}")
        phases.setdefault(template, set()).add(str(metric.get("phase")))
    for template, metrics in templates.items():
        phase = "/".join(sorted(phases[template]))
        print(f"    {template:14} {phase:11} " + shorten(", ".join(metrics), 160))


def brief(value: Any) -> str:
    """A measurement in a few characters: numbers rounded, check lists counted."""
    if isinstance(value, float):
        return f"{value:.3g}"
    if (
        isinstance(value, dict)
        and "critical" not in value
        and isinstance(value.get("checks"), list)
    ):
        value = value["checks"]
    if isinstance(value, list) and all(isinstance(v, dict) and "passed" in v for v in value):
        passed = sum(1 for v in value if v["passed"])
        return f"{passed}/{len(value)} checks passed"
    if isinstance(value, dict):
        keys = ("critical", "p95_ms", "requests", "error_rate", "passed")
        return " ".join(f"{k}:{brief(value[k])}" for k in keys if k in value) or "{...}"
    return str(value)


def wait_stage_freight(engine: Engine, stage: str, freight: str, timeout: float) -> bool:
    """Wait until a stage's current freight is `freight` and its last promotion ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = engine.get("stages", stage)
        current = current_freight(data)
        running = data.get("status", {}).get("currentPromotion")
        if current and current.get("name") == freight and not running:
            return True
        time.sleep(2)
    return False


def version_of(url: str) -> str:
    """What a stage's /version says, or why it said nothing."""
    try:
        response = httpx.get(f"{url}/version", timeout=3.0)
        data = response.json()
        return f"version {data.get('version')} commit {str(data.get('commit'))[:12]}"
    except (httpx.HTTPError, ValueError) as exc:
        return f"not answering ({type(exc).__name__})"


def restore_stages() -> list[str]:
    """Before the engine starts: bring back stages whose instances are gone (after make down)."""
    from kargo.runtime import restore

    try:
        outcome = asyncio.run(restore(STATE))
    except Exception as exc:  # report, never hide, whatever stopped the runtime
        return [f"could not restore the stages: {exc}"]
    for stage, what in outcome.items():
        print(f"  {stage:17} {what}")
    return [f"{stage}: {what}" for stage, what in outcome.items() if what.startswith("not")]


def up() -> int:
    """Start everything and carry the newest freight through the pipeline."""
    STATE.mkdir(exist_ok=True)
    problems: list[str] = []
    pids = load_pids()
    print("demo: the kargo command (KARGO_NO_MODIFY_PATH=1 leaves the shell's PATH alone)")
    install_cli.main()
    print("demo: starting services (logs in .kargo/logs/)")
    for service in services():
        if service.name == "engine" and not healthy(service.health):
            problems += restore_stages()
        try:
            print(f"  {service.name:17} {start(service, pids)}")
        except RuntimeError as exc:
            print(f"  {service.name:17} FAILED: {exc}")
            if not service.optional:
                print("demo: the engine is not running, so nothing can be promoted.")
                return 1
            problems.append(str(exc))
    if not shutil.which("prometheus"):
        problems.append("prometheus is not installed: the load test's metrics will be missing")

    engine = Engine()
    try:
        freight = newest_freight(engine)
        name, alias = freight["metadata"]["name"], freight.get("alias", "")
        commits = freight.get("commits") or [{}]
        commit = str(commits[0].get("id", ""))[:12]
        print(f"demo: newest freight {name} {alias} (commit {commit})")
        print("demo: promoting it to development")
        phase = promote(engine, "development", name)
        print(f"  development: {phase}")
        if not phase.startswith("Succeeded"):
            problems.append(f"promotion to development: {phase}")
        elif engine.get("stages", "development")["spec"].get("verification"):
            print("demo: verifying development (smoke tests, security scan, load test)")
            verdict = wait_verification(engine, "development", name, 900)
            print(f"  verification: {shorten(verdict)}")
            print_measurements(engine, "development")
            if not verdict.startswith("Successful"):
                problems.append(f"verification of development: {verdict}")
            else:
                print("demo: waiting for production's automatic promotion")
                if wait_stage_freight(engine, "production", name, 600):
                    print("  production: runs it")
                else:
                    problems.append("production did not take the freight within 10 minutes")
        else:
            problems.append("development has no verification: production waits")
    except RuntimeError as exc:
        problems.append(str(exc))

    summary(engine, problems)
    serving = httpx_ok(f"{STAGES['development']}/healthz")
    return 0 if serving and not any("development" in p for p in problems) else 1


def httpx_ok(url: str) -> bool:
    """Whether url answers 200 (for the exit code)."""
    return healthy(url)


def shorten(text: str, limit: int = 240) -> str:
    """One line of at most `limit` characters (verification messages carry whole results)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def summary(engine: Engine, problems: list[str]) -> None:
    """Print where things are and what failed."""
    print("\nPlanning Poker:")
    for stage, url in STAGES.items():
        try:
            current = current_freight(engine.get("stages", stage))
            runs = f"{current['name']} {current.get('alias', '')}" if current else "no freight yet"
        except RuntimeError as exc:
            runs = f"unknown ({exc})"
        print(f"  {stage:12} {url}  freight: {runs}; {version_of(url)}")
    print(f"\nDashboard {ENGINE}/ui/ (sign in with the token in .kargo/admin.token)")
    print(f"Engine API {ENGINE} (kargo get stages), checks http://127.0.0.1:8090,")
    print("Prometheus http://127.0.0.1:9090, webhooks received http://127.0.0.1:8095/")
    print(
        "\nNext, in a new shell: kargo get promotion planning-poker, and the guide's other commands"
        "\n(scripts/guide_commands.sh runs them all). A rollback needs"
        "\nan earlier stable freight: commit a change under app/, let it reach production"
        "\n(kargo get stage production), then: kargo rollback planning-poker --to development"
    )
    if problems:
        print("\nWhat did not work:")
        for problem in problems:
            print(f"  - {shorten(problem)}")
    print("\nStop everything with: make down")


def down() -> int:
    """Stop what `up` started, then the runtime's instances and HAProxy."""
    pids = load_pids()
    for name in ["engine", *[n for n in pids if n != "engine"]]:
        entry = pids.get(name)
        if not entry or not alive(entry):
            continue
        pid = int(entry["pid"])
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while alive(entry) and time.monotonic() < deadline:
            time.sleep(0.1)
        if alive(entry):
            os.kill(pid, signal.SIGKILL)
        print(f"demo: stopped {name} (pid {pid})")
    PIDS.unlink(missing_ok=True)
    try:
        from kargo.runtime import stop_all

        stopped = stop_all(STATE)
        print(f"demo: stopped {stopped} app instance(s) and the router")
    except Exception as exc:  # report, never hide, whatever stopped the runtime
        print(f"demo: could not stop the runtime: {exc}")
        return 1
    return 0


def main() -> int:
    """Dispatch up/down."""
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    if command == "down":
        return down()
    if command == "up":
        return up()
    print("usage: demo.py up|down", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
