"""The security suite end to end on a copy of the app: advisories, locks, bandit, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from poker_checks.results import SecurityReport
from poker_checks.security import run_security
from poker_checks.targets import SecurityRequest

from tests.checks.support import write_advisory

SAFE_ENV = {"PLANNING_POKER_ENV": "production", "SECRET_KEY": "k" * 40}


def _failed_checks(report: SecurityReport) -> list[str]:
    return [c.name for c in report.checks if not c.passed]


def test_the_current_app_passes_against_the_bundled_database(app_source: Path) -> None:
    report = run_security(SecurityRequest(source=str(app_source), env=SAFE_ENV, bandit=False))
    assert _failed_checks(report) == []
    assert report.passed and report.critical == 0
    assert report.advisory_db.advisories >= 5 and report.advisory_db.age_hours is not None
    assert {c.name for c in report.checks} >= {
        "vulnerability-scan",
        "lock-consistent",
        "lock-hashes",
        "licences",
        "production-settings",
    }


def test_a_locked_version_with_a_critical_advisory_fails_and_is_named(
    app_source: Path, tmp_path: Path
) -> None:
    database = write_advisory(
        tmp_path / "db", "GHSA-test-crit-0001", "websockets", "99.0", "CRITICAL"
    )
    report = run_security(
        SecurityRequest(source=str(app_source), advisory_db=str(database), bandit=False)
    )
    assert not report.passed
    assert report.critical == 1
    finding = next(f for f in report.findings if f.id == "GHSA-test-crit-0001")
    assert (finding.package, finding.fixed_in) == ("websockets", "99.0")
    assert "vulnerability-scan" in _failed_checks(report)


def test_a_high_advisory_is_counted_but_does_not_fail(app_source: Path, tmp_path: Path) -> None:
    database = write_advisory(tmp_path / "db", "GHSA-test-high-0001", "fastapi", "999", "HIGH")
    report = run_security(
        SecurityRequest(source=str(app_source), advisory_db=str(database), bandit=False)
    )
    assert report.passed and report.high == 1


def test_a_stale_database_fails_only_when_configured_to(app_source: Path, tmp_path: Path) -> None:
    database = write_advisory(tmp_path / "db", "GHSA-x", "nothing-locked", "1.0", "LOW")
    old = (datetime.now(UTC) - timedelta(days=90)).isoformat()
    (database / "metadata.json").write_text(f'{{"built_at": "{old}"}}')
    lenient = SecurityRequest(
        source=str(app_source), advisory_db=str(database), max_db_age_hours=24, bandit=False
    )
    report = run_security(lenient)
    assert report.passed and report.advisory_db.status == "stale"
    strict = lenient.model_copy(update={"fail_on_stale_db": True})
    report = run_security(strict)
    assert not report.passed and _failed_checks(report) == ["advisory-database"]


def test_a_missing_lock_and_an_unhashed_pin_fail_the_dependency_checks(app_source: Path) -> None:
    (app_source / "requirements.lock").unlink()
    report = run_security(SecurityRequest(source=str(app_source), bandit=False))
    assert not report.passed and "lock-file" in _failed_checks(report)
    assert any(f.id == "DEP-LOCK-MISSING" for f in report.findings)

    (app_source / "requirements.lock").write_text("fastapi==0.165.0\n")
    report = run_security(SecurityRequest(source=str(app_source), bandit=False))
    assert {"lock-hashes", "lock-consistent"} <= set(_failed_checks(report))


def test_bandit_findings_are_mapped_from_real_source(app_source: Path) -> None:
    (app_source / "src" / "planning_poker" / "danger.py").write_text(
        "import subprocess\n\n\ndef run(cmd: str) -> None:\n    subprocess.call(cmd, shell=True)\n"
    )
    report = run_security(SecurityRequest(source=str(app_source)))
    issue = next(f for f in report.findings if f.id == "B602")
    assert issue.kind == "bandit" and issue.severity == "high"
    assert issue.summary.startswith("planning_poker/danger.py:5:")
    assert report.high >= 1 and report.passed  # bandit counts, it does not fail by itself
    assert _failed_checks(report) == [] and "static-analysis" in {c.name for c in report.checks}


def test_unsafe_production_settings_fail(app_source: Path) -> None:
    env = {"PLANNING_POKER_ENV": "production", "SECRET_KEY": "changeme", "APP_DEBUG": "true"}
    report = run_security(SecurityRequest(source=str(app_source), env=env, bandit=False))
    assert not report.passed and report.critical == 1
    ids = {f.id for f in report.findings if f.kind == "config"}
    assert ids == {"CONFIG-DEFAULT-SECRET", "CONFIG-DEBUG"}


def test_a_broken_pipeline_yaml_fails_configuration_validation(
    app_source: Path, tmp_path: Path
) -> None:
    config = tmp_path / "kargo"
    config.mkdir()
    (config / "stage.yaml").write_text("kind: Stage\nspec: [unclosed\n")
    report = run_security(
        SecurityRequest(source=str(app_source), config_dir=str(config), bandit=False)
    )
    assert _failed_checks(report) == ["pipeline-config"]
    assert any(f.id == "CONFIG-YAML" and "stage.yaml" in f.summary for f in report.findings)


def test_a_repository_checkout_finds_the_app_and_validates_the_production_stage_env(
    app_source: Path, tmp_path: Path
) -> None:
    repository = tmp_path / "checkout"
    repository.mkdir()
    app_source.rename(repository / "app")
    (repository / "kargo").mkdir()
    (repository / "kargo" / "stage.yaml").write_text(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata:\n  name: production\n"
        "spec:\n  promotionTemplate:\n    spec:\n      steps:\n        - uses: deploy\n"
        "          config:\n            env:\n              PORT: ${PORT}\n"
        "              SECRET_KEY: changeme\n              PLANNING_POKER_ENV: production\n"
        "  bogusField: 1\n"
    )
    report = run_security(SecurityRequest(source=str(repository), bandit=False))
    assert {c.name for c in report.checks} >= {"lock-consistent", "licences"}
    assert {"production-settings", "pipeline-config"} <= set(_failed_checks(report))
    config = {f.id: f for f in report.findings if f.kind == "config"}
    assert config["CONFIG-DEFAULT-SECRET"].severity == "critical"
    assert any("stage.yaml" in f.summary for f in report.findings if f.id == "CONFIG-YAML")
