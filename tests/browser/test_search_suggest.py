"""Suggestions as you type in a real browser (#13): the ARIA 1.2 combobox, by keyboard and mouse, axe, no JS."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, Page

pytestmark = pytest.mark.browser

BOX = "#site-search"


def open_suggestions(page: Page, text: str):
    box = page.page.locator(BOX)
    box.click()
    box.press_sequentially(text, delay=30)
    listbox = page.page.get_by_role("listbox", name="Suggested articles")
    listbox.wait_for(state="visible")
    return box, listbox


def test_typing_offers_titles_that_the_arrows_choose_and_enter_opens(site, page):
    page.goto("/")
    box, listbox = open_suggestions(page, "api")

    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("aria-autocomplete") == "list"
    assert box.get_attribute("aria-controls") == listbox.get_attribute("id")
    options = listbox.get_by_role("option")
    assert options.count() == 6
    titles = options.all_inner_texts()
    assert all(title.lower().startswith("api") for title in titles)
    # Nothing is chosen until the reader chooses.
    assert box.get_attribute("aria-activedescendant") is None
    # Polled through the locator: the page's CSP forbids the eval that wait_for_function would need.
    expect(page.page.get_by_role("status")).to_contain_text("6 suggestions available")

    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == options.nth(0).get_attribute("id")
    assert options.nth(0).get_attribute("aria-selected") == "true"
    box.press("ArrowDown")
    box.press("ArrowDown")
    box.press("ArrowUp")
    assert box.get_attribute("aria-activedescendant") == options.nth(1).get_attribute("id")
    assert options.nth(0).get_attribute("aria-selected") == "false"
    assert options.nth(1).get_attribute("aria-selected") == "true"
    # Focus stays in the box throughout.
    assert page.page.evaluate("document.activeElement.id") == "site-search"

    with page.page.expect_navigation():
        box.press("Enter")
    assert re.search(r"/articles/[-a-z0-9]+/$", page.page.url)
    assert page.page.get_by_role("heading", level=1).inner_text() == titles[1]
    assert page.console_errors == []


def test_up_from_the_top_wraps_to_the_last_title(site, page):
    page.goto("/")
    box, listbox = open_suggestions(page, "api")
    options = listbox.get_by_role("option")

    box.press("ArrowDown")
    box.press("ArrowUp")
    assert box.get_attribute("aria-activedescendant") == options.nth(options.count() - 1).get_attribute("id")


def test_escape_closes_the_list_and_a_second_escape_clears_the_box(site, page):
    page.goto("/")
    box, listbox = open_suggestions(page, "circuit")
    box.press("ArrowDown")

    box.press("Escape")
    assert listbox.is_hidden()
    assert box.get_attribute("aria-expanded") == "false"
    assert box.get_attribute("aria-activedescendant") is None
    assert box.input_value() == "circuit"
    # Down opens it again.
    box.press("ArrowDown")
    assert listbox.is_visible()
    box.press("Escape")
    box.press("Escape")
    assert box.input_value() == ""


def test_enter_without_a_chosen_title_searches_as_before(site, page):
    page.goto("/")
    box, _ = open_suggestions(page, "circuit")

    with page.page.expect_navigation():
        box.press("Enter")
    assert page.page.url.endswith("/search/?q=circuit")
    assert page.page.get_by_role("heading", level=1).count() == 1


def test_a_click_on_a_title_opens_it(site, page):
    page.goto("/")
    _, listbox = open_suggestions(page, "jwt")

    option = listbox.get_by_role("option").first
    assert option.inner_text().startswith("JWT Authentication")
    with page.page.expect_navigation():
        option.click()
    assert page.page.url.endswith("/articles/jwt-authentication-implementation-and-security-patterns/")


def test_drafts_are_never_offered_and_none_found_is_announced(site, page, article_factory):
    article_factory(title="Zanzibar authorisation, the secret draft", draft=True)
    page.goto("/")
    box = page.page.locator(BOX)
    box.click()
    box.press_sequentially("zanzibar", delay=30)

    expect(page.page.get_by_role("status")).to_have_text("No suggestions.")
    assert page.page.get_by_role("listbox", name="Suggested articles").is_hidden()
    assert box.get_attribute("aria-expanded") == "false"


def test_typing_is_debounced(site, page):
    requests = []
    page.page.on("request", lambda request: "/search/suggest/" in request.url and requests.append(request.url))
    page.goto("/")
    box, _ = open_suggestions(page, "observability")

    # 13 keystrokes 30 ms apart, within the 150 ms pause: one request for what was typed, not one per key.
    assert len(requests) <= 2, requests
    assert requests[-1].endswith("q=observability")


def test_without_javascript_the_search_box_is_a_plain_search_form(site, browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        box = page.locator(BOX)
        assert box.get_attribute("role") is None
        assert page.get_by_role("listbox").count() == 0
        box.fill("circuit breaker")
        with page.expect_navigation():
            box.press("Enter")
        assert page.url.endswith("/search/?q=circuit+breaker")
        assert page.locator(".card").count() > 0
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
def test_the_open_list_passes_axe_and_is_screenshotted(site, browser, live_server, scheme, width):
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    try:
        page = Page(context.new_page(), live_server.url)
        page.goto("/")
        box, listbox = open_suggestions(page, "api")
        box.press("ArrowDown")
        box.press("ArrowDown")

        # The list lies within the viewport, above the page below it.
        bounds = listbox.bounding_box()
        assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= width
        hit = page.page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('[role=listbox]') !== null",
            [bounds["x"] + bounds["width"] / 2, bounds["y"] + bounds["height"] - 5],
        )
        assert hit
        assert page.axe_violations() == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.page.screenshot(path=str(SCREENSHOTS / f"search-suggest-{scheme}-{width}.png"))
        assert page.console_errors == []
    finally:
        context.close()
