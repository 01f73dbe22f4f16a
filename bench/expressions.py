"""Expression benchmark: evaluations per second of analysis conditions and `${{ }}` templates.

Baseline, in this same process: the same conditions written as Python lambdas (the ceiling for
any interpreter here). Then kargo.expr through the engine's own entry points
(kargo.analysis.conditions.evaluate_condition, kargo.expr.templates.evaluate_template), with
compilation cached as in the engine. When cel-python is installed, the CEL form of the same
conditions (the dialect the engine used before) is measured too, for comparison.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from kargo.analysis.conditions import evaluate_condition
from kargo.expr.templates import evaluate_template

RESULT: dict[str, Any] = {
    "passed": True,
    "critical": 0,
    "checks": [{"name": f"api-{i}", "passed": True} for i in range(10)],
}
CASES: list[tuple[str, str, Callable[[Any], bool], Any]] = [
    ("result.passed == true", "result.passed == true", lambda r: r["passed"] is True, RESULT),
    ("result.critical == 0", "result.critical == 0", lambda r: r["critical"] == 0, RESULT),
    ("result < 500", "result < 500.0", lambda r: r < 500, 487.5),
    (
        'all(filter(result.checks, .name startsWith "api-"), .passed)',
        'result.checks.filter(c, c.name.startsWith("api-")).all(c, c.passed)',
        lambda r: all(c["passed"] for c in r["checks"] if c["name"].startswith("api-")),
        RESULT,
    ),
]
TEMPLATE = "${{ ctx.stage }}: ${{ outputs['update-image'].commitMessage }} (${{ len(vars.x) }})"
TEMPLATE_ENV = {
    "ctx": {"stage": "prod"},
    "outputs": {"update-image": {"commitMessage": "bump"}},
    "vars": {"x": "abc"},
}


def rate(work: Callable[[], Any], seconds: float) -> float:
    """Calls per second of `work` over about `seconds`."""
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            work()
        calls += 100
    return calls / elapsed


def cel_rate(source: str, result: Any, seconds: float) -> float | None:
    """Evaluations per second with cel-python, or None when it is not installed."""
    try:
        import celpy
        from celpy.adapter import json_to_cel
    except ImportError:
        return None
    env = celpy.Environment()
    program = env.program(env.compile(source))
    activation = {"result": json_to_cel(result)}
    return rate(lambda: program.evaluate(activation), seconds)


def main() -> None:
    """Print evaluations per second and the ratio to the native baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    args = parser.parse_args()
    print(f"{'condition':64} {'python/s':>10} {'expr/s':>9} {'ratio':>6} {'cel/s':>8}")
    for source, cel_source, native, result in CASES:
        baseline = rate(lambda n=native, r=result: n(r), args.seconds)
        measured = rate(lambda s=source, r=result: evaluate_condition(s, r), args.seconds)
        cel = cel_rate(cel_source, result, args.seconds)
        cel_text = f"{cel:8.0f}" if cel is not None else "       -"
        print(
            f"{source[:64]:64} {baseline:10.0f} {measured:9.0f} "
            f"{baseline / measured:5.0f}x {cel_text}"
        )
    native_template = rate(
        lambda: f"{TEMPLATE_ENV['ctx']['stage']}: bump ({len(TEMPLATE_ENV['vars']['x'])})",
        args.seconds,
    )
    template = rate(lambda: evaluate_template(TEMPLATE, TEMPLATE_ENV, {}), args.seconds)
    print(
        f"{'template: ' + TEMPLATE[:54]:64} {native_template:10.0f} {template:9.0f} "
        f"{native_template / template:5.0f}x        -"
    )


if __name__ == "__main__":
    main()
