"""The analysis run state machine on random limits and measurement sequences.

Each example declares one to three web metrics with random `count`, `failureLimit`,
`inconclusiveLimit` and `consecutiveErrorLimit`, and scripts what a real loopback server answers
each metric's successive measurements: S (success), F (failure), I (neither: inconclusive), or E
(HTTP 500: an error), then S forever. `run_analysis` runs them to the end; the invariants are
Argo Rollouts' rules: counters match the measurements, a metric ends Failed/Inconclusive/Error
only past its limit, Successful only after `count` measurements, never measures past its end,
the run's phase is the worst metric's, and phases seen by `save` never go back.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kargo.analysis.runs import build_analysis_run, run_analysis
from kargo.config import load_text
from kargo.engine.registration import register_higher_layer_parsers
from kargo.model.analysis import AnalysisPhase, AnalysisRun, AnalysisTemplate

from tests.fuzz.conftest import examples

SCRIPTS: dict[str, list[str]] = {}
SERVED: dict[str, int] = {}
LOCK = threading.Lock()


class Scripted(http.server.BaseHTTPRequestHandler):
    """GET /<metric>: the metric's next scripted answer."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        name = self.path.strip("/")
        with LOCK:
            n = SERVED.get(name, 0)
            SERVED[name] = n + 1
            script = SCRIPTS.get(name, [])
            answer = script[n] if n < len(script) else "S"
        status = 500 if answer == "E" else 200
        body = json.dumps({"v": answer}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def checks() -> Iterator[str]:
    """The scripted server's base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


limits = st.sampled_from([-1, 0, 1, 2])
metrics = st.lists(
    st.fixed_dictionaries(
        {
            "count": st.integers(1, 4),
            "failureLimit": limits,
            "inconclusiveLimit": limits,
            "consecutiveErrorLimit": st.sampled_from([-1, 0, 1, 2, 4]),
            "script": st.lists(st.sampled_from("SFIE"), max_size=8),
        }
    ),
    min_size=1,
    max_size=3,
)


def template(base: str, declared: list[dict[str, Any]], key: str) -> AnalysisTemplate:
    """An AnalysisTemplate loaded from YAML, one web metric per declaration."""
    lines = [
        "apiVersion: argoproj.io/v1alpha1",
        "kind: AnalysisTemplate",
        "metadata: {name: fuzz, namespace: fuzz}",
        "spec:",
        "  metrics:",
    ]
    for i, metric in enumerate(declared):
        lines += [
            f"  - name: m{i}",
            f'    provider: {{web: {{url: "{base}/{key}-m{i}", jsonPath: "{{$.v}}"}}}}',
            "    successCondition: result == 'S'",
            "    failureCondition: result == 'F'",
            "    interval: 5ms",
            f"    count: {metric['count']}",
            f"    failureLimit: {metric['failureLimit']}",
            f"    inconclusiveLimit: {metric['inconclusiveLimit']}",
            f"    consecutiveErrorLimit: {metric['consecutiveErrorLimit']}",
        ]
    register_higher_layer_parsers()
    loaded = load_text("\n".join(lines) + "\n", "fuzz.yaml")[0].resource
    assert isinstance(loaded, AnalysisTemplate)
    return loaded


RANK = {
    AnalysisPhase.PENDING: 0,
    AnalysisPhase.RUNNING: 1,
    AnalysisPhase.SUCCESSFUL: 2,
    AnalysisPhase.FAILED: 2,
    AnalysisPhase.ERROR: 2,
    AnalysisPhase.INCONCLUSIVE: 2,
}


def run_once(
    base: str, declared: list[dict[str, Any]], key: str
) -> tuple[AnalysisRun, list[AnalysisRun]]:
    """Run the analysis to its end; the run and every state `save` saw."""
    with LOCK:
        for i, metric in enumerate(declared):
            SCRIPTS[f"{key}-m{i}"] = metric["script"]
    fuzz = template(base, declared, key)
    run = build_analysis_run(name=f"run-{key}", templates=[fuzz], project="fuzz", timeout="20s")
    saved: list[AnalysisRun] = []

    async def save(current: AnalysisRun) -> None:
        saved.append(AnalysisRun.model_validate(current.model_dump(mode="json", by_alias=True)))

    async def never() -> bool:
        return False

    asyncio.run(run_analysis(run, [fuzz], save=save, is_terminated=never))
    return run, saved


COUNTER = iter(range(10**9))


@settings(max_examples=examples(10))
@given(metrics)
def test_any_measurement_sequence_ends_the_run_by_argo_rollouts_rules(
    checks: str, declared: list[dict[str, Any]]
) -> None:
    key = f"k{next(COUNTER)}"
    run, saved = run_once(checks, declared, key)
    status = run.status
    assert status.phase.is_terminal()
    assert status.phase == max((r.phase for r in status.metric_results), key=lambda p: p.severity())
    stopped_early = False
    for i, metric in enumerate(declared):
        result = status.metric(f"m{i}")
        assert result is not None and result.phase.is_terminal(), result
        phases = [m.phase for m in result.measurements]
        errors = phases.count(AnalysisPhase.ERROR)
        assert (result.error, result.count) == (errors, len(phases) - errors)
        assert result.successful == phases.count(AnalysisPhase.SUCCESSFUL)
        assert result.failed == phases.count(AnalysisPhase.FAILED)
        assert result.inconclusive == phases.count(AnalysisPhase.INCONCLUSIVE)
        assert result.count <= metric["count"], "measured past the metric's count"
        limit_f, limit_i = metric["failureLimit"], metric["inconclusiveLimit"]
        breached_f = limit_f >= 0 and result.failed > limit_f
        breached_i = limit_i >= 0 and result.inconclusive > limit_i
        breached_e = 0 <= metric["consecutiveErrorLimit"] < result.consecutive_error
        if result.phase is AnalysisPhase.SUCCESSFUL:
            assert result.count == metric["count"] and not (breached_f or breached_i or breached_e)
        elif result.phase is AnalysisPhase.FAILED:
            assert breached_f
        elif result.phase is AnalysisPhase.ERROR:
            assert breached_e
        elif result.message and result.message.startswith("stopped before finishing"):
            stopped_early = True
        else:
            assert breached_i, result
    if stopped_early:
        assert status.phase is not AnalysisPhase.SUCCESSFUL
    for before, after in zip(saved, saved[1:], strict=False):
        for old, new in zip(before.status.metric_results, after.status.metric_results, strict=True):
            assert RANK[new.phase] >= RANK[old.phase], (old.phase, new.phase)
            if old.phase.is_terminal():
                assert new.phase is old.phase
                assert len(new.measurements) == len(old.measurements)
