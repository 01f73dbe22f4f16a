"""An offline OSV-format advisory database: loading, ageing and matching pinned versions.

The database is a folder of OSV JSON files (one advisory each, or a list) plus `metadata.json`
with `{"source": ..., "built_at": ISO-8601}`. Without metadata the newest file's mtime is the
build date. Only the `PyPI` ecosystem is read; `versions` lists and `ECOSYSTEM` ranges both match,
ranges evaluated exactly as OSV's schema documents (introduced, fixed, last_affected, limit).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from poker_checks.cvss import worst_rating
from poker_checks.results import AdvisoryDatabaseInfo, DatabaseStatus, Finding, Severity

DEFAULT_DATABASE = Path(__file__).resolve().parents[2] / "advisories"
DATABASE_ENV = "POKER_CHECKS_ADVISORY_DB"
_GITHUB_SEVERITIES = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}


Event = tuple[str, Version | None]
"""One range event: introduced, fixed, last_affected or limit, and its version (None: "0"/"*")."""


@dataclass(frozen=True)
class VersionRange:
    """One ECOSYSTEM or SEMVER range: its events sorted by version, evaluated as OSV says."""

    events: tuple[Event, ...]
    limits: tuple[Version | None, ...] = ()

    def before_limits(self, version: Version) -> bool:
        """OSV's BeforeLimits: no limit is an implicit "*"; else below some limit."""
        if not self.limits:
            return True
        return any(limit is None or version < limit for limit in self.limits)

    def includes(self, version: Version) -> bool:
        """OSV's IncludedInRanges for one range."""
        if not self.before_limits(version):
            return False
        vulnerable = False
        for kind, at in self.events:
            if kind == "introduced" and (at is None or version >= at):
                vulnerable = True
            elif kind == "fixed" and at is not None and version >= at:
                vulnerable = False
            elif kind == "last_affected" and at is not None and version > at:
                vulnerable = False
        return vulnerable


@dataclass(frozen=True)
class Affected:
    """One package an advisory affects: explicit versions and ranges."""

    package: str
    versions: frozenset[str]
    ranges: tuple[VersionRange, ...]

    def matches(self, version: Version) -> bool:
        """Whether the pinned version is affected (OSV's IsVulnerable for one package)."""
        if str(version) in self.versions or _listed(version, self.versions):
            return True
        return any(entry.includes(version) for entry in self.ranges)

    def fixed_in(self, version: Version) -> str | None:
        """The lowest fixed version above the pinned one, if the advisory names one."""
        fixes = [
            at
            for entry in self.ranges
            for kind, at in entry.events
            if kind == "fixed" and at is not None and at > version
        ]
        return str(min(fixes)) if fixes else None


def _listed(version: Version, versions: frozenset[str]) -> bool:
    """Whether an explicit `versions` entry is the same version written differently."""
    for listed in versions:
        try:
            if Version(listed) == version:
                return True
        except InvalidVersion:
            continue
    return False


@dataclass(frozen=True)
class Advisory:
    """One OSV advisory, reduced to what the scan needs."""

    id: str
    summary: str
    severity: Severity
    affected: tuple[Affected, ...]
    aliases: tuple[str, ...] = ()


@dataclass
class AdvisoryDatabase:
    """The advisories of one folder and what is known about its age."""

    source: str
    advisories: list[Advisory] = field(default_factory=list)
    built_at: datetime | None = None
    invalid: list[str] = field(default_factory=list)

    def info(self, max_age_hours: float, now: datetime | None = None) -> AdvisoryDatabaseInfo:
        """Age and status of the database, with a plain message when it cannot be trusted."""
        if self.built_at is None:
            return AdvisoryDatabaseInfo(
                source=self.source,
                age_hours=None,
                status=DatabaseStatus.MISSING,
                message=f"advisory database missing: no OSV advisories found in {self.source}",
            )
        age = max(0.0, ((now or datetime.now(UTC)) - self.built_at).total_seconds() / 3600.0)
        info = AdvisoryDatabaseInfo(
            source=self.source,
            age_hours=round(age, 2),
            advisories=len(self.advisories),
            invalid=self.invalid,
        )
        if age > max_age_hours:
            info.status = DatabaseStatus.STALE
            info.message = (
                f"advisory database is stale: built {age:.0f} h ago, "
                f"older than the allowed {max_age_hours:.0f} h"
            )
        return info

    def scan(self, pins: dict[str, str]) -> list[Finding]:
        """Findings for every pinned package version an advisory affects."""
        findings: list[Finding] = []
        for name, raw_version in sorted(pins.items()):
            try:
                version = Version(raw_version)
            except InvalidVersion:
                continue
            for advisory in self.advisories:
                for affected in advisory.affected:
                    if affected.package == name and affected.matches(version):
                        findings.append(
                            Finding(
                                id=advisory.id,
                                package=name,
                                version=raw_version,
                                fixed_in=affected.fixed_in(version),
                                severity=advisory.severity,
                                summary=advisory.summary,
                            )
                        )
                        break
        return findings


