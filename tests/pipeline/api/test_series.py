"""The series route when the metric's Prometheus is down: 503 Unavailable in the error shape."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.pipeline.documents import documents, git_warehouse, project, stage
from tests.pipeline.harness import (
    admin_headers,
    api_server,
    make_repo,
    promote_and_wait_for_verification,
)
from tests.services import free_port

API = "/api/v1/projects/shop"


def template(prometheus_url: str) -> str:
    """A request-rate metric asking `prometheus_url`; its first error ends the run."""
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: load-test}}
spec:
  metrics:
  - name: request-rate
    provider:
      prometheus:
        address: {prometheus_url}
        query: sum(rate(http_request_duration_seconds_count[5s]))
    count: 1
    consecutiveErrorLimit: 0
    successCondition: result > 0
"""


def test_the_series_of_a_metric_whose_prometheus_is_down_answers_503_unavailable(
    tmp_path: Path,
) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    repo = make_repo(tmp_path / "repo")
    (tmp_path / "kargo").mkdir()
    (tmp_path / "kargo" / "pipeline.yaml").write_text(
        documents(
            project(),
            git_warehouse(repo),
            template(down),
            stage("dev", verification="analysisTemplates: [{name: load-test}]"),
        )
    )
    with api_server(tmp_path / "state", tmp_path / "kargo") as (base, _):
        headers = admin_headers(tmp_path / "state")
        run = promote_and_wait_for_verification(f"{base}{API}", headers, "dev")
        assert run["phase"] == "Error", run  # Prometheus was down while it measured too
        series = httpx.get(
            f"{base}{API}/analysisruns/{run['analysisRun']['name']}/series",
            params={"metric": "request-rate"},
            headers=headers,
        )

    assert series.status_code == 503, series.text
    error = series.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == "Unavailable" and error["details"] == []
    assert error["message"].startswith(f"series of metric 'request-rate': Prometheus at {down}")
