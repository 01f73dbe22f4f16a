"""Benchmark: one, two and three app instances behind HAProxy sharing PostgreSQL and Redis.

For each participant count: a PostgreSQL database of its own on the local server and a private
`redis-server` (pub/sub channels are global to a Redis server, so the shared one would carry
other people's notices); the rooms are stored once, through the app's own model and store (the
API does the same, one request per participant, which took minutes on the loaded machine).
Then for each instance count: N app instances on private ports (`REDIS_URL` set, also for
one), HAProxy in front on a private port. `--balance roundrobin` (default) spreads every new
connection over the instances, so the participants of a room sit on different instances and
every vote crosses Redis; `--balance room` keeps a room on one instance (HAProxy sticks on the
room id in the path, as the runtime's room affinity does). `--solo` adds one instance without
Redis.

The load is bench/app_ws.py's client through HAProxy: rooms of --room-size, paced at --rate
votes per room per second, then saturated. It prints paced p95/p99, saturated votes/s, the CPU
of every process of the cluster (each instance, HAProxy, Redis, the PostgreSQL backends of the
database, the client workers; from /proc) and of everything else on the machine, the ratio
against one instance, and a correctness check: sockets refused at connect, votes that not all
saw (lost), error messages, sockets dropped, participants whose last state is not the room's
stored version, tracebacks in the instances' logs, and participants still stored as online
once every client closed (leaves not recorded).

Rerun: `.venv/bin/python bench/app_scaleout.py` (1,000 participants on 1, 2, 3 instances, a
few minutes); the full table: `--participants 1000,3000,5000`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from pathlib import Path

import httpx
import sqlalchemy as sa
from app_ws import (
    UNLIMITED,
    RoomPlan,
    cpu_seconds,
    profiler,
    summarise,
    worker_entry,
)
from kargo.runtime.haproxy_config import affinity_lines
from support import POSTGRES_URL, answers, free_port, postgres_database, wait

# The room id is the 4th "/"-part of /api/rooms/<id>/... and /ws/rooms/<id>; a new room's id
# comes back in X-Room-Id (the same rules a stage's deploy config gives the runtime).
ROOM_AFFINITY = {
    "paths": [{"prefix": "/api/rooms/", "field": 4}, {"prefix": "/ws/rooms/", "field": 4}],
    "responseHeader": "X-Room-Id",
    "expire": "1h",
}
HAPROXY = """\
global
    maxconn 9000

defaults
    mode http
    maxconn 9000
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout http-request 10s
    timeout tunnel 1h

frontend fe
    bind 127.0.0.1:{port}
    default_backend be

backend be
    balance roundrobin
{affinity}{servers}
"""
CONNECTIONS = re.compile(r"^planning_poker_websocket_connections (\S+)$", re.M)
SETTLE_SECONDS = 10.0
LEAVE_SECONDS = 15.0  # how long the leaves of every closed socket may take to be stored
SECRET = "bench-scaleout-" + secrets.token_hex(16)  # the instances' SECRET_KEY


@dataclass
class Cluster:
    """The processes of one run: HAProxy in front, the instances, Redis, and the database."""

    base: str
    instances: list[str]  # each instance's own http:// base
    pids: dict[str, int]  # name -> pid: app1.., haproxy, redis
    database: str


@dataclass
class Usage:
    """CPU seconds per process name (PostgreSQL backends summed), and the machine's busy time."""

    by_name: dict[str, float] = field(default_factory=dict)
    postgres: dict[int, float] = field(default_factory=dict)
    machine: float = 0.0


def machine_busy_seconds() -> float:
    """CPU seconds every core spent busy since boot, from /proc/stat (all processes)."""
    numbers = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = numbers[3] + numbers[4]  # idle + iowait
    return (sum(numbers[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def postgres_backends(admin: sa.Engine, database: str) -> list[int]:
    """The pids of the server processes connected to a database."""
    with admin.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": database}
        )
        return [int(row[0]) for row in rows]


def usage(pids: dict[str, int], backends: list[int]) -> Usage:
    """A snapshot of the CPU time of the named processes, the backends and the machine."""
    return Usage(
        {name: cpu_seconds(pid) for name, pid in pids.items()},
        {pid: cpu_seconds(pid) for pid in backends},
        machine_busy_seconds(),
    )


def cpu_shares(before: Usage, after: Usage, seconds: float) -> dict[str, float]:
    """Each process's share of one core during a phase, PostgreSQL and the rest of the machine."""
    shares = {
        name: (after.by_name[name] - before.by_name.get(name, 0.0)) / seconds
        for name in after.by_name
    }
    postgres = sum(used - before.postgres.get(pid, 0.0) for pid, used in after.postgres.items())
    shares["postgres"] = postgres / seconds
    ours = sum(shares.values())
    shares["other"] = max(0.0, (after.machine - before.machine) / seconds - ours)
    return shares


# -- the cluster ------------------------------------------------------------------------------


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[str, int]]:
    """A private redis-server on a free port (no persistence); yields its URL and pid."""
    import redis

    port = free_port()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)

        def pong() -> bool:
            with contextlib.suppress(redis.exceptions.ConnectionError):
                return bool(client.ping())
            return False

        wait("redis-server answers", pong, timeout=20)
        client.close()
        yield f"redis://127.0.0.1:{port}/0", process.pid
    finally:
        process.terminate()
        process.wait(10)


