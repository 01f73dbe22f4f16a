"""The dashboard's pictures in a real Chromium, on a four-stage fan-out pipeline: the graph's
edges, dragging freight onto a stage, the timeline's marks, "Why not?", the live step log,
newest promotions first, the focus across updates, and an accessibility check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.accessibility import violations
from tests.e2e.chromium import chromium
from tests.pipeline.engine.fanout import fan_out_server

pytestmark = pytest.mark.chromium
API = "/api/v1/projects/shop"
# Two warehouses feeding one stage each, which fan in to a third (the graph module, in the page).
FAN_IN = """async () => {
  const { pipelineShape } = await import("/ui/graph.js");
  const stage = (name, requests) => ({ metadata: { name }, spec: { requestedFreight: requests } });
  const direct = (w) => ({ origin: { kind: "Warehouse", name: w }, sources: { direct: true } });
  const after = (w, stages) => ({ origin: { kind: "Warehouse", name: w }, sources: { stages } });
  const shape = pipelineShape([{ metadata: { name: "api" } }, { metadata: { name: "web" } }], [
    stage("api-dev", [direct("api")]), stage("web-dev", [direct("web")]),
    stage("prod", [after("api", ["api-dev"]), after("web", ["web-dev"])])]);
  return shape.edges.map((e) => `${e.from}>${e.to}`).sort();
}"""


@dataclass
class Board:
    """A signed-in dashboard page and the server behind it."""

    page: Page
    base: str
    headers: dict[str, str]
    freight: dict[str, str]

    def call(self, method: str, path: str, body: dict[str, str] | None = None) -> httpx.Response:
        return httpx.request(method, f"{self.base}{API}{path}", json=body, headers=self.headers)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def board(browser: Browser, tmp_path: Path) -> Iterator[Board]:
    with fan_out_server(tmp_path) as served:
        base, headers, found = served.base, served.headers, served.freight
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{base}/")
        page.get_by_label("API token").fill(served.token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#graph svg")).to_be_visible()
        freight = {"name": str(found["metadata"]["name"]), "alias": str(found["alias"])}
        yield Board(page, base, headers, freight)
        context.close()


def translate(page: Page, selector: str) -> tuple[float, float]:
    transform = page.locator(selector).get_attribute("transform") or ""
    x, y = re.findall(r"[-\d.]+", transform)
    return float(x), float(y)


def test_the_graph_draws_the_fan_out_and_dragging_freight_onto_a_stage_promotes_it(
    board: Board,
) -> None:
    page = board.page
    edges = page.locator("#graph path.edge")
    expect(edges).to_have_count(4)
    drawn = {(e.get_attribute("data-from"), e.get_attribute("data-to")) for e in edges.all()}
    assert drawn == {("app", "dev"), ("dev", "qa"), ("dev", "staging"), ("dev", "prod")}
    app_x, _ = translate(page, "[data-node='warehouse:app']")
    dev_x, _ = translate(page, "g[data-stage=dev]")
    fanned = [translate(page, f"g[data-stage={s}]") for s in ("qa", "staging", "prod")]
    assert app_x < dev_x < fanned[0][0]
    assert len({x for x, _ in fanned}) == 1 and len({y for _, y in fanned}) == 3
    expect(page.locator("g[data-stage=staging]")).to_contain_text("held")
    expect(page.locator("g[data-stage=dev]")).to_contain_text("no freight yet")

    alias = board.freight["alias"]
    chip = page.locator(f"[data-freight='{board.freight['name']}']")
    chip.drag_to(page.locator("g[data-stage=dev]"))
    expect(page.locator("g[data-stage=dev]")).to_contain_text(alias)
    expect(page.get_by_role("article", name="dev")).to_contain_text("Succeeded")
    mark = chip.locator("circle[data-stage=dev]")
    expect(mark).to_have_attribute("data-mark", "in")
    expect(chip).to_have_attribute("aria-label", re.compile(f"^{alias}: in dev; verified in dev"))
    chip.drag_to(page.locator("g[data-stage=dev]"))  # it is there already: refused on the page
    expect(page.locator("#graph-problem")).to_have_text(f"{alias} is already in dev.")
    dev_card = page.get_by_role("article", name="dev")
    dev_card.get_by_role("button", name=re.compile("^Logs of dev")).click()  # its promotions
    expect(page.locator("#logs-title")).to_have_text(re.compile("^Step logs of dev"))
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API token").fill(board.headers["Authorization"][len("Bearer ") :])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#graph svg")).to_be_visible()
    expect(page.locator("#graph-problem")).to_have_text("")  # sign-out cleared the error

    assert page.evaluate(FAN_IN) == [
        "stage:api-dev>stage:prod", "stage:web-dev>stage:prod",
        "warehouse:api>stage:api-dev", "warehouse:web>stage:web-dev",
    ]  # fmt: skip
    page.locator("g[data-stage=qa]").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="qa", exact=True)).to_be_focused()


def test_why_not_the_timeline_the_live_log_and_newest_promotions_first(board: Board) -> None:
    page = board.page
    name, alias = board.freight["name"], board.freight["alias"]
    page.locator(f"[data-freight='{name}']").click()
    detail = page.locator("#freight-detail")
    expect(detail).to_contain_text(f"Freight {alias}")
    expect(detail.get_by_role("button", name=f"Promote {alias} to dev")).to_be_visible()
    expect(detail.get_by_role("button", name=f"Promote {alias} to prod")).to_have_count(0)
    page.get_by_role("button", name=f"Why is {alias} not in staging?").click()
    why = page.locator("#why-panel")
    expect(page.locator("#why-title")).to_be_focused()
    expect(why).to_contain_text(f"{alias} cannot be promoted to staging now")
    for reason in ("NotVerifiedUpstream", "NeedsApproval", "Held", "AutoPromotionOff"):
        expect(why).to_contain_text(reason)

    assert board.call("POST", "/promotions", {"stage": "dev", "freight": name}).status_code == 201
    # The open panel follows the change that arrives through the watch stream.
    expect(why).not_to_contain_text("NotVerifiedUpstream")
    page.get_by_role("button", name=f"Why is {alias} not in prod?").click()
    expect(why).to_contain_text("Soaking")
    expect(why).to_contain_text("left of 1h")
    expect(
        detail.get_by_role("button", name=f"Approve {alias} for prod")
    ).to_be_visible()  # soaking
    detail.get_by_role("button", name=f"Promote {alias} to staging").click()
    # The node shows the running promotion's step (staging's one step takes five seconds; on a
    # loaded machine the engine may take seconds to start it, hence the longer wait).
    staging = page.locator("g[data-stage=staging]")
    expect(staging).to_have_attribute(
        "aria-label", re.compile(f"promoting {alias} step 1/1"), timeout=15_000
    )
    expect(staging).to_contain_text("step 1/1")
    rows = page.locator("#promotions tbody tr")
    expect(rows.first).to_contain_text("staging")  # the newest first
    expect(rows.nth(1)).to_contain_text("dev")
    dev_figures = page.locator("#metrics tbody tr", has_text="dev")
    expect(dev_figures.locator("td").nth(1)).to_have_text("1")  # one deployment
    expect(dev_figures.locator("td").nth(4)).to_have_text("0% (0/1)")
    rows.first.get_by_role("button", name=re.compile("^Logs of")).click()
    expect(page.locator("#logs")).to_contain_text("starting")
    expect(page.locator("#logs")).to_contain_text("finished", timeout=20_000)  # it follows the run


def test_the_focus_survives_updates_and_the_board_passes_the_accessibility_check(
    board: Board,
) -> None:
    page = board.page
    name = board.freight["name"]
    chip = page.locator(f"[data-freight='{name}']")
    chip.focus()
    assert board.call("POST", "/approvals", {"stage": "qa", "freight": name}).status_code == 200
    # The watch stream brings the approval; the page updates the chip in place.
    expect(page.locator("#events")).to_contain_text("approved", timeout=10_000)
    assert page.evaluate("document.activeElement.dataset.key") == f"freight:{name}"
    chip.click()
    assert violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways page
    assert violations(page) == []
    page.emulate_media(color_scheme="dark")  # the dark theme follows the system
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(18, 21, 28)"
    assert violations(page) == []


def test_a_long_alias_gives_way_on_the_node_so_that_the_running_step_stays_visible(
    board: Board,
) -> None:
    # A synthetic stage drawn by the page's own graph module: aliases are random, and only the long
    # ones (from 14 characters with one step) used to push the step off the node's clipped line.
    drawn = board.page.evaluate(
        """async () => {
        const { pipelineGraph } = await import("/ui/graph.js");
        const stage = {
          metadata: { name: "staging" },
          spec: { requestedFreight: [{ origin: { name: "app" }, sources: { direct: true } }] },
          status: { currentPromotion: { name: "p1", freight: "f1",
                                        freightAlias: "enthusiastic-hippopotamus" } },
        };
        const promotion = { metadata: { name: "p1" }, spec: { steps: [{}, {}, {}] },
                            status: { currentStep: 1 } };
        const graph = pipelineGraph({ warehouses: [{ metadata: { name: "app" } }], stages: [stage],
          freight: [], promotions: [promotion], colours: () => "#000", onOpen() {}, onDrop() {} });
        const node = graph.querySelector("g[data-stage=staging]");
        return { label: node.getAttribute("aria-label"),
                 lines: [...node.querySelectorAll("text.line")].map((t) => t.textContent) };
      }"""
    )
    assert drawn["lines"][-1] == "promoting enthusiastic… step 2/3"
    assert len(drawn["lines"][-1]) <= 32
    assert "promoting enthusiastic-hippopotamus step 2/3" in drawn["label"]  # named in full
