"""The load suite: locust headless as a subprocess with the bundled scenario, stats from its CSV."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from poker_checks.results import LoadReport
from poker_checks.targets import LoadRequest

SCENARIO = Path(__file__).resolve().parent / "locustfile.py"


class LoadError(Exception):
    """Locust could not run or left no statistics."""


def locust_argv(request: LoadRequest, csv_prefix: Path) -> list[str]:
    """The locust command line for a request."""
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(SCENARIO),
        "--headless",
        "--host",
        request.url.rstrip("/"),
        "--users",
        str(request.users),
        "--spawn-rate",
        str(request.spawn_rate),
        "--run-time",
        f"{max(1, math.ceil(request.duration_seconds))}s",
        "--stop-timeout",
        "2",
        "--csv",
        str(csv_prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]


def _number(row: dict[str, str], column: str) -> float:
    value = row.get(column, "") or "0"
    try:
        return float(value)
    except ValueError:
        return 0.0


def parse_stats(stats_csv: Path) -> dict[str, float]:
    """requests, failures, rps and percentiles from the Aggregated row of locust's stats CSV."""
    try:
        with stats_csv.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise LoadError(f"locust left no statistics at {stats_csv}: {exc}") from exc
    total = next((row for row in rows if row.get("Name") == "Aggregated"), None)
    if total is None:
        raise LoadError(f"no Aggregated row in {stats_csv}")
    return {
        "requests": _number(total, "Request Count"),
        "failures": _number(total, "Failure Count"),
        "rps": _number(total, "Requests/s"),
        "p50_ms": _number(total, "50%"),
        "p95_ms": _number(total, "95%"),
        "p99_ms": _number(total, "99%"),
    }


def measure_load(request: LoadRequest) -> dict[str, float]:
    """Run locust against request.url; its aggregated stats, or LoadError."""
    with tempfile.TemporaryDirectory(prefix="poker-load-") as folder:
        prefix = Path(folder) / "run"
        try:
            completed = subprocess.run(
                locust_argv(request, prefix),
                capture_output=True,
                text=True,
                timeout=request.duration_seconds + 60,
                cwd=folder,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LoadError(f"locust did not run: {exc}") from exc
        try:
            return parse_stats(Path(f"{prefix}_stats.csv"))
        except LoadError as exc:
            raise LoadError(f"{exc}; locust said: {completed.stderr.strip()[-400:]}") from exc


def judge_load(stats: dict[str, float], request: LoadRequest) -> LoadReport:
    """The report for measured stats under the request's thresholds."""
    requests, failures = int(stats["requests"]), int(stats["failures"])
    error_rate = failures / requests if requests else 1.0
    problems = []
    if requests == 0:
        problems.append("no request was made")
    if error_rate > request.max_error_rate:
        problems.append(f"error rate {error_rate:.3f} above {request.max_error_rate:g}")
    if stats["p95_ms"] > request.max_p95_ms:
        problems.append(f"p95 {stats['p95_ms']:g} ms above {request.max_p95_ms:g} ms")
    return LoadReport(
        passed=not problems,
        requests=requests,
        failures=failures,
        error_rate=round(error_rate, 4),
        rps=round(stats["rps"], 2),
        p50_ms=stats["p50_ms"],
        p95_ms=stats["p95_ms"],
        p99_ms=stats["p99_ms"],
        users=request.users,
        duration_seconds=request.duration_seconds,
        error="; ".join(problems) or None,
    )


def run_load(request: LoadRequest) -> LoadReport:
    """Drive load at request.url and judge it against the thresholds."""
    try:
        stats = measure_load(request)
    except LoadError as exc:
        return _failed(request, str(exc))
    return judge_load(stats, request)


def _failed(request: LoadRequest, error: str) -> LoadReport:
    return LoadReport(
        passed=False,
        requests=0,
        failures=0,
        error_rate=1.0,
        rps=0.0,
        p50_ms=0.0,
        p95_ms=0.0,
        p99_ms=0.0,
        users=request.users,
        duration_seconds=request.duration_seconds,
        error=error,
    )
