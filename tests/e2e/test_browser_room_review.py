"""What a browser review of the room found: rounds kept, the picture of a reveal, offline votes,
errors that clear, the focus staying put, controls for every server feature, accessibility."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from playwright.sync_api import FilePayload, Page, WebSocketRoute, expect

from tests.app.conftest import Server
from tests.e2e.accessibility import tab_order, violations
from tests.e2e.test_browser_room import OpenPage, browser, card, create_room, join, person

pytestmark = pytest.mark.chromium
__all__ = ["browser", "person"]  # fixtures shared with the room's first tests


def focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement.dataset.key || document.activeElement.id"))


def export(server: Server, url: str) -> list[list[str]]:
    room_id = url.rsplit("/", 1)[1]
    text = httpx.get(f"{server.base}/api/rooms/{room_id}/export.csv").text
    return list(csv.reader(io.StringIO(text)))[1:]


def room_with(server: Server, person: OpenPage, *others: str) -> tuple[str, list[Page]]:
    """A room Fay created, with the others joined as voters: its URL and everyone's page."""
    fay = person()
    url = create_room(fay, server)
    pages = [fay]
    for name in others:
        pages.append(person())
        join(pages[-1], url, name)
    return url, pages


def add_story(page: Page, title: str, link: str = "") -> None:
    page.get_by_role("textbox", name="Story title").fill(title)
    page.get_by_role("textbox", name="Link (optional)").fill(link)
    page.get_by_role("button", name="Add story").click()


def test_the_reveal_shows_the_cards_face_up_a_chart_of_the_votes_and_keeps_every_round(
    server: Server, person: OpenPage
) -> None:
    url, (fay, ann, bob) = room_with(server, person, "Ann", "Bob")
    add_story(fay, "Login")
    expect(fay.locator("#story-title")).to_have_text("Login")
    reveal = fay.get_by_role("button", name="Reveal cards")
    expect(reveal).to_be_disabled()  # nobody has voted
    expect(fay.get_by_text("Nobody has voted yet.")).to_be_visible()
    for page, label in ((fay, "3"), (ann, "5"), (bob, "5")):
        card(page, label).click()
        expect(card(page, label)).to_have_attribute("aria-pressed", "true")
    reveal.click()
    chart = ann.get_by_role("img", name=re.compile("^Votes per card"))
    expect(chart).to_have_attribute("aria-label", "Votes per card: 3: 1 vote, 5: 2 votes")
    bars = ann.locator("#chart g.bar")
    expect(bars).to_have_count(2)
    assert [(b.get_attribute("data-card"), b.get_attribute("data-count")) for b in bars.all()] == [
        ("3", "1"),
        ("5", "2"),
    ]
    heights = [float(b.locator("rect").get_attribute("height") or 0) for b in bars.all()]
    assert heights[1] == 2 * heights[0]
    expect(ann.locator("#chart g.bar.mode")).to_have_attribute("data-card", "5")
    played = ann.get_by_role("list", name="Cards on the table").get_by_role("listitem")
    expect(played).to_have_text(
        [re.compile(r"3\s*Fay"), re.compile(r"5\s*Ann"), re.compile(r"5\s*Bob")]
    )
    expect(ann.locator("#announce")).to_have_text("Cards revealed: average 4.33, median 5.")
    expect(ann.locator("#consensus-banner")).to_be_hidden()
    # The own card stays readable after the reveal (it is not dimmed like the others).
    assert card(ann, "5").evaluate("b => getComputedStyle(b).opacity") == "1"

    fay.get_by_role("button", name="New round").click()
    expect(reveal).to_be_disabled()  # an empty reveal would erase nothing, it is not offered
    reveal.click(force=True)
    for page in (fay, ann, bob):
        card(page, "8").click()
        expect(card(page, "8")).to_have_attribute("aria-pressed", "true")
    reveal.click()
    expect(bob.locator("#consensus-banner")).to_be_visible()
    expect(bob.locator("#results")).to_have_class(re.compile("consensus"))
    expect(bob.locator("#stat-consensus")).to_have_text("Yes")
    history = bob.locator("#stories details.history")
    expect(history.locator("summary")).to_have_text(re.compile(r"^2 rounds, "))
    history.locator("summary").click()
    expect(history.locator("tbody tr")).to_have_count(2)
    expect(history.locator("tbody tr").first).to_contain_text("Fay 3, Ann 5, Bob 5")
    rows = export(server, url)
    assert [(r[2], r[7]) for r in rows] == [
        ("Fay: 3; Ann: 5; Bob: 5", "1"),
        ("Fay: 8; Ann: 8; Bob: 8", "2"),
    ]


