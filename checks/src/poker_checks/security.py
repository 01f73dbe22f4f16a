"""The security suite: advisory scan, dependency checks, bandit and configuration validation.

Pass rule: `passed` is true when no finding is critical AND every check in `checks` passed.
The checks that can fail are the dependency checks (lock present, consistent, hashed, licences),
the configuration checks (production settings, pipeline YAML), bandit being unable to run, and
the advisory database being missing/stale when `fail_on_stale_db` is set. Bandit issues and
non-critical advisories are counted but do not fail the suite by themselves.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from poker_checks.advisories import load_database
from poker_checks.layout import resolve_layout
from poker_checks.licences import DEFAULT_ALLOWED, check_licences
from poker_checks.locks import LockFile, inconsistencies, parse_lock, unhashed
from poker_checks.osv_online import OnlineScanError, osv_url, scan_online
from poker_checks.results import (
    CheckResult,
    DatabaseStatus,
    Finding,
    SecurityReport,
    Severity,
)
from poker_checks.settings_audit import (
    pipeline_config_issues,
    read_env_file,
    stage_settings,
    unsafe_settings,
)
from poker_checks.static_analysis import StaticAnalysisError, run_bandit
from poker_checks.targets import SecurityRequest

_CONFIG_SEVERITY = {
    "CONFIG-DEBUG": Severity.HIGH,
    "CONFIG-DEFAULT-SECRET": Severity.CRITICAL,
    "CONFIG-WEAK-SECRET": Severity.HIGH,
    "CONFIG-MISSING-SECRET": Severity.HIGH,
    "CONFIG-NOT-PRODUCTION": Severity.HIGH,
}


class _Recorder:
    """Collects checks and findings while the suite runs."""

    def __init__(self) -> None:
        self.checks: list[CheckResult] = []
        self.findings: list[Finding] = []

    def check(self, name: str, body: Callable[[], str | None]) -> bool:
        """Run body; it returns None when the check passes or the reason it failed."""
        started = time.perf_counter()
        try:
            error = body()
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.checks.append(
            CheckResult(
                name=name,
                passed=error is None,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                error=error,
            )
        )
        return error is None

    def finding(self, id: str, severity: Severity, summary: str, kind: str, **extra: str) -> None:
        """Record a finding that is not an advisory."""
        self.findings.append(Finding(id=id, severity=severity, summary=summary, kind=kind, **extra))


def run_security(request: SecurityRequest) -> SecurityReport:
    """Run every security check the request asks for and summarise by severity."""
    record = _Recorder()
    layout = resolve_layout(request)
    lock_path, pyproject, code = layout.lock, layout.pyproject, layout.code
    database = load_database(request.advisory_db)
    db_info = database.info(request.max_db_age_hours)
    lock: LockFile | None = None

    def database_check() -> str | None:
        if db_info.status is DatabaseStatus.FRESH:
            return None
        return db_info.message if request.fail_on_stale_db else None

    record.check("advisory-database", database_check)

    def lock_present() -> str | None:
        nonlocal lock
        if lock_path is None:
            return "no source folder or lock file given"
        if not lock_path.is_file():
            record.finding(
                "DEP-LOCK-MISSING", Severity.HIGH, f"{lock_path} is missing", "dependency"
            )
            return f"lock file {lock_path} is missing"
        lock = parse_lock(lock_path)
        if lock.unpinned:
            for line in lock.unpinned:
                record.finding("DEP-UNPINNED", Severity.HIGH, f"not pinned: {line}", "dependency")
            return "not pinned with ==: " + ", ".join(lock.unpinned)
        return None

    record.check("lock-file", lock_present)

    def vulnerabilities() -> str | None:
        if lock is None:
            return "no lock file to scan"
        found = database.scan(lock.pins())
        record.findings.extend(found)
        critical = [
            f"{f.id} ({f.package}=={f.version})" for f in found if f.severity is Severity.CRITICAL
        ]
        return "critical advisories: " + ", ".join(critical) if critical else None

    record.check("vulnerability-scan", vulnerabilities)

    if request.online:

        def online_scan() -> str | None:
            if lock is None:
                return "no lock file to scan"
            known = {(f.id, f.package) for f in record.findings}
            try:
                found = scan_online(lock.pins(), osv_url(request.osv_url))
            except OnlineScanError as exc:
                db_info.online = f"unavailable: {exc}"
                return str(exc) if request.require_online else None
            db_info.online = f"{osv_url(request.osv_url)}: {len(found)} advisories"
            record.findings.extend(f for f in found if (f.id, f.package) not in known)
            critical = [f.id for f in found if f.severity is Severity.CRITICAL]
            return "critical advisories: " + ", ".join(critical) if critical else None

        record.check("online-vulnerability-scan", online_scan)

    def consistency() -> str | None:
        assert pyproject is not None
        if not pyproject.is_file():
            return f"{pyproject} is missing"
        if lock is None:
            return "no lock file to compare with pyproject.toml"
        problems = inconsistencies(lock, pyproject)
        for problem in problems:
            record.finding("DEP-LOCK-STALE", Severity.HIGH, problem, "dependency")
        return "; ".join(problems) or None

    if pyproject is not None:
        record.check("lock-consistent", consistency)

    def hashes() -> str | None:
        if lock is None:
            return "no lock file"
        missing = unhashed(lock)
        for item in missing:
            record.finding(
                "DEP-UNHASHED", Severity.HIGH, f"pinned without hash: {item}", "dependency"
            )
        return "pinned without hashes: " + ", ".join(missing) if missing else None

    record.check("lock-hashes", hashes)

    def licences() -> str | None:
        if lock is None:
            return "no lock file"
        allowed = request.licence_allow or list(DEFAULT_ALLOWED)
        venv = Path(request.venv) if request.venv else None
        refused: list[str] = []
        for verdict in check_licences(lock.packages, allowed, venv):
            if verdict.licence is None:
                record.finding(
                    "DEP-LICENCE-UNKNOWN",
                    Severity.LOW,
                    f"{verdict.package}: no licence metadata (not installed or not declared)",
                    "dependency",
                    package=verdict.package,
                )
                if request.fail_on_unknown_licence:
                    refused.append(f"{verdict.package} (unknown)")
            elif not verdict.allowed:
                record.finding(
                    "DEP-LICENCE",
                    Severity.MEDIUM,
                    f"{verdict.package}: licence {verdict.licence} is not on the allow-list",
                    "dependency",
                    package=verdict.package,
                )
                refused.append(f"{verdict.package} ({verdict.licence})")
        return "licences not allowed: " + ", ".join(refused) if refused else None

    record.check("licences", licences)

    if request.bandit and code is not None:

        def bandit() -> str | None:
            try:
                record.findings.extend(run_bandit(code))
            except StaticAnalysisError as exc:
                return str(exc)
            return None

        record.check("static-analysis", bandit)

    stage_env = None
    if request.env is None and not request.env_file and layout.config_dir is not None:
        stage_env = stage_settings(layout.config_dir, request.stage)
    if request.env is not None or request.env_file or stage_env is not None:

        def settings() -> str | None:
            env = dict(read_env_file(Path(request.env_file))) if request.env_file else {}
            env.update(request.env or stage_env or {})
            problems = unsafe_settings(env)
            for id, message in problems:
                record.finding(id, _CONFIG_SEVERITY.get(id, Severity.HIGH), message, "config")
            return "; ".join(message for _, message in problems) or None

        record.check("production-settings", settings)

    if layout.config_dir is not None:
        config_dir = layout.config_dir

        def pipeline_config() -> str | None:
            if not config_dir.is_dir():
                return f"{config_dir} is not a folder"
            errors = pipeline_config_issues(config_dir)
            for error in errors:
                record.finding("CONFIG-YAML", Severity.HIGH, error, "config")
            return "; ".join(errors) or None

        record.check("pipeline-config", pipeline_config)

    counts = Counter(finding.severity for finding in record.findings)
    return SecurityReport(
        passed=counts[Severity.CRITICAL] == 0 and all(c.passed for c in record.checks),
        critical=counts[Severity.CRITICAL],
        high=counts[Severity.HIGH],
        medium=counts[Severity.MEDIUM],
        low=counts[Severity.LOW],
        findings=record.findings,
        advisory_db=db_info,
        checks=record.checks,
    )
