"""The dashboard in a real Chromium: sign in, promote, watch it land, and see a refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.chromium import chromium
from tests.pipeline.documents import documents, git_warehouse, project, stage
from tests.pipeline.harness import (
    admin_headers,
    api_server,
    commit,
    http_server,
    make_repo,
    wait_until,
)

pytestmark = pytest.mark.chromium
# The chart module on a metric of three numeric measurements and a `result < 0.05` condition.
CHART_OF_A_NUMERIC_METRIC = """async () => {
  const { metricChart } = await import("/ui/charts.js");
  const metric = { name: "error-rate", successful: 2, failed: 1, measurements: [
    { value: 0.01, phase: "Successful" }, { value: "0.03", phase: "Successful" },
    { value: [0.08], phase: "Failed" }] };
  const chart = metricChart(metric, "result < 0.05");
  const line = chart.querySelector("line.threshold");
  const limitY = Number(line.getAttribute("y1"));
  const points = [...chart.querySelectorAll("circle.point")];
  return { limit: line.dataset.limit ?? line.getAttribute("data-limit"), points: points.length,
    above: points.filter((p) => Number(p.getAttribute("cy")) < limitY).length,
    line: Boolean(chart.querySelector("polyline.series")) };
}"""
API = "/api/v1"
HOSTILE = "<img src=x onerror=window.pwned=1> fix"


def pipeline(folder: Path, repo: Path, check_url: str) -> Path:
    """Development (a two-second step, then verified) and production, which follows it."""
    smoke = f"""\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: smoke}}
spec:
  metrics:
  - name: answers-ok
    provider:
      web: {{url: "{check_url}", jsonPath: "{{$.ok}}"}}
    successCondition: result == true
"""
    slow_step = '- uses: shell\n  config: {command: "sleep 2"}'
    folder.mkdir()
    (folder / "pipeline.yaml").write_text(
        documents(
            project(),
            git_warehouse(repo, interval=None),
            smoke,
            stage("dev", slow_step, verification="analysisTemplates: [{name: smoke}]"),
            stage("prod", sources="{stages: [dev]}"),
        )
    )
    return folder


@pytest.fixture
def page() -> Iterator[Page]:
    """A fresh page that fails the test if any script opens an alert."""
    browser: Browser
    with chromium() as browser:
        context = browser.new_context()
        opened = context.new_page()
        opened.set_default_timeout(10_000)
        yield opened
        assert opened.evaluate("window.pwned") is None, "a commit message ran as script"
        context.close()


def sign_in(page: Page, base: str, token: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="dev", exact=True)).to_be_visible()


def test_a_promotion_from_the_dashboard_lands_live_and_a_viewer_is_refused(
    page: Page, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    commit(repo, "app/main.py", "print('v2')\n", HOSTILE)
    state = tmp_path / "state"
    with http_server() as checks:
        config = pipeline(tmp_path / "kargo", repo, f"{checks}/ok")
        run_the_dashboard(page, config, state)


def run_the_dashboard(page: Page, config: Path, state: Path) -> None:
    with api_server(state, config) as (base, _):
        headers = admin_headers(state)
        freight = wait_until(
            lambda: httpx.get(f"{base}{API}/projects/shop/freight", headers=headers).json()[
                "items"
            ],
            what="freight",
        )[0]
        alias = freight["alias"]
        viewer = httpx.post(
            f"{base}{API}/tokens", json={"name": "watcher", "role": "viewer"}, headers=headers
        ).json()["token"]

        sign_in(page, base, (state / "admin.token").read_text().strip())
        expect(page.locator("#who")).to_have_text("admin (admin)")
        expect(page.locator("#timeline")).to_contain_text(HOSTILE)  # shown as text, not run
        page.locator(f"[data-freight='{freight['metadata']['name']}']").click()
        page.get_by_role("button", name=f"Promote {alias} to dev").click()
        dev = page.get_by_role("article", name="dev")
        expect(dev).to_contain_text(re.compile(f"Promoting\\s*Running\\s*{alias}"))  # step runs
        expect(dev).to_contain_text(alias)
        expect(dev).to_contain_text("Succeeded")
        expect(dev).to_contain_text("Successful")  # its verification
        dev.get_by_role("button", name="Analysis of dev").click()
        expect(page.locator("#analysis")).to_contain_text("answers-ok")
        expect(page.locator("#analysis")).to_contain_text("1 ok, 0 failed")
        chart = page.locator("#analysis-charts").get_by_role("img")
        expect(chart).to_have_attribute(
            "aria-label",
            re.compile(r"^answers-ok: 1 measurement, passes when result == true, 1 ok"),
        )
        expect(chart.locator("circle.point.successful")).to_have_count(1)
        drawn = page.evaluate(CHART_OF_A_NUMERIC_METRIC)
        assert drawn == {"limit": "0.05", "points": 3, "above": 1, "line": True}, drawn
        expect(page.locator("#promotions")).to_contain_text("admin")
        # Nothing to roll back to yet: the first freight is all dev has had.
        expect(dev.get_by_role("button", name="Roll back dev")).to_be_hidden()
        expect(dev.get_by_role("button", name="Verify dev again")).to_be_visible()

        page.get_by_role("button", name="Sign out").click()
        sign_in(page, base, viewer)
        expect(page.locator("#who")).to_have_text("watcher (viewer)")
        page.locator(f"[data-freight='{freight['metadata']['name']}']").click()
        detail = page.locator("#freight-detail")
        expect(detail).to_contain_text("your role may not promote here")
        expect(page.get_by_role("button", name=f"Promote {alias} to prod")).to_have_count(0)
        expect(page.get_by_role("button", name="Verify dev again")).to_have_count(0)
        expect(page.locator("#role-note")).to_be_visible()
        prod = httpx.get(f"{base}{API}/projects/shop/stages/prod", headers=headers).json()
        assert not prod.get("status", {}).get("freightHistory"), prod
        # A change made elsewhere reaches the open page through the watch stream.
        promoted = httpx.post(f"{base}{API}/projects/shop/promotions",
                              json={"stage": "prod", "freight": freight["metadata"]["name"]},
                              headers=headers)  # fmt: skip
        assert promoted.status_code == 201, promoted.text
        expect(page.get_by_role("article", name="prod")).to_contain_text(alias)
        expect(page.locator("#live")).to_have_text("Live")


def test_the_dashboard_files_need_no_token_carry_a_strict_policy_and_nothing_else_is_served(
    tmp_path: Path,
) -> None:
    with api_server(tmp_path / "state") as (base, _):
        root = httpx.get(f"{base}/")
        page = httpx.get(f"{base}/ui/")
        script = httpx.get(f"{base}/ui/dashboard.js")
        missing = httpx.get(f"{base}/ui/kargo.db")
        escape = httpx.get(f"{base}/ui/%2E%2E%2Fkargo.db")
        data = httpx.get(f"{base}{API}/projects")
    assert root.status_code == 307 and root.headers["location"] == "/ui/"
    assert page.status_code == 200 and "Sign in" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert script.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 404 and escape.status_code == 404
    assert data.status_code == 401  # the data itself still needs a token
