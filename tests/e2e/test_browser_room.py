"""The room page in a real Chromium: joining, voting, revealing, resuming, escaping names."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Dialog,
    Locator,
    Page,
    expect,
)

from tests.app.conftest import Server
from tests.e2e.chromium import chromium

pytestmark = pytest.mark.chromium
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
OpenPage = Callable[[], Page]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole module; each person gets a context."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def person(browser: Browser) -> Iterator[OpenPage]:
    """Open pages in fresh browser contexts (separate storage, like separate people)."""
    contexts: list[BrowserContext] = []
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def open_page() -> Page:
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", on_dialog)
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not dialogs, f"a page opened a dialog (script ran): {dialogs}"


def create_room(page: Page, server: Server, name: str = "Fay") -> str:
    page.goto(server.base + "/")
    page.get_by_role("textbox", name="Room name").fill("Sprint 7")
    page.get_by_role("textbox", name="Your name").fill(name)
    page.get_by_role("button", name="Create room").click()
    page.wait_for_url("**/r/**")
    expect(page.get_by_role("button", name="Reveal cards")).to_be_visible()
    return page.url


def join(page: Page, url: str, name: str, spectator: bool = False) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="Your name").fill(name)
    if spectator:
        page.get_by_role("radio", name="Spectator").check()
    page.get_by_role("button", name="Join").click()
    expect(page.locator("#participants")).to_contain_text(name)


def card(page: Page, label: str) -> Locator:
    return page.get_by_role("button", name=label, exact=True)


def test_three_participants_vote_reveal_and_see_the_statistics(
    server: Server, person: OpenPage
) -> None:
    fay, ann, bob = person(), person(), person()
    url = create_room(fay, server)
    join(ann, url, "Ann")
    join(bob, url, "Bob")
    for page, label in ((fay, "3"), (ann, "5"), (bob, "5")):
        card(page, label).click()
        expect(card(page, label)).to_have_attribute("aria-pressed", "true")
    expect(fay.get_by_role("img", name="has voted", exact=True)).to_have_count(3)
    expect(ann.locator("#participants")).not_to_contain_text("3")
    fay.get_by_role("button", name="Reveal cards").click()
    for page in (fay, ann, bob):
        expect(page.locator("#stat-average")).to_have_text("4.33")
        expect(page.locator("#stat-median")).to_have_text("5")
        expect(page.locator("#stat-mode")).to_have_text("5")
        expect(page.locator("#stat-agreement")).to_have_text("66.7%")
    fay.get_by_role("button", name="New round").click()
    expect(bob.locator("#results")).to_be_hidden()
    expect(card(bob, "5")).to_have_attribute("aria-pressed", "false")


def test_a_refresh_resumes_the_same_participant(server: Server, person: OpenPage) -> None:
    fay = person()
    url = create_room(fay, server)
    ann = person()
    join(ann, url, "Ann")
    card(ann, "8").click()
    expect(card(ann, "8")).to_have_attribute("aria-pressed", "true")
    ann.reload()
    expect(card(ann, "8")).to_have_attribute("aria-pressed", "true")
    expect(ann.get_by_role("button", name="Join")).to_be_hidden()
    expect(fay.locator("#participants li")).to_have_count(2)
    fay.reload()
    expect(fay.get_by_role("button", name="Next story")).to_be_visible()
    expect(fay.locator("#participants li")).to_have_count(2)


def test_a_spectator_sees_no_deck_and_can_switch_to_voting(
    server: Server, person: OpenPage
) -> None:
    url = create_room(person(), server)
    sam = person()
    join(sam, url, "Sam", spectator=True)
    expect(sam.get_by_text("You are watching as a spectator.")).to_be_visible()
    expect(card(sam, "5")).to_be_hidden()
    expect(sam.get_by_role("button", name="Reveal cards")).to_be_hidden()
    sam.get_by_text("You", exact=True).click()
    sam.get_by_role("button", name="Vote as a voter").click()
    expect(card(sam, "5")).to_be_visible()
    card(sam, "5").click()
    expect(card(sam, "5")).to_have_attribute("aria-pressed", "true")


def test_a_hostile_name_shows_as_text(server: Server, person: OpenPage) -> None:
    fay = person()
    url = create_room(fay, server)
    join(person(), url, HOSTILE_NAME)
    expect(fay.locator("#participants")).to_contain_text(HOSTILE_NAME)
    assert fay.locator("#participants img").count() == 0
