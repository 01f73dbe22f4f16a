"""The checks service over real HTTP: the security report shape and refused bodies."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.checks.support import AUTH

SECURITY_KEYS = {"passed", "critical", "high", "medium", "low", "findings", "advisory_db"}


def test_security_over_http_answers_the_issue_shape(checks_url: str, app_source: Path) -> None:
    body = {"source": str(app_source), "freight": "f1", "commit": "abc", "bandit": False}
    response = httpx.post(f"{checks_url}/security", json=body, headers=AUTH, timeout=60)
    assert response.status_code == 200
    report = response.json()
    assert SECURITY_KEYS <= set(report)
    assert report["passed"] is True and report["critical"] == 0
    assert set(report["advisory_db"]) >= {"source", "age_hours"}


def test_a_body_without_a_url_is_refused_with_422(checks_url: str) -> None:
    response = httpx.post(f"{checks_url}/smoke", json={"freight": "f1"}, headers=AUTH, timeout=10)
    assert response.status_code == 422
