"""Engine overhead per promotion: no-op promotions/s across 100 stages, beside raw tx/s.

Runs on SQLite (a temporary state folder) and on PostgreSQL (a temporary database on
127.0.0.1:5432, skipped when it does not answer). For each backend it prints:
- promotions/s: promotions queued up front, run by the real engine (queue, executor, stage and
  freight status, events and audit, all persisted), from engine start until the last one ends;
- raw tx/s: single-row write transactions through SQLAlchemy on the same database;
- the ratio, and both per CPU second of this process (steadier on a shared machine);
- the load average before each run, and over BENCH_ROUNDS rounds (default 3) the best and the
  median. BENCH_BACKENDS=sqlite or =postgresql runs one backend only.
Target: >= 200 promotions/s on SQLite.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from kargo.config import load_text
from kargo.engine.applying import apply_resources
from kargo.engine.controller import Engine
from kargo.engine.promoting import create_promotion
from kargo.model.base import ObjectMeta, utcnow
from kargo.model.common import FreightOrigin
from kargo.model.freight import Freight, GitCommit, freight_name
from kargo.model.promotion import PromotionPhase
from kargo.model.stage import Stage
from kargo.store import Change, Store, get_model, save_model
from support import postgres_answers, postgres_database

STAGES = 100
PER_STAGE = int(os.environ.get("BENCH_PROMOTIONS_PER_STAGE", "5"))
RAW_TRANSACTIONS = 2000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BACKENDS = os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")
CPU_SECONDS: list[float] = []


def pipeline_yaml() -> str:
    """One warehouse and 100 stages with one no-op step each."""
    docs = [
        "kind: Project\nmetadata: {name: bench}\n",
        "kind: Warehouse\nmetadata: {name: app, namespace: bench}\nspec:\n  interval: 24h\n"
        "  subscriptions:\n  - git: {repoURL: /nonexistent/bench, branch: main}\n",
    ]
    for i in range(STAGES):
        docs.append(
            f"kind: Stage\nmetadata: {{name: s{i:03d}, namespace: bench}}\nspec:\n"
            "  requestedFreight:\n  - origin: {kind: Warehouse, name: app}\n"
            "    sources: {direct: true}\n"
            "  promotionTemplate:\n    spec:\n      steps:\n      - uses: noop\n"
        )
    return "---\n".join(docs)


def make_freight(store: Store, n: int) -> Freight:
    """Freight with a made-up commit (no git needed: discovery is not measured here)."""
    origin = FreightOrigin(name="app")
    commits = [GitCommit(repoURL="/nonexistent/bench", id=f"{n:040x}", message=f"commit {n}")]
    name = freight_name(origin, commits)
    freight = Freight(
        metadata=ObjectMeta(name=name, namespace="bench"),
        alias=f"bench-{n}",
        origin=origin,
        commits=commits,
        discovered_at=utcnow(),
    )
    with store.transaction() as tx:
        return save_model(tx, freight)


async def run_engine(store: Store, state_dir: Path, total: int) -> float:
    """Start the engine, wait until `total` promotions have ended; seconds taken."""
    ended = 0
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    def count(changes: list[Change]) -> None:
        nonlocal ended
        for change in changes:
            phase = change.body.get("status", {}).get("phase", "Pending")
            if change.kind == "Promotion" and PromotionPhase(phase).is_terminal():
                ended += 1
        if ended >= total:
            loop.call_soon_threadsafe(done.set)

    unsubscribe = store.watch(count)
    engine = Engine(store, state_dir, resync_seconds=1.0)
    start, cpu = time.perf_counter(), time.process_time()
    task = asyncio.create_task(engine.run())
    await asyncio.wait_for(done.wait(), timeout=600)
    elapsed = time.perf_counter() - start
    CPU_SECONDS.append(time.process_time() - cpu)
    await engine.stop()
    await task
    unsubscribe()
    return elapsed


@dataclass
class Figures:
    """One backend's measurements in one round."""

    load: float
    rate: float
    per_cpu: float
    raw: float
    raw_per_cpu: float


def raw_transaction_rate(store: Store) -> tuple[float, float]:
    """Single-row insert transactions through SQLAlchemy on the same database: per s, per CPU s."""
    table = sa.Table(
        f"bench_raw_{uuid.uuid4().hex[:8]}",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("body", sa.JSON),
    )
    table.create(store.engine)
    try:
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(RAW_TRANSACTIONS):
            with store.engine.connect().execution_options(kargo_write=True) as connection:
                with connection.begin():
                    connection.execute(table.insert().values(body={"i": i}))
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
        return RAW_TRANSACTIONS / elapsed, RAW_TRANSACTIONS / used
    finally:
        table.drop(store.engine)


