"""make demo / make down: run the whole pipeline on one machine and carry a commit through it.

`up` starts, in the background and surviving make's exit (logs under .kargo/logs/): the webhook
receiver (8095), the checks service (8090), Prometheus (9090) and the engine (8080) with kargo/.
It refreshes the warehouse; when production has no earlier stable freight, production first
runs and verifies the previous app commit (approved for it, see demo_history.py), so that the
guide's rollback has somewhere to go. Then it promotes the newest freight to development, waits
for its verification, then for production (auto-promotion after verification). It is safe to
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import install_cli
from demo_history import discovered_commits, freight_pair, needs_earlier
from kargo.api.contract import FreightView, StageView, Unchanged
from kargo.client import KargoClient, KargoClientError
from kargo.model.analysis import AnalysisRun
from kargo.model.promotion import Promotion
from kargo.model.stage import VerificationInfo

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".kargo"
LOGS = STATE / "logs"
SECRETS = STATE / "secrets"  # $KARGO_SECRETS_DIR of the engine: <name>/<key> files, 0600
PIDS = STATE / "demo-processes.json"
BIN = ROOT / ".venv" / "bin"
ENGINE = "http://127.0.0.1:8080"
PROJECT = "planning-poker"
ADMIN_TOKEN_FILE = "admin.token"  # written by `kargo server` on its first start
WAREHOUSE = "planning-poker"
STAGES = {"development": "http://127.0.0.1:8101", "production": "http://127.0.0.1:8102"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
AUTO_PROMOTION_GRACE = 30.0  # seconds without a promotion before the demo promotes by itself


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
                    str(SECRETS / "webhook-receiver.secret"),
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
            [
                str(BIN / "poker-checks"),
                "serve",
                "--port",
                "8090",
                # the engine reads the same token through the templates' secret reference
                "--token-file",
                str(SECRETS / "checks" / "token"),
                "--create-token",
                # reads only the stages' sources (links into the promotions' work folders)
                "--root",
                str(STATE / "stages"),
                "--root",
                str(STATE / "work"),
                "--targets-file",
                str(STATE / "runtime" / "targets.json"),
            ]
            + [arg for url in STAGES.values() for arg in ("--target", url)],
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
                "--save-token",  # the demo's CLI then works without `kargo login`
            ],
            f"{ENGINE}/healthz",
            timeout=90,
            env={"KARGO_SECRETS_DIR": str(SECRETS)},
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


def private_folder(path: Path) -> None:
    """Create path and its .kargo parents as owner-only folders (0700)."""
    for folder in (STATE, path):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)


def start(service: Service, pids: dict[str, dict[str, Any]]) -> str:
    """Start a service unless ours (or an equivalent) already answers; say what happened."""
    entry = pids.get(service.name)
    if entry and alive(entry) and healthy(service.health):
        return "already running"
    if healthy(service.health):
        return "already answering (not started by this demo)"
    private_folder(LOGS)
    descriptor = os.open(
        LOGS / f"{service.name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
    )
    os.chmod(LOGS / f"{service.name}.log", 0o600)  # logs may carry personal data: owner only
    log = os.fdopen(descriptor, "ab")  # handed to the child, closed below
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


def engine_client() -> KargoClient:
    """The engine's API client, with KARGO_TOKEN or the admin token the engine wrote on start."""
    token = os.environ.get("KARGO_TOKEN", "")
    if not token:
        try:
            token = (STATE / ADMIN_TOKEN_FILE).read_text().strip()
        except OSError:
            token = ""
    return KargoClient(ENGINE, token or None)


def stage(engine: KargoClient, name: str) -> StageView:
    """A stage of the demo's project."""
    return engine.resource(PROJECT, StageView, name)


def newest_freight(engine: KargoClient, timeout: float = 60.0) -> FreightView:
    """Refresh the warehouse and return the freight of its newest commit."""
    engine.refresh_warehouse(PROJECT, WAREHOUSE)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        freight = engine.resources(PROJECT, FreightView)
        commits = discovered_commits(engine, PROJECT, WAREHOUSE)
        newest = [f for f in freight if commits and commits[0].id in {c.id for c in f.commits}]
        if newest:
            return newest[0]
        if freight and not commits:
            return max(freight, key=lambda f: f.discovered_at or EPOCH)
        time.sleep(1)
    raise KargoClientError(f"the warehouse found no freight in {timeout:.0f}s")


def promote(engine: KargoClient, stage_name: str, freight: str, timeout: float = 600.0) -> str:
    """Promote freight to a stage and wait for the promotion's end; return its phase."""
    answer = engine.promote(PROJECT, stage_name, freight)
    if isinstance(answer, Unchanged):
        return "Succeeded (already running that freight)"
    print(f"  promotion {answer.name} created; waiting (kargo logs promotion {answer.name})")
    return wait_promotion(engine, answer.name, timeout)


def wait_promotion(engine: KargoClient, name: str, timeout: float) -> str:
    """Wait until a promotion ends; return its phase and message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = engine.resource(PROJECT, Promotion, name).status
        if status.phase.is_terminal():
            return status.phase + (f": {status.message}" if status.message else "")
        time.sleep(1)
    return f"still running after {timeout:.0f}s"


def verification_of(engine: KargoClient, stage_name: str, freight: str) -> VerificationInfo | None:
    """The newest verification of freight in the stage, while the stage runs it."""
    current = stage(engine, stage_name).status.current_freight
    if current is None or current.name != freight or not current.verification_history:
        return None
    return current.verification_history[0]


def wait_verification(engine: KargoClient, stage_name: str, freight: str, timeout: float) -> str:
    """Wait for the stage's verification of freight; return its phase."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        verification = verification_of(engine, stage_name, freight)
        if verification is not None and verification.phase.is_terminal():
            message = verification.message
            return verification.phase + (f": {message}" if message else "")
        time.sleep(2)
    return f"not finished after {timeout:.0f}s"


