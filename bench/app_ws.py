"""Benchmark: vote-to-broadcast latency and votes per second over WebSockets on loopback.

Starts the real Planning Poker server (the repository's .venv, SQLite in a temporary directory)
unless --url is given, creates --rooms rooms with --participants people each, connects every
participant's WebSocket, and then:

1. paced phase: each room casts --rate votes a second (rotating voters); for every vote it
   measures the time until each of the other participants has received the new state;
2. saturation phase: each room votes again as soon as the previous vote reached everybody,
   which gives the votes per second the server sustains.

Target on the 2-core machine: 1,000 concurrent participants with broadcast p95 under 50 ms.
Rerun: `.venv/bin/python bench/app_ws.py` (about a minute); scale down with e.g.
`--rooms 10 --participants 5 --duration 5 --saturate 3`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
WAIT_SECONDS = 10.0
STATE_PREFIX = '{"type": "state"'
VERSION = re.compile(r'"version": (\d+)')


@dataclass
class Participant:
    """One WebSocket and the room versions it has received, with their arrival times."""

    token: str
    socket: ClientConnection | None = None
    arrivals: dict[int, float] = field(default_factory=dict)
    latest: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        """Note when each state version arrives."""
        assert self.socket is not None
        async for raw in self.socket:
            now = time.perf_counter()
            # A regex instead of json.loads keeps the client's CPU for the sockets.
            if not isinstance(raw, str) or not raw.startswith(STATE_PREFIX):
                continue
            found = VERSION.search(raw)
            if found:
                version = int(found.group(1))
                self.arrivals[version] = now
                self.latest = max(self.latest, version)
                self.changed.set()

    async def wait_for(self, version: int) -> float | None:
        """When this participant received the given version, or None after a timeout."""
        deadline = time.perf_counter() + WAIT_SECONDS
        while self.latest < version:
            self.changed.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)
        return self.arrivals.get(version, self.arrivals[self.latest])


@dataclass
class Room:
    """A room and its participants; votes rotate through them."""

    id: str
    deck: list[str]
    people: list[Participant]
    turn: int = 0

    async def vote_once(self, latencies: list[float]) -> bool:
        """Cast one vote and record how long each other participant took to see it."""
        voter = self.people[self.turn % len(self.people)]
        self.turn += 1
        target = max(p.latest for p in self.people) + 1
        card = self.deck[self.turn % (len(self.deck) - 1)]
        started = time.perf_counter()
        assert voter.socket is not None
        await voter.socket.send(json.dumps({"type": "vote", "card": card}))
        arrivals = await asyncio.gather(
            *(p.wait_for(target) for p in self.people if p is not voter)
        )
        if any(a is None for a in arrivals):
            return False
        latencies.extend(a - started for a in arrivals if a is not None)
        return True


async def make_rooms(base: str, rooms: int, participants: int) -> list[Room]:
    """Create the rooms and join everybody through the HTTP API."""
    limit = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def make_room(index: int) -> Room:
            async with limit:
                created = (
                    await client.post(
                        "/api/rooms", json={"name": f"Bench {index}", "facilitatorName": "F"}
                    )
                ).json()
            people = [Participant(created["token"])]
            for number in range(participants - 1):
                async with limit:
                    joined = await client.post(
                        f"/api/rooms/{created['id']}/participants", json={"name": f"P{number}"}
                    )
                people.append(Participant(joined.json()["token"]))
            state = (await client.get(f"/api/rooms/{created['id']}")).json()
            return Room(created["id"], [c for c in state["deck"] if c != "?"], people)

        return list(await asyncio.gather(*(make_room(i) for i in range(rooms))))


async def connect_all(ws_base: str, rooms: list[Room]) -> list[asyncio.Task[None]]:
    """Open every participant's WebSocket and start reading."""
    limit = asyncio.Semaphore(50)
    readers: list[asyncio.Task[None]] = []

    async def open_one(room: Room, person: Participant) -> None:
        async with limit:
            person.socket = await connect(
                f"{ws_base}/ws/rooms/{room.id}?token={person.token}", max_queue=None
            )
        readers.append(asyncio.create_task(person.read()))

    await asyncio.gather(*(open_one(room, p) for room in rooms for p in room.people))
    return readers


