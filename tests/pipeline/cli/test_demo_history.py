"""scripts/demo_history.py: which commits `make demo` may deliver first, on a real repository."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from tests.services import REPO_ROOT


def demo_history() -> ModuleType:
    """The script as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "demo_history", REPO_ROOT / "scripts" / "demo_history.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_history"] = module
    spec.loader.exec_module(module)
    return module


def commit_config(repo: Path, message: str) -> str:
    """Commit the repository's current files; return the commit id."""
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com",
         "commit", "-qm", message],
        check=True,
    )  # fmt: skip
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_only_a_commit_whose_pipeline_configuration_loads_today_is_offered(
    tmp_path: Path,
) -> None:
    history = demo_history()
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    config = repo / "kargo"
    shutil.copytree(REPO_ROOT / "kargo", config)
    good = commit_config(repo, "the repository's own configuration")
    template = config / "analysis-templates" / "smoke-tests.yaml"
    template.write_text(template.read_text().replace("successCondition:", "successCondition: (", 1))
    broken = commit_config(repo, "an expression today's engine refuses")
    (repo / "README").write_text("no kargo/ folder is fine too\n")
    subprocess.run(["git", "-C", str(repo), "rm", "-rq", "kargo"], check=True)
    without = commit_config(repo, "no pipeline configuration")

    assert history.config_loads(good, repo) is True
    assert history.config_loads(broken, repo) is False
    assert history.config_loads(without, repo) is False
    assert history.config_loads("0" * 40, repo) is False
