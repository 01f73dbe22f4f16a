"""Benchmark: vote-to-broadcast latency and votes per second over WebSockets on loopback.

Starts the real Planning Poker server (the repository's .venv, SQLite in a temporary directory)
unless --url is given, creates --rooms rooms with --participants people each, and spreads the
rooms over --workers client processes (one Python event loop cannot read 1,000 sockets fast
enough). Every room lives in one worker, so a vote's send time and the other participants'
receive times are read from the same monotonic clock. Then:

1. paced phase: each room casts --rate votes a second (rotating voters); for every vote it
   measures the time until each of the other participants has received the new state;
2. saturation phase: each room votes again as soon as the previous vote reached everybody,
   which gives the votes per second the server sustains.

The same clients then run against a baseline: a bare `websockets` server in its own process
that answers each vote by sending a message of the app's state size to everyone in the room
(the same fan-out, no state, no database). The ratio app/baseline separates the app's cost from
the machine's and the load generator's.

Target on the 2-core machine: 1,000 concurrent participants with broadcast p95 under 50 ms.
Rerun: `.venv/bin/python bench/app_ws.py` (under a minute); scale down with e.g.
`--rooms 10 --participants 5 --duration 5 --saturate 3`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import httpx
from support import free_port
from websockets.asyncio.client import ClientConnection, connect

VENV_BIN = Path(sys.executable).parent
DELTAS = os.environ.get("BENCH_DELTAS", "1")
WAIT_SECONDS = 10.0
OPEN_SECONDS = 120.0  # a starved client on a loaded machine is slow to finish handshakes
# Full states and deltas, compact (orjson) or spaced (the standard encoder of older releases).
STATE_PREFIXES = ('{"type":"state"', '{"type": "state"', '{"type":"delta"')
ERROR_PREFIXES = ('{"type":"error"', '{"type": "error"')
VERSION = re.compile(r'"version": ?(\d+)')
GC_BUCKET = re.compile(
    r'planning_poker_gc_pause_(seconds|cpu_seconds)_bucket\{generation="(\d)",le="([^"]+)"\} (\S+)'
)
# The app's per-client limits are for the internet; every benchmark client is one address.
UNLIMITED = {
    "PLANNING_POKER_SOCKETS_PER_CLIENT": "1000000",
    "PLANNING_POKER_ROOMS_PER_CLIENT_PER_HOUR": "1000000",
    "PLANNING_POKER_JOINS_PER_CLIENT_PER_ROOM_PER_HOUR": "1000000",
}
BASELINE_DECK = ["1", "2", "3", "5", "8", "13"]


@dataclass
class RoomPlan:
    """What a worker needs to join one room: its id, the cards, one token per participant."""

    id: str
    deck: list[str]
    tokens: list[str]


@dataclass(eq=False)
class Participant:
    """One WebSocket and the latest room version it has received."""

    token: str
    socket: ClientConnection | None = None
    latest: int = 0
    counted: bool = True
    errors: int = 0

    async def read(self, room: Room) -> None:
        """Tell the room when each state version arrives."""
        assert self.socket is not None
        with contextlib.suppress(Exception):
            async for raw in self.socket:
                now = time.perf_counter()
                # A regex instead of json.loads keeps the client's CPU for the sockets.
                if isinstance(raw, str) and raw.startswith(ERROR_PREFIXES):
                    self.errors += 1
                if not isinstance(raw, str) or not raw.startswith(STATE_PREFIXES):
                    continue
                found = VERSION.search(raw)
                if found:
                    version = int(found.group(1))
                    self.latest = max(self.latest, version)
                    room.arrived(self, version, now)


@dataclass(eq=False)
class Room:
    """A room and its participants; votes rotate through them, one vote in flight at a time."""

    plan: RoomPlan
    people: list[Participant]
    turn: int = 0
    latest: int = 0
    target: int = 0
    started: float = 0.0
    missing: int = 0
    done: asyncio.Future[None] | None = None
    pending: list[float] = field(default_factory=list)

    def arrived(self, person: Participant, version: int, now: float) -> None:
        """A participant got a state: count it if it carries the vote in flight."""
        self.latest = max(self.latest, version)
        if self.done is None or person.counted or version < self.target:
            return
        person.counted = True
        self.pending.append(now - self.started)
        self.missing -= 1
        if self.missing == 0 and not self.done.done():
            self.done.set_result(None)

    async def vote_once(self, latencies: list[float]) -> bool:
        """Cast one vote and record how long each other participant took to see it."""
        voter = self.people[self.turn % len(self.people)]
        self.turn += 1
        deck = self.plan.deck
        card = deck[self.turn % (len(deck) - 1)]
        for person in self.people:
            person.counted = person is voter
        self.target = self.latest + 1
        self.missing = len(self.people) - 1
        self.pending = []
        self.done = asyncio.get_running_loop().create_future()
        self.started = time.perf_counter()
        assert voter.socket is not None
        await voter.socket.send(json.dumps({"type": "vote", "card": card}))
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                await self.done
        except TimeoutError:
            return False
        finally:
            self.done = None
        latencies.extend(self.pending)
        return True


@dataclass
class PhaseResult:
    """What one worker measured in one phase."""

    latencies: list[float]
    votes: int
    lost: int


async def run_phase(rooms: list[Room], until: float, rate: float | None) -> PhaseResult:
    """Vote in every room until a monotonic deadline, paced (rate per room) or flat out."""
    latencies: list[float] = []
    counts = {"votes": 0, "lost": 0}

    async def room_loop(room: Room) -> None:
        if rate:
            await asyncio.sleep(random.uniform(0, 1 / rate))
        while time.perf_counter() < until:
            tick = time.perf_counter()
            ok = await room.vote_once(latencies)
            counts["votes" if ok else "lost"] += 1
            if rate:
                await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - tick)))

    await asyncio.gather(*(room_loop(room) for room in rooms))
    return PhaseResult(latencies, counts["votes"], counts["lost"])


def room_check(rooms: list[Room]) -> list[tuple[str, list[tuple[int, int, bool]]]]:
    """Per room, each participant's latest version seen, error messages, socket still open."""
    return [
        (room.plan.id, [(p.latest, p.errors, is_open(p.socket)) for p in room.people])
        for room in rooms
    ]


