"""Shared pieces of the CLI tests: resource fixtures shaped as docs/api.md says, golden files."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kargo.model.registry import PLURALS

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
NOW = datetime(2026, 11, 26, 6, 0, 0, tzinfo=UTC)


def load(name: str) -> list[Any]:
    """The resources of one fixture file (a JSON list of items, as a list endpoint returns
    them), parsed into their contract models as the client parses answers."""
    from kargo.api.contract import ANSWER_LISTS

    kind = {"events": "Event", "webhookdeliveries": "WebhookDelivery"}.get(name)
    kind = kind or PLURALS[name]
    items = json.loads((FIXTURES / f"{name}.json").read_text())
    return list(ANSWER_LISTS[kind].model_validate({"items": items}).items)  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def hundred_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Describe fits its lines to COLUMNS: the goldens are 100 wide."""
    monkeypatch.setenv("COLUMNS", "100")


def assert_golden(name: str, text: str) -> None:
    """text equals golden/<name>; UPDATE_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text + "\n")
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1 and review it"
    assert text + "\n" == path.read_text()


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private CLI config file and no KARGO_* variables from the environment."""
    path = tmp_path / "kargo" / "config.yaml"
    monkeypatch.setenv("KARGO_CONFIG", str(path))
    monkeypatch.delenv("KARGO_SERVER", raising=False)
    monkeypatch.delenv("KARGO_TOKEN", raising=False)
    return path


class Ran:
    """What one `kargo …` invocation printed and returned."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"Ran(code={self.code}, out={self.out!r}, err={self.err!r})"


def kargo(*args: str, env: dict[str, str | None] | None = None) -> Ran:
    """Run the CLI in this process, as the console script would, capturing its streams."""
    from click.testing import CliRunner
    from kargo.cli.main import run

    runner = CliRunner()
    with runner.isolation(env=env) as (out, err, _):
        code = run(list(args))
        return Ran(code, out.getvalue().decode(), err.getvalue().decode())
