"""Smoke and load suites against a real Planning Poker process."""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import sys
from pathlib import Path

import httpx
import pytest
from poker_checks.load import judge_load, measure_load
from poker_checks.smoke import PLAN, run_smoke
from poker_checks.targets import LoadRequest, SmokeRequest

from tests.checks.support import APP_COMMIT, AUTH
from tests.services import REPO_ROOT, free_port, running

LOAD_KEYS = {"passed", "requests", "failures", "error_rate", "rps", "p50_ms", "p95_ms", "p99_ms"}


def test_every_smoke_check_passes_against_the_real_app(app_url: str) -> None:
    report = asyncio.run(run_smoke(SmokeRequest(url=app_url, commit=APP_COMMIT)))
    failed = [(c.name, c.error) for c in report.checks if not c.passed]
    assert failed == []
    assert report.passed and [c.name for c in report.checks] == [name for name, _, _ in PLAN]


def test_a_commit_mismatch_fails_only_the_version_check(app_url: str) -> None:
    report = asyncio.run(run_smoke(SmokeRequest(url=app_url, commit="not-the-running-commit")))
    failed = [c for c in report.checks if not c.passed]
    assert not report.passed
    assert [c.name for c in failed] == ["api-version"]
    assert "not-the-running-commit" in (failed[0].error or "")


@pytest.fixture(scope="module")
def short_run(app_url: str) -> tuple[LoadRequest, dict[str, float]]:
    """One short real locust run against the app, shared by the load tests below."""
    request = LoadRequest(url=app_url, users=3, spawn_rate=3, duration_seconds=3, max_p95_ms=2000)
    return request, measure_load(request)


def test_a_short_locust_run_passes_and_counts_websocket_rounds(
    short_run: tuple[LoadRequest, dict[str, float]],
) -> None:
    request, stats = short_run
    report = judge_load(stats, request)
    assert report.error is None and report.passed
    assert report.requests > 10 and report.failures == 0
    assert 0 < report.p50_ms <= report.p95_ms <= report.p99_ms


def test_a_p95_above_the_threshold_fails_the_load_run(
    short_run: tuple[LoadRequest, dict[str, float]],
) -> None:
    request, stats = short_run
    report = judge_load(stats, request.model_copy(update={"max_p95_ms": 0.001}))
    assert not report.passed
    assert report.error is not None and "p95" in report.error and "0.001 ms" in report.error


def test_smoke_over_http_passes_against_the_real_app(checks_url: str, app_url: str) -> None:
    response = httpx.post(f"{checks_url}/smoke", json={"url": app_url}, headers=AUTH, timeout=60)
    report = response.json()
    assert response.status_code == 200
    assert report["passed"] is True, [c for c in report["checks"] if not c["passed"]]
    assert {"name", "passed", "duration_ms", "error"} <= set(report["checks"][0])


def test_load_over_http_answers_the_issue_shape_and_a_concurrent_run_gets_429(
    checks_url: str, app_url: str
) -> None:
    # The service under test allows one load run at a time and queues for 1 s at most.
    body = {"url": app_url, "users": 2, "spawn_rate": 2, "duration_seconds": 2}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(httpx.post, f"{checks_url}/load", json=body, headers=AUTH, timeout=60)
        ]
        futures.append(
            pool.submit(httpx.post, f"{checks_url}/load", json=body, headers=AUTH, timeout=60)
        )
        responses = sorted((f.result() for f in futures), key=lambda r: r.status_code)
    assert [r.status_code for r in responses] == [200, 429]
    report = responses[0].json()
    assert LOAD_KEYS <= set(report)
    assert report["requests"] > 0
    assert responses[1].headers["retry-after"] == "30"


def test_a_commit_that_breaks_the_statistics_fails_the_stats_check(tmp_path: Path) -> None:
    # A real app process from a copy of the source with one deliberate bug in the average.
    source = tmp_path / "src"
    shutil.copytree(REPO_ROOT / "app" / "src", source, ignore=shutil.ignore_patterns("__pycache__"))
    stats = source / "planning_poker" / "stats.py"
    original = stats.read_text()
    broken = original.replace("statistics.fmean(numbers)", "statistics.fmean(numbers) + 1")
    assert broken != original, "the deliberate bug no longer applies to app/src/.../stats.py"
    stats.write_text(broken)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        sys.executable,
        "-c",
        "from planning_poker.cli import main; main()",
        "--port",
        str(port),
    ]
    env = {"PYTHONPATH": str(source), "PLANNING_POKER_DATA_DIR": str(tmp_path)}
    with running(argv, f"{url}/healthz", env=env):
        report = asyncio.run(run_smoke(SmokeRequest(url=url)))
    failed = {c.name: c.error for c in report.checks if not c.passed}
    assert not report.passed
    assert list(failed) == ["stats-correct"]
    assert "average is 7.0" in (failed["stats-correct"] or "")
