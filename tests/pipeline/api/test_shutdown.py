"""`kargo server` stops on SIGTERM even while a watch stream (an open dashboard) is connected."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx

from tests.pipeline.harness import admin_headers, api_server


def test_sigterm_ends_open_watch_streams_and_the_server_exits_promptly(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ended = threading.Event()
    opened = threading.Event()
    with api_server(state) as (base, process):

        def follow() -> None:
            with httpx.stream(
                "GET", f"{base}/api/v1/watch", headers=admin_headers(state), timeout=60
            ) as stream:
                opened.set()
                for _ in stream.iter_raw():
                    pass
            ended.set()

        reader = threading.Thread(target=follow, daemon=True)
        reader.start()
        assert opened.wait(10), "the watch stream did not open"
        time.sleep(0.5)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        took = time.monotonic() - started
        assert ended.wait(5), "the watch stream was not closed"
    assert took < 4, f"the server took {took:.1f}s to stop with a watch stream open"
    assert process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it caught
    # A replacement can use the state folder at once.
    with api_server(state) as (again, _):
        assert httpx.get(f"{again}/healthz").status_code == 200
