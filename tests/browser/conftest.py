"""Browser tests: Playwright for Python driving Debian's chromium against a live server.

`playwright install` cannot work here; the browser is the system's chromium
(`apt-get install -y chromium`, done by .ci/run).
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from articles.seed import load_seed

# Playwright's sync API runs an event loop in the test thread; the ORM calls
# the tests make around it are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
SCREENSHOTS = Path(os.environ.get("KB_SCREENSHOTS", Path(__file__).resolve().parents[2] / "screenshots"))

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y chromium`).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """A page that records console errors (CSP violations arrive there too)."""

    def __init__(self, page, base_url):
        self.page = page
        self.base_url = base_url
        self.console_errors = []
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    def goto(self, path):
        response = self.page.goto(self.base_url + path)
        return response

    def axe_violations(self, impacts=("serious", "critical")):
        # Evaluated through the DevTools protocol, so the page's CSP does not block it.
        self.page.evaluate(AXE.read_text(encoding="utf-8"))
        result = self.page.evaluate("async () => (await axe.run(document)).violations")
        return [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result
            if v["impact"] in impacts
        ]


@pytest.fixture
def site(live_server):
    """The seeded site on a live server, on the test PostgreSQL database."""
    load_seed()
    return live_server.url


@pytest.fixture
def new_page(browser, live_server):
    contexts = []

    def make(width=1280, height=900):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return Page(context.new_page(), live_server.url)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
