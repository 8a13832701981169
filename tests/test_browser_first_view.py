"""A new session's first view, in headless Chromium: the Compare page's answer and cost cards are
drawn before anything else (no editor, no tables yet), then the browser's paint report brings the
whole page, with the same numbers; pages that draw everything at once still get their sidebar."""

from __future__ import annotations

import pytest
from browser_support import wait_for_app
from test_browser import monthly_costs

pytestmark = pytest.mark.browser

# Notes, in the page, what was in the document when the first monthly cost appeared.
WATCH_JS = """(() => {
    window.__atFirstCost = null;
    const seen = new MutationObserver(() => {
        const main = document.querySelector('[data-testid="stMainBlockContainer"]');
        if (!main || !main.querySelector('[data-testid="stMetricValue"]')) return;
        seen.disconnect();
        window.__atFirstCost = {
            editor: document.querySelectorAll(
                '[data-testid="stSidebar"] [data-testid="stNumberInput"]').length,
            tables: main.querySelectorAll('[data-testid="stDataFrame"]').length,
            downloads: main.querySelectorAll('[data-testid="stPopover"]').length,
            firstView: document.querySelectorAll('.st-key-first_view').length,
        };
    });
    seen.observe(document, {subtree: true, childList: true});
})();"""


def test_first_view_draws_the_answer_first_then_the_whole_page(page, app_url):
    page.context.add_init_script(WATCH_JS)
    page.goto(app_url)
    wait_for_app(page)  # waits for the first view to give way to the whole page
    at_first_cost = page.evaluate("window.__atFirstCost")
    # the first monthly cost arrived with no editor, table or export on the page: the first view
    assert at_first_cost == {"editor": 0, "tables": 0, "downloads": 0, "firstView": 1}
    # then the whole page: the editor, both tables, the exports, and no first-view marker
    assert page.locator('[data-testid="stSidebar"] [data-testid="stNumberInput"]').count() >= 6
    main = page.locator('[data-testid="stMainBlockContainer"]')
    assert main.locator('[data-testid="stDataFrame"]').count() == 2
    assert main.locator('[data-testid="stPopover"]').filter(has_text="Download").count() == 1
    assert page.locator(".st-key-first_view").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    # the numbers are the default preset's (API: 200k requests/day at list prices)
    assert monthly_costs(page)["API"] == "$1,460"
    assert "rpd=200000" in page.url  # the address bar holds the scenario


def test_a_page_opened_directly_still_gets_its_sidebar(page, app_url):
    page.goto(f"{app_url}/capacity")  # Capacity draws everything in its first run
    wait_for_app(page)
    assert page.locator('[data-testid="stSidebar"] [data-testid="stNumberInput"]').count() >= 6
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "rpd=200000" in page.url