def is_open(socket: ClientConnection | None) -> bool:
    """Whether a client socket is connected and not closed."""
    return socket is not None and socket.close_code is None


async def worker_main(pipe: Pipe, ws_base: str, plans: list[RoomPlan]) -> None:
    """One client process: connect its rooms, then run each phase the parent asks for."""
    limit = asyncio.Semaphore(50)
    rooms = [Room(plan, [Participant(t) for t in plan.tokens]) for plan in plans]
    readers: list[asyncio.Task[None]] = []

    async def open_one(room: Room, person: Participant) -> None:
        async with limit:
            person.socket = await connect(
                f"{ws_base}/ws/rooms/{room.plan.id}?token={person.token}&deltas=" + DELTAS,
                max_queue=None,
                compression=None,
                open_timeout=OPEN_SECONDS,
            )
        readers.append(asyncio.create_task(person.read(room)))

    # The n-th participant of every room, then the (n+1)-th: a room's joins (each one a change
    # of the room) are not all in flight at once, so instances sharing it rarely race on it.
    size = max((len(room.people) for room in rooms), default=0)
    order = [(r, r.people[n]) for n in range(size) for r in rooms if n < len(r.people)]
    await asyncio.gather(*(open_one(room, p) for room, p in order))
    loop = asyncio.get_running_loop()
    pipe.send("ready")
    while True:
        order = await loop.run_in_executor(None, pipe.recv)
        if order is None:
            break
        if order == "check":
            pipe.send(room_check(rooms))
            continue
        until, rate = order
        pipe.send(await run_phase(rooms, until, rate))
    for room in rooms:
        for person in room.people:
            if person.socket is not None:
                await person.socket.close()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)


def worker_entry(pipe: Pipe, ws_base: str, plans: list[RoomPlan]) -> None:
    """Process entry point of a client worker."""
    asyncio.run(worker_main(pipe, ws_base, plans))


