"""Dark mode and heading permalinks in a real browser, audited by axe (issue 12).

Search highlights (`<mark>`) were 3.24:1 in dark mode, below WCAG's 4.5:1;
every heading's accessible name ended in "#" and each permalink was announced
as "#".
"""

import pytest

from tests.browser.conftest import SCREENSHOTS, Page

pytestmark = pytest.mark.browser

ARTICLE = "/articles/jwt-authentication-implementation-and-security-patterns/"


@pytest.fixture
def dark_page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    yield Page(context.new_page(), live_server.url)
    context.close()


def test_search_highlights_meet_contrast_in_dark_mode(site, dark_page):
    dark_page.goto("/search/?q=refresh+token")
    marks = dark_page.page.locator("mark")
    assert marks.count() > 0
    assert dark_page.page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    assert dark_page.axe_violations() == []
    assert dark_page.console_errors == []


def test_an_article_in_dark_mode_passes_axe(site, dark_page):
    dark_page.goto(ARTICLE)
    assert dark_page.axe_violations() == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dark_page.page.screenshot(path=str(SCREENSHOTS / "article-dark-1280.png"), full_page=False)


def test_headings_are_named_by_their_text_and_permalinks_by_their_purpose(site, page):
    page.goto(ARTICLE)
    browser_page = page.page
    heading = browser_page.get_by_role("heading", name="Signing and verification", exact=True)
    assert heading.count() == 1
    permalink = browser_page.get_by_role("link", name="Link to this section: Signing and verification", exact=True)
    assert permalink.count() == 1
    assert permalink.get_attribute("href") == "#h-signing-and-verification"
    assert browser_page.get_by_role("link", name="#", exact=True).count() == 0
    # Keyboard users find the permalink: it shows when focused.
    permalink.focus()
    assert browser_page.evaluate("getComputedStyle(document.activeElement).opacity") == "1"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser_page.screenshot(path=str(SCREENSHOTS / "article-gfm-1280.png"), full_page=False)


def test_table_alignment_shows(site, page, article_factory):
    article = article_factory(
        slug="aligned", body="| left | right |\n|:--|--:|\n| a | b |\n\n- [x] done\n- [ ] not yet\n", tags=["api"]
    )
    page.goto(article.get_absolute_url())
    cell = page.page.locator(".prose td").nth(1)
    assert cell.evaluate("element => getComputedStyle(element).textAlign") == "right"
    boxes = page.page.locator(".prose input[type=checkbox]")
    assert boxes.count() == 2
    assert boxes.nth(0).is_checked() and boxes.nth(0).is_disabled()
    assert page.axe_violations() == []
