"""Leases: one holder at a time, renewal, expiry, release, and a dead local holder."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from kargo.liveness import process_start_time
from kargo.store import Store
from kargo.store.leases import read_lease, release, try_acquire


def test_the_first_claim_wins_and_others_are_refused_until_it_lapses(store: Store) -> None:
    assert try_acquire(store, "engine", "a", ttl=0.5)
    assert not try_acquire(store, "engine", "b", ttl=0.5)
    assert try_acquire(store, "engine", "a", ttl=0.5)  # renewal
    time.sleep(0.6)
    assert try_acquire(store, "engine", "b", ttl=30)
    record = read_lease(store, "engine")
    assert record is not None
    assert record.holder == "b" and record.transitions == 1
    assert not try_acquire(store, "engine", "a", ttl=30)


def test_a_released_lease_is_free_at_once_and_only_its_holder_can_release_it(
    store: Store,
) -> None:
    assert try_acquire(store, "engine", "a", ttl=30)
    release(store, "engine", "b")  # not the holder: no effect
    assert not try_acquire(store, "engine", "b", ttl=30)
    release(store, "engine", "a")
    assert try_acquire(store, "engine", "b", ttl=30)


def test_a_holder_process_that_died_on_this_host_loses_the_lease_at_once(store: Store) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = f"{socket.gethostname()}:{int(gone.stdout)}:x"
    assert try_acquire(store, "engine", dead, ttl=30)
    assert try_acquire(store, "engine", "b", ttl=30)
    # A live holder elsewhere (another host) keeps it for its whole term.
    assert try_acquire(store, "other", "far-away-host:1:x", ttl=30)
    assert not try_acquire(store, "other", "b", ttl=30)


def test_leases_are_independent_by_name(store: Store) -> None:
    assert try_acquire(store, "engine", "a", ttl=30)
    assert try_acquire(store, "webhooks", "b", ttl=30)
    assert read_lease(store, "missing") is None


def test_a_zombie_holder_or_a_reused_pid_counts_as_gone(store: Store) -> None:
    host = socket.gethostname()
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while process_start_time(exited.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.02)  # exited but not yet reaped: a zombie, as a SIGKILLed server can be
    try:
        assert try_acquire(store, "engine", f"{host}:{exited.pid}@0:x", ttl=30)
        assert try_acquire(store, "engine", "b", ttl=30)
    finally:
        exited.wait()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        start = wait_for_start(sleeper.pid)
        assert try_acquire(store, "live", f"{host}:{sleeper.pid}@{start}:x", ttl=30)
        assert not try_acquire(store, "live", "b", ttl=30)  # the recorded process still runs
        # The same pid with another start time is another process: the holder is gone.
        assert try_acquire(store, "reused", f"{host}:{sleeper.pid}@{start + 1}:x", ttl=30)
        assert try_acquire(store, "reused", "b", ttl=30)
    finally:
        sleeper.kill()
        sleeper.wait()


def wait_for_start(pid: int) -> int:
    start = process_start_time(pid)
    assert start is not None
    return start
