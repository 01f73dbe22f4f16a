"""A whole pipeline on a temporary clone: engine, checks, Prometheus, webhook receiver, free ports.

The clone's kargo/ is rewritten to use free ports, absolute source folders, a short load test and
a test advisory database, then committed, so the real warehouse reads a real repository.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.services import REPO_ROOT, VENV_BIN, free_port, wait_for_http

PROJECT = "planning-poker"
TERMINAL_VERIFICATION = {"Successful", "Failed", "Error", "Inconclusive", "Aborted"}
TERMINAL_PROMOTION = {"Succeeded", "Failed", "Errored", "Aborted"}
GIT_ENV = {
    "GIT_AUTHOR_NAME": "e2e",
    "GIT_AUTHOR_EMAIL": "e2e@localhost",
    "GIT_COMMITTER_NAME": "e2e",
    "GIT_COMMITTER_EMAIL": "e2e@localhost",
}
# A critical advisory for the `packaging` version the development lock pins (copied with its
# hashes from requirements.lock, so the freight's environment builds from the local uv cache).
TEST_ADVISORY_ID = "GHSA-e2e0-test-0001"


@dataclass
class Ports:
    """Every port the pipeline uses, all free (never the defaults)."""

    engine: int = field(default_factory=free_port)
    checks: int = field(default_factory=free_port)
    prometheus: int = field(default_factory=free_port)
    receiver: int = field(default_factory=free_port)
    development: int = field(default_factory=free_port)
    production: int = field(default_factory=free_port)


@dataclass
class Pipeline:
    """A running pipeline and the handles a test needs."""

    repo: Path
    state: Path
    work: Path
    ports: Ports
    token: str
    received: Path
    env: dict[str, str]

    @property
    def engine_url(self) -> str:
        """The engine API."""
        return f"http://127.0.0.1:{self.ports.engine}"

    def url(self, stage: str) -> str:
        """A stage's stable address."""
        return f"http://127.0.0.1:{getattr(self.ports, stage)}"

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API request; fail with the API's message."""
        response = httpx.request(
            method,
            f"{self.engine_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30.0,
        )
        assert response.status_code < 400, f"{method} {path}: {response.text[:500]}"
        return response.json() if response.content else None

    def get(self, plural: str, name: str = "") -> Any:
        """A resource, or the items of a kind."""
        data = self.call(
            "GET", f"/api/v1/projects/{PROJECT}/{plural}" + (f"/{name}" if name else "")
        )
        return data if name else data["items"]

    def commit(self, message: str, files: dict[str, str]) -> str:
        """Write files in the clone, commit them on main, return the commit id."""
        for relative, text in files.items():
            (self.repo / relative).write_text(text)
        git(self.repo, "add", *files)
        git(self.repo, "commit", "-q", "-m", message)
        return git(self.repo, "rev-parse", "HEAD").strip()

    def freight_for(self, commit: str, timeout: float = 60.0) -> dict[str, Any]:
        """Refresh the warehouse until it has freight for the commit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.call("POST", f"/api/v1/projects/{PROJECT}/warehouses/{PROJECT}/refresh")
            for freight in self.get("freight"):
                if freight["commits"][0]["id"] == commit:
                    return dict(freight)
            time.sleep(0.5)
        raise AssertionError(f"no freight for commit {commit} after {timeout:.0f}s")

    def promote(self, stage: str, freight: str, timeout: float = 180.0) -> dict[str, Any]:
        """Promote and wait for the promotion to end; return it."""
        answer = self.call(
            "POST", f"/api/v1/projects/{PROJECT}/promotions", {"stage": stage, "freight": freight}
        )
        name = answer["metadata"]["name"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            promotion = self.get("promotions", name)
            if promotion.get("status", {}).get("phase") in TERMINAL_PROMOTION:
                return dict(promotion)
            time.sleep(0.25)
        raise AssertionError(f"promotion {name} did not end in {timeout:.0f}s")

    def verification(self, stage: str, freight: str, timeout: float = 240.0) -> dict[str, Any]:
        """Wait for the stage's verification of freight to end; return its history entry."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            history = self.get("stages", stage)["status"].get("freightHistory") or []
            if history and history[0]["name"] == freight:
                checks = history[0].get("verificationHistory") or []
                if checks and checks[0].get("phase") in TERMINAL_VERIFICATION:
                    return dict(checks[0])
            time.sleep(0.25)
        raise AssertionError(f"verification of {freight} in {stage} did not end in {timeout:.0f}s")

    def current_freight(self, stage: str) -> str | None:
        """The freight a stage runs."""
        history = self.get("stages", stage)["status"].get("freightHistory") or []
        return str(history[0]["name"]) if history else None

    def wait_current(self, stage: str, freight: str, timeout: float = 180.0) -> None:
        """Wait until the stage runs freight and no promotion of it is running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stage_body = self.get("stages", stage)
            history = stage_body["status"].get("freightHistory") or []
            running = stage_body["status"].get("currentPromotion")
            if history and history[0]["name"] == freight and not running:
                return
            time.sleep(0.25)
        raise AssertionError(f"{stage} does not run {freight} after {timeout:.0f}s")

    def events(self, reason: str) -> list[dict[str, Any]]:
        """The project's events with a reason."""
        items = self.call("GET", f"/api/v1/projects/{PROJECT}/events")["items"]
        return [e for e in items if e["reason"] == reason]

    def deliveries(self) -> list[dict[str, Any]]:
        """What the webhook receiver stored (one line per request it answered)."""
        if not self.received.exists():
            return []
        return [json.loads(line) for line in self.received.read_text().splitlines() if line]


