"""The room's opt-in system notifications in a real Chromium: permission asked on the click that
turns them on, then a notification at the reveal and when the facilitator nudges you."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.app.conftest import Server
from tests.e2e.accessibility import violations
from tests.e2e.test_browser_room import (
    OpenPage,
    browser,
    card,
    create_room,
    join,
    person,
)

pytestmark = pytest.mark.chromium
__all__ = ["browser", "person"]  # fixtures shared with the room's first tests

# A spy, not a stub: the page's Notification is the browser's own, subclassed only to record
# what the page constructs (headless Chromium shows nothing on screen to look at).
SPY = """(() => {
  const Real = window.Notification;
  window.shownNotifications = [];
  window.askedPermission = 0;
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      const { body, tag } = options || {};
      window.shownNotifications.push({ title, body, tag });
    }
    static get permission() { return Real.permission; }
    static requestPermission(...args) {
      window.askedPermission += 1;
      return Real.requestPermission(...args);
    }
  }
  window.Notification = Recorded;
})();"""


@pytest.fixture
def allowed(browser: Browser) -> Iterator[Page]:
    """A page whose browser grants notifications, with the spy installed before any script."""
    context = browser.new_context(permissions=["notifications"])
    context.add_init_script(SPY)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def shown(page: Page) -> list[dict[str, str]]:
    return list(page.evaluate("window.shownNotifications"))


def test_notifications_are_opt_in_and_come_at_the_reveal_and_the_nudge(
    server: Server, person: OpenPage, allowed: Page
) -> None:
    fay = person()
    url = create_room(fay, server)
    ann = allowed
    join(ann, url, "Ann")
    card(fay, "3").click()
    fay.get_by_role("button", name="Nudge those who have not voted").click()
    expect(ann.locator("#nudge-note")).to_have_text("Fay is waiting for your card.")
    assert shown(ann) == []  # not asked for: nothing
    assert ann.evaluate("Notification.permission") == "granted"

    ann.locator("details.you summary").click()
    toggle = ann.get_by_role(
        "checkbox", name="System notification when the cards are revealed or you are nudged"
    )
    toggle.check()
    expect(toggle).to_be_checked()
    assert ann.evaluate("window.askedPermission") == 0  # already granted: not asked again
    assert violations(ann) == []
    fay.get_by_role("button", name="Reveal cards").click()
    expect(ann.locator("#announce")).to_contain_text("Cards revealed")
    ann.wait_for_function("window.shownNotifications.length === 1")
    assert shown(ann) == [
        {
            "title": "Cards revealed",
            "body": "consensus, average 3, median 3.",
            "tag": "planning-poker-reveal",
        }
    ]

    fay.get_by_role("button", name="New round").click()
    expect(ann.locator("#results")).to_be_hidden()
    fay.get_by_role("button", name="Nudge those who have not voted").click()
    ann.wait_for_function("window.shownNotifications.length === 2")
    assert shown(ann)[1] == {
        "title": "Your turn to vote",
        "body": "Fay is waiting for your card.",
        "tag": "planning-poker-nudge",
    }
    ann.reload()  # the choice is kept in the browser
    ann.locator("details.you summary").click()
    expect(toggle).to_be_checked()


def test_turning_notifications_on_asks_for_permission_and_says_when_refused(
    server: Server, person: OpenPage, browser: Browser
) -> None:
    fay = person()
    url = create_room(fay, server)
    context = browser.new_context()  # nothing granted: the browser refuses the request
    context.add_init_script(SPY)
    ann = context.new_page()
    try:
        join(ann, url, "Ann")
        ann.locator("details.you summary").click()
        toggle = ann.get_by_role(
            "checkbox", name="System notification when the cards are revealed or you are nudged"
        )
        toggle.check()
        expect(ann.locator("#notify-note")).to_contain_text("blocks notifications")
        expect(toggle).not_to_be_checked()
        assert ann.evaluate("window.askedPermission") == 1
        card(fay, "3").click()
        fay.get_by_role("button", name="Nudge those who have not voted").click()
        expect(ann.locator("#nudge-note")).to_be_visible()
        assert shown(ann) == []
    finally:
        context.close()
