"""The verification view's chart of a load test's p95 over the run, in a real Chromium: the
engine asks a real Prometheus (the browser never does) and the page draws the series."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.accessibility import violations
from tests.e2e.chromium import chromium
from tests.pipeline.analysis.conftest import PrometheusServer, prometheus
from tests.pipeline.documents import documents, git_warehouse, project, stage
from tests.pipeline.harness import (
    admin_headers,
    api_server,
    make_repo,
    promote_and_wait_for_verification,
)

pytestmark = pytest.mark.chromium
__all__ = ["prometheus"]  # the real Prometheus of the analysis tests (a 0.3 s request histogram)
API = "/api/v1/projects/shop"


def pipeline(repo: Path, prometheus_url: str) -> str:
    """One stage verified by a p95 query like kargo/analysis-templates/load-test.yaml's."""
    load_test = f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: load-test}}
spec:
  args:
  - name: stage
  - name: prometheus-url
    value: {prometheus_url}
  metrics:
  - name: response-time
    provider: prometheus
    prometheus:
      address: "{{{{args.prometheus-url}}}}"
      query: >-
        histogram_quantile(0.95, sum by (le)
        (rate(http_request_duration_seconds_bucket{{stage="{{{{args.stage}}}}"}}[5s]))) * 1000
    interval: 1s
    count: 4
    successCondition: result < 500
"""
    verification = "analysisTemplates:\n- name: load-test"
    return documents(
        project(), git_warehouse(repo), load_test, stage("dev", verification=verification)
    )


@dataclass
class Verified:
    """A server whose dev stage passed its load test, and the run's name."""

    base: str
    headers: dict[str, str]
    run: str


@pytest.fixture(scope="module")
def verified(
    prometheus: PrometheusServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Verified]:
    folder = tmp_path_factory.mktemp("series")
    repo = make_repo(folder / "repo")
    (folder / "kargo").mkdir()
    (folder / "kargo" / "pipeline.yaml").write_text(pipeline(repo, prometheus.url))
    with api_server(folder / "state", folder / "kargo") as (base, _):
        headers = admin_headers(folder / "state")
        api = f"{base}{API}"
        run = promote_and_wait_for_verification(api, headers, "dev")
        assert run["phase"] == "Successful", run
        yield Verified(base, headers, run["analysisRun"]["name"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_the_series_route_asks_prometheus_for_the_run_window(verified: Verified) -> None:
    url = f"{verified.base}{API}/analysisruns/{verified.run}/series"
    answer = httpx.get(url, params={"metric": "response-time"}, headers=verified.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["source"], body["metric"], body["template"]) == (
        "prometheus", "response-time", "load-test",
    )  # fmt: skip
    assert 'stage="dev"' in body["query"]  # the run's args filled in, as measured
    assert body["stepSeconds"] >= 1
    (line,) = body["series"]
    assert len(line["points"]) >= 3  # the run took at least three seconds, a point a second
    # Every request of the histogram took 0.3 s (bucket 0.25-0.5): p95 interpolates to 487.5 ms.
    assert {round(p["value"], 1) for p in line["points"]} == {487.5}
    times = [p["time"] for p in line["points"]]
    assert times == sorted(times) and body["start"] <= times[0] and times[-1] <= body["end"]

    assert httpx.get(url, params={"metric": "response-time"}).status_code == 401
    unknown = httpx.get(url, params={"metric": "nope"}, headers=verified.headers)
    assert unknown.status_code == 404
    assert "has no metric 'nope' (it has: response-time)" in unknown.json()["error"]["message"]


def test_the_verification_view_draws_the_p95_over_the_run_from_prometheus(
    verified: Verified, browser: Browser, prometheus: PrometheusServer
) -> None:
    url = f"{verified.base}{API}/analysisruns/{verified.run}/series"
    expected = httpx.get(url, params={"metric": "response-time"}, headers=verified.headers).json()
    points = expected["series"][0]["points"]
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(10_000)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    try:
        page.goto(f"{verified.base}/ui/")
        page.get_by_label("API token").fill(verified.headers["Authorization"][len("Bearer ") :])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Analysis of dev").click()
        chart = page.get_by_role(
            "img", name=re.compile("^response-time over the run from Prometheus")
        )
        expect(chart).to_be_visible()
        line = chart.locator("polyline.series")
        expect(line).to_have_count(1)
        drawn = (line.get_attribute("points") or "").split()
        assert len(drawn) >= len(points) >= 3  # the page may have asked a moment later
        assert int(line.get_attribute("data-points") or 0) == len(drawn)
        heights = [float(pair.split(",")[1]) for pair in drawn]
        assert max(heights) - min(heights) < 1  # a flat p95 is a flat line
        limit = chart.locator("line.threshold")
        expect(limit).to_have_attribute("data-limit", "500")
        assert float(limit.get_attribute("y1") or 0) < min(heights)  # 487.5 ms under 500
        # 487.5 as Prometheus computes it may be a hair under or over: rounded, 487 or 488
        expect(chart).to_have_attribute(
            "aria-label", re.compile(r"latest 48[78], passes when result < 500$")
        )
        assert not [u for u in asked if u.startswith(prometheus.url)]  # only the engine asks it
        assert violations(page) == []
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the chart shrinks
    finally:
        context.close()
