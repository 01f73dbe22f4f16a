"""`kargo apply -f` bundles files and maps the server's line numbers back to them."""

from __future__ import annotations

from pathlib import Path

import pytest
from kargo.cli.applying import ApplySourceError, bundle


def test_a_folder_is_sent_as_one_multi_document_text_in_path_order(tmp_path: Path) -> None:
    (tmp_path / "analysis-templates").mkdir()
    (tmp_path / "stage.yaml").write_text("kind: Stage\nmetadata:\n  name: dev\n")
    (tmp_path / "analysis-templates" / "smoke.yaml").write_text("kind: AnalysisTemplate")
    (tmp_path / "README.md").write_text("# not yaml")
    sent = bundle([tmp_path])
    assert sent.text == "kind: AnalysisTemplate\n---\nkind: Stage\nmetadata:\n  name: dev\n"
    assert sent.locate(1) == (tmp_path / "analysis-templates" / "smoke.yaml", 1)
    assert sent.locate(5) == (tmp_path / "stage.yaml", 3)


def test_server_line_numbers_are_rewritten_to_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("kind: A\n")
    (tmp_path / "b.yaml").write_text("kind: B\nspec:\n  bogus: 1\n")
    sent = bundle([tmp_path])
    assert sent.explain("unknown field spec.bogus at line 5") == (
        f"unknown field spec.bogus at {tmp_path / 'b.yaml'} line 3"
    )


def test_a_single_file_prefixes_its_name(tmp_path: Path) -> None:
    path = tmp_path / "stage.yaml"
    path.write_text("kind: Stage\n")
    assert bundle([path]).explain("line 1: bad") == f"{path}: line 1: bad"


def test_missing_paths_and_empty_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ApplySourceError, match="does not exist"):
        bundle([tmp_path / "nope.yaml"])
    with pytest.raises(ApplySourceError, match="no .yaml or .yml files"):
        bundle([tmp_path])
