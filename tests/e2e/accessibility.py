"""Accessibility checks in the browser: axe-core's WCAG 2 A/AA rules and the Tab order."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Page

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def violations(page: Page) -> list[str]:
    """Every axe-core WCAG 2.1 A/AA violation on the page, one line each (empty when none)."""
    results = Axe().run(page, options={**WCAG_AA, "resultTypes": ["violations"]})
    found = results.response.get("violations", [])
    return [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in found]


def tab_order(page: Page, presses: int) -> list[str]:
    """The accessible name (else text) of what each press of Tab focuses, from the top."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.mouse.click(1, 1)  # the sequential focus starts at the top of the page
    names = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        names.append(
            page.evaluate(
                """() => { const e = document.activeElement; if (!e || e === document.body)
                return ''; return (e.getAttribute('aria-label') || e.labels?.[0]?.textContent
                || e.textContent || e.id).trim().replace(/\\s+/g, ' '); }"""
            )
        )
    return names