def processes() -> Iterator[tuple[int, list[str]]]:
    """Every process on the machine with its argv (read from /proc)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            yield int(entry.name), argv


def git(repo: Path, *args: str) -> str:
    """Run git in repo; return its output."""
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _replace(path: Path, pairs: list[tuple[str, str]]) -> None:
    text = path.read_text()
    for old, new in pairs:
        assert old in text, f"{path.name}: {old!r} not found"
        text = text.replace(old, new)
    path.write_text(text)


def configure(repo: Path, state: Path, ports: Ports) -> None:
    """Point the clone's kargo/ at free ports and absolute folders; shorten the load test, pause."""
    checks, prometheus = f"127.0.0.1:{ports.checks}", f"127.0.0.1:{ports.prometheus}"
    _replace(
        repo / "kargo" / "stage.yaml",
        [
            ("port: 8101", f"port: {ports.development}"),
            ("port: 8102", f"port: {ports.production}"),
            ("http://127.0.0.1:8101", f"http://127.0.0.1:{ports.development}"),
            ("http://127.0.0.1:8102", f"http://127.0.0.1:{ports.production}"),
            ("127.0.0.1:8090", checks),
            ("127.0.0.1:9090", prometheus),
            (".kargo/stages/", f"{state}/stages/"),
            ("duration: 2s", "duration: 1s"),  # production's canary pause
        ],
    )
    _replace(repo / "kargo" / "webhooks.yaml", [("127.0.0.1:8095", f"127.0.0.1:{ports.receiver}")])
    _replace(
        repo / "kargo" / "analysis-templates" / "load-test.yaml",
        [
            ('- name: users\n      value: "10"', '- name: users\n      value: "4"'),
            ('value: "30"', 'value: "7"'),
            ("initialDelay: 20s", "initialDelay: 7s"),
            ("interval: 10s", "interval: 3s"),
        ],
    )
    git(repo, "commit", "-q", "-am", "e2e: free ports, absolute folders, a short load test")


def advisory_db(target: Path) -> Path:
    """The shipped advisories plus a critical one for the pinned `packaging`."""
    shutil.copytree(REPO_ROOT / "checks" / "advisories", target)
    advisory = {
        "schema_version": "1.6.0",
        "id": TEST_ADVISORY_ID,
        "modified": "2026-01-01T00:00:00Z",
        "published": "2026-01-01T00:00:00Z",
        "summary": "test advisory: packaging 26.4 is critically vulnerable (e2e only)",
        "details": "Made up for the end-to-end test of the security scan.",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "packaging"},
                "versions": [packaging_pin()[0].split("==")[1].rstrip(" \\")],
            }
        ],
        "database_specific": {"severity": "CRITICAL"},
    }
    (target / f"{TEST_ADVISORY_ID}.json").write_text(json.dumps(advisory))
    return target


def packaging_pin() -> list[str]:
    """The lines of requirements.lock that pin `packaging` (with their hashes)."""
    lines = (REPO_ROOT / "requirements.lock").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("packaging=="))
    found = []
    for line in lines[start:]:
        found.append(line)
        if not line.rstrip().endswith("\\"):
            break
    return found


