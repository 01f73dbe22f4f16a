"""Dependency checks: the lock's pins and hashes, its consistency with pyproject, licences."""

from __future__ import annotations

from pathlib import Path

from poker_checks.licences import check_licences, is_allowed
from poker_checks.locks import inconsistencies, parse_lock, unhashed

from tests.services import REPO_ROOT

APP = REPO_ROOT / "app"


def test_the_app_lock_is_fully_pinned_hashed_and_consistent() -> None:
    lock = parse_lock(APP / "requirements.lock")
    assert "fastapi" in lock.packages and "websockets" in lock.packages
    assert lock.unpinned == []
    assert unhashed(lock) == []
    assert inconsistencies(lock, APP / "pyproject.toml") == []


def test_a_pin_without_hashes_and_a_loose_line_are_reported(tmp_path: Path) -> None:
    lock_file = tmp_path / "requirements.lock"
    lock_file.write_text("alpha==1.0 \\\n    --hash=sha256:00\n    # via x\nbeta==2.0\ngamma>=3\n")
    lock = parse_lock(lock_file)
    assert lock.pins() == {"alpha": "1.0", "beta": "2.0"}
    assert unhashed(lock) == ["beta==2.0 (line 4)"]
    assert lock.unpinned == ["requirements.lock line 5"]  # never the line itself


def test_a_lock_that_misses_or_contradicts_a_requirement_is_inconsistent(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["alpha>=2", "missing-one"]\n')
    lock_file = tmp_path / "requirements.lock"
    lock_file.write_text("alpha==1.0 \\\n    --hash=sha256:00\n")
    problems = inconsistencies(parse_lock(lock_file), pyproject)
    assert len(problems) == 2
    assert "lock pins alpha==1.0" in problems[0]
    assert "missing-one" in problems[1]


def test_licence_expressions_are_judged_by_and_and_or() -> None:
    allowed = ["MIT", "Apache-2.0"]
    assert is_allowed("MIT", allowed)
    assert is_allowed("Apache 2", allowed)
    assert is_allowed("GPL-3.0-only OR MIT", allowed)
    assert not is_allowed("Apache-2.0 AND GPL-3.0-only", allowed)
    assert not is_allowed("GPL-3.0-only", allowed)


def test_licence_expressions_keep_their_parentheses_and_precedence() -> None:
    # issue 15: the same expression, its operands swapped, gets the same verdict
    only_mit = ["MIT"]
    assert not is_allowed("(MIT OR GPL-3.0-only) AND LicenseRef-Proprietary", only_mit)
    assert not is_allowed("LicenseRef-Proprietary AND (GPL-3.0-only OR MIT)", only_mit)
    assert is_allowed(
        "(MIT OR GPL-3.0-only) AND LicenseRef-Proprietary", ["MIT", "LicenseRef-Proprietary"]
    )
    # AND binds tighter than OR (SPDX annex D): MIT alone is enough here
    assert is_allowed("MIT OR GPL-3.0-only AND LicenseRef-Proprietary", only_mit)
    assert is_allowed("Apache-2.0 WITH LLVM-exception", ["Apache-2.0"])
    assert not is_allowed("MIT AND (", only_mit)  # does not parse: refused


def test_the_installed_app_dependencies_have_allowed_licences() -> None:
    lock = parse_lock(APP / "requirements.lock")
    verdicts = check_licences(lock.packages)
    refused = [v for v in verdicts if not v.allowed]
    assert refused == []
    assert len(verdicts) == len(lock.packages)


def test_licences_are_read_from_the_given_environment(tmp_path: Path) -> None:
    # A real (if minimal) installed distribution: a dist-info folder with METADATA.
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    info = site / "copyleft_thing-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.4\nName: copyleft-thing\nVersion: 1.0\n"
        "License-Expression: GPL-3.0-only\n"
    )
    verdicts = check_licences(["copyleft-thing", "fastapi"], venv=tmp_path / "venv")
    by_name = {v.package: v for v in verdicts}
    assert by_name["copyleft-thing"].licence == "GPL-3.0-only"
    assert not by_name["copyleft-thing"].allowed
    assert by_name["fastapi"].licence is None  # not installed in that environment
