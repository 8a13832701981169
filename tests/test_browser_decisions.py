"""Compare in headless Chromium: a business-hours shape with the cluster autoscaler, opened from a
share link, shows each option's 12-month total and cost range, and the link the page writes back
holds the same shape and policy."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_support import (
    DEFAULT_TIMEOUT_MS,
    full_height_screenshot,
    open_sidebar_section,
    wait_for_app,
)

from planner.io.sharelink import decode_query_string, encode_scenario, to_query_string
from planner.scenario import load_scenario

pytestmark = pytest.mark.browser
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support-bot-business-hours.json"
METRIC = '[data-testid="stMetric"]'


def test_compare_shows_year_and_range_and_the_link_keeps_shape_and_policy(page, app_url,
                                                                          catalog):
    scenario = load_scenario(EXAMPLE)
    query = to_query_string(encode_scenario(scenario))
    assert "shape=business-hours" in query and "scale_autoscale" in query
    page.goto(f"{app_url}/?{query}")
    wait_for_app(page)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    assert "Compare" in main.locator("h1").first.inner_text()
    texts = {}
    for metric in page.locator(METRIC).all():
        label = metric.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        if label.endswith("monthly cost"):  # the card is the metric's enclosing block
            card = metric.locator("xpath=ancestor::div[@data-testid='stVerticalBlock'][1]")
            texts[label.removesuffix("· monthly cost").strip()] = card.inner_text()
    assert set(texts) == {d.label for d in scenario.deployments}
    for label, text in texts.items():
        assert "12 months: $" in text, (label, text)
        assert "range $" in text, (label, text)
    assert "autoscale:" in texts["SLM"] and "node-hours" in texts["SLM"]
    page.get_by_role("tab", name="Cost over 12 months").click()
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.wait_for(timeout=DEFAULT_TIMEOUT_MS)
    assert "next 12 months" in chart.inner_text()
    full_height_screenshot(page, "compare-business-hours")
    # the address bar's link is the scenario: shape and policy survive the round trip
    decoded, messages = decode_query_string(urlsplit(page.url).query, catalog)
    assert messages == []
    assert decoded.workload.traffic_shape == "business-hours"
    assert decoded.workload.utc_offset_hours == -5
    assert [d.scaling for d in decoded.deployments] == [d.scaling for d in scenario.deployments]
    assert decoded == scenario


def test_hourly_csv_upload_sets_a_custom_shape_and_a_bad_file_changes_nothing(page, app_url,
                                                                            catalog, tmp_path):
    page.goto(app_url)
    wait_for_app(page)
    open_sidebar_section(page, "Traffic over the day")
    hourly = page.get_by_role("region", name=re.compile("Hourly traffic")).get_by_test_id(
        "stFileUploaderDropzoneInput")
    before = urlsplit(page.url).query

    bad = tmp_path / "bad-hours.csv"
    bad.write_text("hour,requests\n" + "".join(f"{h},{10}\n" for h in range(23)))  # no hour 23
    hourly.set_input_files(str(bad))
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("no value for hour(s) 23").wait_for(timeout=DEFAULT_TIMEOUT_MS)
    wait_for_app(page)
    assert "shape=custom" not in page.url and urlsplit(page.url).query == before

    # a business day in 24 rows: 5 requests an hour overnight, 40 from 09:00 to 17:00
    good = tmp_path / "hours.csv"
    counts = [40 if 9 <= h < 17 else 5 for h in range(24)]
    good.write_text("hour,requests\n" + "".join(f"{h},{c}\n" for h, c in enumerate(counts)))
    hourly.set_input_files(str(good))
    page.wait_for_url(re.compile(r"shape=custom"), timeout=DEFAULT_TIMEOUT_MS)
    wait_for_app(page)
    decoded, messages = decode_query_string(urlsplit(page.url).query, catalog)
    assert messages == []
    assert decoded.workload.traffic_shape == "custom"
    assert list(decoded.workload.hourly_requests) == counts
    # the selectbox now names the uploaded shape
    shape_box = sidebar.locator('[data-testid="stSelectbox"]').filter(
        has_text="Traffic over the day")
    assert shape_box.locator("input").input_value() == "custom (your hourly CSV)"
    # and it stays the scenario's shape through the next edit
    rpd = sidebar.locator('[data-testid="stNumberInput"] input[aria-label="Requests per day"]')
    rpd.fill("150000")
    rpd.press("Enter")
    page.wait_for_url(re.compile(r"rpd=150000"), timeout=DEFAULT_TIMEOUT_MS)
    wait_for_app(page)
    assert "shape=custom" in page.url
    assert shape_box.locator("input").input_value() == "custom (your hourly CSV)"