def test_a_vote_while_disconnected_is_not_lost_silently_and_the_error_clears_on_reconnect(
    server: Server, person: OpenPage
) -> None:
    fay = person()
    routes: list[WebSocketRoute] = []
    blocked = {"on": False}

    def through(route: WebSocketRoute) -> None:
        if blocked["on"]:
            route.close(code=1011)
            return
        route.connect_to_server()
        routes.append(route)

    fay.route_web_socket(re.compile("/ws/rooms/"), through)
    url = create_room(fay, server)
    join(person(), url, "Ann")
    expect(fay.locator("#connection")).to_have_text("Connected")
    blocked["on"] = True
    for route in routes:
        route.close(code=1011)
    expect(fay.locator("#connection")).to_contain_text("Not connected")
    expect(fay.locator("#offline-note")).to_be_visible()
    expect(card(fay, "5")).to_be_disabled()
    card(fay, "5").click(force=True)
    expect(card(fay, "5")).to_have_attribute("aria-pressed", "false")
    fay.get_by_role("button", name="New round").click()
    expect(fay.locator("#room-error")).to_contain_text("Not connected")
    blocked["on"] = False
    expect(fay.locator("#connection")).to_have_text("Connected", timeout=20_000)
    expect(fay.locator("#room-error")).to_have_text("")
    expect(card(fay, "5")).to_be_enabled()
    card(fay, "5").click()
    expect(card(fay, "5")).to_have_attribute("aria-pressed", "true")


def test_a_refused_story_keeps_the_form_and_errors_clear_after_a_later_success(
    server: Server, person: OpenPage
) -> None:
    fay = person()
    create_room(fay, server)
    add_story(fay, "Search", "ftp://example.test/1")
    expect(fay.locator("#room-error")).to_contain_text("must start with http")
    expect(fay.get_by_role("textbox", name="Story title")).to_have_value("Search")
    fay.get_by_role("textbox", name="Link (optional)").fill("https://example.test/1")
    fay.get_by_role("button", name="Add story").click()
    expect(fay.locator("#stories")).to_contain_text("Search")
    expect(fay.locator("#room-error")).to_have_text("")
    expect(fay.get_by_role("textbox", name="Story title")).to_have_value("")
    fay.get_by_text("Import stories from CSV").click()
    upload = fay.get_by_label("CSV file (title,link)")
    upload.set_input_files(files=FilePayload(name="bad.csv", mimeType="text/csv", buffer=b",x\n"))
    expect(fay.locator("#room-error")).to_contain_text("CSV line 1")
    upload.set_input_files(files=FilePayload(name="ok.csv", mimeType="text/csv", buffer=b"Pay\n"))
    expect(fay.locator("#stories")).to_contain_text("Pay")
    expect(fay.locator("#room-error")).to_have_text("")


def test_the_focus_stays_where_the_user_was_on_updates_reordering_and_the_reveal(
    server: Server, person: OpenPage
) -> None:
    url, (fay, ann) = room_with(server, person, "Ann")
    for title in ("One", "Two", "Three"):
        add_story(fay, title)
        expect(fay.locator("#stories")).to_contain_text(title)
    card(fay, "5").focus()
    fay.keyboard.press("Enter")
    expect(card(fay, "5")).to_have_attribute("aria-pressed", "true")
    card(ann, "8").click()  # an update caused by someone else
    expect(fay.get_by_role("img", name="has voted", exact=True)).to_have_count(2)
    assert focused(fay) == "card:5"
    two = fay.locator("#stories li").nth(1)
    two_id = str(two.get_by_role("button", name="Move Two up").get_attribute("data-key"))[3:]
    two.get_by_role("button", name="Move Two up").focus()
    fay.keyboard.press("Enter")
    expect(fay.locator("#stories li").first).to_contain_text("Two")
    assert focused(fay) == f"down:{two_id}"  # it moved to the top, where there is no "up"
    fay.get_by_role("button", name="Reveal cards").focus()
    fay.keyboard.press("Enter")
    expect(fay.locator("#results")).to_be_visible()
    assert focused(fay) == "reveal"
    card(ann, "8").focus()
    fay.get_by_role("button", name="New round").click()
    expect(card(ann, "8")).to_have_attribute("aria-pressed", "false")
    assert focused(ann) == "card:8"


