"""A short scheduler slice for the event loop's thread, so that a broadcast is not preempted.

Every frame written over loopback wakes the process reading it (a proxy on the same machine,
or the benchmark's clients), and Linux tends to run the woken reader on the writer's own core:
with the kernel's default slice (1.4 ms on two cores) the reader often took the core in the
middle of a broadcast, and the second to fifth of a room's ten writes took 40-50 us each
instead of 8 (docs/app.md, "Eighth round"). Since Linux 6.12 a normal (`SCHED_OTHER`) thread
may ask for its own slice (`sched_attr.sched_runtime`, 0.1 to 100 ms); with a shorter one the
EEVDF scheduler gives the server's short turns earlier deadlines, so they run to the end and
the woken readers wait for them. It takes no privilege and leaves the nice value and the share
of CPU as they are. Older kernels ignore the field; other systems lack the call.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys

# struct sched_attr as of Linux 3.14 (SCHED_ATTR_SIZE_VER0): size, policy, flags, nice,
# priority, runtime, deadline, period.
_SCHED_ATTR = struct.Struct("=IIQiIQQQ")
_SCHED_OTHER = 0
_SYSCALLS = {  # (sched_setattr, sched_getattr) by machine
    "x86_64": (314, 315),
    "aarch64": (274, 275),
}
MIN_SLICE_SECONDS = 0.0001
MAX_SLICE_SECONDS = 0.1


class SliceUnavailable(OSError):
    """The system cannot set a thread's scheduler slice."""


def _syscalls() -> tuple[int, int]:
    numbers = _SYSCALLS.get(platform.machine()) if sys.platform == "linux" else None
    if numbers is None:
        raise SliceUnavailable(f"no sched_setattr on {sys.platform}/{platform.machine()}")
    return numbers


def _call(number: int, *args: object) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(number, *args) != 0:
        code = ctypes.get_errno()
        raise SliceUnavailable(code, f"sched_setattr/getattr: {errno.errorcode.get(code, code)}")


def request_slice(seconds: float) -> None:
    """Ask the kernel for a scheduler slice of `seconds` for the calling thread; its nice
    value stays (raises SliceUnavailable where the system has no such call)."""
    if not MIN_SLICE_SECONDS <= seconds <= MAX_SLICE_SECONDS:
        raise ValueError(f"a slice is {MIN_SLICE_SECONDS} to {MAX_SLICE_SECONDS} seconds")
    set_number, _ = _syscalls()
    nice = os.getpriority(os.PRIO_PROCESS, 0)  # on Linux: the calling thread's
    attr = _SCHED_ATTR.pack(_SCHED_ATTR.size, _SCHED_OTHER, 0, nice, 0, round(seconds * 1e9), 0, 0)
    _call(set_number, 0, ctypes.create_string_buffer(attr, _SCHED_ATTR.size), 0)


def slice_of(thread_id: int) -> float:
    """The scheduler slice (seconds) a normal thread has, as `sched_getattr` reports it."""
    _, get_number = _syscalls()
    buffer = ctypes.create_string_buffer(_SCHED_ATTR.size)
    _call(get_number, thread_id, buffer, _SCHED_ATTR.size, 0)
    runtime: int = _SCHED_ATTR.unpack(buffer.raw)[5]
    return runtime / 1e9
