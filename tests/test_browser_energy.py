"""A person opens Compare's Energy & CO2 tab in Chromium: the chart shows each option's lines and
the range, and the page says how CO2 was counted (method, grid year)."""

from __future__ import annotations

import pytest
from browser_support import element_screenshot, wait_for_app

pytestmark = pytest.mark.browser


def test_energy_tab_shows_lines_range_and_method(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("tab", name="Energy & CO2").click()
    page.wait_for_timeout(300)
    wait_for_app(page)
    chart = page.locator(".js-plotly-plot").filter(has_text="kWh per month").first
    chart.wait_for()
    legend = chart.locator(".legend").text_content()
    for name in ("GPUs serving", "GPUs idle", "Host", "Facility overhead", "Embodied", "range"):
        assert name in legend
    # one range mark (error bar) per self-hosted option and side
    assert chart.locator(".errorbar").count() >= 2
    main = page.locator('[data-testid="stMainBlockContainer"]').inner_text()
    assert "location-based, 2025 grid average" in main
    assert "bursty traffic" in main
    element_screenshot(chart, "compare-energy-chart")
