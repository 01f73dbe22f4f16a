"""A freight's code never sees the engine's secrets (issue 15, item 5).

The build of a commit (its build backend runs inside `uv pip install`), `shell` steps, analysis
jobs and app instances get an allow-listed environment: planted engine secrets must not appear.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from kargo.analysis.providers.jobs import measure_job
from kargo.childenv import child_env
from kargo.model.analysis import JobMetric
from kargo.runtime.environments import EnvironmentBuildError, build_environment
from kargo.steps.shell import ShellConfig, ShellStep

from tests.pipeline.test_steps import context

PLANTED = "planted-engine-secret-5e1f"
ENGINE_SECRETS = {
    "KARGO_DATABASE_URL": f"postgresql://kargo:{PLANTED}@db/kargo",
    "KARGO_SECRET_CHECKS_TOKEN": PLANTED,
    "KARGO_TOKEN": f"kargo_{PLANTED}",
    "WEBHOOK_SECRET": PLANTED,
}
PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


@pytest.fixture
def engine_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENGINE_SECRETS.items():
        monkeypatch.setenv(name, value)


def test_a_shell_step_sees_its_own_env_and_not_the_engines(
    tmp_path: Path, engine_secrets: None
) -> None:
    config = ShellConfig(args=[sys.executable, "-c", PRINT_ENV], env={"MODE": "quick"})
    result = asyncio.run(ShellStep().run(context(tmp_path), config))
    seen = json.loads(result.outputs["stdout"])
    assert seen["MODE"] == "quick" and seen["KARGO_STAGE"] == "dev" and "PATH" in seen
    assert PLANTED not in result.outputs["stdout"]


def test_an_analysis_job_sees_its_own_env_and_not_the_engines(engine_secrets: None) -> None:
    job = JobMetric(command=[sys.executable, "-c", PRINT_ENV], env={"MODE": "quick"})
    seen = asyncio.run(measure_job(job))
    assert seen["MODE"] == "quick" and "PATH" in seen
    assert PLANTED not in json.dumps(seen)


def test_a_commits_build_backend_does_not_see_the_engines_secrets(
    tmp_path: Path, engine_secrets: None
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    dump = tmp_path / "seen-by-backend.json"
    (app / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "probe_backend"\nbackend-path = ["."]\n'
        '[project]\nname = "probe"\nversion = "0.1"\n'
    )
    # the backend records what it sees, then fails the build (nothing else is needed)
    (app / "probe_backend.py").write_text(
        f"import json, os\nopen({str(dump)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
        "def build_wheel(*args, **kwargs):\n    raise SystemExit('probe only')\n"
    )
    (app / "requirements.lock").write_text("")
    with pytest.raises(EnvironmentBuildError):
        asyncio.run(
            build_environment(tmp_path / "state", "c0ffee", app, app / "requirements.lock", "3.11")
        )
    seen = json.loads(dump.read_text())
    assert "PATH" in seen
    assert PLANTED not in json.dumps(seen)


def test_the_allow_list_keeps_what_a_process_needs() -> None:
    source = {"PATH": "/bin", "HOME": "/h", "LANG": "C.UTF-8", "UV_INDEX_URL": "i", "DB": "x"}
    assert child_env(source=source) == {"PATH": "/bin", "HOME": "/h", "LANG": "C.UTF-8"}
    assert child_env(source=source, build=True)["UV_INDEX_URL"] == "i"
    assert child_env({"A": "1"}, source={})["PATH"] and child_env({"A": "1"}, source={})["A"] == "1"
