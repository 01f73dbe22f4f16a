"""The dashboard with the keyboard alone and across live updates, in a real Chromium: freight
picked up and dropped on a stage with keys, and a watch-stream update that keeps the focused
element, the scroll positions and the layout."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser_pipeline_view import Board, board, browser

pytestmark = pytest.mark.chromium
__all__ = ["board", "browser"]  # the fan-out pipeline's signed-in page


def focused_key(page: Page) -> str:
    return str(page.evaluate("document.activeElement.dataset.key || document.activeElement.id"))


def tab_to(page: Page, key: str, presses: int = 40) -> None:
    """Press Tab from the top of the page until the element with this data-key has the focus."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(presses):
        page.keyboard.press("Tab")
        if focused_key(page) == key:
            return
    raise AssertionError(f"{presses} Tabs never reached {key}")


def test_freight_is_promoted_with_the_keyboard_alone(board: Board) -> None:
    page = board.page
    name, alias = board.freight["name"], board.freight["alias"]
    status = page.locator("#carry-status")
    tab_to(page, f"freight:{name}")
    page.keyboard.press("Space")
    assert focused_key(page) == "node:dev"
    expect(status).to_contain_text(f"Picked up {alias}. Over stage dev.")
    expect(page.locator(f"[data-freight='{name}']")).to_have_class("chip carried")
    # The arrow keys go through the stages in the graph's order: dev, prod, qa, staging.
    page.keyboard.press("ArrowRight")
    assert focused_key(page) == "node:prod"
    expect(status).to_have_text(f"{alias} over stage prod.")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert focused_key(page) == "node:staging"  # round from the first to the last
    page.keyboard.press("ArrowDown")
    assert focused_key(page) == "node:dev"
    page.keyboard.press("Escape")  # put back: nothing promoted, the focus back on the chip
    assert focused_key(page) == f"freight:{name}"
    expect(status).to_have_text(f"{alias} put back; nothing was promoted.")
    assert board.call("GET", "/promotions").json()["items"] == []

    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # Tab goes on to the next stage too
    assert focused_key(page) == "node:prod"
    page.keyboard.press("Shift+Tab")
    assert focused_key(page) == "node:dev"
    page.keyboard.press("Enter")  # dropped: promoted, not "open the stage"
    expect(status).to_have_text(f"Dropped {alias} on dev.")
    expect(page.locator("g[data-stage=dev]")).to_contain_text(alias)
    (promotion,) = board.call("GET", "/promotions").json()["items"]
    assert (promotion["spec"]["stage"], promotion["spec"]["freight"]) == ("dev", name)
    assert focused_key(page) == "node:dev"  # the update kept the node, and the focus on it
    expect(page.locator(f"[data-freight='{name}']")).to_have_class("chip")
    page.keyboard.press("Enter")  # no freight carried: Enter opens the stage again
    expect(page.get_by_role("heading", name="dev", exact=True)).to_be_focused()


BOXES = """() => [...document.querySelectorAll(
  "[data-freight], #graph g[data-node], article.stage, #metrics, #promotions, #timeline-title")]
  .map((node) => {
    const r = node.getBoundingClientRect();
    return [r.x, r.y, r.width, r.height];
  })"""


def test_a_live_update_keeps_the_focus_the_scroll_and_the_layout(board: Board) -> None:
    page = board.page
    name = board.freight["name"]
    page.set_viewport_size({"width": 390, "height": 844})  # the graph scrolls sideways here
    page.locator(f"[data-freight='{name}']").evaluate("chip => chip.focus({ preventScroll: true })")
    page.locator("#graph").evaluate("wrap => { wrap.scrollLeft = 150; }")
    page.evaluate("window.scrollTo(0, 300)")
    before = page.evaluate(
        """() => {
          window.kept = [...document.querySelectorAll("[data-freight], #graph g, article.stage")];
          window.focusedBefore = document.activeElement;
          return [document.querySelector("#graph").scrollLeft, window.scrollY];
        }"""
    )
    assert before == [150, 300]
    boxes = page.evaluate(BOXES)
    assert board.call("POST", "/approvals", {"stage": "qa", "freight": name}).status_code == 200
    # The approval arrives through the watch stream: the page updates what changed in place.
    expect(page.locator("#events")).to_contain_text("approved", timeout=10_000)
    assert page.evaluate("document.activeElement === window.focusedBefore")
    assert page.evaluate("window.kept.every((node) => node.isConnected)")
    assert page.evaluate("[document.querySelector('#graph').scrollLeft, window.scrollY]") == before
    assert page.evaluate(BOXES) == boxes  # nothing above the events moved or changed size
