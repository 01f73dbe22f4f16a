"""Watch streams tell a slow client to resync, and streams are bounded per token (issue 15, 13)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pipeline.harness import api_server, auth, make_repo
from tests.services import VENV_BIN

API = "/api/v1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("streams")
    env = {"KARGO_WATCH_QUEUE_SIZE": "2", "KARGO_MAX_STREAMS_PER_TOKEN": "2"}
    with api_server(root / "state", env=env) as (base, _):
        yield base, make_repo(root / "repo")


def warehouses(repo: Path, count: int) -> str:
    """A project and `count` warehouses: one apply, many changes at once."""
    docs = ["apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: shop}\n"]
    for number in range(count):
        docs.append(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\n"
            f"metadata: {{name: w{number}, namespace: shop}}\n"
            f"spec: {{subscriptions: [{{git: {{repoURL: {repo}, branch: main}}}}]}}\n"
        )
    return "---\n".join(docs)


def test_a_client_that_falls_behind_gets_a_resync_event(server: tuple[str, Path]) -> None:
    base, repo = server
    with httpx.Client(base_url=base, headers=auth(base), timeout=15) as client:
        with client.stream("GET", f"{API}/watch") as stream:
            assert stream.status_code == 200
            time.sleep(1)  # the stream subscribes once its first chunk is asked for
            applied = client.post(f"{API}/apply", content=warehouses(repo, 8))
            assert applied.status_code == 200, applied.text
            events = []
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    events.append(line.split(":", 1)[1].strip())
                if "resync" in events:
                    break
    assert "resync" in events


def test_streams_are_bounded_per_token(server: tuple[str, Path]) -> None:
    base, _ = server
    with httpx.Client(base_url=base, headers=auth(base), timeout=15) as client:
        with client.stream("GET", f"{API}/watch") as first:
            with client.stream("GET", f"{API}/watch") as second:
                assert first.status_code == second.status_code == 200
                with client.stream("GET", f"{API}/watch") as third:
                    assert third.status_code == 429
                    third.read()
                    assert "already holds 2 open streams" in third.text
        deadline = time.monotonic() + 10
        while True:  # the closed streams give their slots back
            with client.stream("GET", f"{API}/watch") as again:
                if again.status_code == 200:
                    break
            assert time.monotonic() < deadline, "the slots were never given back"
            time.sleep(0.3)


def test_kargo_get_watch_lists_again_after_a_resync(server: tuple[str, Path]) -> None:
    base, repo = server
    env = {
        **os.environ,
        "KARGO_SERVER": base,
        "KARGO_TOKEN": auth(base)["Authorization"].split()[1],
        "KARGO_CONFIG": str(repo.parent / "cli.yaml"),
    }
    argv = [str(VENV_BIN / "kargo"), "get", "warehouses", "-w", "--project", "shop"]
    watcher = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert watcher.stdout is not None
        header = watcher.stdout.readline()  # printed after the first list, before the watch
        assert header.startswith("NAME"), header
        time.sleep(1.5)
        with httpx.Client(base_url=base, headers=auth(base), timeout=15) as client:
            text = warehouses(repo, 8).replace("name: w", "name: again")
            assert client.post(f"{API}/apply", content=text).status_code == 200
        time.sleep(3)
    finally:
        watcher.terminate()
        rest, err = watcher.communicate(timeout=10)
    out = header + rest
    assert "the watch fell behind; listing again" in err, (out, err)
    assert "again7" in out
