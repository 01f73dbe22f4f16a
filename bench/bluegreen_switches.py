"""Benchmark: failed requests during 20 blue/green switches under HTTP load with open WebSockets.

The real runtime deploys the real Planning Poker app (from the repository's .venv) behind HAProxy,
then switches versions 20 times while two threads send GETs continuously and several WebSocket
clients stay in a room, reconnecting by themselves when their instance goes away (as the browser
does). Target: 0 failed HTTP requests, and every WebSocket connected again at the end.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from kargo.runtime import stop_all
from kargo.runtime.deploying import DeploySpec, deploy_blue_green
from kargo.runtime.processes import free_port
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent
SWITCHES = int(os.environ.get("BENCH_SWITCHES", "20"))
SOCKETS = int(os.environ.get("BENCH_SOCKETS", "5"))


@dataclass
class Tally:
    """What the clients saw."""

    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, success: bool, error: str = "") -> None:
        """Count one request."""
        with self.lock:
            if success:
                self.ok += 1
            else:
                self.failed += 1
                self.errors.append(error)


def http_load(url: str, tally: Tally, stop: threading.Event, keep_alive: bool) -> None:
    """GET url until stopped."""
    limits = httpx.Limits(max_keepalive_connections=1 if keep_alive else 0)
    with httpx.Client(timeout=10.0, limits=limits) as client:
        while not stop.is_set():
            try:
                response = client.get(url)
                tally.add(response.status_code == 200, f"HTTP {response.status_code}")
            except httpx.HTTPError as exc:
                tally.add(False, repr(exc))
            time.sleep(0.005)  # continuous, but leaves the shared CPUs some air


@dataclass
class Socket:
    """One WebSocket participant that reconnects by itself."""

    connects: int = 0
    connected: bool = False
    failures: list[str] = field(default_factory=list)


def socket_client(url: str, state: Socket, stop: threading.Event) -> None:
    """Stay connected to the room; reconnect (with a short back-off) whenever it drops."""
    while not stop.is_set():
        try:
            with connect(url, open_timeout=5, close_timeout=1) as ws:
                ws.recv(timeout=5)  # the room state on connect
                state.connects += 1
                state.connected = True
                while not stop.is_set():
                    ws.send('{"type": "ping"}')
                    ws.recv(timeout=5)
                    time.sleep(0.2)
        except (WebSocketException, OSError, TimeoutError) as exc:
            state.connected = False
            state.failures.append(type(exc).__name__)
            time.sleep(0.1)
    state.connected = state.connected and stop.is_set()


def spec(port: int, freight: str) -> DeploySpec:
    """A blue/green deploy of the app from the repository's environment."""
    return DeploySpec(
        stage="bench",
        freight=freight,
        commit=freight,
        port=port,
        replicas=1,
        argv=["planning-poker"],
        env={"PORT": "${PORT}", "DATABASE_URL": "sqlite:///${STAGE_DIR}/app.db"},
        env_dir=ROOT / ".venv",
        readiness_path="/readyz",
        health_path="/healthz",
        drain_timeout=1.0,
    )


def main() -> int:
    """Switch SWITCHES times under load; print the figures; fail when a request failed."""
    with tempfile.TemporaryDirectory(prefix="bench-bluegreen-") as folder:
        state = Path(folder)
        port = free_port()
        base = f"127.0.0.1:{port}"
        tally, stop = Tally(), threading.Event()
        sockets = [Socket() for _ in range(SOCKETS)]
        try:
            asyncio.run(deploy_blue_green(state, spec(port, "freight-0")))
            room = httpx.post(
                f"http://{base}/api/rooms",
                json={"name": "bench", "deck": "fibonacci", "facilitatorName": "bench"},
            ).json()
            threads = [
                threading.Thread(target=http_load, args=(f"http://{base}/healthz", tally, stop, k))
                for k in (True, False)
            ]
            for number, socket in enumerate(sockets):
                joined = httpx.post(
                    f"http://{base}/api/rooms/{room['id']}/participants",
                    json={"name": f"voter {number}", "role": "voter"},  # names are unique in a room
                ).json()
                url = f"ws://{base}/ws/rooms/{room['id']}?token={joined['token']}"
                threads.append(threading.Thread(target=socket_client, args=(url, socket, stop)))
            for thread in threads:
                thread.start()
            time.sleep(1)
            started = time.monotonic()
            for switch in range(1, SWITCHES + 1):
                asyncio.run(deploy_blue_green(state, spec(port, f"freight-{switch}")))
            elapsed = time.monotonic() - started
            time.sleep(2)  # let the last reconnects happen
            reconnected = sum(socket.connected for socket in sockets)
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
        finally:
            stop.set()
            stop_all(state)
    total = tally.ok + tally.failed
    print(
        f"{SWITCHES} switches in {elapsed:.1f}s: {tally.failed} failed HTTP requests out of "
        f"{total} ({tally.ok} ok); WebSockets: {reconnected}/{SOCKETS} connected at the end, "
        f"{sum(s.connects for s in sockets)} connects in all (target: 0 failed, all connected)"
    )
    if tally.errors:
        print("first errors:", tally.errors[:5])
    return 0 if tally.failed == 0 and reconnected == SOCKETS else 1


if __name__ == "__main__":
    sys.exit(main())
