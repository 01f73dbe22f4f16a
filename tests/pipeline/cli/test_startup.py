"""A `kargo …` command starts without loading the server: the API app, the engine, the store."""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_SIDE = (
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "kargo.api.app",
    "kargo.api.server",
    "kargo.api.errors",
    "kargo.engine",
    "kargo.store",
    "kargo.config",
    "kargo.notify",
    "kargo.runtime",
    "kargo.steps",
    "kargo.analysis",
    "kargo.auth.tokens",
    "kargo.auth.chain",
)
"""Packages only the server needs (a prefix names the package and its modules)."""


def loaded_after(statements: str, prefixes: tuple[str, ...] = SERVER_SIDE) -> list[str]:
    """The modules under prefixes that a fresh interpreter holds after running statements."""
    script = (
        f"import json, sys\n{statements}\n"
        f"prefixes = {prefixes!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "    if any(m == p or m.startswith(p + '.') for p in prefixes))))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    modules: list[str] = json.loads(ran.stdout)
    return modules


def test_the_cli_starts_without_the_server_side_modules() -> None:
    assert loaded_after("import kargo.cli.main") == []


def test_the_client_and_the_contract_load_without_the_server_side_modules() -> None:
    assert loaded_after("import kargo.client, kargo.api.contract, kargo.auth.credentials") == []


def test_python_jsonpath_waits_for_the_first_template() -> None:
    assert loaded_after("import kargo.cli.main", ("jsonpath",)) == []
    used = "from kargo.cli.templates import query\nassert query({'a': 1}, '.a') == [1]"
    assert "jsonpath" in loaded_after(used, ("jsonpath",))