async def make_app_rooms(base: str, rooms: int, participants: int) -> list[RoomPlan]:
    """Create the rooms and join everybody through the app's HTTP API."""
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def call(method: str, url: str, body: dict[str, str] | None = None) -> Any:
            # A kept-alive connection the server closed as we reused it (a starved client on
            # a loaded machine) is worth another try; a lost setup request is not a result.
            for attempt in range(3):
                try:
                    async with limit:
                        return (await client.request(method, url, json=body)).json()
                except httpx.TransportError:
                    if attempt == 2:
                        raise
            return None

        async def make_room(index: int) -> RoomPlan:
            created = await call(
                "POST", "/api/rooms", {"name": f"Bench {index}", "facilitatorName": "F"}
            )
            tokens = [created["token"]]
            for number in range(participants - 1):
                path = f"/api/rooms/{created['id']}/participants"
                tokens.append((await call("POST", path, {"name": f"P{number}"}))["token"])
            state = await call("GET", f"/api/rooms/{created['id']}")
            return RoomPlan(created["id"], [c for c in state["deck"] if c != "?"], tokens)

        return list(await asyncio.gather(*(make_room(i) for i in range(rooms))))


def baseline_rooms(rooms: int, participants: int) -> list[RoomPlan]:
    """Room plans for the baseline server, which needs no setup."""
    return [RoomPlan(f"r{i}", BASELINE_DECK, ["x"] * participants) for i in range(rooms)]


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system, all threads) a process has used, from /proc; 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarise(parts: list[PhaseResult], seconds: float, cpu: float) -> dict[str, float]:
    """Merge the workers' results of one phase into percentiles and rates."""
    latencies = sorted(x for p in parts for x in p.latencies)
    votes = sum(p.votes for p in parts)
    ordered = latencies or [float("nan")]

    def pct(q: float) -> float:
        return 1000.0 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "votes": votes,
        "lost": sum(p.lost for p in parts),
        "votes_per_s": votes / seconds,
        "deliveries": len(latencies),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else float("nan"),
        "server_cpu_ms_per_vote": 1000 * cpu / max(1, votes),
        "server_cpu_share": cpu / seconds,
    }


def report(name: str, title: str, figures: dict[str, float]) -> None:
    """Print one phase's figures."""
    print(  # noqa: T201 - a benchmark prints its figures
        f"{name:<8} {title:<10} votes={figures['votes']:.0f} lost={figures['lost']:.0f} "
        f"votes/s={figures['votes_per_s']:.1f} deliveries={figures['deliveries']:.0f} "
        f"p50={figures['p50_ms']:.1f}ms p95={figures['p95_ms']:.1f}ms "
        f"p99={figures['p99_ms']:.1f}ms mean={figures['mean_ms']:.1f}ms"
        + (
            f" server-cpu={figures['server_cpu_ms_per_vote']:.2f}ms/vote"
            f" ({100 * figures['server_cpu_share']:.0f}% of a core)"
            if figures["server_cpu_share"]
            else ""
        ),
        flush=True,
    )


def rss_mib(pid: int | None) -> float:
    """Resident memory of a process in MiB, from /proc; 0 if unknown."""
    if pid is None:
        return 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def gc_pauses(base: str) -> dict[tuple[str, str, str], float]:
    """The server's cumulative collector-pause buckets, wall-clock and CPU (empty if none)."""
    with contextlib.suppress(httpx.HTTPError):
        text = httpx.get(f"{base}/metrics", timeout=10).text
        return {(kind, g, le): float(n) for kind, g, le, n in GC_BUCKET.findall(text)}
    return {}


def pause_histogram(
    before: dict[tuple[str, str, str], float],
    after: dict[tuple[str, str, str], float],
    kind: str = "seconds",
) -> str:
    """Collections per generation and pause bucket during a phase, e.g. `gen0 <=1ms:40 <=2ms:3`.

    `kind` is "seconds" for wall-clock pauses, "cpu_seconds" for the collector's CPU time.
    """
    parts = []
    for generation in "012":
        edges = sorted(
            (float(le), le) for k, g, le in after if (k, g) == (kind, generation) and le != "+Inf"
        )
        previous, cells = 0.0, []
        for _, le in [*edges, (0.0, "+Inf")]:
            key = (kind, generation, le)
            total = after.get(key, 0.0) - before.get(key, 0.0)
            if total - previous > 0:
                label = "more" if le == "+Inf" else f"{float(le) * 1000:g}ms"
                cells.append(f"<={label}:{total - previous:.0f}")
            previous = total
        if cells:
            parts.append(f"gen{generation} " + " ".join(cells))
    return "; ".join(parts) or "none"


