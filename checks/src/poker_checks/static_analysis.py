"""Static analysis of the app's source with bandit, run as a subprocess with JSON output.

Severity mapping: bandit's HIGH/MEDIUM/LOW become high/medium/low; an issue bandit itself
rates LOW confidence is lowered one step. Bandit never yields critical.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from poker_checks.results import Finding, Severity

_SEVERITIES = {"HIGH": Severity.HIGH, "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}
_LOWER = {Severity.HIGH: Severity.MEDIUM, Severity.MEDIUM: Severity.LOW, Severity.LOW: Severity.LOW}


class StaticAnalysisError(Exception):
    """Bandit could not run or its output could not be read."""


def bandit_severity(severity: str, confidence: str) -> Severity:
    """Our severity for a bandit issue."""
    mapped = _SEVERITIES.get(severity.upper(), Severity.LOW)
    return _LOWER[mapped] if confidence.upper() == "LOW" else mapped


def run_bandit(source: Path, timeout: float = 120.0) -> list[Finding]:
    """Bandit's issues in source, as findings; raises StaticAnalysisError when it cannot run."""
    argv = [sys.executable, "-m", "bandit", "-r", str(source), "-f", "json", "-q"]
    argv += ["-x", ",".join(str(source / d) for d in ("tests", ".venv", "node_modules"))]
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StaticAnalysisError(f"bandit did not run: {exc}") from exc
    if completed.returncode not in (0, 1):
        raise StaticAnalysisError(
            f"bandit failed with exit code {completed.returncode}: "
            f"{completed.stderr.strip()[-500:]}"
        )
    try:
        report = json.loads(completed.stdout)
    except ValueError as exc:
        raise StaticAnalysisError(f"bandit printed no JSON: {completed.stdout[:200]!r}") from exc
    findings: list[Finding] = []
    for issue in report.get("results", []):
        path = Path(str(issue.get("filename", "?")))
        try:
            where = str(path.relative_to(source))
        except ValueError:
            where = str(path)
        findings.append(
            Finding(
                id=str(issue.get("test_id", "B000")),
                package=None,
                version=None,
                fixed_in=None,
                severity=bandit_severity(
                    str(issue.get("issue_severity", "LOW")),
                    str(issue.get("issue_confidence", "LOW")),
                ),
                summary=f"{where}:{issue.get('line_number', '?')}: {issue.get('issue_text', '')}",
                kind="bandit",
            )
        )
    return findings
