"""scripts/install_cli.py: `make demo` puts `kargo` on the PATH of a new login shell."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.services import REPO_ROOT, VENV_BIN


def installer() -> ModuleType:
    """The script as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "install_cli", REPO_ROOT / "scripts" / "install_cli.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def login_shell(home: Path, line: str) -> subprocess.CompletedProcess[str]:
    """Run line in a new login shell of a user whose home is `home`, without the venv on PATH."""
    env = {"HOME": str(home), "PATH": os.defpath, "NO_COLOR": "1"}
    return subprocess.run(
        ["bash", "-lc", line], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home folder, with a ~/.profile like Debian's (which does not add ~/.local/bin)."""
    monkeypatch.delenv("KARGO_INSTALL_DIR", raising=False)
    (tmp_path / ".profile").write_text("[ -f ~/.bashrc ] && . ~/.bashrc\n")
    return tmp_path


def test_a_new_login_shell_runs_the_installed_kargo(home: Path) -> None:
    assert login_shell(home, "command -v kargo").returncode != 0
    said = installer().install(home, VENV_BIN / "kargo")
    link = home / ".local" / "bin" / "kargo"
    assert os.readlink(link) == str(VENV_BIN / "kargo")
    assert any("added" in line and ".profile" in line for line in said), said
    done = login_shell(home, "kargo --help")
    assert done.returncode == 0, done.stderr
    assert "Usage: kargo" in done.stdout
    assert login_shell(home, "command -v kargo").stdout.strip() == str(link)


def test_installing_twice_changes_nothing_the_second_time(home: Path) -> None:
    installer().install(home, VENV_BIN / "kargo")
    profile = (home / ".profile").read_text()
    again = installer().install(home, VENV_BIN / "kargo")
    assert again == [f"{home / '.local' / 'bin' / 'kargo'} already runs {VENV_BIN / 'kargo'}"]
    assert (home / ".profile").read_text() == profile


def test_another_kargo_is_left_alone_and_the_way_round_it_is_named(home: Path) -> None:
    real = home / ".local" / "bin" / "kargo"
    real.parent.mkdir(parents=True)
    real.write_text("#!/bin/sh\necho the real Kargo CLI\n")
    real.chmod(0o755)
    said = installer().install(home, VENV_BIN / "kargo")
    assert real.read_text().endswith("the real Kargo CLI\n")
    assert "left alone" in said[0] and f'export PATH="{VENV_BIN}:$PATH"' in said[0]
    assert ".profile" not in " ".join(said)


def test_without_permission_to_modify_path_the_line_is_printed_not_written(home: Path) -> None:
    said = installer().install(home, VENV_BIN / "kargo", modify_path=False)
    assert (home / ".profile").read_text() == "[ -f ~/.bashrc ] && . ~/.bashrc\n"
    assert any('export PATH="$HOME/.local/bin:$PATH"' in line for line in said), said


def test_guide_commands_refuses_to_run_without_kargo_on_path(home: Path) -> None:
    done = login_shell(home, f"{REPO_ROOT}/scripts/guide_commands.sh")
    assert done.returncode == 1
    assert "no kargo command on PATH" in done.stderr
