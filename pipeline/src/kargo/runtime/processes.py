"""The process supervisor: start app instances that outlive the engine, find and stop them.

Each instance runs in its own session (it survives the engine) and carries two marker variables in
its environment, so that a process started just before an engine crash, and not yet written to the
state file, can still be found in /proc and adopted or stopped. An instance's children inherit
the markers (Planning Poker's migration child does, for a second at start): the instance is the
one whose parent does not carry them, else a restart could adopt the child and lose the instance.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kargo.liveness import is_alive, parent_pid, process_start_time

MARKER_STATE = "KARGO_RUNTIME_STATE_DIR"
MARKER_INSTANCE = "KARGO_RUNTIME_INSTANCE"


class ProcessStartError(Exception):
    """A process could not be started (missing command, unreadable folder...)."""


@dataclass(frozen=True)
class MarkedProcess:
    """A live process that carries the runtime's markers."""

    pid: int
    start_time: int
    instance_id: str


def free_port(exclude: Iterable[int] = ()) -> int:
    """A loopback TCP port that nothing listens on right now (and not in `exclude`)."""
    excluded = set(exclude)
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in excluded:
            return port
    raise ProcessStartError("no free TCP port found on 127.0.0.1")


def port_accepts(port: int, timeout: float = 0.3) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def spawn(
    argv: list[str],
    env: Mapping[str, str],
    log_file: Path,
    cwd: Path | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[int, int]:
    """Start a detached process (own session, output to log_file); return (pid, start time).

    `options` are more Popen arguments: `user`, `group`, `extra_groups` for a stage's `runAs`.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        try:
            process = subprocess.Popen(
                argv,
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                **(options or {}),
            )
        except OSError as exc:
            raise ProcessStartError(f"cannot start {argv[0]}: {exc}") from exc
    # The engine does not wait() for it; a reaper avoids zombies while the engine lives.
    _forget(process)
    start_time = process_start_time(process.pid) or 0
    return process.pid, start_time


def _forget(process: subprocess.Popen[bytes]) -> None:
    """Drop our handle on a child without leaving a zombie behind while we run."""

    threading.Thread(target=process.wait, daemon=True).start()


def find_marked(state_dir: Path) -> list[MarkedProcess]:
    """Every live process that the runtime of this state folder started, not their children."""
    wanted = f"{MARKER_STATE}={Path(state_dir).resolve()}".encode()
    found: list[MarkedProcess] = []
    parents: dict[int, int | None] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted not in environ:
            continue
        instance = next(
            (v.split(b"=", 1)[1] for v in environ if v.startswith(MARKER_INSTANCE.encode())),
            b"",
        )
        start = process_start_time(int(entry.name))
        if start is not None:
            found.append(MarkedProcess(int(entry.name), start, instance.decode()))
            parents[int(entry.name)] = parent_pid(int(entry.name))
    marked = {(process.pid, process.instance_id) for process in found}
    return [p for p in found if (parents[p.pid], p.instance_id) not in marked]


def send_signal(pid: int, start_time: int | None, signum: signal.Signals) -> bool:
    """Signal the recorded process (only if it is still the same one); whether it was signalled."""
    if not is_alive(pid, start_time):
        return False
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True


def stop_process_blocking(pid: int, start_time: int | None, timeout: float) -> None:
    """SIGTERM, wait up to timeout, then SIGKILL."""
    if not send_signal(pid, start_time, signal.SIGTERM):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid, start_time):
            return
        time.sleep(0.05)
    send_signal(pid, start_time, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while is_alive(pid, start_time) and time.monotonic() < deadline:
        time.sleep(0.05)


async def stop_process(pid: int, start_time: int | None, timeout: float) -> None:
    """SIGTERM, wait up to timeout, then SIGKILL (without blocking the event loop)."""
    if not send_signal(pid, start_time, signal.SIGTERM):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid, start_time):
            return
        await asyncio.sleep(0.05)
    send_signal(pid, start_time, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while is_alive(pid, start_time) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
