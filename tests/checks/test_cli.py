"""The suites as commands: JSON on stdout, exit 0 when passed and 1 when not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.checks.support import write_advisory
from tests.services import VENV_BIN, free_port

CLI = str(VENV_BIN / "poker-checks")


def _run(*args: str) -> tuple[int, dict[str, Any]]:
    completed = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120)
    return completed.returncode, json.loads(completed.stdout)


def test_security_exits_zero_on_a_clean_app(app_source: Path) -> None:
    code, report = _run("security", "--source", str(app_source), "--no-bandit")
    assert code == 0 and report["passed"] is True


def test_security_exits_one_and_names_the_advisory(app_source: Path, tmp_path: Path) -> None:
    db = write_advisory(tmp_path / "db", "PYSEC-2099-1", "uvicorn", "1000", "CRITICAL")
    code, report = _run(
        "security", "--source", str(app_source), "--advisory-db", str(db), "--no-bandit"
    )
    assert code == 1 and report["critical"] == 1
    assert [f["id"] for f in report["findings"] if f["kind"] == "advisory"] == ["PYSEC-2099-1"]


def test_smoke_exits_one_when_nothing_answers() -> None:
    code, report = _run("smoke", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "2")
    checks = report["checks"]
    assert code == 1 and isinstance(checks, list)
    assert checks[0]["name"] == "api-healthz" and "HTTP error" in checks[0]["error"]


def test_a_bad_option_value_is_a_usage_error() -> None:
    completed = subprocess.run(
        [CLI, "load", "--url", "http://127.0.0.1:1", "--users", "0"], capture_output=True, text=True
    )
    assert completed.returncode == 2 and "users" in completed.stderr
