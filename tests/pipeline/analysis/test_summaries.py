"""Failure messages name the failing checks and the worst findings."""

from __future__ import annotations

from kargo.analysis.summaries import summarise_result


def test_a_smoke_report_summary_names_the_failed_checks_and_their_errors() -> None:
    report = {
        "passed": False,
        "checks": [
            {"name": "api-healthz", "passed": True, "error": None},
            {"name": "vote", "passed": False, "error": "vote not recorded"},
        ],
    }
    assert summarise_result(report) == "passed=False | failed checks: vote: vote not recorded"


def test_checks_not_run_because_of_an_earlier_failure_are_only_counted() -> None:
    report = {
        "passed": False,
        "checks": [
            {"name": "vote", "passed": False, "error": "vote not recorded"},
            {"name": "reveal", "passed": False, "error": "not run: needs vote"},
        ],
    }
    assert summarise_result(report) == (
        "passed=False | failed checks: vote: vote not recorded (and 1 not run because of them)"
    )


def test_a_security_report_summary_lists_critical_findings_first() -> None:
    report = {
        "passed": False,
        "critical": 1,
        "findings": [
            {"id": "B101", "severity": "low"},
            {"id": "GHSA-xxxx-0001", "severity": "critical", "package": "jinja2", "version": "2.0"},
        ],
    }
    summary = summarise_result(report)
    assert summary.startswith("passed=False, critical=1 | findings: GHSA-xxxx-0001 (critical")
    assert summary.index("GHSA-xxxx-0001") < summary.index("B101")


def test_numbers_and_long_results_are_summarised_briefly() -> None:
    assert summarise_result(812.5) == "812.5"
    long = summarise_result("x" * 1000)
    assert len(long) == 400 and long.endswith("...")
