"""Summaries of an analysis template's metric results for smoke, security and load notifications.

The metrics' `result` values are what the providers returned: a JSON object from a webhook
provider (the checks service) or a number from Prometheus. Both shapes are read.
"""

from __future__ import annotations

import json
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low")
TOP_FINDINGS = 5
SUCCESSFUL = "Successful"

LOAD_KEYS: dict[str, tuple[str, ...]] = {
    "rps": ("rps", "requestsPerSecond", "requests_per_second", "throughput"),
    "p50": ("p50", "p50Ms", "latencyP50", "p50_ms"),
    "p95": ("p95", "p95Ms", "latencyP95", "p95_ms"),
    "p99": ("p99", "p99Ms", "latencyP99", "p99_ms"),
    "errorRate": ("errorRate", "error_rate", "errors", "failureRate"),
    "cpu": ("cpu", "cpuPercent", "cpu_percent", "cpuSeconds"),
    "memory": ("memory", "memoryMB", "memory_mb", "memoryBytes", "rss"),
}
AGE_KEYS = ("advisoryDatabaseAgeHours", "advisoryDbAgeHours", "advisory_db_age_hours", "dbAgeHours")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _decoded(value: Any) -> Any:
    """A result that arrived as JSON text, decoded (numbers and objects); else as it was."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _metrics(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        metric | {"result": _decoded(metric.get("result"))}
        for metric in template.get("metrics") or []
        if isinstance(metric, dict)
    ]


def _smoke(template: dict[str, Any]) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    for metric in _metrics(template):
        result = metric.get("result")
        if isinstance(result, dict) and isinstance(result.get("checks"), list):
            for check in result["checks"]:
                if isinstance(check, dict):
                    entry = {
                        "name": str(check.get("name", "")),
                        "passed": bool(check.get("passed")),
                    }
                    detail = check.get("message") or check.get("error")
                    if detail is not None:
                        entry["message"] = str(detail)
                    checks.append(entry)
        elif isinstance(result, dict) and "passed" in result:
            checks.append({"name": str(metric.get("name", "")), "passed": bool(result["passed"])})
        else:
            passed = metric.get("phase") == SUCCESSFUL
            checks.append({"name": str(metric.get("name", "")), "passed": passed})
    failed = sum(1 for check in checks if not check["passed"])
    phase = template.get("phase")
    passed = phase == SUCCESSFUL if phase else (failed == 0 and bool(checks))
    return {"passed": passed, "total": len(checks), "failed": failed, "checks": checks}


def _security(template: dict[str, Any]) -> dict[str, Any]:
    counts = dict.fromkeys(SEVERITIES, 0)
    findings: list[dict[str, Any]] = []
    age: float | None = None
    for metric in _metrics(template):
        result = metric.get("result")
        if not isinstance(result, dict):
            name = str(metric.get("name", "")).lower()
            value = _number(result)
            for severity in SEVERITIES:
                if severity in name and value is not None:
                    counts[severity] += int(value)
            continue
        counted = result.get("counts")
        source: dict[str, Any] = counted if isinstance(counted, dict) else result
        for severity in SEVERITIES:
            value = _number(source.get(severity))
            if value is not None:
                counts[severity] += int(value)
        listed = result.get("topFindings") or result.get("findings") or []
        findings.extend(item for item in listed if isinstance(item, dict))
        database = result.get("advisory_db") or result.get("advisoryDb") or {}
        ages = [result.get(key) for key in AGE_KEYS]
        if isinstance(database, dict):
            ages += [database.get("age_hours"), database.get("ageHours")]
        for raw in ages:
            if (found := _number(raw)) is not None:
                age = found if age is None else max(age, found)
    rank = {severity: index for index, severity in enumerate(SEVERITIES)}
    findings.sort(key=lambda item: rank.get(str(item.get("severity", "")).lower(), len(rank)))
    return {
        "passed": template.get("phase") == SUCCESSFUL,
        "counts": counts,
        "topFindings": findings[:TOP_FINDINGS],
        "advisoryDatabaseAgeHours": age,
    }


def _load(template: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, float | None] = dict.fromkeys(LOAD_KEYS)
    for metric in _metrics(template):
        result = metric.get("result")
        if isinstance(result, dict):
            for key, aliases in LOAD_KEYS.items():
                for alias in aliases:
                    if figures[key] is None and (value := _number(result.get(alias))) is not None:
                        figures[key] = value
                        break
            continue
        value = _number(result)
        name = str(metric.get("name", "")).lower().replace("_", "").replace("-", "")
        for key, aliases in LOAD_KEYS.items():
            if figures[key] is not None or value is None:
                continue
            if any(a.lower().replace("_", "") in name for a in aliases):
                figures[key] = value
                break
    return {"passed": template.get("phase") == SUCCESSFUL, **figures}


def summarise_template(kind: str, template: dict[str, Any]) -> dict[str, Any]:
    """The type-specific part of a smoke, security or load notification."""
    if kind == "smoke.completed":
        return _smoke(template)
    if kind == "security.findings":
        return _security(template)
    return _load(template)
