"""Start, stop, restart and migrate: the app as the pipeline runs it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from planning_poker.cli import main
from planning_poker.scheduling import slice_of
from planning_poker.settings import load_settings
from planning_poker.web import create_app

from tests.app.conftest import Peer, Server, app_server, create_room, join, member
from tests.app.test_scheduling import custom_slices

OpenPeer = Callable[[Server, str, str], Peer]


def readyz_in_process(database_url: str) -> httpx.Response:
    """Ask /readyz of an app built in this process that did not migrate its database."""
    app = create_app(load_settings(database_url=database_url), migrate=False)

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get("/readyz")

    try:
        return asyncio.run(ask())
    finally:
        app.state.services.engine.dispose()


def test_a_crash_and_restart_keep_every_room_exactly_as_it_was(
    tmp_path: Path, peers: OpenPeer
) -> None:
    with app_server(tmp_path, env={"PLANNING_POKER_COMMIT": "0123abc"}) as first:
        assert httpx.get(first.base + "/version").json()["commit"] == "0123abc"
        room = create_room(first)
        ann = join(first, room["id"], "Ann")
        fay = peers(first, room["id"], room["token"])
        fay.send({"type": "add_story", "title": "Login"})
        fay.send({"type": "vote", "card": "8"})
        fay.send({"type": "reveal"})
        fay.send({"type": "set_estimate", "estimate": "8"})
        fay.state(lambda r: r["currentStory"] and r["currentStory"]["estimate"] == "8")
        before = httpx.get(f"{first.base}/api/rooms/{room['id']}").json()
        assert first.process is not None
        first.process.kill()  # a crash: Fay's connection is never recorded as closed
        first.process.wait()
    with app_server(tmp_path) as second:
        after = httpx.get(f"{second.base}/api/rooms/{room['id']}").json()
        ann_ws = peers(second, room["id"], ann["token"])
        state = ann_ws.state(lambda r: True)
    # running() stopped the second with SIGTERM while Ann's socket was open: uvicorn drains,
    # then re-raises the signal so that the exit status tells what stopped it
    assert second.process is not None and second.process.returncode in (0, -signal.SIGTERM)
    strip = {"version", "participants"}
    assert {k: v for k, v in after.items() if k not in strip} == {
        k: v for k, v in before.items() if k not in strip
    }
    assert [(p["id"], p["role"], p["vote"]) for p in after["participants"]] == [
        (p["id"], p["role"], p["vote"]) for p in before["participants"]
    ]
    assert member(after, "Fay")["online"] is False, "no ghost left online by the crash"
    assert member(state, "Fay")["online"] is False
    assert member(state, "Ann")["online"] is True


def test_migrate_applies_the_schema_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    monkeypatch.chdir("/")
    main(["migrate", "--database-url", url])
    assert "latest migration" in capsys.readouterr().out
    assert readyz_in_process(url).status_code == 200


def test_readyz_reports_a_database_without_the_schema(tmp_path: Path) -> None:
    answer = readyz_in_process(f"sqlite:///{tmp_path}/empty.db")
    assert answer.status_code == 503
    assert answer.json() == {"status": "not-ready", "reason": "database migrations are not current"}


def test_a_running_app_copies_its_commits_into_the_database_file_within_seconds(
    tmp_path: Path,
) -> None:
    # The WAL is checkpointed by the app's background task, not by the commits: the main file,
    # read without its WAL, holds the new room within a few seconds of its creation.
    (tmp_path / "data").mkdir()
    with app_server(tmp_path / "data") as server:
        room = create_room(server)
        deadline = time.monotonic() + 10
        found = 0
        while not found and time.monotonic() < deadline:
            time.sleep(0.5)
            copied = tmp_path / f"copy-{time.monotonic_ns()}.db"
            shutil.copyfile(tmp_path / "data" / "planning-poker.db", copied)
            copy = sqlite3.connect(copied)
            try:
                query = "SELECT count(*) FROM rooms WHERE id = ?"
                found = copy.execute(query, (room["id"],)).fetchone()[0]
            finally:
                copy.close()
        assert found == 1


def test_the_server_runs_on_uvloop(tmp_path: Path) -> None:
    # libuv's loop: a paced vote reaches the room sooner than on asyncio's (docs/app.md).
    with app_server(tmp_path) as server:
        assert server.process is not None
        mapped = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert "/uvloop/loop." in mapped


@pytest.mark.skipif(not custom_slices(), reason="Linux before 6.12 has no per-thread slice")
def test_the_server_loop_asks_for_a_short_scheduler_slice_unless_told_not_to(
    tmp_path: Path,
) -> None:
    # Readers woken by the broadcast's writes wait for the server's turn (docs/app.md).
    for name in ("short", "default"):
        (tmp_path / name).mkdir()
    with app_server(tmp_path / "short") as server:
        assert server.process is not None
        assert slice_of(server.process.pid) == pytest.approx(0.001)
    kernels = {"PLANNING_POKER_SCHEDULER_SLICE_SECONDS": "0"}
    with app_server(tmp_path / "default", env=kernels) as server:
        assert server.process is not None
        assert slice_of(server.process.pid) == pytest.approx(slice_of(os.getpid()))
        assert slice_of(os.getpid()) != pytest.approx(0.001)