def profiler(
    prefix: str | None, name: str, phase: str, pid: int | None
) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server's GIL holder during one phase (raw collapsed stacks)."""
    if not prefix or pid is None:
        return None
    spy = VENV_BIN / "py-spy"
    out = f"{prefix}-{name}-{phase}.txt"
    argv = [str(spy), "record", "--pid", str(pid), "--gil", "--nonblocking", "-r", "100"]
    process = subprocess.Popen(
        [*argv, "-f", "raw", "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(1.0)  # attached before the phase starts
    return process


def _frame_name(frame: str) -> str:
    """`function (module)` of one py-spy frame `function (path:line)`."""
    function, _, where = frame.rpartition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("/site-packages/", "/src/", "/lib/python3.11/"):
        path = path.split(marker)[-1]
    return f"{function} ({path})"


def profile_summary(path: str, top: int = 12) -> str:
    """The frames with the most samples in a raw py-spy file: own time, and time beneath."""
    own: dict[str, int] = {}
    beneath: dict[str, int] = {}
    total = 0
    with contextlib.suppress(OSError), open(path) as lines:
        for line in lines:
            stack, _, count = line.rstrip().rpartition(" ")
            if not stack or not count.isdigit():
                continue
            samples = int(count)
            total += samples
            names = [_frame_name(frame) for frame in stack.split(";")]
            own[names[-1]] = own.get(names[-1], 0) + samples
            for name in set(names):
                beneath[name] = beneath.get(name, 0) + samples
    if not total:
        return "  no samples"

    def ranked(counts: dict[str, int]) -> list[str]:
        best = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return [f"  {100 * n / total:5.1f}% {name}" for name, n in best]

    return "\n".join(
        [f"  {total} samples; own time:", *ranked(own), "  including callees:"]
        + ranked({k: v for k, v in beneath.items() if v < 0.7 * total})  # not the loop's chain
    )


class Clients:
    """The client worker processes connected to one server, each with a share of its rooms."""

    def __init__(self, name: str, pid: int | None, base: str) -> None:
        self.name = name
        self.pid = pid
        self.base = base
        self.pipes: list[Pipe] = []
        self.processes: list[Any] = []
        self.memory = 0.0

    @classmethod
    @contextlib.contextmanager
    def connected(
        cls, name: str, args: argparse.Namespace, base: str, plans: list[RoomPlan], pid: int | None
    ) -> Iterator[Clients]:
        """Spread the rooms over worker processes, open every socket, measure the server."""
        started = time.perf_counter()
        clients = cls(name, pid, base)
        context = multiprocessing.get_context("spawn")
        workers = max(1, min(args.workers, len(plans)))
        ws_base = "ws" + base.removeprefix("http")
        try:
            for index in range(workers):
                mine, theirs = context.Pipe()
                process = context.Process(
                    target=worker_entry, args=(theirs, ws_base, plans[index::workers]), daemon=True
                )
                process.start()
                clients.pipes.append(mine)
                clients.processes.append(process)
            for pipe in clients.pipes:
                if not pipe.poll(120) or pipe.recv() != "ready":
                    raise SystemExit(f"{name}: a client worker did not connect in 120 s")
            total = sum(len(p.tokens) for p in plans)
            print(  # noqa: T201
                f"{name:<8} setup: {len(plans)} rooms, {total} WebSockets in {workers} client "
                f"processes, open in {time.perf_counter() - started:.1f}s",
                flush=True,
            )
            time.sleep(1.0)  # let the join broadcasts settle
            clients.memory = rss_mib(pid)
            print(  # noqa: T201
                f"{name:<8} server memory with {total} connected: {clients.memory:.0f} MiB",
                flush=True,
            )
            yield clients
            for pipe in clients.pipes:
                pipe.send(None)
            for process in clients.processes:
                process.join(15)
        finally:
            for process in clients.processes:
                if process.is_alive():
                    process.kill()
                    process.join()

    def run(self, seconds: float, rate: float | None) -> tuple[list[PhaseResult], float, float]:
        """Vote for `seconds` (paced at `rate` per room, or flat out): the workers' results, the
        wall-clock time and the server's CPU time."""
        before = cpu_seconds(self.pid)
        begun = time.perf_counter()
        for pipe in self.pipes:
            pipe.send((begun + 0.2 + seconds, rate))
        parts = [pipe.recv() for pipe in self.pipes]
        return parts, time.perf_counter() - begun, cpu_seconds(self.pid) - before


def phases(args: argparse.Namespace) -> list[tuple[str, float, float | None]]:
    """The phases to run: name, seconds, rate (None: saturated)."""
    chosen: list[tuple[str, float, float | None]] = [("paced", args.duration, args.rate)]
    if args.saturate > 0:
        chosen.append(("saturated", args.saturate, None))
    return chosen


def report_phase(
    clients: Clients,
    rate: float | None,
    figures: dict[str, float],
    pauses: dict[tuple[str, str, str], float],
) -> None:
    """Print a phase's figures and the collector pauses since `pauses` was read."""
    title = f"paced {rate:g}/s" if rate else "saturated"
    report(clients.name, title, figures)
    after = gc_pauses(clients.base)
    if after:
        wall = pause_histogram(pauses, after)
        cpu = pause_histogram(pauses, after, "cpu_seconds")
        print(  # noqa: T201
            f"{clients.name:<8} {title:<10} gc pauses: {wall}; their CPU time: {cpu}", flush=True
        )


def drive(
    name: str, args: argparse.Namespace, base: str, plans: list[RoomPlan], pid: int | None
) -> dict[str, dict[str, float]]:
    """Connect clients to one server, run each phase in turn, report and return figures."""
    with Clients.connected(name, args, base, plans, pid) as clients:
        results: dict[str, dict[str, float]] = {"memory": {"rss_mib": clients.memory}}
        for phase, seconds, rate in phases(args):
            spy = profiler(args.profile, name, phase, pid)
            pauses = gc_pauses(base)
            parts, elapsed, cpu = clients.run(seconds, rate)
            results[phase] = summarise(parts, elapsed, cpu)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
                summary = profile_summary(f"{args.profile}-{name}-{phase}.txt")
                print(f"{name:<8} {phase} profile:\n{summary}", flush=True)  # noqa: T201
            report_phase(clients, rate, results[phase], pauses)
        return results


def drive_interleaved(
    servers: list[Server], args: argparse.Namespace
) -> dict[str, dict[str, dict[str, float]]]:
    """Connect clients to every server at once and run each phase in `args.slices` slices, the
    servers taking turns slice by slice (who goes first rotates), so that the machine's drift
    over a run falls on all of them alike; figures per server."""
    with contextlib.ExitStack() as stack:
        everyone = [
            stack.enter_context(Clients.connected(s.name, args, s.base, s.plans, s.pid))
            for s in servers
        ]
        results = {c.name: {"memory": {"rss_mib": c.memory}} for c in everyone}
        for phase, seconds, rate in phases(args):
            pauses = {c.name: gc_pauses(c.base) for c in everyone}
            gathered: dict[str, tuple[list[PhaseResult], float, float]] = {
                c.name: ([], 0.0, 0.0) for c in everyone
            }
            for turn in range(args.slices):
                for clients in everyone[turn % len(everyone) :] + everyone[: turn % len(everyone)]:
                    parts, elapsed, cpu = clients.run(seconds / args.slices, rate)
                    before = gathered[clients.name]
                    gathered[clients.name] = (
                        before[0] + parts,
                        before[1] + elapsed,
                        before[2] + cpu,
                    )
            for clients in everyone:
                results[clients.name][phase] = summarise(*gathered[clients.name])
                report_phase(clients, rate, results[clients.name][phase], pauses[clients.name])
        return results


# -- the servers ----------------------------------------------------------------------------


@contextlib.contextmanager
def server_process(
    argv: list[str], ready_url: str, env: dict[str, str] | None = None
) -> Iterator[int]:
    """A server in its own process until the block ends; yields its pid once it answers."""
    process = subprocess.Popen(
        argv,
        env={**os.environ, "PLANNING_POKER_ENV": "development", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(ready_url, timeout=1).status_code < 500:
                    break
            if process.poll() is not None:
                raise SystemExit(f"{argv[0]} exited with {process.returncode}")
            time.sleep(0.2)
        else:
            raise SystemExit(f"{argv[0]} did not become ready in 60 s")
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def serve_baseline(port: int, payload_bytes: int) -> None:
    """The baseline: each message in a room is answered by a state-sized message to everyone."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve
    from websockets.http11 import Request, Response

    rooms: dict[str, set[ServerConnection]] = {}
    versions: dict[str, int] = {}
    padding = "x" * max(0, payload_bytes - 60)

    def state(room_id: str) -> str:
        return json.dumps({"type": "state", "room": {"version": versions[room_id], "p": padding}})

    def health(connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/healthz":
            return connection.respond(200, "ok\n")
        return None

    async def handler(connection: ServerConnection) -> None:
        room_id = (connection.request.path if connection.request else "/").split("?")[0]
        members = rooms.setdefault(room_id, set())
        versions.setdefault(room_id, 1)
        members.add(connection)
        await connection.send(state(room_id))
        try:
            async for _ in connection:
                versions[room_id] += 1
                broadcast(members, state(room_id))
        finally:
            members.discard(connection)

    async with serve(
        handler, "127.0.0.1", port, process_request=health, compression=None, max_queue=None
    ):
        await asyncio.Future()


def app_state_bytes(base: str, plans: list[RoomPlan]) -> int:
    """The size of one room's state message, so that the baseline sends as much."""
    view = httpx.get(f"{base}/api/rooms/{plans[0].id}", timeout=10).json()
    return len(json.dumps({"type": "state", "room": view}))


@contextlib.contextmanager
def release_source(ref: str) -> Iterator[Path]:
    """The app's source at a git ref (e.g. the previous release), unpacked in a temporary folder."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", ref, "app/src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield Path(folder) / "app" / "src"


@dataclass
class Server:
    """A started server and its rooms: what the clients need."""

    name: str
    base: str
    plans: list[RoomPlan]
    pid: int | None


@contextlib.contextmanager
def app_server(name: str, args: argparse.Namespace, source: Path | None) -> Iterator[Server]:
    """The app (this tree's, or the given source's) running, with its rooms created."""
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**UNLIMITED, **({"PYTHONPATH": str(source)} if source else {})}
        if args.gc_thresholds:
            env["PLANNING_POKER_GC_THRESHOLDS"] = args.gc_thresholds
        entry = "import sys; from planning_poker.cli import main; main(sys.argv[1:])"
        argv = [sys.executable, "-c", entry, "--port", str(port), "--data-dir", data_dir]
        with server_process(argv, base + "/readyz", env) as pid:
            started = time.perf_counter()
            plans = asyncio.run(make_app_rooms(base, args.rooms, args.participants))
            print(  # noqa: T201
                f"{name:<8} rooms and participants created over HTTP in "
                f"{time.perf_counter() - started:.1f}s",
                flush=True,
            )
            yield Server(name, base, plans, pid)


@contextlib.contextmanager
def baseline_server(args: argparse.Namespace, payload: int) -> Iterator[Server]:
    """The bare websockets server running."""
    port = free_port()
    argv = [
        sys.executable,
        __file__,
        "--serve-baseline",
        str(port),
        "--payload-bytes",
        str(payload),
        "--baseline-slice",
        str(args.baseline_slice),
    ]
    with server_process(argv, f"http://127.0.0.1:{port}/healthz") as pid:
        plans = baseline_rooms(args.rooms, args.participants)
        yield Server("baseline", f"http://127.0.0.1:{port}", plans, pid)


def run_app(
    name: str, args: argparse.Namespace, source: Path | None
) -> dict[str, dict[str, float]]:
    """Start the app, drive the load, and return its figures."""
    with app_server(name, args, source) as server:
        figures = drive(name, args, server.base, server.plans, server.pid)
        figures["memory"]["state_bytes"] = app_state_bytes(server.base, server.plans)
        return figures


def run_baseline(args: argparse.Namespace, payload: int) -> dict[str, dict[str, float]]:
    """The bare websockets server with the same clients."""
    with baseline_server(args, payload) as server:
        return drive("baseline", args, server.base, server.plans, server.pid)


def run_interleaved(args: argparse.Namespace, previous: Path | None) -> None:
    """Every server running at once, the phases interleaved slice by slice; print the ratios."""
    with contextlib.ExitStack() as running:
        earlier = (
            running.enter_context(app_server("previous", args, previous)) if previous else None
        )
        app = running.enter_context(app_server("app", args, None))
        servers = [server for server in (earlier, app) if server is not None]
        if not args.no_baseline:
            payload = app_state_bytes(app.base, app.plans)
            servers.append(running.enter_context(baseline_server(args, payload)))
        figures = drive_interleaved(servers, args)
    for other in ("previous", "baseline"):
        if other in figures:
            ratios(other, figures["app"], figures[other])


def ratios(
    name: str, ours: dict[str, dict[str, float]], other: dict[str, dict[str, float]]
) -> None:
    """Print app/other for each phase and memory."""
    for phase in ("paced", "saturated"):
        if phase not in ours or phase not in other:
            continue
        mine, theirs = ours[phase], other[phase]
        print(  # noqa: T201
            f"ratio    {phase:<10} app/{name} p50={mine['p50_ms'] / theirs['p50_ms']:.2f} "
            f"p95={mine['p95_ms'] / theirs['p95_ms']:.2f} "
            f"p99={mine['p99_ms'] / theirs['p99_ms']:.2f} "
            f"votes/s={mine['votes_per_s'] / theirs['votes_per_s']:.2f} "
            f"cpu/vote={mine['server_cpu_ms_per_vote'] / theirs['server_cpu_ms_per_vote']:.2f}",
            flush=True,
        )
    print(  # noqa: T201
        f"ratio    memory     app/{name} "
        f"{ours['memory']['rss_mib'] / max(1.0, other['memory']['rss_mib']):.2f}",
        flush=True,
    )


def main() -> None:
    """Parse flags; run the previous release (if asked), the app and the baseline, in turns."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--rate", type=float, default=1.0, help="votes per room per second")
    parser.add_argument("--duration", type=float, default=10.0, help="paced phase, seconds")
    parser.add_argument("--saturate", type=float, default=5.0, help="saturated phase, seconds")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--url", help="an already running app (default: start one)")
    parser.add_argument("--previous", metavar="REF", help="also run the app at this git ref")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of alternating runs")
    parser.add_argument("--gc-thresholds", help="PLANNING_POKER_GC_THRESHOLDS for this tree's app")
    parser.add_argument("--profile", metavar="PREFIX", help="py-spy each phase to PREFIX-*.txt")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline run")
    parser.add_argument(
        "--slices",
        type=int,
        default=1,
        help="run the servers at once, taking turns in this many slices of each phase "
        "(default 1: one server after the other)",
    )
    parser.add_argument(
        "--baseline-slice",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="give the baseline's thread this scheduler slice, as the app asks for its own "
        "(PLANNING_POKER_SCHEDULER_SLICE_SECONDS; default 0: the kernel's)",
    )
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--payload-bytes", type=int, default=2000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        if args.baseline_slice:
            from planning_poker.scheduling import request_slice

            request_slice(args.baseline_slice)
        asyncio.run(serve_baseline(args.serve_baseline, args.payload_bytes))
        return
    print(f"load average before: {os.getloadavg()}", flush=True)  # noqa: T201
    if args.url:
        base = args.url.rstrip("/")
        plans = asyncio.run(make_app_rooms(base, args.rooms, args.participants))
        drive("app", args, base, plans, None)
        return
    with contextlib.ExitStack() as stack:
        previous = stack.enter_context(release_source(args.previous)) if args.previous else None
        for round_number in range(1, args.repeat + 1):
            print(f"== round {round_number} of {args.repeat}", flush=True)  # noqa: T201
            if args.slices > 1:
                run_interleaved(args, previous)
                print(f"load average now: {os.getloadavg()}", flush=True)  # noqa: T201
                continue
            earlier = run_app("previous", args, previous) if previous else None
            app = run_app("app", args, None)
            if earlier:
                ratios("previous", app, earlier)
            if not args.no_baseline:
                baseline = run_baseline(args, int(app["memory"]["state_bytes"]))
                ratios("baseline", app, baseline)
            print(f"load average now: {os.getloadavg()}", flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
