"""The checks service guards what it reads and where it sends traffic (issue 15, items 1 and 2)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from poker_checks.access import RequestRefused, ServiceSettings

from tests.checks.support import AUTH, CHECKS_TOKEN
from tests.services import VENV_BIN, free_port

SECRET = "kargo_planted-admin-token-9f8e7d6c5b4a"


@pytest.fixture
def admin_token_outside() -> Iterator[Path]:
    """A token file outside the service's roots (the tests' temporary folder), as `.kargo/` is."""
    with tempfile.TemporaryDirectory(prefix="kargo-state-", dir="/var/tmp") as folder:
        token = Path(folder) / "admin.token"
        token.write_text(SECRET + "\n")
        yield token


def test_every_suite_needs_the_token_and_healthz_does_not(checks_url: str) -> None:
    for path in ("/smoke", "/security", "/load", "/openapi.json"):
        assert httpx.post(f"{checks_url}{path}", json={}, timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert httpx.post(f"{checks_url}/smoke", json={}, headers=wrong).status_code == 401
    assert httpx.get(f"{checks_url}/healthz").status_code == 200


def test_a_lock_outside_the_roots_is_refused_naming_them(
    checks_url: str, app_source: Path, admin_token_outside: Path
) -> None:
    for key in ("lock", "env_file", "config_dir", "venv", "advisory_db"):
        body = {"source": str(app_source), key: str(admin_token_outside), "bandit": False}
        response = httpx.post(f"{checks_url}/security", json=body, headers=AUTH, timeout=30)
        assert response.status_code == 400, key
        assert "outside the folders this service reads" in response.text
        assert str(app_source.parents[1]) in response.json()["detail"]  # the allowed root
        assert SECRET not in response.text
    body = {"source": str(admin_token_outside.parent), "bandit": False}
    response = httpx.post(f"{checks_url}/security", json=body, headers=AUTH, timeout=30)
    assert response.status_code == 400 and SECRET not in response.text


def test_a_symlinked_lock_in_the_source_cannot_reach_outside(
    checks_url: str, app_source: Path, admin_token_outside: Path
) -> None:
    (app_source / "requirements.lock").unlink()
    (app_source / "requirements.lock").symlink_to(admin_token_outside)
    body = {"source": str(app_source), "bandit": False}
    response = httpx.post(f"{checks_url}/security", json=body, headers=AUTH, timeout=30)
    assert response.status_code == 400 and "lock" in response.text
    assert SECRET not in response.text


def test_reports_never_echo_file_content(checks_url: str, app_source: Path) -> None:
    # Inside the roots: a lock line that is not a pin, an env file, a broken YAML file.
    lock = app_source / "requirements.lock"
    lock.write_text(lock.read_text() + f"{SECRET}\n")
    env_file = app_source / "production.env"
    env_file.write_text(f"SECRET_KEY={SECRET}\nAPP_ENV={SECRET}-staging\nDEBUG=1\n")
    config = app_source / "kargo"
    config.mkdir()
    (config / "broken.yaml").write_text(f"key: [{SECRET}\n")
    body = {"source": str(app_source), "env_file": str(env_file), "config_dir": str(config)}
    response = httpx.post(
        f"{checks_url}/security", json={**body, "bandit": False}, headers=AUTH, timeout=60
    )
    assert response.status_code == 200
    report = response.json()
    ids = {finding["id"] for finding in report["findings"]}
    assert {"DEP-UNPINNED", "CONFIG-NOT-PRODUCTION", "CONFIG-DEBUG"} <= ids
    assert SECRET not in response.text


def test_a_target_outside_the_allow_list_is_refused_with_the_reason(checks_url: str) -> None:
    foreign = "http://example.org:80"
    for path, body in (
        ("/smoke", {"url": foreign}),
        ("/load", {"url": foreign, "users": 1, "duration_seconds": 1}),
    ):
        response = httpx.post(f"{checks_url}{path}", json=body, headers=AUTH, timeout=10)
        assert response.status_code == 400
        assert "is not an allowed target" in response.json()["detail"]


def test_load_bounds_and_the_osv_url_are_enforced(
    checks_url: str, app_url: str, app_source: Path
) -> None:
    too_many = {"url": app_url, "users": 500, "duration_seconds": 1}
    response = httpx.post(f"{checks_url}/load", json=too_many, headers=AUTH, timeout=10)
    assert response.status_code == 400 and "bound 50" in response.text
    too_long = {"url": app_url, "users": 1, "duration_seconds": 600}
    response = httpx.post(f"{checks_url}/load", json=too_long, headers=AUTH, timeout=10)
    assert response.status_code == 400 and "bound 120" in response.text
    osv = {"source": str(app_source), "online": True, "osv_url": "http://10.0.0.1:9"}
    response = httpx.post(f"{checks_url}/security", json=osv, headers=AUTH, timeout=10)
    assert response.status_code == 400 and "osv_url" in response.text


def test_an_oversized_body_is_refused_before_it_is_read(checks_url: str) -> None:
    huge = b"{" + b" " * (8 * 1024 * 1024) + b"}"
    response = httpx.post(f"{checks_url}/smoke", content=huge, timeout=30)
    assert response.status_code == 401  # authentication comes first
    response = httpx.post(f"{checks_url}/smoke", content=huge, headers=AUTH, timeout=30)
    assert response.status_code == 413


def test_the_runtime_targets_file_allows_its_app_instances(tmp_path: Path) -> None:
    targets = tmp_path / "targets.json"
    groups = [
        {"targets": ["127.0.0.1:41001"], "labels": {"component": "app", "stage": "production"}},
        {"targets": ["127.0.0.1:41002"], "labels": {"component": "router"}},
    ]
    targets.write_text(json.dumps(groups))
    settings = ServiceSettings.build(
        "t", [tmp_path], ["http://127.0.0.1:8101"], targets_file=targets
    )
    settings.check_target("http://127.0.0.1:41001/")
    settings.check_target("http://127.0.0.1:8101")
    with pytest.raises(RequestRefused, match="not an allowed target"):
        settings.check_target("http://127.0.0.1:41002")


def test_serve_without_a_token_refuses_to_start() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POKER_CHECKS_TOKEN")}
    argv = [str(VENV_BIN / "poker-checks"), "serve", "--port", str(free_port())]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "no token" in done.stderr


def test_create_token_writes_a_private_token_file(tmp_path: Path) -> None:
    from poker_checks.access import read_token_file

    path = tmp_path / "secrets" / "checks" / "token"
    token = read_token_file(path, create=True)
    assert len(token) >= 40 and token != CHECKS_TOKEN
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_token_file(path, create=True) == token
