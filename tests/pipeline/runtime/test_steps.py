"""The runtime's step kinds against real git repositories, a real uv build and a real HAProxy."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from kargo.runtime.steps.build_venv import BuildVenvStep
from kargo.runtime.steps.deploy import DeployConfig, DeployStep
from kargo.runtime.steps.git_clone import GitCloneConfig, GitCloneStep
from kargo.steps.base import StepContext, StepPhase, StepResult, step_kinds

from tests.pipeline.runtime.support import git_commit, git_repo, step_context

# A real, tiny, already-cached dependency with its real hashes (copied from app/requirements.lock).
TINY_LOCK = """\
annotated-types==0.8.0 \\
    --hash=sha256:13b2beaad985e05e2d6407ee4c4f35590b11f8d693a258a561055cac8f64cab7 \\
    --hash=sha256:f072f4d804ea359e4eaf198b1af7a8b0943881a87f31bb764f8bf219bb9419e0
"""

TINY_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "tinyapp"
version = "0.1.0"
dependencies = ["annotated-types"]

[project.scripts]
tinyapp = "tinyapp:main"

[tool.hatch.build.targets.wheel]
packages = ["src/tinyapp"]
"""

TINY_APP = '''\
"""A stdlib web app: /readyz, /healthz and /version (the COMMIT variable)."""
import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import annotated_types  # noqa: F401  (proves the locked dependency is installed)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"commit": os.environ.get("APP_COMMIT", "unknown")}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
'''


@pytest.fixture
def tiny_repo(tmp_path: Path) -> tuple[Path, str]:
    """A git repository holding the tiny app under app/ with its hashed lock file."""
    repo = tmp_path / "repo"
    commit = git_repo(
        repo,
        {
            "app/pyproject.toml": TINY_PYPROJECT,
            "app/requirements.lock": TINY_LOCK,
            "app/src/tinyapp/__init__.py": TINY_APP,
            "README.md": "tiny\n",
        },
    )
    return repo, commit


def run(step: Any, ctx: StepContext, config: dict[str, Any]) -> StepResult:
    """Validate config as the engine would and run the step."""
    result: StepResult = asyncio.run(step.run(ctx, step.config_model.model_validate(config)))
    return result


def test_importing_the_runtime_registers_its_three_step_kinds() -> None:
    kinds = step_kinds()

    assert kinds["git-clone"] is GitCloneStep
    assert kinds["build-venv"] is BuildVenvStep
    assert kinds["deploy"] is DeployStep


def test_git_clone_checks_out_the_freight_commit_and_keeps_it_on_a_rerun(
    tmp_path: Path, tiny_repo: tuple[Path, str]
) -> None:
    repo, first = tiny_repo
    (repo / "README.md").write_text("second\n")
    subprocess.run(["git", "-C", str(repo), "commit", "-qam", "two"], check=True)
    ctx = step_context(tmp_path / "state", tmp_path / "work", "dev", first, str(repo))
    config = {"repoURL": str(repo), "checkout": [{"fromFreight": True, "path": "./src"}]}

    result = run(GitCloneStep(), ctx, config)
    (tmp_path / "work" / "src" / "marker").write_text("kept")
    again = run(GitCloneStep(), ctx, config)

    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert result.outputs["commit"] == first != git_commit(repo)
    assert (tmp_path / "work" / "src" / "README.md").read_text() == "tiny\n"
    assert again.outputs["commit"] == first
    assert (tmp_path / "work" / "src" / "marker").exists()


def test_git_clone_refuses_a_checkout_with_two_revisions() -> None:
    with pytest.raises(ValueError, match="at most one of commit, branch, tag or fromFreight"):
        GitCloneConfig.model_validate(
            {"repoURL": ".", "checkout": [{"path": "src", "commit": "a", "fromFreight": True}]}
        )


