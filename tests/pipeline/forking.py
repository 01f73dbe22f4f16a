"""`python -m kargo.api` without the imports: `main()` forked from a fork server that has them.

A fresh interpreter spends 2-6 s importing kargo on a busy machine; the fork server pays that
once per test session. Each server still runs in a process of its own with the environment,
working folder, arguments and log file the test gave it, and the handle answers as a
`subprocess.Popen` does (`send_signal`, `wait`, `poll`, `returncode`), so tests kill and stop it
the same way. The fork server holds none of the test's sockets or threads.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
from pathlib import Path

_FORKS = multiprocessing.get_context("forkserver")
_FORKS.set_forkserver_preload(["kargo.api.__main__", "kargo.runtime", "kargo.notify.dispatcher"])


def _serve(argv: list[str], env: dict[str, str], cwd: str, log: str) -> None:
    """The server's process: the test's environment and folder, output to its log, `main()`."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    from kargo.api.__main__ import main

    raise SystemExit(main(argv))


class ForkedServer:
    """A forked `python -m kargo.api`, driven like the `subprocess.Popen` it replaces."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self._process = _FORKS.Process(
            target=_serve, args=(argv, env, os.getcwd(), str(log)), daemon=False
        )
        self._process.start()
        assert self._process.pid is not None
        self.pid: int = self._process.pid

    @property
    def returncode(self) -> int | None:
        """The exit code, or minus the signal that ended it; None while it runs."""
        return self._process.exitcode

    def poll(self) -> int | None:
        """The exit code once it has ended, else None."""
        return self._process.exitcode

    def send_signal(self, signum: int) -> None:
        """Send a signal to the server's process."""
        if self._process.exitcode is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        """SIGTERM, as Popen.terminate."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, as Popen.kill."""
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the end; TimeoutExpired after `timeout` seconds, as Popen.wait."""
        self._process.join(timeout)
        code = self._process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired(["kargo.api"], timeout or 0.0)
        return code