def prometheus_config(path: Path, state: Path) -> Path:
    """A Prometheus config scraping the runtime's targets of this state folder every second."""
    targets = state / "runtime" / "targets.json"
    path.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: planning-poker\n"
        f"    file_sd_configs: [{{files: ['{targets}'], refresh_interval: 1s}}]\n"
        "    relabel_configs: [{source_labels: [component], regex: app, action: keep}]\n"
    )
    return path


@contextmanager
def process(argv: list[str], cwd: Path, env: dict[str, str], log: Path, url: str) -> Iterator[None]:
    """A background process, ready when url answers 200; stopped (its group) on exit."""
    handle = open(log, "ab")
    child = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        try:
            wait_for_http(url, timeout=90)
        except Exception as exc:
            raise AssertionError(f"{argv[0]} did not start: {log.read_text()[-2000:]}") from exc
        yield
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(5)
        handle.close()


@contextmanager
def running_pipeline(root: Path) -> Iterator[Pipeline]:
    """Clone HEAD, configure it, start every service; stop them all (and the runtime) after."""
    repo, state, work, logs = root / "repo", root / "state", root / "work", root / "logs"
    for folder in (state, work, logs):
        folder.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(repo)], check=True)
    git(repo, "checkout", "-q", "-B", "main")
    ports = Ports()
    configure(repo, state, ports)
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "KARGO_CONFIG": str(root / "kargo-cli.yaml"),
        "KARGO_SERVER": f"http://127.0.0.1:{ports.engine}",
        "POKER_CHECKS_ADVISORY_DB": str(advisory_db(root / "advisories")),
        # the engine reads the checks service's token as the templates' secret checks/token
        "KARGO_SECRETS_DIR": str(state / "secrets"),
    }
    env.pop("KARGO_TOKEN", None)
    received = state / "webhooks-received.jsonl"
    with ExitStack() as stack:
        receiver = REPO_ROOT / "deploy" / "local" / "webhook_receiver.py"
        stack.enter_context(
            process(
                [str(VENV_BIN / "python"), str(receiver), "--port", str(ports.receiver)]
                + [
                    "--create-secret",
                    "--secret-file",
                    str(state / "secrets" / "webhook-receiver.secret"),
                ]
                + ["--store", str(received)],
                repo,
                env,
                logs / "receiver.log",
                f"http://127.0.0.1:{ports.receiver}/healthz",
            )
        )
        stack.enter_context(
            process(
                [str(VENV_BIN / "poker-checks"), "serve", "--port", str(ports.checks)]
                + ["--token-file", str(state / "secrets" / "checks" / "token"), "--create-token"]
                + ["--root", str(state / "stages"), "--root", str(state / "work")]
                + ["--targets-file", str(state / "runtime" / "targets.json")]
                + ["--target", f"http://127.0.0.1:{ports.development}"]
                + ["--target", f"http://127.0.0.1:{ports.production}"],
                repo,
                env,
                logs / "checks.log",
                f"http://127.0.0.1:{ports.checks}/healthz",
            )
        )
        stack.enter_context(
            process(
                [
                    shutil.which("prometheus") or "prometheus",
                    f"--config.file={prometheus_config(root / 'prometheus.yml', state)}",
                    f"--storage.tsdb.path={root / 'prometheus'}",
                    f"--web.listen-address=127.0.0.1:{ports.prometheus}",
                ],
                repo,
                env,
                logs / "prometheus.log",
                f"http://127.0.0.1:{ports.prometheus}/-/ready",
            )
        )
        stack.callback(_stop_runtime, state)
        stack.enter_context(
            process(
                [str(VENV_BIN / "kargo"), "server", "--config", str(repo / "kargo")]
                + ["--state-dir", str(state), "--port", str(ports.engine)],
                repo,
                env,
                logs / "engine.log",
                f"http://127.0.0.1:{ports.engine}/healthz",
            )
        )
        token = (state / "admin.token").read_text().strip()
        env["KARGO_TOKEN"] = token
        yield Pipeline(repo, state, work, ports, token, received, env)


def _stop_runtime(state: Path) -> None:
    """Stop the app instances and HAProxy the engine started for this state folder."""
    from kargo.runtime import stop_all

    stop_all(state)
