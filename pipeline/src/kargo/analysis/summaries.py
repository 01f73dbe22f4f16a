"""Short, readable summaries of a measurement's result for messages and events.

The checks service answers with `checks: [{name, passed, error}]` and `findings: [{id, severity,
package, version}]`; a failed measurement names the failing checks and the worst findings first,
so the event says what broke without reading the whole result.
"""

from __future__ import annotations

from typing import Any

LIMIT = 400
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def summarise_result(value: Any, limit: int = LIMIT) -> str:
    """The parts of a result that explain a failure, cut to `limit` characters."""
    parts: list[str] = []
    if isinstance(value, dict):
        checks = value.get("checks")
        if isinstance(checks, list):
            failed = [c for c in checks if isinstance(c, dict) and c.get("passed") is False]
            skipped = [c for c in failed if str(c.get("error") or "").startswith("not run")]
            causes = [c for c in failed if c not in skipped]
            if failed:
                text = "failed checks: " + "; ".join(_check(c) for c in causes or skipped)
                if causes and skipped:
                    text += f" (and {len(skipped)} not run because of them)"
                parts.append(text)
        findings = value.get("findings")
        if isinstance(findings, list) and findings:
            ranked = sorted(
                (f for f in findings if isinstance(f, dict)),
                key=lambda f: _SEVERITY_ORDER.get(str(f.get("severity", "")).lower(), 9),
            )
            parts.append("findings: " + "; ".join(_finding(f) for f in ranked))
        numbers = {k: v for k, v in value.items() if isinstance(v, int | float | bool)}
        if numbers:
            parts.insert(0, ", ".join(f"{k}={v}" for k, v in numbers.items()))
    text = " | ".join(parts) if parts else (value if isinstance(value, str) else repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check(check: dict[str, Any]) -> str:
    """`name: error` of a failed check."""
    error = check.get("error")
    return f"{check.get('name')}: {error}" if error else str(check.get("name"))


def _finding(finding: dict[str, Any]) -> str:
    """`id (severity, package version)` of a finding."""
    where = " ".join(str(finding[k]) for k in ("package", "version") if finding.get(k))
    detail = ", ".join(x for x in (str(finding.get("severity", "")), where) if x)
    return f"{finding.get('id')} ({detail})"
