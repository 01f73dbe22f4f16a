"""The checks service over real HTTP: report shapes, bad bodies, the per-suite concurrency limit."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import httpx

from tests.services import free_port

SECURITY_KEYS = {"passed", "critical", "high", "medium", "low", "findings", "advisory_db"}


def test_security_over_http_answers_the_issue_shape(checks_url: str, app_source: Path) -> None:
    body = {"source": str(app_source), "freight": "f1", "commit": "abc", "bandit": False}
    response = httpx.post(f"{checks_url}/security", json=body, timeout=60)
    assert response.status_code == 200
    report = response.json()
    assert SECURITY_KEYS <= set(report)
    assert report["passed"] is True and report["critical"] == 0
    assert set(report["advisory_db"]) >= {"source", "age_hours"}


def test_a_body_without_a_url_is_refused_with_422(checks_url: str) -> None:
    response = httpx.post(f"{checks_url}/smoke", json={"freight": "f1"}, timeout=10)
    assert response.status_code == 422


def test_a_second_load_run_waits_then_gets_429_while_the_only_slot_is_busy(
    checks_url: str,
) -> None:
    # Nothing listens at this URL: locust still runs its full 2 s, holding the single slot.
    body = {"url": f"http://127.0.0.1:{free_port()}", "users": 1, "duration_seconds": 2}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(httpx.post, f"{checks_url}/load", json=body, timeout=60)
        second = pool.submit(httpx.post, f"{checks_url}/load", json=body, timeout=60)
        statuses = sorted([first.result().status_code, second.result().status_code])
    assert statuses == [200, 429]
