"""Benchmark: the deploy step's time divided by the bare time for the app to start and be ready.

Both sides run the same Planning Poker environment (built once from app/requirements.lock, so the
cache is warm) in this process, interleaved, and the medians are compared. The deploy side is a
whole blue/green deploy through the real runtime: start, /readyz, switch HAProxy, drain and stop
the previous version. Target: ratio <= 1.5.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from kargo.runtime import stop_all
from kargo.runtime.deploying import DeploySpec, deploy_blue_green
from kargo.runtime.environments import build_environment
from kargo.runtime.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TARGET = 1.5


def wait_ready(url: str, timeout: float = 60.0) -> None:
    """Poll url until it answers 200 (one client, 50 ms apart: as the runtime polls)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise TimeoutError(url)


def bare_start(env_dir: Path, data: Path) -> float:
    """Seconds from exec to /readyz 200 for the app alone."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": f"sqlite:///{data}/bare.db"}
    started = time.monotonic()
    process = subprocess.Popen(
        [str(env_dir / "bin" / "planning-poker")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        return time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=20)


def deploy_once(state: Path, env_dir: Path, port: int, freight: str) -> float:
    """Seconds for one blue/green deploy of the app."""
    spec = DeploySpec(
        stage="bench",
        freight=freight,
        commit=freight,
        port=port,
        replicas=1,
        argv=["planning-poker"],
        env={"PORT": "${PORT}", "DATABASE_URL": "sqlite:///${STAGE_DIR}/app.db"},
        env_dir=env_dir,
        readiness_path="/readyz",
        health_path="/healthz",
        drain_timeout=3.0,
    )
    started = time.monotonic()
    asyncio.run(deploy_blue_green(state, spec))
    return time.monotonic() - started


def main() -> int:
    """Measure, print, and fail when the ratio misses the target."""
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as folder:
        state = Path(folder) / "state"
        data = Path(folder) / "bare"
        data.mkdir(parents=True)
        built = asyncio.run(
            build_environment(
                state,
                "bench",
                ROOT / "app",
                ROOT / "app" / "requirements.lock",
                f"{sys.version_info.major}.{sys.version_info.minor}",
            )
        )
        print(f"environment: {built.path} ({'cached' if built.cached else 'built once'})")
        port = free_port()
        try:
            deploy_once(state, built.path, port, "warmup")
            bare, deploy = [], []
            for round_ in range(ROUNDS):
                bare.append(bare_start(built.path, data))
                deploy.append(deploy_once(state, built.path, port, f"freight-{round_}"))
                print(f"round {round_ + 1}: bare {bare[-1]:.2f}s, deploy {deploy[-1]:.2f}s")
        finally:
            stop_all(state)
    ratio = statistics.median(deploy) / statistics.median(bare)
    print(
        f"median bare start-to-ready {statistics.median(bare):.2f}s, "
        f"median deploy {statistics.median(deploy):.2f}s, ratio {ratio:.2f} (target <= {TARGET})"
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