def test_build_venv_installs_the_locked_app_once_per_commit(
    tmp_path: Path, tiny_repo: tuple[Path, str]
) -> None:
    repo, commit = tiny_repo
    ctx = step_context(tmp_path / "state", tmp_path / "work", "dev", commit, str(repo))
    run(
        GitCloneStep(),
        ctx,
        {"repoURL": str(repo), "checkout": [{"fromFreight": True, "path": "src"}]},
    )

    built = run(BuildVenvStep(), ctx, {"path": "src/app"})
    started = time.monotonic()
    cached = run(BuildVenvStep(), ctx, {"path": "src/app"})

    assert built.phase is StepPhase.SUCCEEDED, built.message
    assert built.outputs["path"] == str((tmp_path / "state" / "envs" / commit).resolve())
    assert built.outputs["cached"] is False and cached.outputs["cached"] is True
    assert time.monotonic() - started < 2.0  # no rebuild: the cached answer is immediate
    python = Path(built.outputs["bin"]) / "python"
    check = subprocess.run([str(python), "-c", "import tinyapp, annotated_types"], check=False)
    assert check.returncode == 0
    assert not [p for p in (tmp_path / "state" / "envs").iterdir() if p.name.startswith(".")]


def test_build_venv_fails_the_promotion_when_a_hash_does_not_match(
    tmp_path: Path, tiny_repo: tuple[Path, str]
) -> None:
    repo, _ = tiny_repo
    lock = repo / "app" / "requirements.lock"
    lock.write_text(TINY_LOCK.replace("13b2beaa", "00000000").replace("f072f4d8", "00000000"))
    subprocess.run(["git", "-C", str(repo), "commit", "-qam", "tampered"], check=True)
    commit = git_commit(repo)
    ctx = step_context(tmp_path / "state", tmp_path / "work", "dev", commit, str(repo))
    run(
        GitCloneStep(),
        ctx,
        {"repoURL": str(repo), "checkout": [{"fromFreight": True, "path": "src"}]},
    )

    result = run(BuildVenvStep(), ctx, {"path": "src/app"})

    assert result.phase is StepPhase.FAILED
    assert "hash" in result.message.lower()
    assert not (tmp_path / "state" / "envs" / commit).exists()


@pytest.mark.haproxy
def test_the_three_steps_deliver_a_commit_behind_the_stage_port(
    tmp_path: Path, tiny_repo: tuple[Path, str], state_dir: Path, haproxy: str, stage_port: int
) -> None:
    repo, commit = tiny_repo
    ctx = step_context(state_dir, tmp_path / "work", "dev", commit, str(repo))
    run(
        GitCloneStep(),
        ctx,
        {"repoURL": str(repo), "checkout": [{"fromFreight": True, "path": "src"}]},
    )
    run(BuildVenvStep(), ctx, {"path": "src/app"})

    result = run(
        DeployStep(),
        ctx,
        {
            "port": stage_port,
            "command": ["tinyapp"],
            "env": {"PORT": "${PORT}", "APP_COMMIT": "${COMMIT}"},
            "readinessPath": "/readyz",
            "source": "src",
        },
    )

    assert result.phase is StepPhase.SUCCEEDED, result.message
    assert result.outputs["url"] == f"http://127.0.0.1:{stage_port}"
    answer = httpx.get(f"http://127.0.0.1:{stage_port}/version").json()
    assert answer == {"commit": commit}
    published = state_dir / "stages" / "dev" / "source"
    assert published.resolve() == (tmp_path / "work" / "src").resolve()


def test_deploy_errors_on_a_placeholder_the_runtime_does_not_provide(
    tmp_path: Path, tiny_repo: tuple[Path, str], state_dir: Path
) -> None:
    repo, commit = tiny_repo
    ctx = step_context(state_dir, tmp_path / "work", "dev", commit, str(repo))
    (state_dir / "envs" / commit).mkdir(parents=True)
    config = {"port": 1, "command": ["x"], "env": {"A": "${NOPE}"}, "readinessTimeout": 1}

    result = run(DeployStep(), ctx, config)

    assert result.phase is StepPhase.ERRORED
    assert "${NOPE}" in result.message


def test_deploy_config_takes_blue_green_or_canary_but_not_both() -> None:
    base = {"port": 8101, "command": ["planning-poker"]}
    assert DeployConfig.model_validate(base).strategy.blue_green is not None
    canary = {"canary": {"steps": [{"setWeight": 20}, {"pause": {"duration": "30s"}}]}}
    assert DeployConfig.model_validate({**base, "strategy": canary}).strategy.canary is not None
    with pytest.raises(ValueError, match="exactly one"):
        DeployConfig.model_validate({**base, "strategy": {**canary, "blueGreen": {}}})