_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


def _event(raw: dict[str, Any]) -> Event:
    """One event object (exactly one key); "0" introduced and "*" limits have no version."""
    kinds = [kind for kind in _EVENT_KINDS if kind in raw]
    if len(kinds) != 1:
        raise ValueError(f"a range event has one of {', '.join(_EVENT_KINDS)}, got {sorted(raw)}")
    kind = kinds[0]
    text = str(raw[kind])
    if (kind == "introduced" and text == "0") or (kind == "limit" and "*" in text):
        return kind, None
    return kind, Version(text)


def _ranges(ranges: list[dict[str, Any]]) -> tuple[VersionRange, ...]:
    """Every ECOSYSTEM (or SEMVER) range, events sorted by version ("0" first); GIT is skipped."""
    parsed: list[VersionRange] = []
    for entry in ranges:
        if entry.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        events = [_event(raw) for raw in entry.get("events", [])]
        timeline = [(kind, at) for kind, at in events if kind != "limit"]
        timeline.sort(key=lambda event: (event[1] is not None, event[1] or Version("0")))
        limits = tuple(at for kind, at in events if kind == "limit")
        parsed.append(VersionRange(tuple(timeline), limits))
    return tuple(parsed)


def _severity(raw: dict[str, Any]) -> Severity:
    """GitHub's database_specific rating, else the worst CVSS v2/v3.x/v4 rating, else medium."""
    rating = str(raw.get("database_specific", {}).get("severity", "")).upper()
    if rating in _GITHUB_SEVERITIES:
        return _GITHUB_SEVERITIES[rating]
    return worst_rating(raw.get("severity", [])) or Severity.MEDIUM


def parse_advisory(raw: dict[str, Any]) -> Advisory:
    """One OSV JSON object as an Advisory (only its PyPI packages)."""
    affected = tuple(
        Affected(
            package=canonicalize_name(item["package"]["name"]),
            versions=frozenset(str(v) for v in item.get("versions", [])),
            ranges=_ranges(item.get("ranges", [])),
        )
        for item in raw.get("affected", [])
        if item.get("package", {}).get("ecosystem") == "PyPI"
    )
    summary = raw.get("summary") or str(raw.get("details", "")).split("\n", 1)[0]
    return Advisory(
        id=str(raw["id"]),
        summary=summary[:300],
        severity=_severity(raw),
        affected=affected,
        aliases=tuple(raw.get("aliases", [])),
    )


def load_database(folder: str | Path | None = None) -> AdvisoryDatabase:
    """Read every advisory in folder (default: $POKER_CHECKS_ADVISORY_DB or the bundled one)."""
    root = Path(folder or os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE)
    database = AdvisoryDatabase(source=str(root))
    if not root.is_dir():
        return database
    newest: float | None = None
    for path in sorted(root.rglob("*.json")):
        if path.name == "metadata.json":
            continue
        try:
            document = json.loads(path.read_text())
            items = document if isinstance(document, list) else [document]
            database.advisories.extend(parse_advisory(item) for item in items)
        except (OSError, ValueError, KeyError, TypeError, InvalidVersion) as exc:
            # the kind of error only: its message may quote the file
            database.invalid.append(f"{path.name}: {type(exc).__name__}")
            continue
        newest = max(newest or 0.0, path.stat().st_mtime)
    if not database.advisories:
        return database
    database.built_at = _built_at(root / "metadata.json", newest)
    return database


def _built_at(metadata: Path, newest_mtime: float | None) -> datetime | None:
    """The build date from metadata.json, else the newest advisory file's mtime."""
    try:
        document = json.loads(metadata.read_text())
        built = datetime.fromisoformat(str(document["built_at"]).replace("Z", "+00:00"))
        return built if built.tzinfo else built.replace(tzinfo=UTC)
    except (OSError, ValueError, KeyError, TypeError):
        return datetime.fromtimestamp(newest_mtime, UTC) if newest_mtime else None
