"""A PostgreSQL cluster of the test's own (initdb + pg_ctl on a free port in a temporary folder).

Tests that restart PostgreSQL use it; the shared server on 5432 is never touched. The cluster
runs as the `postgres` user (initdb refuses root) with trust authentication on loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.services import free_port, require_binary

BIN = Path("/usr/lib/postgresql/15/bin")


class Cluster:
    """A running private cluster: its URL, and restarts."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.data = folder / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/faults"

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off"
        argv = [str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log")]
        argv += ["-o", options, "-w", "-t", "60", *args]
        _as_postgres(argv)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: roll back open transactions and disconnect everyone)."""
        self._ctl("-m", mode, "stop")


def _as_postgres(argv: list[str]) -> None:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


@contextmanager
def private_postgres() -> Iterator[Cluster]:
    """A fresh cluster with a `faults` database for the block; removed afterwards."""
    require_binary(str(BIN / "initdb"))
    # Not under pytest's tmp_path: its parents are private to root, and the cluster is not.
    folder = Path(tempfile.mkdtemp(prefix="kargo-faults-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = Cluster(folder, free_port())
    _as_postgres([str(BIN / "initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres"])
    cluster.start()
    try:
        _as_postgres(
            [str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
             "faults"]
        )  # fmt: skip
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
