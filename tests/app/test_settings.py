"""Settings are read from the environment and validated at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from planning_poker.cli import main
from planning_poker.settings import Environment, SettingsError, load_settings


def test_development_needs_no_secret_and_uses_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings(data_dir=tmp_path)
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve()}/planning-poker.db"
    assert settings.room_expiry_days == 30


def test_production_refuses_a_missing_or_placeholder_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLANNING_POKER_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        load_settings()
    monkeypatch.setenv("SECRET_KEY", "changeme")
    with pytest.raises(SettingsError, match="placeholder"):
        load_settings()
    monkeypatch.setenv("SECRET_KEY", "a" * 32)
    assert load_settings().secret == b"a" * 32


def test_environment_variables_are_read_and_flags_override_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("PLANNING_POKER_COMMIT", "abc123")
    monkeypatch.setenv("PLANNING_POKER_FACILITATOR_GRACE_SECONDS", "5")
    settings = load_settings(port=9200)
    assert (settings.port, settings.commit, settings.facilitator_grace_seconds) == (
        9200,
        "abc123",
        5.0,
    )


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNING_POKER_ROOM_EXPIRY_DAYS", "-1")
    with pytest.raises(SettingsError, match="room_expiry_days"):
        load_settings()


def test_the_server_refuses_to_start_with_bad_settings_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PLANNING_POKER_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["--port", "1", "--data-dir", str(tmp_path)])
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "SECRET_KEY is required" in error
