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


class SecurityRun:
    """One run of the suite: each check is a method returning None or why it failed."""

    def __init__(self, request: SecurityRequest) -> None:
        self.request = request
        self.layout = resolve_layout(request)
        self.database = load_database(request.advisory_db)
        self.db_info = self.database.info(request.max_db_age_hours)
        self.lock: LockFile | None = None
        self.checks: list[CheckResult] = []
        self.findings: list[Finding] = []

    def check(self, name: str, body: Callable[[], str | None]) -> None:
        """Run one check and record how it went and how long it took."""
        started = time.perf_counter()
        try:
            error = body()
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        duration = round((time.perf_counter() - started) * 1000, 1)
        self.checks.append(
            CheckResult(name=name, passed=error is None, duration_ms=duration, error=error)
        )

    def finding(self, id: str, severity: Severity, summary: str, kind: str, **extra: str) -> None:
        """Record a finding that is not an advisory."""
        self.findings.append(Finding(id=id, severity=severity, summary=summary, kind=kind, **extra))

    def advisory_database(self) -> str | None:
        """Fail on a missing or stale database only when the request says so."""
        if self.db_info.status is DatabaseStatus.FRESH or not self.request.fail_on_stale_db:
            return None
        return self.db_info.message

    def lock_file(self) -> str | None:
        """The lock exists and pins every entry with ==."""
        path = self.layout.lock
        if path is None:
            return "no source folder or lock file given"
        if not path.is_file():
            self.finding("DEP-LOCK-MISSING", Severity.HIGH, f"{path} is missing", "dependency")
            return f"lock file {path} is missing"
        self.lock = parse_lock(path)
        for line in self.lock.unpinned:
            self.finding(
                "DEP-UNPINNED", Severity.HIGH, f"{line} is not a name==version pin", "dependency"
            )
        if self.lock.unpinned:
            return "not pinned with ==: " + ", ".join(self.lock.unpinned)
        return None

    def vulnerability_scan(self) -> str | None:
        """Match every pin against the offline advisories; a critical one fails."""
        if self.lock is None:
            return "no lock file to scan"
        found = self.database.scan(self.lock.pins())
        self.findings.extend(found)
        return _critical_message(found)

    def online_vulnerability_scan(self) -> str | None:
        """Ask the OSV service too; unreachable fails only when required."""
        if self.lock is None:
            return "no lock file to scan"
        url = osv_url(self.request.osv_url)
        try:
            found = scan_online(self.lock.pins(), url)
        except OnlineScanError as exc:
            self.db_info.online = f"unavailable: {exc}"
            return str(exc) if self.request.require_online else None
        self.db_info.online = f"{url}: {len(found)} advisories"
        known = {(f.id, f.package) for f in self.findings}
        self.findings.extend(f for f in found if (f.id, f.package) not in known)
        return _critical_message(found)

    def lock_consistent(self) -> str | None:
        """The lock satisfies the app's pyproject.toml dependencies."""
        pyproject = self.layout.pyproject
        if pyproject is None or not pyproject.is_file():
            return f"{pyproject} is missing"
        if self.lock is None:
            return "no lock file to compare with pyproject.toml"
        problems = inconsistencies(self.lock, pyproject)
        for problem in problems:
            self.finding("DEP-LOCK-STALE", Severity.HIGH, problem, "dependency")
        return "; ".join(problems) or None

    def lock_hashes(self) -> str | None:
        """Every pin carries at least one hash."""
        if self.lock is None:
            return "no lock file"
        missing = unhashed(self.lock)
        for item in missing:
            self.finding(
                "DEP-UNHASHED", Severity.HIGH, f"pinned without hash: {item}", "dependency"
            )
        return "pinned without hashes: " + ", ".join(missing) if missing else None

    def licences(self) -> str | None:
        """Every locked package has a licence on the allow-list."""
        if self.lock is None:
            return "no lock file"
        allowed = self.request.licence_allow or list(DEFAULT_ALLOWED)
        venv = Path(self.request.venv) if self.request.venv else None
        refused: list[str] = []
        for verdict in check_licences(self.lock.packages, allowed, venv):
            name = verdict.package
            if verdict.licence is None:
                summary = f"{name}: no licence metadata (not installed or not declared)"
                self.finding(
                    "DEP-LICENCE-UNKNOWN", Severity.LOW, summary, "dependency", package=name
                )
                if self.request.fail_on_unknown_licence:
                    refused.append(f"{name} (unknown)")
            elif not verdict.allowed:
                summary = f"{name}: licence {verdict.licence} is not on the allow-list"
                self.finding("DEP-LICENCE", Severity.MEDIUM, summary, "dependency", package=name)
                refused.append(f"{name} ({verdict.licence})")
        return "licences not allowed: " + ", ".join(refused) if refused else None

    def static_analysis(self) -> str | None:
        """Bandit on the app's code; its issues count, only failing to run fails."""
        assert self.layout.code is not None
        try:
            self.findings.extend(run_bandit(self.layout.code))
        except StaticAnalysisError as exc:
            return str(exc)
        return None

    def stage_env(self) -> dict[str, str] | None:
        """The deploy env of the configured Stage, when the pipeline configuration has one."""
        if self.layout.config_dir is None:
            return None
        return stage_settings(self.layout.config_dir, self.request.stage)

    def production_settings(self) -> str | None:
        """The production settings have no debug and a real secret."""
        if self.request.env is None and not self.request.env_file:
            env = self.stage_env() or {}
        else:
            from_file = read_env_file(Path(self.request.env_file)) if self.request.env_file else {}
            env = {**from_file, **(self.request.env or {})}
        problems = unsafe_settings(env)
        for id, message in problems:
            self.finding(id, _CONFIG_SEVERITY.get(id, Severity.HIGH), message, "config")
        return "; ".join(message for _, message in problems) or None

    def pipeline_config(self) -> str | None:
        """The pipeline configuration loads cleanly."""
        config_dir = self.layout.config_dir
        assert config_dir is not None
        if not config_dir.is_dir():
            return f"{config_dir} is not a folder"
        errors = pipeline_config_issues(config_dir)
        for error in errors:
            self.finding("CONFIG-YAML", Severity.HIGH, error, "config")
        return "; ".join(errors) or None

    def run(self) -> SecurityReport:
        """Every check the request calls for, in order, then the counts and the verdict."""
        self.check("advisory-database", self.advisory_database)
        self.check("lock-file", self.lock_file)
        self.check("vulnerability-scan", self.vulnerability_scan)
        if self.request.online:
            self.check("online-vulnerability-scan", self.online_vulnerability_scan)
        if self.layout.pyproject is not None:
            self.check("lock-consistent", self.lock_consistent)
        self.check("lock-hashes", self.lock_hashes)
        self.check("licences", self.licences)
        if self.request.bandit and self.layout.code is not None:
            self.check("static-analysis", self.static_analysis)
        explicit = self.request.env is not None or bool(self.request.env_file)
        if explicit or self.stage_env() is not None:
            self.check("production-settings", self.production_settings)
        if self.layout.config_dir is not None:
            self.check("pipeline-config", self.pipeline_config)
        counts = Counter(finding.severity for finding in self.findings)
        return SecurityReport(
            passed=counts[Severity.CRITICAL] == 0 and all(c.passed for c in self.checks),
            critical=counts[Severity.CRITICAL],
            high=counts[Severity.HIGH],
            medium=counts[Severity.MEDIUM],
            low=counts[Severity.LOW],
            findings=self.findings,
            advisory_db=self.db_info,
            checks=self.checks,
        )


def _critical_message(found: list[Finding]) -> str | None:
    critical = [
        f"{f.id} ({f.package}=={f.version})" for f in found if f.severity is Severity.CRITICAL
    ]
    return "critical advisories: " + ", ".join(critical) if critical else None


def run_security(request: SecurityRequest) -> SecurityReport:
    """Run every security check the request asks for and summarise by severity."""
    return SecurityRun(request).run()
