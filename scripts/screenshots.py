"""Regenerate the screenshots in docs/dashboard.md and docs/app.md (1440 and 390 px wide).

Runs a Planning Poker server and a kargo server on free ports with throwaway state (a fan-out
pipeline on a temporary git repository), drives them with the OS's Chromium and writes
docs/images/{dashboard,room}-{1440,390}.png. Usage: `.venv/bin/python scripts/screenshots.py`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.conftest import app_server  # noqa: E402
from tests.e2e.chromium import chromium  # noqa: E402
from tests.pipeline.engine.fanout import fan_out_server  # noqa: E402
from tests.pipeline.harness import commit, wait_until  # noqa: E402

IMAGES = ROOT / "docs" / "images"
WIDTHS = (1440, 390)


def shoot(page: Page, name: str) -> None:
    """Both widths of the page as it is now."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=str(IMAGES / f"{name}-{width}.png"), full_page=True)
        print(f"wrote docs/images/{name}-{width}.png")


def dashboard(browser: Browser, work: Path) -> None:
    """The pipeline with freight in dev and qa, one freight selected and "Why not?" open."""
    with fan_out_server(work) as served:
        base, headers, first, repo = served.base, served.headers, served.freight, served.repo
        api = f"{base}/api/v1/projects/shop"
        commit(repo, "app/main.py", "print('v2')\n", "Show the vote distribution as a chart")
        httpx.post(f"{api}/warehouses/app/refresh", headers=headers)
        wait_until(
            lambda: len(httpx.get(f"{api}/freight", headers=headers).json()["items"]) > 1,
            what="2nd freight",
        )
        httpx.post(
            f"{api}/promotions",
            json={"stage": "dev", "freight": first["metadata"]["name"]},
            headers=headers,
        )
        wait_until(
            lambda: (
                first["metadata"]["name"]
                in str(httpx.get(f"{api}/stages/dev", headers=headers).json().get("status"))
            ),
            what="dev",
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{base}/")
        page.get_by_label("API token").fill(served.token)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#graph svg")).to_be_visible()
        page.locator(f"[data-freight='{first['metadata']['name']}']").click()
        page.get_by_role("button", name=f"Why is {first['alias']} not in prod?").click()
        expect(page.locator("#why-panel")).to_contain_text("Soaking")
        shoot(page, "dashboard")
        page.close()


def room(browser: Browser, work: Path) -> None:
    """A revealed round with three voters and a story with two rounds."""
    (work / "app").mkdir()
    with app_server(work / "app") as server:
        pages = [browser.new_page(viewport={"width": 1440, "height": 900}) for _ in range(3)]
        fay, ann, bob = pages
        fay.goto(server.base + "/")
        fay.get_by_role("textbox", name="Room name").fill("Sprint 7")
        fay.get_by_role("textbox", name="Your name").fill("Fay")
        fay.get_by_role("button", name="Create room").click()
        fay.wait_for_url("**/r/**")
        for page, name in ((ann, "Ann"), (bob, "Bob")):
            page.goto(fay.url)
            page.get_by_role("textbox", name="Your name").fill(name)
            page.get_by_role("button", name="Join").click()
            expect(page.locator("#participants")).to_contain_text(name)
        for title in ("Sign in with SSO", "Export results", "Dark theme"):
            fay.get_by_role("textbox", name="Story title").fill(title)
            fay.get_by_role("button", name="Add story").click()
            expect(fay.locator("#stories")).to_contain_text(title)
        for votes in (("3", "8", "5"), ("5", "5", "8")):
            for page, card in zip(pages, votes, strict=True):
                page.get_by_role("button", name=card, exact=True).click()
                expect(page.get_by_role("button", name=card, exact=True)).to_have_attribute(
                    "aria-pressed", "true"
                )
            fay.get_by_role("button", name="Reveal cards").click()
            expect(fay.locator("#results")).to_be_visible()
            if votes[0] == "3":
                fay.get_by_role("button", name="New round").click()
        fay.locator("#stories details.history summary").first.click()
        shoot(fay, "room")
        for page in pages:
            page.close()


def main() -> None:
    """Write all four screenshots."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, chromium() as browser:
        work = Path(folder)
        (work / "d").mkdir()
        (work / "a").mkdir()
        dashboard(browser, work / "d")
        room(browser, work / "a")


if __name__ == "__main__":
    main()
