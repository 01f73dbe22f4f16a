"""The online half of the vulnerability scan: the OSV service's query API, when it is reachable.

POST {base}/v1/querybatch with one query per pin gives advisory ids; GET {base}/v1/vulns/{id}
gives each full record, parsed like the offline files. Any network or protocol problem raises
OnlineScanError; the caller decides whether that matters.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from packaging.version import InvalidVersion, Version

from poker_checks.advisories import parse_advisory
from poker_checks.results import Finding

DEFAULT_OSV_URL = "https://api.osv.dev"
OSV_URL_ENV = "POKER_CHECKS_OSV_URL"


class OnlineScanError(Exception):
    """The OSV service could not be asked, or answered something unexpected."""


def osv_url(configured: str | None) -> str:
    """The OSV service base URL: the request's, else $POKER_CHECKS_OSV_URL, else the public one."""
    return (configured or os.environ.get(OSV_URL_ENV) or DEFAULT_OSV_URL).rstrip("/")


def _json(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise OnlineScanError(f"{response.request.url} answered {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise OnlineScanError(f"{response.request.url} answered non-JSON") from exc
    if not isinstance(body, dict):
        raise OnlineScanError(f"{response.request.url} answered {type(body).__name__}")
    return body


def scan_online(pins: dict[str, str], base_url: str, timeout: float = 10.0) -> list[Finding]:
    """Findings from the OSV service for the pinned versions."""
    names = sorted(pins)
    queries = [
        {"package": {"name": name, "ecosystem": "PyPI"}, "version": pins[name]} for name in names
    ]
    findings: list[Finding] = []
    try:
        with httpx.Client(base_url=base_url, timeout=timeout) as client:
            batch = _json(client.post("/v1/querybatch", json={"queries": queries}))
            results = batch.get("results", [])
            if len(results) != len(names):
                raise OnlineScanError(f"querybatch gave {len(results)} results for {len(names)}")
            records: dict[str, dict[str, Any]] = {}
            for name, result in zip(names, results, strict=True):
                for vuln in (result or {}).get("vulns", []):
                    vuln_id = str(vuln["id"])
                    if vuln_id not in records:
                        records[vuln_id] = _json(client.get(f"/v1/vulns/{vuln_id}"))
                    findings.extend(_findings(records[vuln_id], name, pins[name]))
    except httpx.HTTPError as exc:
        raise OnlineScanError(f"OSV service at {base_url} unreachable: {exc!r}") from exc
    except (KeyError, TypeError) as exc:
        raise OnlineScanError(f"OSV service answered an unexpected shape: {exc!r}") from exc
    return findings


def _findings(record: dict[str, Any], name: str, version: str) -> list[Finding]:
    advisory = parse_advisory(record)
    try:
        parsed = Version(version)
    except InvalidVersion:
        return []
    for affected in advisory.affected:
        if affected.package == name:
            return [
                Finding(
                    id=advisory.id,
                    package=name,
                    version=version,
                    fixed_in=affected.fixed_in(parsed),
                    severity=advisory.severity,
                    summary=advisory.summary,
                    kind="advisory-online",
                )
            ]
    return []
