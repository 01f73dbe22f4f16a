"""The router: one HAProxy per state folder, started detached and changed through its runtime API.

Switching versions uses the runtime API on the stats socket (`set server ... addr`, `state
ready|drain|maint`), which drops no connection. Adding a stage (a new frontend) needs a new
configuration: that is a seamless reload (`-x <socket> -sf <old pid>`), where the new process takes
over the listening sockets and the old one finishes its connections.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from kargo.liveness import is_alive, process_start_time
from kargo.runtime.haproxy_config import backend_name, render_config, slot_name
from kargo.runtime.processes import free_port
from kargo.runtime.state import RuntimePaths, RuntimeState, StageRoute


class RouterError(Exception):
    """HAProxy could not be started, reloaded or talked to."""


def haproxy_binary() -> str:
    """The haproxy executable (from the OS packages)."""
    path = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None
    )
    if path is None:
        raise RouterError("haproxy is not installed (apt-get install haproxy)")
    return path


def router_pid(paths: RuntimePaths) -> int | None:
    """The pid of the running HAProxy of this state folder, or None."""
    try:
        pid = int(paths.haproxy_pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if process_start_time(pid) is not None and _is_haproxy(pid) else None


def _is_haproxy(pid: int) -> bool:
    try:
        return b"haproxy" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def ensure_route(paths: RuntimePaths, state: RuntimeState, stage: str, route: StageRoute) -> None:
    """Make HAProxy run with a frontend for `stage` (start or reload it when needed)."""
    changed = state.routes.get(stage) != route
    state.routes[stage] = route
    if state.stats_port is None:
        state.stats_port = free_port()
    pid = router_pid(paths)
    if pid is not None and not changed:
        state.router_pid = pid
        return
    _write_and_check(paths, state)
    state.router_pid = _start(paths, previous=pid)


def restart_if_dead(paths: RuntimePaths, state: RuntimeState) -> bool:
    """Start HAProxy again from the state when it is not running; whether it had to."""
    if not state.routes or router_pid(paths) is not None:
        return False
    _write_and_check(paths, state)
    state.router_pid = _start(paths, previous=None)
    return True


def _write_and_check(paths: RuntimePaths, state: RuntimeState) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    candidate = paths.haproxy_config.with_suffix(".cfg.new")
    candidate.write_text(render_config(paths, state))
    result = subprocess.run(
        [haproxy_binary(), "-c", "-q", "-f", str(candidate)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        raise RouterError(f"HAProxy refused its configuration: {result.stderr.strip()}")
    os.replace(candidate, paths.haproxy_config)


def _start(paths: RuntimePaths, previous: int | None) -> int:
    argv = [
        haproxy_binary(),
        "-D",
        "-f",
        str(paths.haproxy_config),
        "-p",
        str(paths.haproxy_pidfile),
    ]
    if previous is not None:
        argv += ["-x", str(paths.haproxy_socket), "-sf", str(previous)]
    else:
        paths.haproxy_pidfile.unlink(missing_ok=True)
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=30, start_new_session=True
    )
    if result.returncode != 0:
        raise RouterError(f"HAProxy did not start: {result.stderr.strip()}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pid = router_pid(paths)
        if pid is not None and pid != previous and _socket_answers(paths):
            return pid
        time.sleep(0.05)
    raise RouterError("HAProxy started but its stats socket does not answer")


def _socket_answers(paths: RuntimePaths) -> bool:
    try:
        api(paths, "show info")
    except RouterError:
        return False
    return True


def api(paths: RuntimePaths, command: str) -> str:
    """Send one command to HAProxy's runtime API and return its answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(paths.haproxy_socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise RouterError(f"HAProxy's runtime API did not answer {command!r}: {exc}") from exc
    answer = b"".join(chunks).decode(errors="replace")
    if answer.startswith(("Unknown command", "No such", "Require")):
        raise RouterError(f"HAProxy refused {command!r}: {answer.strip()}")
    return answer


def route_to(paths: RuntimePaths, stage: str, slot: int, port: int, weight: int = 1) -> None:
    """Point a backend slot at 127.0.0.1:port and let traffic in (at that weight)."""
    server = f"{backend_name(stage)}/{slot_name(slot)}"
    api(paths, f"set server {server} addr 127.0.0.1 port {port}")
    api(paths, f"set server {server} weight {weight}")
    api(paths, f"set server {server} state ready")
    api(paths, f"set server {server} health up")


def set_weight(paths: RuntimePaths, stage: str, slot: int, weight: int) -> None:
    """Change a slot's share of the traffic (0 takes it out of the rotation, 256 at most)."""
    api(paths, f"set server {backend_name(stage)}/{slot_name(slot)} weight {weight}")


def ready(paths: RuntimePaths, stage: str, slot: int) -> None:
    """Keep a slot in the rotation: undoes a drain a kill left unrecorded (no-op when ready)."""
    api(paths, f"set server {backend_name(stage)}/{slot_name(slot)} state ready")


def drain(paths: RuntimePaths, stage: str, slot: int) -> None:
    """Stop sending new requests to a slot; its open connections go on."""
    api(paths, f"set server {backend_name(stage)}/{slot_name(slot)} state drain")


def disable(paths: RuntimePaths, stage: str, slot: int) -> None:
    """Take a slot out of the backend entirely."""
    api(paths, f"set server {backend_name(stage)}/{slot_name(slot)} state maint")


def slot_stats(paths: RuntimePaths, stage: str) -> dict[int, dict[str, str]]:
    """`show stat` rows of a stage's servers, by slot number."""
    rows = csv.DictReader(io.StringIO(api(paths, "show stat").lstrip("# ")))
    found: dict[int, dict[str, str]] = {}
    for row in rows:
        if row.get("pxname") == backend_name(stage) and row.get("svname", "").startswith("s"):
            name = row["svname"][1:]
            if name.isdigit():
                found[int(name)] = row
    return found


def stop_router(paths: RuntimePaths, timeout: float = 10.0) -> None:
    """Stop HAProxy (soft stop: it finishes open connections first, then hard-stop-after)."""
    pid = router_pid(paths)
    if pid is None:
        return
    start = process_start_time(pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while is_alive(pid, start) and time.monotonic() < deadline:
        time.sleep(0.05)
    if is_alive(pid, start):
        os.kill(pid, signal.SIGKILL)
