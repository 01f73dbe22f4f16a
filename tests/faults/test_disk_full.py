"""The state folder's disk fills up while promotions run, then space comes back.

The state folder is a small tmpfs of its own (the test mounts it: it runs as root). While 20
promotions of shell steps run, a filler file takes every free byte for a few seconds: writes
fail, the API must answer reads and refuse writes with 503 (never a 500), and once the filler
is gone every promotion ends and every invariant holds.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
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

STAGES = 5
PER_STAGE = 4


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "16m") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` for the block."""
    if os.geteuid() != 0:
        pytest.fail("mounting a tmpfs needs root")
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Take every free byte of the folder's file system."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while handle.write(b"\0" * size):
                    pass
    return filler


def test_a_full_disk_pauses_promotions_and_refuses_writes_with_503_until_space_returns(
    seed: int, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    secret = webhook_secret()
    served = tmp_path / "served"
    served.mkdir()
    with small_disk(tmp_path / "state") as state, receiving(secret) as receiver:
        store = Store.open(None, state)
        try:
            freights = seed_store(store, STAGES, PER_STAGE, served, receiver.url)
            for n in range(PER_STAGE - 1):
                for stage in range(STAGES):
                    queue_promotion(store, f"s{stage}", freights[n])
        finally:
            store.close()
        with server(state, None, {SECRET_ENV: secret}) as engine:
            time.sleep(rng.uniform(0.2, 1.0))
            filler = fill(state)
            time.sleep(2.0)
            read = httpx.get(
                f"{engine.base}{API}/projects/{PROJECT}/stages", headers=engine.headers
            )
            write = httpx.post(
                f"{engine.base}{API}/projects/{PROJECT}/promotions",
                json={"stage": "s0", "freight": freights[-1]},
                headers=engine.headers,
            )
            filler.unlink()
            converge(engine, receiver, STAGES * (PER_STAGE - 1))
        promotions, found = check_all(None, state, PROJECT, served, receiver)
    phases = sorted(p["status"]["phase"] for p in promotions)
    print(f"{len(promotions)} promotions {phases}, disk full: read {read.status_code}, "
          f"write {write.status_code} {write.text[:200]}, "
          f"violations: {dict(found.counts)}")  # fmt: skip
    assert read.status_code == 200
    assert write.status_code in (201, 503), write.text
    assert found.total == 0, found.report(seed)
