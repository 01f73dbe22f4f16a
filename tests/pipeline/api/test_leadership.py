"""Several servers on one PostgreSQL database: one leads, the others stand by and take over."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pipeline.api.test_crash import pipeline, reaped
from tests.pipeline.databases import temporary_postgres_url
from tests.pipeline.harness import admin_headers, api_server, make_repo, wait_until
from tests.services import free_port

API = "/api/v1"


def leader(base: str, headers: dict[str, str]) -> dict[str, Any]:
    return dict(httpx.get(f"{base}{API}/leader", headers=headers).json())


def promotion(base: str, headers: dict[str, str], name: str) -> dict[str, Any]:
    url = f"{base}{API}/projects/shop/promotions/{name}"
    return dict(httpx.get(url, headers=headers).json())


@pytest.mark.postgres
def test_a_standby_serves_writes_the_leader_runs_and_takes_over_when_the_leader_dies(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    marker = tmp_path / "marker"
    config = pipeline(tmp_path / "kargo", repo, marker)
    with temporary_postgres_url("leader") as url, reaped(marker):
        with api_server(tmp_path / "a", config, url) as (first, first_process):
            headers = admin_headers(tmp_path / "a")  # the tokens live in the shared database
            wait_until(lambda: leader(first, headers)["leading"], what="the first server to lead")
            with api_server(tmp_path / "b", config, url) as (second, _):
                standby = leader(second, headers)
                assert standby["leading"] is False
                assert standby["holder"] == leader(first, headers)["server"]
                freight = wait_until(
                    lambda: (
                        httpx.get(f"{second}{API}/projects/shop/freight", headers=headers)
                        .json()
                        .get("items")
                    ),
                    what="freight",
                )[0]["metadata"]["name"]
                # Asked of the standby, run by the leader (which hears of it through the feed).
                created = httpx.post(
                    f"{second}{API}/projects/shop/promotions",
                    json={"stage": "dev", "freight": freight},
                    headers=headers,
                )
                assert created.status_code == 201, created.text
                name = created.json()["metadata"]["name"]
                logs = f"{second}{API}/projects/shop/promotions/{name}/logs"
                wait_until(
                    lambda: "started" in httpx.get(logs, headers=headers).text,
                    what="the leader to start the step",
                )
                first_process.send_signal(signal.SIGKILL)
                first_process.wait()
                # The standby sees the dead holder (same host) and leads without waiting it out.
                taken = wait_until(
                    lambda: (now := leader(second, headers))["leading"] and now,
                    timeout=15,
                    what="the standby to take over",
                )
                assert taken["transitions"] == 1
                finished = wait_until(
                    lambda: (
                        (p := promotion(second, headers, name))["status"].get("phase")
                        in ("Succeeded", "Errored")
                        and p
                    ),
                    timeout=30,
                    what="the new leader to finish the promotion",
                )
    assert finished["status"]["phase"] == "Succeeded", finished["status"]
    step = finished["status"]["stepExecutionMetadata"][0]
    assert step["attempts"] == 2 and step["status"] == "Succeeded"


def test_a_second_server_on_the_same_sqlite_state_folder_is_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    with api_server(state) as (base, _):
        wait_until(lambda: leader(base, admin_headers(state))["leading"], what="leadership")
        argv = [sys.executable, "-m", "kargo.api", "--state-dir", str(state),
                "--port", str(free_port())]  # fmt: skip
        env = {"KARGO_CONFIG": str(tmp_path / "cli.yaml"), "PATH": "/usr/bin:/bin"}
        second = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert second.returncode != 0
    assert "the state folder is in use by" in second.stderr
    assert "--database-url" in second.stderr