def haproxy_config(port: int, instance_ports: list[int], balance: str) -> str:
    """HAProxy in front of the instances: round robin per connection, or sticky per room."""
    servers = "\n".join(f"    server s{n} 127.0.0.1:{p}" for n, p in enumerate(instance_ports, 1))
    affinity = affinity_lines(ROOM_AFFINITY) if balance == "room" else ""
    return HAPROXY.format(port=port, affinity=affinity, servers=servers)


@contextlib.contextmanager
def haproxy(config: str, folder: Path, base: str) -> Iterator[int]:
    """HAProxy in the foreground with this configuration; yields its pid once it routes."""
    path = folder / "haproxy.cfg"
    path.write_text(config)
    process = subprocess.Popen(
        ["haproxy", "-db", "-f", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:

        def routes() -> bool:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise SystemExit(f"haproxy exited with {process.returncode}: {error}")
            with contextlib.suppress(httpx.HTTPError):
                return httpx.get(base + "/readyz", timeout=1).status_code == 200
            return False

        wait("HAProxy routes to the instances", routes, timeout=30, every=0.1)
        yield process.pid
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def instance(argv: list[str], ready: str, env: dict[str, str], log: Path) -> Iterator[int]:
    """One app instance, its output in a log file; yields its pid once it is ready."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env={**os.environ, "PLANNING_POKER_ENV": "development", **env},
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:

        def up() -> bool:
            if process.poll() is not None:
                raise SystemExit(f"an instance exited with {process.returncode}, see {log}")
            return answers(ready)

        wait(f"the instance logging to {log} is ready", up, timeout=60, every=0.2)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def cluster(
    count: int, balance: str, database_url: str, redis: tuple[str, int] | None, logs: Path
) -> Iterator[Cluster]:
    """`count` instances on the database (sharing Redis if given) and HAProxy in front."""
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        redis_url, redis_pid = redis or (None, 0)
        env = {**UNLIMITED, "SECRET_KEY": SECRET}
        if redis_url:
            env["REDIS_URL"] = redis_url
        entry = "import sys; from planning_poker.cli import main; main(sys.argv[1:])"
        ports, pids = [], {}
        for number in range(1, count + 1):
            port = free_port()
            argv = [sys.executable, "-c", entry, "--port", str(port), "--data-dir", folder]
            argv += ["--database-url", database_url]
            ready = f"http://127.0.0.1:{port}/readyz"
            log = logs / f"app{number}.log"
            pids[f"app{number}"] = stack.enter_context(instance(argv, ready, env, log))
            ports.append(port)
        front = free_port()
        base = f"http://127.0.0.1:{front}"
        pids["haproxy"] = stack.enter_context(
            haproxy(haproxy_config(front, ports, balance), Path(folder), base)
        )
        if redis_url:
            pids["redis"] = redis_pid
        database = sa.make_url(database_url).database or ""
        yield Cluster(base, [f"http://127.0.0.1:{p}" for p in ports], pids, database)


def failures(logs: Path) -> int:
    """Tracebacks in the instances' logs (each one printed once)."""
    count = 0
    for log in sorted(logs.glob("app*.log")):
        text = log.read_text(errors="replace")
        count += text.count("Traceback")
        if "Traceback" in text:
            print(f"{log}: {text[text.index('Traceback') :][:3000]}", flush=True)
    return count


def connections_per_instance(bases: list[str]) -> list[int]:
    """The WebSockets each instance holds, from its /metrics."""
    counts = []
    for base in bases:
        found = CONNECTIONS.search(httpx.get(base + "/metrics", timeout=10).text)
        counts.append(int(float(found.group(1))) if found else -1)
    return counts


def still_online(database: str) -> int:
    """Participants the stored rooms still count as connected somewhere."""
    engine = sa.create_engine(sa.make_url(POSTGRES_URL).set(database=database))
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT document FROM rooms"))
            documents = [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in rows]
    finally:
        engine.dispose()
    return sum(
        1
        for document in documents
        for person in document.get("participants", [])
        if any(count > 0 for count in (person.get("connections") or {}).values())
    )


def leaves_unrecorded(database: str, run: Run) -> None:
    """After every client closed: participants still stored as online (leaves not recorded)."""
    started = time.perf_counter()
    while True:
        run.unrecorded = still_online(database)
        if run.unrecorded == 0 or time.perf_counter() - started > LEAVE_SECONDS:
            return
        time.sleep(0.5)


def stored_versions(database: str) -> dict[str, int]:
    """Each room's committed version."""
    engine = sa.create_engine(sa.make_url(POSTGRES_URL).set(database=database))
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT id, version FROM rooms"))
            return {str(row[0]): int(row[1]) for row in rows}
    finally:
        engine.dispose()


# -- one run ----------------------------------------------------------------------------------


@dataclass
class Run:
    """What one cluster size at one participant count measured."""

    label: str
    instances: int
    participants: int
    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    spread: list[int] = field(default_factory=list)
    errors: int = 0
    dropped: int = 0
    stale: int = 0
    settle: float = 0.0
    tracebacks: int = 0
    refused: int = 0  # sockets the instances closed at connect
    unrecorded: int = -1  # participants still stored as online once every client closed


def check(pipes: list[Pipe], database: str, run: Run) -> None:
    """Every participant ends on its room's stored version, no errors, no dropped socket."""
    started = time.perf_counter()
    while True:
        stored = stored_versions(database)
        for pipe in pipes:
            pipe.send("check")
        rooms = [room for pipe in pipes for room in pipe.recv()]
        seen = [(stored.get(room_id), p) for room_id, people in rooms for p in people]
        run.stale = sum(1 for version, (latest, _, _) in seen if latest != version)
        run.errors = sum(errors for _, (_, errors, _) in seen)
        run.dropped = sum(1 for _, (_, _, is_open) in seen if not is_open)
        run.settle = time.perf_counter() - started
        if run.stale == 0 or run.settle > SETTLE_SECONDS:
            return
        time.sleep(0.5)


def measure(args: argparse.Namespace, found: Cluster, plans: list[RoomPlan], run: Run) -> None:
    """Spread the rooms over client processes, run both phases through HAProxy, then check."""
    context = multiprocessing.get_context("spawn")
    workers = max(1, min(args.workers, len(plans)))
    ws_base = "ws" + found.base.removeprefix("http")
    pipes: list[Pipe] = []
    processes = []
    admin = sa.create_engine(sa.make_url(POSTGRES_URL), poolclass=sa.pool.NullPool)
    for index in range(workers):
        mine, theirs = context.Pipe()
        process = context.Process(
            target=worker_entry, args=(theirs, ws_base, plans[index::workers]), daemon=True
        )
        process.start()
        theirs.close()  # the worker's end: a dead worker then reads as EOF, not a hang
        pipes.append(mine)
        processes.append(process)
    try:
        for pipe in pipes:
            if not pipe.poll(180) or pipe.recv() != "ready":
                raise SystemExit(f"{run.label}: a client worker did not connect in 180 s")
        total = sum(len(plan.tokens) for plan in plans)
        started = time.perf_counter()
        while True:  # every socket accepted by an instance (each connect is a change of its room)
            run.spread = connections_per_instance(found.instances)
            if sum(run.spread) >= total or time.perf_counter() - started > 60:
                break
            time.sleep(0.5)
        print(
            f"{run.label:<12} {sum(run.spread)} of {total} sockets connected, per instance "
            f"{run.spread}, {time.perf_counter() - started:.1f}s after the clients were ready",
            flush=True,
        )
        run.refused = total - sum(run.spread)
        if run.refused:  # a client whose socket was closed cannot vote: no phase to measure
            print(f"{run.label:<12} {run.refused} sockets refused at connect", flush=True)
            return
        time.sleep(1.0)  # let the join broadcasts settle
        pids = {**found.pids, **{f"client{n}": p.pid for n, p in enumerate(processes, 1) if p.pid}}
        phases: list[tuple[str, float, float | None]] = [("paced", args.duration, args.rate)]
        if args.saturate > 0:
            phases.append(("saturated", args.saturate, None))
        for phase, seconds, rate in phases:
            spy = profiler(args.profile, run.label, phase, found.pids["app1"])
            before = usage(pids, postgres_backends(admin, found.database))
            begun = time.perf_counter()
            for pipe in pipes:
                pipe.send((begun + 0.2 + seconds, rate))
            try:
                parts = [pipe.recv() for pipe in pipes]
            except EOFError:
                raise SystemExit(
                    f"{run.label}: a client worker died in the {phase} phase"
                ) from None
            elapsed = time.perf_counter() - begun
            after = usage(pids, postgres_backends(admin, found.database))
            shares = cpu_shares(before, after, elapsed)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(30)
            app_cpu = sum(v for k, v in shares.items() if k.startswith("app")) * elapsed
            run.phases[phase] = summarise(parts, elapsed, app_cpu)
            run.cpu[phase] = shares
            report(run, phase)
        check(pipes, found.database, run)
        print(
            f"{run.label:<12} check: sockets per instance {run.spread}, lost "
            f"{sum(p['lost'] for p in run.phases.values()):.0f}, errors {run.errors}, dropped "
            f"{run.dropped}, stale {run.stale} (checked in {run.settle:.1f}s)",
            flush=True,
        )
        for pipe in pipes:
            pipe.send(None)
        for process in processes:
            process.join(15)
        leaves_unrecorded(found.database, run)
        print(
            f"{run.label:<12} leaves not recorded {LEAVE_SECONDS:g}s after the clients closed: "
            f"{run.unrecorded}",
            flush=True,
        )
    finally:
        admin.dispose()
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()


def report(run: Run, phase: str) -> None:
    """One phase's figures and CPU shares."""
    figures, shares = run.phases[phase], run.cpu[phase]
    cpu = " ".join(f"{name}={100 * share:.0f}%" for name, share in shares.items())
    print(
        f"{run.label:<12} {phase:<9} votes/s={figures['votes_per_s']:.0f} "
        f"lost={figures['lost']:.0f} p50={figures['p50_ms']:.1f}ms p95={figures['p95_ms']:.1f}ms "
        f"p99={figures['p99_ms']:.1f}ms app-cpu={figures['server_cpu_ms_per_vote']:.2f}ms/vote "
        f"| cpu {cpu}",
        flush=True,
    )


def make_rooms(database_url: str, rooms: int, size: int) -> list[RoomPlan]:
    """Rooms of `size` stored straight through the app's model and store (the API's way)."""
    from planning_poker.decks import DeckKind, cards_for
    from planning_poker.participants import Role
    from planning_poker.rooms import Room, new_id
    from planning_poker.security import hash_token, new_token
    from planning_poker.store import RoomStore, make_engine

    engine = make_engine(database_url)
    try:
        store = RoomStore(engine)
        plans = []
        for index in range(rooms):
            now = time.time()
            cards = cards_for(DeckKind.FIBONACCI)
            room = Room(new_id(12), f"Bench {index}", DeckKind.FIBONACCI, cards, now)
            tokens = [new_token() for _ in range(size)]
            for number, token in enumerate(tokens):
                role = Role.FACILITATOR if number == 0 else Role.VOTER
                room.add_participant(f"P{number}", role, hash_token(SECRET.encode(), token), now)
            store.create(room)
            plans.append(RoomPlan(room.id, [c for c in cards if c != "?"], tokens))
        return plans
    finally:
        engine.dispose()


def one_run(
    args: argparse.Namespace,
    count: int,
    participants: int,
    database_url: str,
    redis: tuple[str, int] | None,
    plans: list[RoomPlan],
) -> Run:
    """`count` instances on the database, the rooms (created by the first run), the load."""
    label = f"{count}{'' if redis else '-solo'}x{participants}"
    run = Run(label, count, participants)
    with contextlib.ExitStack() as stack:
        logs = Path(args.logs or stack.enter_context(tempfile.TemporaryDirectory())) / label
        logs.mkdir(parents=True, exist_ok=True)
        found = stack.enter_context(cluster(count, args.balance, database_url, redis, logs))
        if not plans:
            started = time.perf_counter()
            rooms = max(1, participants // args.room_size)
            plans += make_rooms(database_url, rooms, args.room_size)
            print(
                f"{label:<12} {rooms} rooms x {args.room_size} stored in "
                f"{time.perf_counter() - started:.1f}s",
                flush=True,
            )
        try:
            measure(args, found, plans, run)
        finally:
            run.tracebacks = failures(logs)
    return run


def one_count(args: argparse.Namespace, participants: int) -> list[Run]:
    """Every cluster size on one database and one Redis, with the same rooms."""
    runs = []
    plans: list[RoomPlan] = []
    with postgres_database("scaleout") as database_url, redis_server() as redis:
        if args.solo:
            runs.append(one_run(args, 1, participants, database_url, None, plans))
        for count in args.instances:
            runs.append(one_run(args, count, participants, database_url, redis, plans))
    return runs


# -- the table --------------------------------------------------------------------------------


def table(runs: list[Run]) -> None:
    """Instances x participants: latency, throughput, CPU, ratios against one instance."""
    print("\n| instances | participants | paced p95 | paced p99 | saturated votes/s "
          "| votes/s vs 1 | p95 vs 1 | CPU % of a core, saturated: apps / HAProxy / Redis "
          "/ PostgreSQL / client / other | lost, errors, dropped, stale, tracebacks, "
          "leaves not recorded |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")  # fmt: skip
    for run in runs:
        one = next(
            (r for r in runs if r.participants == run.participants and r.label.startswith("1x")),
            None,
        )
        paced, saturated = run.phases.get("paced", {}), run.phases.get("saturated", {})
        rate = saturated.get("votes_per_s", float("nan"))
        ratio_rate = ratio_p95 = "-"
        if one is not None and one is not run and "paced" in one.phases and paced:
            ratio_rate = f"{rate / one.phases.get('saturated', {}).get('votes_per_s', rate):.2f}"
            ratio_p95 = f"{paced['p95_ms'] / one.phases['paced']['p95_ms']:.2f}"
        shares = run.cpu.get("saturated", run.cpu.get("paced", {}))
        apps = "+".join(f"{100 * v:.0f}" for k, v in shares.items() if k.startswith("app"))
        client = sum(v for k, v in shares.items() if k.startswith("client"))
        cpu = " / ".join(
            [apps]
            + [f"{100 * shares.get(k, 0.0):.0f}" for k in ("haproxy", "redis", "postgres")]
            + [f"{100 * client:.0f}", f"{100 * shares.get('other', 0.0):.0f}"]
        )
        if run.refused:
            print(f"| {run.instances} | {run.participants:,} | {run.refused} sockets refused "
                  "at connect, not measured | | | | | | |", flush=True)  # fmt: skip
            continue
        lost = sum(p["lost"] for p in run.phases.values())
        name = f"{run.instances}{' (no Redis)' if 'solo' in run.label else ''}"
        print(
            f"| {name} | {run.participants:,} | {paced.get('p95_ms', float('nan')):.1f} ms "
            f"| {paced.get('p99_ms', float('nan')):.1f} ms | {rate:,.0f} | {ratio_rate} "
            f"| {ratio_p95} | {cpu} | {lost:.0f}, {run.errors}, {run.dropped}, {run.stale}, "
            f"{run.tracebacks}, {run.unrecorded} |",
            flush=True,
        )


def numbers(text: str) -> list[int]:
    """A comma-separated list of positive integers."""
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 1,2,3, got {text!r}")
    return values


def main() -> None:
    """Parse flags and run every participant count on every cluster size."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--instances", type=numbers, default=[1, 2, 3], help="e.g. 1,2,3")
    parser.add_argument("--participants", type=numbers, default=[1000], help="e.g. 1000,3000")
    parser.add_argument("--room-size", type=int, default=10, help="participants per room")
    parser.add_argument("--rate", type=float, default=1.0, help="votes per room per second")
    parser.add_argument("--duration", type=float, default=8.0, help="paced phase, seconds")
    parser.add_argument("--saturate", type=float, default=5.0, help="saturated phase, seconds")
    parser.add_argument("--workers", type=int, default=2, help="client processes")
    parser.add_argument("--balance", choices=["roundrobin", "room"], default="roundrobin")
    parser.add_argument("--solo", action="store_true", help="also one instance without Redis")
    parser.add_argument("--profile", metavar="PREFIX", help="py-spy app1 per phase to PREFIX-*")
    parser.add_argument("--logs", metavar="DIR", help="keep the instances' logs here")
    parser.add_argument("--repeat", type=int, default=1, help="rounds over the whole grid")
    args = parser.parse_args()
    print(
        f"load average before: {os.getloadavg()}; balance {args.balance}; {os.cpu_count()} CPUs",
        flush=True,
    )
    runs: list[Run] = []
    for _ in range(args.repeat):
        for participants in args.participants:
            runs += one_count(args, participants)
            print(f"load average now: {os.getloadavg()}", flush=True)
    table(runs)


if __name__ == "__main__":
    main()
