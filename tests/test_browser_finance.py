"""For the people who pay, in headless Chromium: the summary link renders without the editor and
prints to PDF; no table cell on Compare, Capacity or Advisor reads "None"; and the price
refresh button is absent unless the server was started with PLANNER_ALLOW_PRICE_REFRESH."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser_support import DEFAULT_TIMEOUT_MS, SCREENSHOTS, full_height_screenshot, wait_for_app

from planner.io.sharelink import encode_scenario, to_query_string
from planner.scenario import load_scenario

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SUPPORT_BOT = ROOT / "examples" / "support-bot.json"
MAIN = '[data-testid="stMainBlockContainer"]'
LOADED_TIMEOUT_MS = 180_000  # Compare sweeps traffic for its charts: slow on a busy machine

# Glide's data grid (st.dataframe) draws its cells on a canvas: record every text drawn so a
# test can read what a person sees, including the placeholder of an empty cell.
RECORD_CANVAS_TEXT = """
(() => {
  window.__drawnText = [];
  const original = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    window.__drawnText.push(String(text));
    return original.call(this, text, ...rest);
  };
})();
"""


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def test_summary_link_renders_without_the_editor_and_prints_to_pdf(page, app_url):
    query = to_query_string(encode_scenario(load_scenario(SUPPORT_BOT)))
    page.goto(f"{app_url}/?{query}&view=summary")
    wait_for_app(page, LOADED_TIMEOUT_MS)
    main = page.locator(MAIN)
    text = main.inner_text()
    assert "support-bot — cost summary" in text
    assert "$1,460/month" in text and "Cheapest that fits" in text
    assert "Not in these numbers" in text and "oldest price dated" in text
    assert page.locator('[data-testid="stSidebar"]:visible').count() == 0  # no editor
    assert page.locator('[data-testid="stNumberInput"], [data-testid="stSelectbox"]').count() == 0
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=DEFAULT_TIMEOUT_MS)
    edit = page.get_by_role("link", name=re.compile("Open in the planner"))
    href = edit.get_attribute("href")
    assert "rpd=200000" in href and "view=summary" not in href
    full_height_screenshot(page, "summary-view")

    page.emulate_media(media="print")
    assert page.locator('[data-testid="stHeader"]:visible').count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper, print_background=True)
        assert pdf.startswith(b"%PDF-")
        assert 1 <= pdf_pages(pdf) <= 4, paper  # the summary, not an endless scroll container
        (SCREENSHOTS / f"summary-view-{paper}.pdf").write_bytes(pdf)

    # the edit link opens the full planner on the same scenario
    page.emulate_media(media="screen")
    page.goto(href)
    wait_for_app(page, LOADED_TIMEOUT_MS)
    assert page.locator('[data-testid="stSidebar"] [data-testid="stNumberInput"]').count() >= 1


@pytest.mark.parametrize("path", ["", "capacity", "advisor"])
def test_no_table_cell_reads_none(page, app_url, path):
    page.add_init_script(RECORD_CANVAS_TEXT)
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, LOADED_TIMEOUT_MS)
    grids = page.locator('[data-testid="stDataFrame"]')
    grids.first.wait_for(timeout=DEFAULT_TIMEOUT_MS)
    for i in range(grids.count()):  # draw every grid: scroll it into view
        if grids.nth(i).is_visible():
            grids.nth(i).scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    drawn = page.evaluate("window.__drawnText")
    assert len(drawn) > 20, "the grids were drawn"
    assert "None" not in drawn and "nan" not in drawn and "NaN" not in drawn
    cells = [c.strip() for c in page.locator('[role="gridcell"], [data-testid="stTable"] td')
             .all_inner_texts()]
    assert "None" not in cells
    if path == "":
        assert "—" in drawn  # On-prem's unknown cost shows the placeholder
        header = json.dumps(page.evaluate("window.__drawnText"))
        assert "Option" in header and "Monthly cost (USD)" in header


def test_refresh_button_absent_unless_the_operator_allows_it(page, app_url):
    page.goto(f"{app_url}/catalog")
    wait_for_app(page, LOADED_TIMEOUT_MS)
    page.get_by_role("tab", name="Prices").click()
    wait_for_app(page, LOADED_TIMEOUT_MS)
    main = page.locator(MAIN)
    main.get_by_text("scheduled job writes a new snapshot").wait_for(timeout=DEFAULT_TIMEOUT_MS)
    assert page.get_by_role("button", name="Refresh from the Azure Retail Prices API").count() == 0
    assert "Age of oldest price" in main.inner_text()  # the status, for everyone


def test_phones_get_a_labelled_page_menu(page, app_url):
    page.set_viewport_size({"width": 420, "height": 900})
    page.goto(f"{app_url}/methodology")
    wait_for_app(page, LOADED_TIMEOUT_MS)
    menu = page.locator(".st-key-phone_menu")
    assert menu.is_visible() and "Pages" in menu.inner_text()
    pages = menu.get_by_role("radiogroup", name="Pages")  # one widget, the page on show picked
    assert pages.get_by_role("radio", name=re.compile("Methodology")).get_attribute(
        "aria-checked") == "true"
    pages.get_by_role("radio", name=re.compile("Catalog")).click()
    page.wait_for_url(re.compile(r"/catalog"), timeout=DEFAULT_TIMEOUT_MS)
    wait_for_app(page, LOADED_TIMEOUT_MS)
    assert "Catalog" in page.locator(f"{MAIN} h1").first.inner_text()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.wait_for_timeout(300)
    assert not page.locator(".st-key-phone_menu").is_visible()  # desktop: the top navigation
