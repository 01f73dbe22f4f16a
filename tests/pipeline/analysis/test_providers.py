"""The web, prometheus and job providers against real servers and real processes."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from typing import Any

import pytest
from kargo.analysis.arguments import resolve_secret_from_environment
from kargo.analysis.errors import MeasurementError, NoDataError
from kargo.analysis.lines import load_analysis_templates
from kargo.analysis.measuring import take_measurement
from kargo.analysis.providers.jobs import JobFailed, measure_job
from kargo.analysis.providers.prometheus import measure_prometheus
from kargo.analysis.providers.web import measure_web
from kargo.model.analysis import (
    AnalysisPhase,
    Argument,
    JobMetric,
    PrometheusMetric,
    WebHeader,
    WebMetric,
)

from tests.pipeline.analysis.conftest import JsonServer, PrometheusServer
from tests.services import REPO_ROOT, free_port


def test_web_posts_the_json_body_with_headers_and_picks_the_json_path(
    json_server: JsonServer,
) -> None:
    json_server.routes["/smoke"] = lambda request: (200, {"data": {"passed": True, "n": [1, 2]}})
    web = WebMetric(
        url=f"{json_server.url}/smoke",
        method="POST",
        headers=[WebHeader(key="Authorization", value="Bearer s3cret")],
        json_body={"url": "http://stage"},
        json_path="{$.data.n[1]}",
    )
    assert asyncio.run(measure_web(web)) == 2
    request = json_server.requests[0]
    assert request["method"] == "POST" and json.loads(request["body"]) == {"url": "http://stage"}
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ((503, {"error": "busy"}), "answered HTTP 503"),
        ((200, "not json"), "did not answer JSON"),
    ],
)
def test_web_errors_are_measurement_errors_with_the_reason(
    json_server: JsonServer, reply: tuple[int, Any], message: str
) -> None:
    json_server.routes["/x"] = lambda request: reply
    with pytest.raises(MeasurementError, match=message):
        asyncio.run(measure_web(WebMetric(url=f"{json_server.url}/x")))


def test_web_timeouts_and_refused_connections_are_measurement_errors(
    json_server: JsonServer,
) -> None:
    json_server.routes["/slow"] = lambda request: (200, {})
    json_server.delay["/slow"] = 2.0
    with pytest.raises(MeasurementError, match="timed out after 1s"):
        asyncio.run(measure_web(WebMetric(url=f"{json_server.url}/slow", timeout_seconds=1)))
    with pytest.raises(MeasurementError, match="failed"):
        asyncio.run(measure_web(WebMetric(url=f"http://127.0.0.1:{free_port()}/")))


def test_web_json_path_to_a_missing_field_is_a_measurement_error(json_server: JsonServer) -> None:
    json_server.routes["/x"] = lambda request: (200, {"a": 1})
    web = WebMetric(url=f"{json_server.url}/x", json_path="$.b")
    with pytest.raises(MeasurementError, match=r"\$\.b is not in the answer"):
        asyncio.run(measure_web(web))


def test_job_stdout_json_is_the_result() -> None:
    job = JobMetric(
        command=[sys.executable, "-c"],
        args=["import json, os; print(json.dumps({'passed': True, 'mode': os.environ['MODE']}))"],
        env={"MODE": "quick"},
    )
    assert asyncio.run(measure_job(job)) == {"passed": True, "mode": "quick"}


def test_a_job_exiting_non_zero_fails_with_its_output_and_stderr() -> None:
    script = "import sys; print('{\"critical\": 2}'); sys.stderr.write('found 2'); sys.exit(3)"
    job = JobMetric(command=[sys.executable, "-c", script])
    with pytest.raises(JobFailed, match="exited with code 3: found 2") as caught:
        asyncio.run(measure_job(job))
    assert caught.value.value == {"critical": 2}


def test_a_job_past_its_timeout_is_killed_and_errors() -> None:
    job = JobMetric(
        command=[sys.executable, "-c", "import time; time.sleep(30)"], timeout_seconds=1
    )
    with pytest.raises(MeasurementError, match="timed out after 1s"):
        asyncio.run(measure_job(job))


def test_a_job_that_cannot_start_errors() -> None:
    with pytest.raises(MeasurementError, match="cannot start"):
        asyncio.run(measure_job(JobMetric(command=["/nonexistent/check"])))


@pytest.mark.prometheus
def test_prometheus_single_sample_is_a_number_and_several_are_a_list(
    prometheus: PrometheusServer,
) -> None:
    one = PrometheusMetric(address=prometheus.url, query="sum(demo_memory_bytes)")
    several = PrometheusMetric(address=prometheus.url, query="demo_memory_bytes")
    assert asyncio.run(measure_prometheus(one)) == 4000.0
    assert sorted(asyncio.run(measure_prometheus(several))) == [1000.0, 3000.0]
    as_argo = PrometheusMetric(
        address=prometheus.url, query="sum(demo_memory_bytes)", vector_as_list=True
    )
    assert asyncio.run(measure_prometheus(as_argo)) == [4000.0]
    scalar = PrometheusMetric(
        address=prometheus.url, query="scalar(sum(demo_memory_bytes))", vector_as_list=True
    )
    assert asyncio.run(measure_prometheus(scalar)) == 4000.0


@pytest.mark.prometheus
def test_prometheus_p95_from_a_histogram_is_measured_in_milliseconds(
    prometheus: PrometheusServer,
) -> None:
    query = (
        "histogram_quantile(0.95, sum by (le) "
        '(rate(http_request_duration_seconds_bucket{stage="dev"}[1m]))) * 1000'
    )
    value = asyncio.run(measure_prometheus(PrometheusMetric(address=prometheus.url, query=query)))
    assert value == pytest.approx(487.5)


@pytest.mark.prometheus
def test_prometheus_no_data_and_nan_give_a_clear_message(prometheus: PrometheusServer) -> None:
    missing = PrometheusMetric(address=prometheus.url, query='up{job="nothing"}')
    with pytest.raises(NoDataError, match="returned no data"):
        asyncio.run(measure_prometheus(missing))
    nan = PrometheusMetric(
        address=prometheus.url,
        query='histogram_quantile(0.95, rate(http_request_duration_seconds_bucket{le="x"}[1m]))',
    )
    with pytest.raises(NoDataError):
        asyncio.run(measure_prometheus(nan))
    with pytest.raises(NoDataError, match="NaN"):
        asyncio.run(measure_prometheus(PrometheusMetric(address=prometheus.url, query="0/0")))


@pytest.mark.prometheus
def test_prometheus_bad_queries_and_unreachable_servers_are_errors(
    prometheus: PrometheusServer,
) -> None:
    with pytest.raises(MeasurementError, match="parse error"):
        asyncio.run(measure_prometheus(PrometheusMetric(address=prometheus.url, query="sum(")))
    dead = PrometheusMetric(address=f"http://127.0.0.1:{free_port()}", query="up")
    with pytest.raises(MeasurementError, match="failed"):
        asyncio.run(measure_prometheus(dead))


@pytest.mark.prometheus
def test_the_load_test_templates_prometheus_metrics_measure_a_real_stage_series(
    prometheus: PrometheusServer,
) -> None:
    (template,) = load_analysis_templates(REPO_ROOT / "kargo/analysis-templates/load-test.yaml")
    args = [
        Argument(name="prometheus-url", value=prometheus.url),
        Argument(name="stage", value="dev"),
        Argument(name="track", value=".+"),  # the template's default: every track
        Argument(name="freight", value="f1"),  # filled in by the engine: the freight verified
    ]
    metrics = {m.name: m for m in template.spec.metrics}
    measured = {
        name: asyncio.run(take_measurement(metrics[name], args, resolve_secret_from_environment))
        for name in ("response-time", "error-rate", "cpu-usage", "memory-usage")
    }
    assert measured["response-time"].value == pytest.approx(487.5), measured[
        "response-time"
    ].message
    assert measured["error-rate"].value == 0.0  # no 5xx series: `or vector(0)`
    assert 0 < measured["cpu-usage"].value < 0.2  # rate() over 1m of a few seconds of data
    assert measured["memory-usage"].value == 100.0
    for name, measurement in measured.items():
        assert measurement.phase is AnalysisPhase.SUCCESSFUL, (name, measurement.message)

    other_stage = [args[0], Argument(name="stage", value="production"), *args[2:]]
    missing = asyncio.run(
        take_measurement(metrics["response-time"], other_stage, resolve_secret_from_environment)
    )
    assert missing.phase is AnalysisPhase.INCONCLUSIVE
    assert missing.message is not None and "no data" in missing.message

    # During a canary step only the canary's series count; this stage has stable ones only.
    canary_only = [*args[:2], Argument(name="track", value="canary"), args[3]]
    canary = asyncio.run(
        take_measurement(metrics["response-time"], canary_only, resolve_secret_from_environment)
    )
    assert canary.phase is AnalysisPhase.INCONCLUSIVE

    # The previous freight's series never count against the one under verification.
    other_freight = [*args[:3], Argument(name="freight", value="f2")]
    previous = asyncio.run(
        take_measurement(metrics["response-time"], other_freight, resolve_secret_from_environment)
    )
    assert previous.phase is AnalysisPhase.INCONCLUSIVE


def test_web_measurements_share_one_tls_context_instead_of_loading_the_ca_bundle_each_time(
    json_server: JsonServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A spy on the real function (it still runs): each context it builds loads the CA bundle
    # holding the GIL, which under 20 verifying promotions slowed the API beside the engine.
    from kargo.tls import client_tls

    built: list[dict[str, Any]] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    client_tls(True), client_tls(False)  # built before the measurements (or earlier)
    built.clear()
    json_server.routes["/ok"] = lambda request: (200, {"ok": True})
    for insecure in (False, True, False, False):
        web = WebMetric(url=f"{json_server.url}/ok", json_path="{$.ok}", insecure=insecure)
        assert asyncio.run(measure_web(web)) is True
    assert built == []
    assert client_tls(True) is client_tls(True)
    assert client_tls(True).verify_mode is ssl.CERT_REQUIRED
    assert client_tls(False).verify_mode is ssl.CERT_NONE