def print_measurements(engine: KargoClient, stage_name: str, freight: str) -> None:
    """Each template's phase and each metric's last measurement of the stage's verification."""
    verification = verification_of(engine, stage_name, freight)
    if verification is None or verification.analysis_run is None:
        return
    run_name = verification.analysis_run.name
    run = engine.resource(PROJECT, AnalysisRun, run_name)
    print(f"  analysis run {run_name} (kargo describe analysisrun {run_name})")
    templates: dict[str, list[str]] = {}
    phases: dict[str, set[str]] = {}
    for metric in run.status.metric_results:
        template = metric.template or "-"
        templates.setdefault(template, []).append(f"{metric.name}={brief(metric.latest_value)}")
        phases.setdefault(template, set()).add(metric.phase)
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


def wait_stage_freight(engine: KargoClient, stage_name: str, freight: str, timeout: float) -> bool:
    """Wait until a stage runs `freight` (auto-promoted, else promoted here after a grace time)."""
    deadline = time.monotonic() + timeout
    idle_since = time.monotonic()
    while time.monotonic() < deadline:
        status = stage(engine, stage_name).status
        current = status.current_freight
        if current and current.name == freight and status.current_promotion is None:
            return True
        if status.current_promotion is not None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > AUTO_PROMOTION_GRACE:
            # freight is auto-promoted once per stage: a demo run again promotes it itself
            print(f"  {stage_name}: no automatic promotion; promoting it")
            return promote(engine, stage_name, freight).startswith("Succeeded")
        time.sleep(2)
    return False


def deliver(engine: KargoClient, freight: FreightView, problems: list[str]) -> None:
    """Promote freight to development, verify it there, and wait until production runs it."""
    print(f"demo: promoting {freight.alias} to development")
    phase = promote(engine, "development", freight.name)
    print(f"  development: {phase}")
    if not phase.startswith("Succeeded"):
        problems.append(f"promotion to development: {phase}")
    elif stage(engine, "development").spec.verification:
        print("demo: verifying development (smoke tests, security scan, load test)")
        verdict = wait_verification(engine, "development", freight.name, 900)
        print(f"  verification: {shorten(verdict)}")
        print_measurements(engine, "development", freight.name)
        if not verdict.startswith("Successful"):
            problems.append(f"verification of development: {verdict}")
        else:
            print("demo: waiting for production's automatic promotion")
            if wait_stage_freight(engine, "production", freight.name, 600):
                print("  production: runs it")
            else:
                problems.append("production did not take the freight within 10 minutes")
    else:
        problems.append("development has no verification: production waits")


def deliver_earlier(
    engine: KargoClient, previous: FreightView, later: FreightView, problems: list[str]
) -> None:
    """Let production run and verify an earlier freight first (a rollback target)."""
    production = stage(engine, "production")
    current = production.status.current_freight
    if not needs_earlier(production) or (current is not None and current.name != later.name):
        return  # production has a stable freight to return to, or gets one with the later
    commit = previous.commits[0].id[:12] if previous.commits else ""
    print(f"demo: production first runs the earlier commit {commit} ({previous.alias}),")
    print("  approved for it, so that `kargo rollback` has a freight to return to")
    engine.approve(PROJECT, previous.name, "production")
    if not wait_stage_freight(engine, "production", previous.name, 600):
        problems.append(f"production did not take {previous.alias} within 10 minutes")
        return
    verdict = wait_verification(engine, "production", previous.name, 900)
    print(f"  production verification: {shorten(verdict)}")
    if not verdict.startswith("Successful"):
        problems.append(f"verification of {previous.alias} in production: {verdict}")


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
    os.umask(0o077)  # what the services write under .kargo/ (logs, webhooks, data) is owner-only
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

    engine = engine_client()
    try:
        freight = newest_freight(engine)
        commit = freight.commits[0].id[:12] if freight.commits else ""
        print(f"demo: newest freight {freight.name} {freight.alias} (commit {commit})")
        pair = freight_pair(engine, PROJECT, WAREHOUSE, freight, ROOT)
        if pair is None:
            problems.append("no second commit to deliver first: `kargo rollback` needs one")
        else:
            deliver_earlier(engine, pair[0], pair[1], problems)
            freight = pair[1]
        deliver(engine, freight, problems)
    except KargoClientError as exc:
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


def summary(engine: KargoClient, problems: list[str]) -> None:
    """Print where things are and what failed."""
    print("\nPlanning Poker:")
    for name, url in STAGES.items():
        try:
            current = stage(engine, name).status.current_freight
            runs = f"{current.name} {current.alias}" if current else "no freight yet"
        except KargoClientError as exc:
            runs = f"unknown ({exc})"
        print(f"  {name:12} {url}  freight: {runs}; {version_of(url)}")
    print(f"\nDashboard {ENGINE}/ui/ (sign in with the token in .kargo/admin.token)")
    print(f"Engine API {ENGINE} (kargo get stages), checks http://127.0.0.1:8090,")
    print("Prometheus http://127.0.0.1:9090, webhooks received http://127.0.0.1:8095/")
    print(
        "\nNext, in a new shell: kargo get promotion planning-poker, and the guide's other commands"
        "\n(scripts/guide_commands.sh runs them all). Production ran an earlier commit first,"
        "\nso `kargo rollback planning-poker --to development` returns production to it."
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
