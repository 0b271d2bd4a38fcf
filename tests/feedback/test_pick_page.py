"""The picking page end to end in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Run it with `pytest tests/feedback/test_pick_page.py`; `.ci/install-browser` installs Chromium.
Where Chromium or Playwright is missing the tests are skipped, unless CI or
STYLEDROP_REQUIRE_BROWSER is set: there they fail. STYLEDROP_SCREENSHOT=1 also saves
docs/pick-page.png.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import human_picks, wait_until

CHROMIUM = os.environ.get("STYLEDROP_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "pick-page.png"


def missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install -c constraints.txt playwright)"
    if not shutil.which(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (install it with .ci/install-browser)"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = missing_browser()
    if reason and (os.environ.get("CI") or os.environ.get("STYLEDROP_REQUIRE_BROWSER")):
        pytest.fail(f"the browser test must run here: {reason}")
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def context(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(5000)
    yield context
    context.close()


def tile(page, image_id: str):
    return page.locator(f'.tile[data-id="{image_id}"]')


def settled(page) -> None:
    """Wait until every pick the page sent has been answered."""
    from playwright.sync_api import expect

    expect(page.locator(".tile.saving")).to_have_count(0)


def test_click_keyboard_and_reload(context, pool_dir):
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto("/")
    counter = page.locator("#counter")
    expect(counter).to_have_text("0 picked (the paper picks about 10)")
    expect(page.locator("section.prompt")).to_have_count(3)
    expect(page.locator("#next-command")).to_have_text(f"styledrop feedback train {pool_dir}")
    expect(tile(page, "p000-i00").locator(".policies")).to_have_text("by clip")
    assert "text 0.250" in tile(page, "p000-i01").get_attribute("title")
    wait_until(lambda: page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth === 32)"))
    assert page.evaluate("getComputedStyle(document.querySelector('.tile img')).imageRendering") == "pixelated"

    tile(page, "p000-i01").click()
    expect(tile(page, "p000-i01")).to_have_attribute("aria-pressed", "true")
    expect(counter).to_have_text("1 picked (the paper picks about 10)")

    expect(tile(page, "p000-i01")).to_be_focused()  # a click focuses the image, as a keypress would
    page.keyboard.press("k")
    expect(tile(page, "p000-i00")).to_be_focused()
    page.keyboard.press(" ")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("j")
    expect(tile(page, "p000-i02")).to_be_focused()
    page.keyboard.press("x")
    page.keyboard.press("k")
    page.keyboard.press("x")  # unpicks p000-i01, picked by the click above
    page.keyboard.press("ArrowDown")
    expect(tile(page, "p001-i01")).to_be_focused()  # the tile below, in the next prompt's row
    settled(page)
    expect(counter).to_have_text("2 picked (the paper picks about 10)")
    assert human_picks(pool_dir) == {"p000-i00", "p000-i02"}

    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_hidden()

    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("#copy").click()
    expect(page.locator("#status")).to_have_text(f"copied: styledrop feedback train {pool_dir}")
    assert page.evaluate("navigator.clipboard.readText()") == f"styledrop feedback train {pool_dir}"

    page.reload()
    expect(counter).to_have_text("2 picked (the paper picks about 10)")
    for image_id, pressed in [("p000-i00", "true"), ("p000-i01", "false"), ("p000-i02", "true")]:
        expect(tile(page, image_id)).to_have_attribute("aria-pressed", pressed)

    if os.environ.get("STYLEDROP_SCREENSHOT"):
        tile(page, "p002-i01").click()
        settled(page)
        page.keyboard.press("ArrowRight")  # focus p002-i02: its scores show as on hover
        page.mouse.move(1200, 880)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_two_tabs_picking_at_once_both_land(context, pool_dir):
    from playwright.sync_api import expect

    left, right = context.new_page(), context.new_page()
    for page in (left, right):
        page.goto("/")
        expect(page.locator(".tile")).to_have_count(12)
    for page, image_id in [(left, "p001-i00"), (right, "p002-i03"), (left, "p001-i01")]:
        page.bring_to_front()  # as a person switches tabs (a background tab's clicks are throttled)
        tile(page, image_id).click()
    for page in (left, right):
        settled(page)
    assert human_picks(pool_dir) == {"p001-i00", "p001-i01", "p002-i03"}

    for page in (left, right):  # switching back to a tab re-reads the pool
        page.evaluate("window.dispatchEvent(new Event('focus'))")
        expect(page.locator("#counter")).to_have_text("3 picked (the paper picks about 10)")
        for image_id in ("p001-i00", "p001-i01", "p002-i03"):
            expect(tile(page, image_id)).to_have_attribute("aria-pressed", "true")
