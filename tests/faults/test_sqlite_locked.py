"""SQLite locked by another process for longer than the busy timeout while promotions run.

Another process holds an exclusive lock on the state folder's database for five times the busy
timeout (shortened to 1 s with KARGO_SQLITE_BUSY_TIMEOUT so the test stays quick). Meanwhile
the engine's writes fail: promotions must wait (not fail), the API keep answering reads and
refuse writes with 503 once the busy timeout passed (never a 500, never waiting out the lock);
once the lock is released every promotion ends and every invariant holds.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
from kargo.store import Store

from tests.faults.invariants import (
    check_all,
)
from tests.faults.pipeline import (
    API,
    PROJECT,
    SECRET_ENV,
    converge,
    queue_promotion,
    seed_store,
    webhook_secret,
)
from tests.faults.servers import server
from tests.pipeline.notify.receiver import receiving

BUSY_TIMEOUT = 1.0
STAGES = 5
PER_STAGE = 4
HOLD = (
    "import sqlite3, sys, time\n"
    "db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n"
    "db.execute('BEGIN EXCLUSIVE')\n"
    "print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
    "db.execute('ROLLBACK')\n"
)


def test_a_database_locked_past_the_busy_timeout_pauses_promotions_until_released(
    seed: int, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    secret = webhook_secret()
    served = tmp_path / "served"
    served.mkdir()
    state = tmp_path / "state"
    env = {SECRET_ENV: secret, "KARGO_SQLITE_BUSY_TIMEOUT": str(BUSY_TIMEOUT)}
    with receiving(secret) as receiver:
        store = Store.open(None, state)
        try:
            freights = seed_store(store, STAGES, PER_STAGE, served, receiver.url)
            for n in range(PER_STAGE - 1):
                for stage in range(STAGES):
                    queue_promotion(store, f"s{stage}", freights[n])
        finally:
            store.close()
        with server(state, None, env) as engine:
            time.sleep(rng.uniform(0.2, 1.0))
            hold = 2 * BUSY_TIMEOUT + 3.0
            with subprocess.Popen(
                [sys.executable, "-c", HOLD, str(state / "kargo.db"), str(hold)],
                stdout=subprocess.PIPE,
                text=True,
            ) as holder:
                assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
                locked_at = time.monotonic()
                write = httpx.post(
                    f"{engine.base}{API}/projects/{PROJECT}/promotions",
                    json={"stage": "s0", "freight": freights[-1]},
                    headers=engine.headers,
                    timeout=30,
                )
                write_seconds = time.monotonic() - locked_at
                read = httpx.get(
                    f"{engine.base}{API}/projects/{PROJECT}/stages",
                    headers=engine.headers,
                    timeout=30,
                )
                holder.wait(timeout=30)
            converge(engine, receiver, STAGES * (PER_STAGE - 1))
        promotions, found = check_all(None, state, PROJECT, served, receiver)
    phases = sorted({p["status"]["phase"] for p in promotions})
    print(f"{len(promotions)} promotions {phases}, locked: read {read.status_code}, "
          f"write {write.status_code} in {write_seconds:.1f} s {write.text[:100]}, "
          f"violations: {dict(found.counts)}")  # fmt: skip
    assert read.status_code == 200
    # Refused once the busy timeout passed, not retried until the lock went away.
    assert write.status_code == 503, write.text
    assert write_seconds < hold, write_seconds
    assert phases == ["Succeeded"]
    assert found.total == 0, found.report(seed)