def measure(label: str, database_url: str | None, state_dir: Path) -> Figures:
    """Print the figures for one backend, and return them."""
    load = os.getloadavg()[0]
    store = Store.open(database_url, state_dir)
    try:
        apply_resources(store, load_text(pipeline_yaml()), actor="bench")
        freight = [make_freight(store, n) for n in range(PER_STAGE)]
        stages = [get_model(store, Stage, "bench", f"s{i:03d}") for i in range(STAGES)]
        tx_before = _event_count(store)
        queued_start = time.perf_counter()
        for n in range(PER_STAGE):
            for stage in stages:
                assert stage is not None
                create_promotion(store, stage, freight[n], "bench")
        queue_seconds = time.perf_counter() - queued_start
        total = STAGES * PER_STAGE
        seconds = asyncio.run(run_engine(store, state_dir, total))
        succeeded = sum(
            1
            for body in store.list("Promotion", "bench")
            if body["status"]["phase"] == PromotionPhase.SUCCEEDED.value
        )
        events = _event_count(store) - tx_before
        raw, raw_per_cpu = raw_transaction_rate(store)
    finally:
        store.close()
    rate = total / seconds
    print(f"{label}: {total} promotions over {STAGES} stages, {succeeded} succeeded")
    print(f"  load average (1 min): {load:7.2f} before the run")
    print(f"  queueing:            {total / queue_seconds:8.1f} promotions/s created")
    cpu = CPU_SECONDS[-1]
    print(f"  engine:              {rate:8.1f} promotions/s ({seconds:.2f} s, {cpu:.2f} s CPU)")
    print(f"  engine per CPU:      {total / cpu:8.1f} promotions per CPU second")
    print(f"  raw transactions:    {raw:8.1f} tx/s (single-row insert, same database)")
    print(f"  raw per CPU:         {raw_per_cpu:8.1f} tx per CPU second")
    print(f"  ratio:               {rate / raw:8.3f} promotions per raw transaction")
    print(f"  ratio per CPU:       {total / cpu / raw_per_cpu:8.3f}")
    print(f"  events written:      {events} ({events / total:.1f} per promotion)")
    if label == "sqlite":
        verdict = "meets" if rate >= 200 else "misses"
        print(f"  target >= 200/s:     {verdict}")
    return Figures(load, rate, total / cpu, raw, raw_per_cpu)


def summarize(label: str, rounds: list[Figures]) -> None:
    """Best and median over the rounds, with the load averages they ran under."""
    if not rounds:
        return
    best = max(rounds, key=lambda f: f.rate)
    loads = ", ".join(f"{f.load:.1f}" for f in rounds)
    print(f"{label} over {len(rounds)} rounds (load averages {loads}):")
    for name, pick in (("best", lambda f: f.rate), ("median", None)):
        if pick is None:
            rate = statistics.median(f.rate for f in rounds)
            per_cpu = statistics.median(f.per_cpu for f in rounds)
            raw = statistics.median(f.raw for f in rounds)
        else:
            rate, per_cpu, raw = best.rate, best.per_cpu, best.raw
        print(
            f"  {name:7s} {rate:7.1f} promotions/s, {per_cpu:7.1f} per CPU second, "
            f"raw {raw:7.1f} tx/s, ratio {rate / raw:.3f}"
        )


def _event_count(store: Store) -> int:
    return len(store.events("bench"))


def main() -> int:
    """Run the benchmark on every backend asked for, ROUNDS times."""
    results: dict[str, list[Figures]] = {"sqlite": [], "postgresql": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(ROUNDS):
            if "sqlite" in BACKENDS:
                results["sqlite"].append(measure("sqlite", None, Path(tmp) / f"sqlite{round_}"))
            if "postgresql" not in BACKENDS:
                continue
            if not postgres_answers():
                print("postgresql: skipped (nothing answers on 127.0.0.1:5432)")
                continue
            with postgres_database("engine") as url:
                figures = measure("postgresql", url, Path(tmp) / f"postgresql{round_}")
            results["postgresql"].append(figures)
    for label, rounds in results.items():
        summarize(label, rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
