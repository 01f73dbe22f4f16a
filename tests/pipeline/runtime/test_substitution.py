"""Placeholders in deploy configs: runtime values, stage secrets, engine expressions left alone."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from kargo.runtime.substitution import UnknownPlaceholder, expand, stage_secret


def test_placeholders_take_the_runtime_values_and_leave_engine_expressions_alone() -> None:
    text = "sqlite:///${STAGE_DIR}/app.db on ${PORT} ${{ outputs.env.path }}"

    assert expand(text, {"STAGE_DIR": "/s", "PORT": "8101"}) == (
        "sqlite:////s/app.db on 8101 ${{ outputs.env.path }}"
    )


def test_an_unknown_placeholder_names_itself_and_what_is_known() -> None:
    with pytest.raises(UnknownPlaceholder, match=r"\$\{NOPE\} \(known: PORT\)"):
        expand("${NOPE}", {"PORT": "1"})
    with pytest.raises(UnknownPlaceholder, match=r"\$\{VAULT:key\}"):
        expand("${VAULT:key}", {})


def test_a_stage_secret_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    functions = {"SECRET": lambda name: stage_secret(folder, name)}

    first = expand("${SECRET:secret-key}", {}, functions)
    again = expand("${SECRET:secret-key}", {}, functions)
    other = expand("${SECRET:other}", {}, functions)

    assert first == again != other
    assert len(first) >= 32
    assert stat.S_IMODE((folder / "secret-key").stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["other", "secret-key"]


def test_a_secrets_folder_replaced_by_a_link_is_refused_and_nothing_is_written_there(
    tmp_path: Path,
) -> None:
    # A stage that runs as its own user owns its stage folder and could swap `secrets` for a link.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = tmp_path / "stage" / "secrets"
    folder.parent.mkdir()
    folder.symlink_to(elsewhere, target_is_directory=True)

    with pytest.raises(OSError, match="stage secrets folder .*secrets"):
        stage_secret(folder, "secret-key")
    assert list(elsewhere.iterdir()) == []
