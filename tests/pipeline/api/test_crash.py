"""SIGKILL in the middle of a long shell step: after a restart the promotion finishes cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pipeline.databases import database_url
from tests.pipeline.documents import documents, git_warehouse, project, stage
from tests.pipeline.harness import api_server, auth, make_repo, wait_until

API = "/api/v1"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def pipeline(folder: Path, repo: Path, marker: Path) -> Path:
    folder.mkdir()
    deploy = f"""\
- uses: shell
  as: deploy
  config:
    command: "echo $$ >> {marker}.pids; echo started; sleep 3; echo run >> {marker}"
"""
    (folder / "pipeline.yaml").write_text(
        documents(project(), git_warehouse(repo, interval=None), stage("dev", deploy))
    )
    return folder


@contextlib.contextmanager
def reaped(marker: Path) -> Iterator[None]:
    """Kill the shell steps the killed engine left behind (each runs in its own session)."""
    try:
        yield
    finally:
        pids = Path(f"{marker}.pids")
        for pid in pids.read_text().split() if pids.exists() else []:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(pid), signal.SIGKILL)


def promotion(base: str, name: str) -> dict[str, Any]:
    return dict(
        httpx.get(f"{base}{API}/projects/shop/promotions/{name}", headers=auth(base)).json()
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_engine_resumes_the_interrupted_step_after_restart(
    backend: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    marker = tmp_path / "marker"
    config = pipeline(tmp_path / "kargo", repo, marker)
    state = tmp_path / "state"
    with database_url(backend, tmp_path, "crash") as url, reaped(marker):
        with api_server(state, config, url) as (base, process):
            freight = wait_until(
                lambda: httpx.get(f"{base}{API}/projects/shop/freight", headers=auth(base)).json()[
                    "items"
                ],
                what="freight",
            )[0]
            created = httpx.post(
                f"{base}{API}/projects/shop/promotions",
                json={"stage": "dev", "freight": freight["metadata"]["name"]},
                headers=auth(base),
            ).json()
            name = created["metadata"]["name"]
            logs = f"{base}{API}/projects/shop/promotions/{name}/logs"
            wait_until(
                lambda: "started" in httpx.get(logs, headers=auth(base)).text,
                what="the step to start",
            )
            process.send_signal(signal.SIGKILL)
            process.wait()
        time.sleep(0.2)
        with api_server(state, config, url) as (base, _):
            interrupted = promotion(base, name)
            stage = httpx.get(f"{base}{API}/projects/shop/stages/dev", headers=auth(base)).json()
            finished = wait_until(
                lambda: (
                    (p := promotion(base, name))["status"]["phase"] in ("Succeeded", "Errored")
                    and p
                ),
                timeout=30,
                what="the promotion to end",
            )
            stage_after = httpx.get(
                f"{base}{API}/projects/shop/stages/dev", headers=auth(base)
            ).json()
    assert interrupted["status"]["phase"] in ("Running", "Succeeded")
    # The current freight changes only with a success.
    if interrupted["status"]["phase"] == "Running":
        assert not stage["status"].get("freightHistory")
    assert finished["status"]["phase"] == "Succeeded", finished["status"]
    step = finished["status"]["stepExecutionMetadata"][0]
    assert step["attempts"] == 2 and step["status"] == "Succeeded"
    assert stage_after["status"]["freightHistory"][0]["name"] == freight["metadata"]["name"]
    assert marker.read_text().count("run") >= 1