async def run_phase(rooms: list[Room], seconds: float, rate: float | None) -> dict[str, float]:
    """Vote in every room for a while, paced (rate per room) or as fast as possible (None)."""
    latencies: list[float] = []
    counts = {"votes": 0, "lost": 0}
    stop_at = time.perf_counter() + seconds

    async def room_loop(room: Room) -> None:
        if rate:
            await asyncio.sleep(random.uniform(0, 1 / rate))
        while time.perf_counter() < stop_at:
            tick = time.perf_counter()
            ok = await room.vote_once(latencies)
            counts["votes" if ok else "lost"] += 1
            if rate:
                await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - tick)))

    started = time.perf_counter()
    await asyncio.gather(*(room_loop(room) for room in rooms))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [float("nan")]

    def pct(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "votes": counts["votes"],
        "lost": counts["lost"],
        "votes_per_s": counts["votes"] / elapsed,
        "deliveries": len(latencies),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else float("nan"),
    }


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system, all threads) a process has used, from /proc; 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measured_phase(
    rooms: list[Room], seconds: float, rate: float | None, pid: int | None
) -> dict[str, float]:
    """Run a phase and add the server's CPU milliseconds per vote."""
    before = cpu_seconds(pid)
    figures = await run_phase(rooms, seconds, rate)
    used = cpu_seconds(pid) - before
    figures["server_cpu_ms_per_vote"] = 1000 * used / max(1, figures["votes"])
    figures["server_cpu_share"] = used / seconds
    return figures


def report(title: str, figures: dict[str, float]) -> None:
    """Print one phase's figures."""
    print(  # noqa: T201 - a benchmark prints its figures
        f"{title:<11} votes={figures['votes']:.0f} lost={figures['lost']:.0f} "
        f"votes/s={figures['votes_per_s']:.1f} deliveries={figures['deliveries']:.0f} "
        f"p50={figures['p50_ms']:.1f}ms p95={figures['p95_ms']:.1f}ms "
        f"p99={figures['p99_ms']:.1f}ms mean={figures['mean_ms']:.1f}ms"
        + (
            f" server-cpu={figures['server_cpu_ms_per_vote']:.2f}ms/vote"
            f" ({100 * figures['server_cpu_share']:.0f}% of a core)"
            if figures.get("server_cpu_share")
            else ""
        )
    )


async def bench(args: argparse.Namespace, base: str, pid: int | None = None) -> None:
    """Set up, run both phases, report."""
    started = time.perf_counter()
    rooms = await make_rooms(base, args.rooms, args.participants)
    ws_base = "ws" + base.removeprefix("http")
    readers = await connect_all(ws_base, rooms)
    await asyncio.sleep(1.0)  # let the join broadcasts settle
    total = sum(len(r.people) for r in rooms)
    print(  # noqa: T201
        f"setup: {len(rooms)} rooms, {total} WebSockets open in "
        f"{time.perf_counter() - started:.1f}s"
    )
    paced = await measured_phase(rooms, args.duration, args.rate, pid)
    report(f"paced {args.rate:g}/s", paced)
    if args.saturate > 0:
        report("saturated", await measured_phase(rooms, args.saturate, None, pid))
    for room in rooms:
        for person in room.people:
            if person.socket is not None:
                await person.socket.close()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def app_process(data_dir: str) -> Iterator[tuple[str, int]]:
    """The server in its own process (so the clients do not share its CPU time slices)."""
    port = free_port()
    process = subprocess.Popen(
        [str(VENV_BIN / "planning-poker"), "--port", str(port), "--data-dir", data_dir],
        env={**os.environ, "PLANNING_POKER_ENV": "development"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise SystemExit("the app did not become ready in 60 s; run planning-poker to see why")
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    """Parse flags and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--rate", type=float, default=1.0, help="votes per room per second")
    parser.add_argument("--duration", type=float, default=15.0, help="paced phase, seconds")
    parser.add_argument("--saturate", type=float, default=8.0, help="saturated phase, seconds")
    parser.add_argument("--url", help="an already running app (default: start one)")
    args = parser.parse_args()
    if args.url:
        asyncio.run(bench(args, args.url.rstrip("/")))
        return
    with tempfile.TemporaryDirectory() as data_dir, app_process(data_dir) as (base, pid):
        asyncio.run(bench(args, base, pid))


if __name__ == "__main__":
    main()
