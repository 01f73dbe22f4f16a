"""Server and token: flag, then environment, then config file, then the local default."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from kargo.auth.credentials import ServerEntry, load_config, save_config
from kargo.cli.session import resolve_connection

from tests.pipeline.cli.conftest import kargo


def test_the_default_is_the_local_server(config_file: Path) -> None:
    connection = resolve_connection(None, None, load_config())
    assert connection.server == "http://127.0.0.1:8080"
    assert connection.token is None


def test_flags_beat_the_environment_which_beats_the_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config()
    config.current_server = "http://127.0.0.1:9999"
    config.servers.append(ServerEntry("http://127.0.0.1:9999", "file-token", "from-file"))
    save_config(config)
    loaded = load_config()
    assert resolve_connection(None, None, loaded).token == "file-token"
    assert resolve_connection(None, None, loaded).project == "from-file"
    monkeypatch.setenv("KARGO_SERVER", "http://127.0.0.1:7777")
    monkeypatch.setenv("KARGO_TOKEN", "env-token")
    assert resolve_connection(None, None, loaded).server == "http://127.0.0.1:7777"
    assert resolve_connection(None, None, loaded).token == "env-token"
    flagged = resolve_connection("127.0.0.1:6666", "flag-token", loaded)
    assert (flagged.server, flagged.token) == ("http://127.0.0.1:6666", "flag-token")


def test_config_commands_keep_one_entry_per_server_in_a_private_file(config_file: Path) -> None:
    assert kargo("config", "set-server", "http://127.0.0.1:18080", "--token", "s3cret").code == 0
    assert kargo("config", "set-project", "planning-poker").code == 0
    assert kargo("config", "set-server", "http://127.0.0.1:18081").code == 0
    assert kargo("config", "set-project", "sandbox").code == 0
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    config = load_config(config_file)
    first, second = config.servers
    assert (first.server, first.token, first.project) == (
        "http://127.0.0.1:18080",
        "s3cret",
        "planning-poker",
    )
    assert (second.token, second.project) == (None, "sandbox")
    view = kargo("config", "view")
    assert "s3cret" not in view.out
    assert "token: <redacted>" in view.out
    assert "currentServer: http://127.0.0.1:18081" in view.out
