"""Analysis runs: concurrency, Argo Rollouts' limits, abort, timeouts, args and secrets."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kargo.analysis.errors import AnalysisArgumentError, AnalysisRunError
from kargo.analysis.lines import load_analysis_templates
from kargo.analysis.parsing import parse_analysis_template
from kargo.analysis.runs import build_analysis_run, run_analysis
from kargo.model.analysis import AnalysisPhase, AnalysisRun, AnalysisTemplate

from tests.pipeline.analysis.conftest import JsonServer
from tests.services import REPO_ROOT


def template(
    metrics: list[dict[str, Any]],
    args: list[dict[str, Any]] | None = None,
    name: str = "t",
    timeout: str | None = None,
) -> AnalysisTemplate:
    """A shorthand template with these metrics."""
    spec: dict[str, Any] = {"metrics": metrics, "args": args or []}
    if timeout:
        spec["timeout"] = timeout
    doc = {
        "apiVersion": "kargo.akuity.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": name},
        "spec": spec,
    }
    return parse_analysis_template(doc, f"{name}.yaml")


def web_metric(name: str, url: str, **fields: Any) -> dict[str, Any]:
    """A shorthand webhook metric."""
    return {
        "name": name,
        "provider": "webhook",
        "webhook": {"url": url, "timeoutSeconds": 5},
        **fields,
    }


class Recorder:
    """Collects every saved state of a run, and answers is_terminated."""

    def __init__(self, terminate_when: Callable[[AnalysisRun], bool] | None = None) -> None:
        self.saved: list[dict[str, Any]] = []
        self.terminate_when = terminate_when
        self.last: AnalysisRun | None = None

    async def save(self, run: AnalysisRun) -> None:
        self.saved.append(run.to_dict())
        self.last = run

    async def is_terminated(self) -> bool:
        return bool(self.terminate_when and self.last and self.terminate_when(self.last))


def execute(
    templates: list[AnalysisTemplate],
    args: dict[str, str] | None = None,
    recorder: Recorder | None = None,
    timeout: str | None = None,
) -> tuple[AnalysisRun, Recorder]:
    """Build and run an AnalysisRun to its end."""
    recorder = recorder or Recorder()
    run = build_analysis_run(
        name="run-1", templates=templates, args=args or {}, stage="development", timeout=timeout
    )
    result = asyncio.run(
        run_analysis(run, templates, save=recorder.save, is_terminated=recorder.is_terminated)
    )
    return result, recorder


def sequence(*replies: tuple[int, Any]) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    """A route answering with each reply in turn, then the last one forever."""
    it: Iterator[tuple[int, Any]] = itertools.chain(replies, itertools.repeat(replies[-1]))
    return lambda request: next(it)


def test_metrics_run_concurrently_and_every_measurement_is_saved(json_server: JsonServer) -> None:
    json_server.routes["/a"] = lambda r: (200, {"passed": True})
    json_server.routes["/b"] = lambda r: (200, {"critical": 0})
    json_server.delay.update({"/a": 0.6, "/b": 0.6})
    metrics = [
        web_metric("a", f"{json_server.url}/a", successCondition="result.passed == true"),
        web_metric("b", f"{json_server.url}/b", successCondition="result.critical == 0"),
        {
            "name": "c",
            "provider": "job",
            "job": {"command": [sys.executable, "-c", "print('{\"ok\": 1}')"]},
            "successCondition": "result.ok == 1",
        },
    ]
    run, recorder = execute([template(metrics)])
    assert run.status.phase is AnalysisPhase.SUCCESSFUL
    assert run.status.message == "all metrics successful"
    assert run.status.started_at is not None and run.status.finished_at is not None
    for result in run.status.metric_results:
        assert result.phase is AnalysisPhase.SUCCESSFUL and len(result.measurements) == 1
        measurement = result.measurements[0]
        assert (
            measurement.finished_at is not None
            and measurement.finished_at >= measurement.started_at
        )
    a, b = (run.status.metric_results[i].measurements[0] for i in (0, 1))
    assert a.value == {"passed": True}
    assert a.finished_at is not None and b.finished_at is not None
    assert a.started_at < b.finished_at and b.started_at < a.finished_at  # the 0.6 s calls overlap
    phases = [s["status"]["phase"] for s in recorder.saved]
    assert phases[0] == "Running" and phases[-1] == "Successful"
    assert len(recorder.saved) >= 1 + 3 + 1  # start, each measurement, end


def test_failures_within_failure_limit_still_succeed_after_count(json_server: JsonServer) -> None:
    json_server.routes["/p95"] = sequence((200, 100), (200, 900), (200, 120))
    metric = web_metric(
        "response-time",
        f"{json_server.url}/p95",
        successCondition="result < 500",
        count=3,
        interval="50ms",
        failureLimit=1,
    )
    run, _ = execute([template([metric])])
    result = run.status.metric_results[0]
    assert run.status.phase is AnalysisPhase.SUCCESSFUL
    assert (result.count, result.successful, result.failed) == (3, 2, 1)
    assert [m.phase for m in result.measurements] == [
        AnalysisPhase.SUCCESSFUL,
        AnalysisPhase.FAILED,
        AnalysisPhase.SUCCESSFUL,
    ]


def test_more_failures_than_the_limit_fail_the_run_early_with_the_value(
    json_server: JsonServer,
) -> None:
    json_server.routes["/p95"] = sequence((200, 812.5))
    metric = web_metric(
        "response-time",
        f"{json_server.url}/p95",
        successCondition="result < 500",
        count=5,
        interval="50ms",
        failureLimit=1,
    )
    run, _ = execute([template([metric])])
    result = run.status.metric_results[0]
    assert run.status.phase is AnalysisPhase.FAILED
    assert len(result.measurements) == 2 and result.measurements[-1].value == 812.5
    assert run.status.message is not None
    assert run.status.message.startswith("metric response-time Failed: 2 failed measurement(s)")
    assert "812.5" in run.status.message


def test_neither_condition_met_is_inconclusive_beyond_the_inconclusive_limit(
    json_server: JsonServer,
) -> None:
    json_server.routes["/v"] = sequence((200, 600))
    metric = web_metric(
        "v",
        f"{json_server.url}/v",
        successCondition="result < 500",
        failureCondition="result > 800",
        count=3,
        interval="50ms",
        inconclusiveLimit=1,
    )
    run, _ = execute([template([metric])])
    assert run.status.phase is AnalysisPhase.INCONCLUSIVE
    assert run.status.metric_results[0].inconclusive == 2


def test_errors_do_not_count_and_only_consecutive_errors_beyond_the_limit_error(
    json_server: JsonServer,
) -> None:
    json_server.routes["/flaky"] = sequence((500, {}), (200, 1), (500, {}), (200, 1))
    metric = web_metric(
        "flaky",
        f"{json_server.url}/flaky",
        successCondition="result == 1",
        count=2,
        interval="50ms",
        consecutiveErrorLimit=1,
    )
    run, _ = execute([template([metric])])
    result = run.status.metric_results[0]
    assert run.status.phase is AnalysisPhase.SUCCESSFUL
    assert (result.count, result.error, len(result.measurements)) == (2, 2, 4)
    assert "HTTP 500" in (result.measurements[0].message or "")

    json_server.routes["/down"] = sequence((503, {"error": "down"}))
    metric = web_metric(
        "down",
        f"{json_server.url}/down",
        successCondition="result == 1",
        interval="50ms",
        count=3,
        consecutiveErrorLimit=1,
    )
    run, _ = execute([template([metric])])
    assert run.status.phase is AnalysisPhase.ERROR
    assert run.status.metric_results[0].consecutive_error == 2
    assert "HTTP 503" in (run.status.message or "")


def test_a_condition_that_cannot_be_evaluated_marks_the_measurement_error(
    json_server: JsonServer,
) -> None:
    json_server.routes["/s"] = lambda r: (200, {"status": "ok"})
    metric = web_metric(
        "s",
        f"{json_server.url}/s",
        successCondition="result.status > 1",
        consecutiveErrorLimit=0,
    )
    run, _ = execute([template([metric])])
    measurement = run.status.metric_results[0].measurements[0]
    assert measurement.phase is AnalysisPhase.ERROR
    assert "mismatched types string and int" in (measurement.message or "")
    assert run.status.phase is AnalysisPhase.ERROR


def test_a_failing_metric_stops_the_others_and_names_itself(json_server: JsonServer) -> None:
    json_server.routes["/bad"] = lambda r: (
        200,
        {
            "passed": False,
            "checks": [{"name": "vote", "passed": False, "error": "vote not recorded"}],
        },
    )
    json_server.routes["/slow"] = lambda r: (200, 1)
    metrics = [
        web_metric(
            "smoke-test-success", f"{json_server.url}/bad", successCondition="result.passed == true"
        ),
        web_metric("watch", f"{json_server.url}/slow", initialDelay="5s", count=1),
    ]
    started = time.monotonic()
    run, _ = execute([template(metrics)])
    assert time.monotonic() - started < 4.5  # did not wait for the 5 s initialDelay
    assert run.status.phase is AnalysisPhase.FAILED
    assert "vote not recorded" in (run.status.message or "")
    watch = run.status.metric("watch")
    assert watch is not None and watch.phase is AnalysisPhase.INCONCLUSIVE
    assert "stopped before finishing: metric smoke-test-success ended Failed" in (
        watch.message or ""
    )


def test_an_aborted_run_stops_and_never_counts_as_successful(json_server: JsonServer) -> None:
    json_server.routes["/ok"] = lambda r: (200, 1)
    metric = web_metric(
        "forever", f"{json_server.url}/ok", interval="100ms", successCondition="result == 1"
    )
    recorder = Recorder(lambda run: len(run.status.metric_results[0].measurements) >= 2)
    run, _ = execute([template([metric])], recorder=recorder)
    assert run.status.phase is AnalysisPhase.INCONCLUSIVE
    assert run.status.message == "aborted"
    assert run.status.metric_results[0].phase is AnalysisPhase.SUCCESSFUL  # judged by its limits


def test_spec_terminate_aborts_before_the_first_measurement(json_server: JsonServer) -> None:
    json_server.routes["/ok"] = lambda r: (200, 1)
    metric = web_metric("now", f"{json_server.url}/ok")
    templates = [template([metric])]
    run = build_analysis_run(name="r", templates=templates)
    run.spec.terminate = True
    recorder = Recorder()
    asyncio.run(
        run_analysis(run, templates, save=recorder.save, is_terminated=recorder.is_terminated)
    )
    assert run.status.phase is AnalysisPhase.INCONCLUSIVE
    assert run.status.metric_results[0].measurements == []
    assert json_server.requests == []


def test_the_whole_run_timeout_errors_unfinished_metrics(json_server: JsonServer) -> None:
    json_server.routes["/ok"] = lambda r: (200, 1)
    metric = web_metric("many", f"{json_server.url}/ok", count=50, interval="100ms")
    run, _ = execute([template([metric], timeout="1s")])
    result = run.status.metric_results[0]
    assert run.status.phase is AnalysisPhase.ERROR
    assert "timed out after 1s" in (result.message or "")
    assert len(result.measurements) < 50


def test_the_per_measurement_timeout_errors_the_measurement(json_server: JsonServer) -> None:
    json_server.routes["/slow"] = lambda r: (200, 1)
    json_server.delay["/slow"] = 1.5
    metric = web_metric("slow", f"{json_server.url}/slow", timeout="300ms", consecutiveErrorLimit=0)
    run, _ = execute([template([metric])])
    measurement = run.status.metric_results[0].measurements[0]
    assert measurement.phase is AnalysisPhase.ERROR
    assert measurement.message == "measurement timed out after 0.3s"


def test_initial_delay_postpones_the_first_measurement(json_server: JsonServer) -> None:
    json_server.routes["/ok"] = lambda r: (200, 1)
    metric = web_metric("late", f"{json_server.url}/ok", initialDelay="400ms")
    run, _ = execute([template([metric])])
    assert run.status.started_at is not None
    first = run.status.metric_results[0].measurements[0]
    assert (first.started_at - run.status.started_at).total_seconds() >= 0.4


def test_args_are_substituted_and_secrets_are_read_at_use_and_never_stored(
    json_server: JsonServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    json_server.routes["/smoke"] = lambda r: (401, {"error": "bad token"})
    args: list[dict[str, Any]] = [
        {"name": "stage-url"},
        {"name": "commit", "value": "0000"},
        {"name": "checks-url", "value": json_server.url},
        {"name": "token", "valueFrom": {"secretKeyRef": {"name": "checks", "key": "token"}}},
    ]
    metric: dict[str, Any] = {
        "name": "smoke-test-success",
        "provider": "webhook",
        "webhook": {
            "url": "{{args.checks-url}}/smoke",
            "method": "POST",
            "headers": {"Authorization": "Bearer {{args.token}}"},
            "jsonBody": {"url": "{{args.stage-url}}", "commit": "{{ args.commit }}"},
        },
        "successCondition": "result.passed == true",
        "consecutiveErrorLimit": 0,
    }
    templates = [template([metric], args=args)]
    with pytest.raises(AnalysisArgumentError, match="stage-url"):
        build_analysis_run(name="r", templates=templates, args={})
    monkeypatch.setenv("KARGO_SECRET_CHECKS_TOKEN", "t0psecret")
    run, recorder = execute(templates, {"stage-url": "http://127.0.0.1:9/dev", "commit": "abc123"})
    request = json_server.requests[0]
    assert json.loads(request["body"]) == {"url": "http://127.0.0.1:9/dev", "commit": "abc123"}
    assert request["headers"]["Authorization"] == "Bearer t0psecret"
    assert all("t0psecret" not in json.dumps(saved) for saved in recorder.saved)

    monkeypatch.delenv("KARGO_SECRET_CHECKS_TOKEN")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "token").write_text("from-file\n")
    monkeypatch.setenv("KARGO_SECRETS_DIR", str(tmp_path))
    execute(templates, {"stage-url": "http://x"})
    assert json_server.requests[-1]["headers"]["Authorization"] == "Bearer from-file"

    monkeypatch.delenv("KARGO_SECRETS_DIR")
    run, _ = execute(templates, {"stage-url": "http://x"})
    message = run.status.metric_results[0].measurements[0].message or ""
    assert "secret checks/token not found" in message and "KARGO_SECRET_CHECKS_TOKEN" in message


def test_the_repository_smoke_template_calls_the_checks_service_with_stage_args(
    json_server: JsonServer,
) -> None:
    # json_server stands in for the checks service (tested in tests/checks/) with its JSON answer.
    report = {
        "passed": True,
        "checks": [
            {"name": n, "passed": True, "duration_ms": 1.0, "error": None}
            for n in (
                "api-healthz",
                "api-readyz",
                "api-version",
                "join-participants",
                "vote",
                "reveal",
                "stats-correct",
                "reconnect-resumes-participant",
            )
        ],
    }
    json_server.routes["/smoke"] = lambda r: (200, report)
    templates = load_analysis_templates(REPO_ROOT / "kargo/analysis-templates/smoke-tests.yaml")
    args = {
        "stage-url": "http://127.0.0.1:8101",
        "commit": "c0ffee",
        "freight": "f1",
        "checks-url": json_server.url,
    }
    run, _ = execute(templates, args)
    assert run.status.phase is AnalysisPhase.SUCCESSFUL, run.status.message
    assert {r.name for r in run.status.metric_results} == {
        "smoke-test-success",
        "api-health",
        "user-flow",
    }
    bodies = [json.loads(r["body"]) for r in json_server.requests]
    assert {"url": "http://127.0.0.1:8101", "commit": "c0ffee", "freight": "f1"} in bodies


def test_a_run_is_built_from_several_templates_with_their_defaults() -> None:
    templates = [
        load_analysis_templates(REPO_ROOT / f"kargo/analysis-templates/{name}.yaml")[0]
        for name in ("smoke-tests", "security-scan", "load-test")
    ]
    run = build_analysis_run(
        name="development-verify-1",
        templates=templates,
        project="planning-poker",
        stage="development",
        freight="f1",
        args={
            "stage-url": "http://127.0.0.1:8101",
            "stage": "development",
            "source-dir": "/tmp/src",
            "commit": "abc",
        },
    )
    values = {a.name: a.value for a in run.spec.args}
    assert values["checks-url"] == "http://127.0.0.1:8090" and values["commit"] == "abc"
    assert values["freight"] == "f1"  # from the freight the run verifies
    assert [t.name for t in run.spec.templates] == ["smoke-tests", "security-scan", "load-test"]
    assert run.spec.timeout == "10m"
    assert len(run.status.metric_results) == 11
    assert all(r.phase is AnalysisPhase.PENDING for r in run.status.metric_results)
    assert AnalysisRun.model_validate(run.to_dict()) == run


def test_stage_freight_and_commit_fill_declared_args_unless_the_stage_sets_them() -> None:
    templates = [load_analysis_templates(REPO_ROOT / "kargo/analysis-templates/load-test.yaml")[0]]
    run = build_analysis_run(
        name="r",
        templates=templates,
        stage="development",
        freight="f9",
        commit="c0ffee",
        args={"stage-url": "http://127.0.0.1:8101", "stage": "dev-label"},
    )
    values = {a.name: a.value for a in run.spec.args}
    assert values["stage"] == "dev-label" and values["freight"] == "f9"
    assert "commit" not in values  # load-test does not declare it


def test_a_resumed_run_keeps_its_measurements_and_takes_only_the_missing_ones(
    json_server: JsonServer,
) -> None:
    json_server.routes["/ok"] = lambda r: (200, 1)
    metric = web_metric(
        "twice", f"{json_server.url}/ok", count=2, interval="1s", successCondition="result == 1"
    )
    templates = [template([metric])]
    first = Recorder(lambda run: bool(run.status.metric_results[0].measurements))
    interrupted, _ = execute(templates, recorder=first)
    stored = first.saved[1]  # as the engine saved it after the first measurement
    assert stored["status"]["phase"] == "Running"
    assert interrupted.status.phase is AnalysisPhase.INCONCLUSIVE
    resumed = AnalysisRun.model_validate(stored)
    recorder = Recorder()
    asyncio.run(
        run_analysis(resumed, templates, save=recorder.save, is_terminated=recorder.is_terminated)
    )
    result = resumed.status.metric_results[0]
    assert resumed.status.phase is AnalysisPhase.SUCCESSFUL
    assert (result.count, len(result.measurements)) == (2, 2)
    assert len(json_server.requests) == 2


def test_metric_names_must_be_unique_across_a_runs_templates() -> None:
    one = template([web_metric("same", "http://127.0.0.1:1/")], name="one")
    two = template([web_metric("same", "http://127.0.0.1:1/")], name="two")
    with pytest.raises(AnalysisRunError, match="'same' is in both 'one' and 'two'"):
        build_analysis_run(name="r", templates=[one, two])


def test_a_native_job_metric_runs_its_container_command_and_fails_on_its_exit_code() -> None:
    script = "import json, sys; print(json.dumps({'critical': 1})); sys.exit(int(sys.argv[1]))"

    def native_job(name: str, code: str) -> dict[str, Any]:
        container = {
            "name": "scan",
            "image": "python:3.11",
            "command": [sys.executable, "-c"],
            "args": [script, code],
        }
        return {
            "name": name,
            "successCondition": "result.critical <= 1",
            "provider": {
                "job": {
                    "spec": {
                        "backoffLimit": 0,
                        "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
                    }
                }
            },
        }

    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "scan"},
        "spec": {"metrics": [native_job("passes", "0"), native_job("exits", "2")]},
    }
    templates = [parse_analysis_template(doc, "scan.yaml")]
    run, _ = execute(templates)
    passes, exits = run.status.metric_results
    assert passes.phase is AnalysisPhase.SUCCESSFUL
    assert passes.measurements[0].value == {"critical": 1}
    assert exits.phase is AnalysisPhase.FAILED and run.status.phase is AnalysisPhase.FAILED
    assert "exited with code 2" in (exits.measurements[0].message or "")


def test_phases_say_whether_they_are_terminal() -> None:
    assert not AnalysisPhase.PENDING.is_terminal() and not AnalysisPhase.RUNNING.is_terminal()
    assert all(
        p.is_terminal()
        for p in (
            AnalysisPhase.SUCCESSFUL,
            AnalysisPhase.FAILED,
            AnalysisPhase.ERROR,
            AnalysisPhase.INCONCLUSIVE,
        )
    )
