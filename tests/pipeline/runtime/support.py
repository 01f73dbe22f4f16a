"""Helpers for the local runtime's tests: a real app deploy spec, git repos, a load generator."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from kargo.runtime.deploying import DeploySpec, deploy_blue_green
from kargo.runtime.state import InstanceRecord
from kargo.runtime.steps.deploy import DeployConfig
from kargo.steps.base import FreightCommit, StepContext

from tests.services import REPO_ROOT

VENV = REPO_ROOT / ".venv"


def deploy(state_dir: Path, spec: DeploySpec) -> list[InstanceRecord]:
    """Run a blue/green deploy to completion."""
    return asyncio.run(deploy_blue_green(state_dir, spec))


def poker_spec(stage: str, freight: str, port: int, replicas: int = 1) -> DeploySpec:
    """A deploy of the real Planning Poker app from the repository's .venv."""
    return DeploySpec(
        stage=stage,
        freight=freight,
        commit=freight,
        port=port,
        replicas=replicas,
        argv=["planning-poker"],
        # Two instances starting together would both migrate one SQLite file: migrate once first.
        init_argv=["planning-poker", "migrate"] if replicas > 1 else [],
        env={
            "PORT": "${PORT}",
            "DATABASE_URL": "sqlite:///${STAGE_DIR}/app.db",
            "PLANNING_POKER_COMMIT": "${COMMIT}",
        },
        variables={"COMMIT": freight},
        env_dir=VENV,
        readiness_path="/readyz",
        health_path="/healthz",
        readiness_timeout=30,
        drain_timeout=1,
        stop_timeout=5,
    )


def step_context(
    state_dir: Path, work_dir: Path, stage: str, commit: str, repo: str
) -> StepContext:
    """A promotion's context for a freight carrying one commit."""
    work_dir.mkdir(parents=True, exist_ok=True)
    return StepContext(
        project="test",
        stage=stage,
        promotion=f"{stage}-{commit[:8]}",
        freight=commit[:16],
        freight_alias="tiny-fox",
        commits=[FreightCommit(repo_url=repo, id=commit, branch="main")],
        work_dir=work_dir,
        state_dir=state_dir,
    )


def canary_config(port: int, commit: str, steps: Sequence[object]) -> DeployConfig:
    """The deploy step's config for the real app at `commit`, walking canary `steps`."""
    return DeployConfig.model_validate(
        {
            "port": port,
            "command": ["planning-poker"],
            "env": {
                "PORT": "${PORT}",
                "DATABASE_URL": "sqlite:///${STAGE_DIR}/app.db",
                "PLANNING_POKER_COMMIT": "${COMMIT}",
            },
            "envDir": str(VENV),
            "commit": commit,
            "strategy": {"canary": {"steps": steps}},
        }
    )


def logged(ctx: StepContext) -> list[str]:
    """The lines the step logs through `ctx`, gathered as it runs."""
    lines: list[str] = []

    async def log(line: str) -> None:
        lines.append(line)

    ctx.log = log
    return lines


@dataclass
class LoadReport:
    """What a load generator saw."""

    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Load:
    """Continuous HTTP GETs against a URL from two threads (keep-alive and new connections)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.report = LoadReport()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(True,), daemon=True),
            threading.Thread(target=self._loop, args=(False,), daemon=True),
        ]

    def _loop(self, keep_alive: bool) -> None:
        limits = httpx.Limits(max_keepalive_connections=1 if keep_alive else 0)
        with httpx.Client(timeout=5.0, limits=limits) as client:
            while not self._stop.is_set():
                try:
                    response = client.get(self.url)
                    if response.status_code == 200:
                        self.report.ok += 1
                    else:
                        self.report.failed += 1
                        self.report.errors.append(f"HTTP {response.status_code}")
                except httpx.HTTPError as exc:
                    self.report.failed += 1
                    self.report.errors.append(repr(exc))
                time.sleep(0.01)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)


def git_repo(path: Path, files: dict[str, str]) -> str:
    """A real git repository with one commit of `files` on main; returns the commit id."""
    path.mkdir(parents=True)
    run = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    subprocess.run(["git", "-C", str(path), "add", "."], check=True)
    subprocess.run([*run, "-C", str(path), "commit", "-q", "-m", "first"], check=True)
    return git_commit(path)


def git_commit(path: Path) -> str:
    """The HEAD commit of a repository."""
    result = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    )
    return result.stdout.strip()