def test_the_next_story_typed_before_the_last_one_arrived_stays_in_the_form(
    server: Server, person: OpenPage
) -> None:
    # The form was emptied when the story sent showed up in the room, with whatever had been
    # typed since: adding two stories quickly lost the second (a flake of the test below).
    # The room's messages to the page are held back here while the next title is typed.
    fay = person()
    held: list[str | bytes] | None = None
    to_page: list[WebSocketRoute] = []

    def through(route: WebSocketRoute) -> None:
        def from_server(message: str | bytes) -> None:
            if held is not None:
                held.append(message)
            else:
                route.send(message)

        route.connect_to_server().on_message(from_server)
        to_page.append(route)

    fay.route_web_socket(re.compile("/ws/rooms/"), through)
    create_room(fay, server)
    expect(fay.locator("#connection")).to_have_text("Connected")
    held = []
    add_story(fay, "One")
    fay.get_by_role("textbox", name="Story title").fill("Two")
    waiting, held = held, None
    for message in waiting:
        to_page[-1].send(message)
    expect(fay.locator("#stories")).to_contain_text("One")
    expect(fay.get_by_role("textbox", name="Story title")).to_have_value("Two")
    fay.get_by_role("button", name="Add story").click()
    expect(fay.locator("#stories li")).to_have_count(2)
    expect(fay.get_by_role("textbox", name="Story title")).to_have_value("")


def test_rename_stop_the_timer_estimate_another_story_and_leave_from_the_page(
    server: Server, person: OpenPage
) -> None:
    url, (fay, ann) = room_with(server, person, "Ann")
    add_story(fay, "One")
    add_story(fay, "Two")
    expect(fay.locator("#stories li")).to_have_count(2)
    fay.get_by_role("button", name="Start timer").click()
    expect(ann.get_by_role("timer")).to_have_text(re.compile(r"^Time left \d+:\d\d$"))
    fay.get_by_role("button", name="Stop timer").click()
    expect(ann.get_by_role("timer")).to_be_hidden()
    two = fay.locator("#stories li").nth(1)
    two.locator("summary").click()
    two.get_by_label("Final estimate of Two").fill("1")
    card(ann, "5").click()  # an update while Fay types: what she typed stays, and the focus
    expect(fay.get_by_role("img", name="has voted", exact=True)).to_have_count(1)
    expect(two.get_by_label("Final estimate of Two")).to_be_focused()
    fay.keyboard.type("3")
    expect(two.get_by_label("Final estimate of Two")).to_have_value("13")
    two.get_by_role("button", name="Save").click()
    expect(ann.locator("#stories li").nth(1)).to_contain_text("13")
    expect(fay.locator("#story-title")).to_have_text("One")  # still estimating the first
    ann.get_by_text("You", exact=True).click()
    ann.get_by_label("New name").fill("Fay")
    ann.get_by_role("button", name="Rename").click()
    expect(ann.locator("#room-error")).to_contain_text("already called Fay")
    ann.get_by_label("New name").fill("Annie")
    ann.get_by_role("button", name="Rename").click()
    expect(fay.locator("#participants")).to_contain_text("Annie")
    ann.get_by_role("button", name="Leave room").click()
    ann.wait_for_url(server.base + "/")
    expect(fay.locator("#participants li")).to_have_count(1)


def test_the_room_has_a_heading_no_accessibility_violations_and_a_sensible_tab_order(
    server: Server, person: OpenPage
) -> None:
    url, (fay, ann) = room_with(server, person, "Ann")
    expect(fay.get_by_role("heading", level=1, name="Sprint 7")).to_be_visible()
    card(ann, "5").click()
    card(fay, "3").click()
    expect(fay.get_by_role("img", name="has voted", exact=True)).to_have_count(2)
    assert violations(fay) == []
    fay.get_by_role("button", name="Reveal cards").click()
    expect(fay.locator("#results")).to_be_visible()
    assert violations(fay) == []
    assert violations(ann) == []
    ann.emulate_media(color_scheme="dark")  # the dark theme follows the system
    assert ann.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(18, 21, 28)"
    assert violations(ann) == []
    order = tab_order(ann, 6)
    assert order[:3] == ["Planning Poker", "0", "1"], order


def test_the_facilitator_nudges_those_who_have_not_voted(server: Server, person: OpenPage) -> None:
    url, (fay, ann, bob) = room_with(server, person, "Ann", "Bob")
    card(bob, "3").click()
    expect(fay.get_by_role("img", name="has voted", exact=True)).to_have_count(1)
    fay.get_by_role("button", name="Nudge those who have not voted").click()
    expect(ann.get_by_role("alert").filter(has_text="waiting")).to_have_text(
        "Fay is waiting for your card."
    )
    expect(bob.locator("#nudge-note")).to_be_hidden()
    fay.get_by_role("button", name="Nudge those who have not voted").click()
    expect(fay.locator("#room-error")).to_contain_text("a moment ago")
    card(ann, "5").click()
    expect(ann.locator("#nudge-note")).to_be_hidden()
    expect(fay.get_by_role("button", name="Nudge those who have not voted")).to_be_hidden()
