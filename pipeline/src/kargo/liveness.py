"""Whether a recorded process still runs: its pid and the kernel's start time (Linux /proc).

A leaf module under every layer: the runtime checks its app instances with it, the store the
holders of leases. A pid alone is not enough: a zombie has exited, and pids are reused.
"""

from __future__ import annotations

from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (state first), or None when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of a live process (guards against pid reuse), or None."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] == "Z":  # a zombie has exited already
        return None
    return int(fields[19])


def parent_pid(pid: int) -> int | None:
    """The parent pid of a process, or None when it is gone."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[1])


def is_alive(pid: int | None, start_time: int | None) -> bool:
    """Whether the process that was recorded is still the one running under that pid."""
    if pid is None:
        return False
    current = process_start_time(pid)
    return current is not None and (start_time is None or current == start_time)
