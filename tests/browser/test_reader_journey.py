import re

import pytest

from tests.browser.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_reader_browses_reads_and_searches(site, page):
    p = page.page
    page.goto("/")
    p.get_by_role("link", name=re.compile(r"^Product Engineering\s+52 articles")).click()
    assert p.locator("h1").inner_text() == "Product Engineering"
    assert p.locator("[data-result-count]").get_attribute("data-result-count") == "52"
    assert p.locator("[data-article]").count() == 52

    p.locator('[data-article="jwt-authentication-implementation-and-security-patterns"] a').first.click()
    assert p.locator("h1").inner_text() == "JWT Authentication — Implementation and Security Patterns"
    assert p.locator(".prose .highlight span.k, .prose .highlight span.nt, .prose .highlight span.s2").count() > 0

    toc_link = p.locator(".toc-nav a").nth(2)
    target = toc_link.get_attribute("href")
    toc_link.click()
    assert p.url.endswith(target)
    heading = p.locator(target)
    assert heading.is_visible()
    box = heading.bounding_box()
    assert 0 <= box["y"] < 200  # scrolled to the heading

    p.locator(".article-header .tag").first.click()
    assert p.locator("h1").inner_text().startswith("Tagged")

    p.fill("#site-search", "refresh token")
    p.press("#site-search", "Enter")
    p.wait_for_url(re.compile(r"/search/\?q=refresh\+token"))
    first = p.locator("[data-article]").first
    assert first.get_attribute("data-article") == "jwt-authentication-implementation-and-security-patterns"
    assert first.locator("mark").count() > 0
    total = int(p.locator("[data-result-count]").get_attribute("data-result-count"))

    facet = p.locator('[data-facet="tag"]').last
    expected = int(facet.locator("xpath=following-sibling::span").get_attribute("data-facet-count"))
    facet.click()
    narrowed = int(p.locator("[data-result-count]").get_attribute("data-result-count"))
    assert narrowed == expected < total

    p.fill("#site-search", "idempotncy keys")
    p.press("#site-search", "Enter")
    suggestion = p.locator("[data-suggestion]")
    assert suggestion.get_attribute("data-suggestion") == "idempotency keys"
    suggestion.click()
    assert (
        p.locator("[data-article]").first.get_attribute("data-article") == "api-idempotency-safe-retries-for-mutations"
    )
    assert page.console_errors == []


def test_keyboard_only_reader_reaches_search_navigation_and_articles(site, page):
    p = page.page
    page.goto("/")
    focused = []
    for _ in range(6):
        p.keyboard.press("Tab")
        focused.append(
            p.evaluate(
                "() => { const e = document.activeElement; const s = getComputedStyle(e);"
                " const name = e.id || e.className || e.textContent.trim().slice(0, 30);"
                " return [e.tagName, name, s.outlineStyle, s.outlineWidth]; }"
            )
        )
    names = [f[1] for f in focused]
    assert "skip-link" in names[0]
    assert "site-search" in names
    for tag, name, outline_style, outline_width in focused:
        assert outline_style != "none" and outline_width != "0px", (tag, name)

    p.focus("#site-search")
    p.keyboard.type("circuit breaker")
    p.keyboard.press("Enter")
    p.wait_for_url(re.compile(r"/search/"))
    # Tab through the page to the first result's title link and open it with Enter.
    for _ in range(40):
        p.keyboard.press("Tab")
        if p.evaluate("() => !!document.activeElement.closest('[data-article] .card-title')"):
            break
    else:
        pytest.fail("no result link reachable with Tab")
    p.keyboard.press("Enter")
    p.wait_for_url(re.compile(r"/articles/"))
    assert p.locator("h1").count() == 1


PUBLIC_PAGES = {
    "home": "/",
    "category": "/categories/product-engineering/",
    "tag": "/tags/api/",
    "article": "/articles/jwt-authentication-implementation-and-security-patterns/",
    "search": "/search/?q=circuit+breaker",
}


def test_public_pages_pass_axe_have_no_console_errors_and_are_screenshotted(site, new_page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = {}
    for width, label in ((390, "phone"), (1280, "desktop")):
        page = new_page(width=width)
        for name, path in PUBLIC_PAGES.items():
            response = page.goto(path)
            assert response.status == 200, path
            page.page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", full_page=False)
            if width == 1280:
                violations = page.axe_violations()
                if violations:
                    problems[name] = violations
            scroll_width = page.page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width, f"{path} scrolls sideways at {width}px ({scroll_width}px)"
        assert page.console_errors == [], label
    assert problems == {}
