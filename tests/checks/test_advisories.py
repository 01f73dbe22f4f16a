"""The offline OSV database: ranges, version lists, severities and the database's age."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from packaging.version import Version
from poker_checks.advisories import DEFAULT_DATABASE, load_database, parse_advisory
from poker_checks.cvss import vector_rating
from poker_checks.results import DatabaseStatus, Severity


def _advisory(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"id": "GHSA-test", "summary": "s", "affected": []}
    return {**base, **fields}


def test_ecosystem_ranges_match_between_introduced_and_fixed_only() -> None:
    advisory = parse_advisory(
        _advisory(
            affected=[
                {
                    "package": {"ecosystem": "PyPI", "name": "Py_Dantic"},
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [
                                {"introduced": "0"},
                                {"fixed": "1.10.13"},
                                {"introduced": "2.0"},
                                {"fixed": "2.4.0"},
                            ],
                        }
                    ],
                }
            ]
        )
    )
    affected = advisory.affected[0]
    assert affected.package == "py-dantic"
    assert affected.matches(Version("1.10.12"))
    assert not affected.matches(Version("1.10.13"))
    assert not affected.matches(Version("1.99"))
    assert affected.matches(Version("2.3.9"))
    assert not affected.matches(Version("2.4.0"))
    assert affected.fixed_in(Version("2.3.9")) == "2.4.0"


def test_explicit_versions_and_last_affected_and_open_ranges_match() -> None:
    advisory = parse_advisory(
        _advisory(
            affected=[
                {
                    "package": {"ecosystem": "PyPI", "name": "a"},
                    "versions": ["0.5.1"],
                    "ranges": [
                        {
                            "type": "ECOSYSTEM",
                            "events": [{"introduced": "1.0"}, {"last_affected": "1.2"}],
                        },
                        {"type": "ECOSYSTEM", "events": [{"introduced": "3.0"}]},
                        {"type": "GIT", "events": [{"introduced": "abc"}]},
                    ],
                }
            ]
        )
    )
    affected = advisory.affected[0]
    assert affected.matches(Version("0.5.1")) and not affected.matches(Version("0.5.2"))
    assert affected.matches(Version("1.2")) and not affected.matches(Version("1.2.1"))
    assert affected.matches(Version("7.0")) and affected.fixed_in(Version("7.0")) is None


def test_other_ecosystems_are_ignored() -> None:
    advisory = parse_advisory(
        _advisory(affected=[{"package": {"ecosystem": "npm", "name": "a"}, "versions": ["1"]}])
    )
    assert advisory.affected == ()


def test_severity_comes_from_the_github_rating_or_else_the_cvss_vector() -> None:
    rated = parse_advisory(_advisory(database_specific={"severity": "MODERATE"}))
    vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    scored = parse_advisory(_advisory(severity=[{"type": "CVSS_V3", "score": vector}]))
    assert rated.severity is Severity.MEDIUM
    assert scored.severity is Severity.CRITICAL
    assert parse_advisory(_advisory()).severity is Severity.MEDIUM


def test_cvss_scores_match_the_published_examples() -> None:
    # CVSS v3.1 specification examples (FIRST), v2 guide's CVE-2002-0392 (FIRST), and FIRST's
    # v4.0 calculator for the all-high network vector.
    v3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert vector_rating("CVSS_V3", v3) == (9.8, Severity.CRITICAL)
    assert vector_rating("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")[0] == 10.0
    assert vector_rating("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H") == (
        7.5,
        Severity.HIGH,
    )
    assert vector_rating("CVSS_V3", "CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N")[0] == 3.1
    assert vector_rating("CVSS_V2", "AV:N/AC:L/Au:N/C:N/I:N/A:C") == (7.8, Severity.HIGH)
    v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    assert vector_rating("CVSS_V4", v4) == (9.3, Severity.CRITICAL)


def test_an_advisory_scored_only_in_cvss_v4_gets_its_critical_rating() -> None:
    v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    assert parse_advisory(_advisory(severity=[{"type": "CVSS_V4", "score": v4}])).severity is (
        Severity.CRITICAL
    )
    # scored in two versions: the most severe rating counts
    both = [
        {"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:N/I:N/A:C"},
        {"type": "CVSS_V4", "score": v4},
    ]
    assert parse_advisory(_advisory(severity=both)).severity is Severity.CRITICAL
    broken = [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:X"}]
    assert parse_advisory(_advisory(severity=broken)).severity is Severity.MEDIUM


def _range(*events: dict[str, str], versions: list[str] | None = None) -> object:
    """The Affected entry of an advisory with one ECOSYSTEM range."""
    item = {
        "package": {"ecosystem": "PyPI", "name": "p"},
        "ranges": [{"type": "ECOSYSTEM", "events": list(events)}],
        "versions": versions or [],
    }
    return parse_advisory(_advisory(affected=[item])).affected[0]


def _affected(entry: object, *versions: str) -> list[bool]:
    return [entry.matches(Version(v)) for v in versions]  # type: ignore[attr-defined]


def test_osv_schema_examples_evaluate_as_the_schema_documents() -> None:
    # The examples of the OSV schema (ossf/osv-schema docs/schema.md, "Examples"), evaluated
    # with its IsVulnerable pseudocode.
    unfixed = _range({"introduced": "0"})
    assert _affected(unfixed, "0.0.1", "1.0.0", "99.0") == [True, True, True]
    fixed = _range({"introduced": "0"}, {"fixed": "1.0.2"})
    assert _affected(fixed, "1.0.1", "1.0.2", "1.0.3") == [True, False, False]
    multiple = _range(
        {"introduced": "1.0.0"}, {"fixed": "1.0.2"}, {"introduced": "3.0.0"}, {"fixed": "3.2.5"}
    )
    assert _affected(multiple, "0.9", "1.0.0", "1.0.1", "1.0.2", "2.0", "3.0.0", "3.2.4") == [
        False, True, True, False, False, True, True,
    ]  # fmt: skip
    assert _affected(multiple, "3.2.5", "4.0") == [False, False]
    last = _range({"introduced": "0"}, {"last_affected": "2.1.214"})
    assert _affected(last, "2.1.213", "2.1.214", "2.1.215") == [True, True, False]
    fixed_at = _range({"introduced": "0"}, {"fixed": "2.1.214"})
    assert _affected(fixed_at, "2.1.213", "2.1.214") == [True, False]
    limited = _range({"introduced": "1.0"}, {"limit": "2.0"})
    assert _affected(limited, "0.9", "1.0", "1.9", "2.0", "3.0") == [
        False,
        True,
        True,
        False,
        False,
    ]
    star = _range({"introduced": "1.0"}, {"limit": "*"})
    assert _affected(star, "0.9", "1.0", "9.0") == [False, True, True]


def test_last_affected_on_a_pre_release_does_not_flag_the_final_release() -> None:
    entry = _range({"introduced": "0"}, {"last_affected": "2.0.0rc1"})
    assert _affected(entry, "2.0.0b1", "2.0.0rc1", "2.0.0", "2.0.0.post1") == [
        True, True, False, False,
    ]  # fmt: skip


def test_events_are_evaluated_in_version_order_whatever_their_order_in_the_file() -> None:
    shuffled = _range(
        {"fixed": "3.2.5"}, {"introduced": "3.0.0"}, {"fixed": "1.0.2"}, {"introduced": "0"}
    )
    assert _affected(shuffled, "0.5", "1.0.2", "3.1", "3.2.5") == [True, False, True, False]
    assert shuffled.fixed_in(Version("3.1")) == "3.2.5"  # type: ignore[attr-defined]


def test_the_bundled_database_loads_with_its_build_date() -> None:
    database = load_database(DEFAULT_DATABASE)
    assert len(database.advisories) >= 5
    assert database.built_at is not None
    info = database.info(max_age_hours=1e9)
    assert info.status is DatabaseStatus.FRESH and info.age_hours is not None
    findings = database.scan({"h11": "0.14.0", "starlette": "0.39.2", "websockets": "17.4"})
    assert {(f.id, f.fixed_in) for f in findings} == {
        ("GHSA-vqfr-h8mv-ghfj", "0.16.0"),
        ("GHSA-f96h-pmfr-66vw", "0.40.0"),
    }


def test_a_missing_database_is_stated_plainly(tmp_path: Path) -> None:
    info = load_database(tmp_path / "nowhere").info(max_age_hours=24)
    assert info.status is DatabaseStatus.MISSING
    assert info.age_hours is None
    assert info.message is not None and "missing" in info.message


def test_an_old_database_is_stale(tmp_path: Path) -> None:
    (tmp_path / "A.json").write_text(json.dumps(_advisory(id="A")))
    built = datetime.now(UTC) - timedelta(hours=50)
    (tmp_path / "metadata.json").write_text(json.dumps({"built_at": built.isoformat()}))
    info = load_database(tmp_path).info(max_age_hours=24)
    assert info.status is DatabaseStatus.STALE
    assert info.age_hours is not None and 49.9 < info.age_hours < 50.1
    assert info.message is not None and "stale" in info.message


def test_an_unreadable_advisory_file_is_listed_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "A.json").write_text(json.dumps(_advisory(id="A")))
    (tmp_path / "B.json").write_text("{not json")
    (tmp_path / "C.json").write_text(json.dumps({"summary": "no id"}))
    database = load_database(tmp_path)
    assert [a.id for a in database.advisories] == ["A"]
    info = database.info(max_age_hours=24)
    assert [item.split(":")[0] for item in info.invalid] == ["B.json", "C.json"]
