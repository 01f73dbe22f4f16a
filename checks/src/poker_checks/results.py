"""The JSON shapes the suites answer with, shared by the HTTP service and the CLI."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Severity(StrEnum):
    """How bad a finding is; the counts in a security report are per severity."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class DatabaseStatus(StrEnum):
    """Whether the offline advisory database can be trusted."""

    FRESH = "fresh"
    STALE = "stale"
    MISSING = "missing"


class CheckResult(BaseModel):
    """One named check of a suite."""

    name: str
    passed: bool
    duration_ms: float
    error: str | None = None


class SmokeReport(BaseModel):
    """The smoke suite's answer."""

    passed: bool
    checks: list[CheckResult]


class Finding(BaseModel):
    """One security finding: an advisory, a bandit issue, or a failed dependency/config check."""

    id: str
    package: str | None = None
    version: str | None = None
    fixed_in: str | None = None
    severity: Severity
    summary: str
    kind: str = "advisory"


class AdvisoryDatabaseInfo(BaseModel):
    """Where the advisories came from and how old they are."""

    source: str
    age_hours: float | None
    status: DatabaseStatus = DatabaseStatus.FRESH
    advisories: int = 0
    message: str | None = None
    invalid: list[str] = Field(default_factory=list)
    online: str | None = None


class SecurityReport(BaseModel):
    """The security suite's answer."""

    passed: bool
    critical: int
    high: int
    medium: int
    low: int
    findings: list[Finding]
    advisory_db: AdvisoryDatabaseInfo
    checks: list[CheckResult] = Field(default_factory=list)


class LoadReport(BaseModel):
    """The load suite's answer."""

    passed: bool
    requests: int
    failures: int
    error_rate: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    users: int = 0
    duration_seconds: float = 0
    error: str | None = None
