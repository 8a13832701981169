"""What a person does, in headless Chromium against ``streamlit run app.py``: load the app, change
the traffic and watch the cost move, download the CSV, open the share link in a new page and see
the same numbers; every page screenshotted (test-artifacts/screenshots/), at desktop and phone
width."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from browser_support import (
    DEFAULT_TIMEOUT_MS,
    element_screenshot,
    full_height_screenshot,
    wait_for_app,
)

pytestmark = pytest.mark.browser

METRIC = '[data-testid="stMetric"]'


def monthly_costs(tab) -> dict[str, str]:
    """{'SLM': '$5,601', ...} from the monthly-cost cards."""
    out = {}
    for card in tab.locator(METRIC).all():
        label = card.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        if label.endswith("monthly cost"):
            value = card.locator('[data-testid="stMetricValue"]').inner_text().strip()
            out[label.removesuffix("· monthly cost").strip()] = value
    return out


def dollars(text: str) -> float:
    return float(re.search(r"\$([\d,.]+)", text).group(1).replace(",", ""))


def rerun_done(tab) -> None:
    """Wait for the rerun an edit started, then for it to finish."""
    tab.wait_for_timeout(200)
    wait_for_app(tab)


def test_edit_download_and_share(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    before = monthly_costs(page)
    assert before["API"] == "$1,460" and before["On-prem"] == "price missing"
    assert "Cheapest that fits" in page.locator('[data-testid="stMainBlockContainer"]').inner_text()

    traffic = page.locator('[data-testid="stNumberInput"] input[aria-label="Requests per day"]')
    traffic.fill("1000000")
    traffic.press("Enter")
    page.wait_for_url(re.compile(r"rpd=1000000"), timeout=DEFAULT_TIMEOUT_MS)
    rerun_done(page)
    after = monthly_costs(page)
    assert dollars(after["API"]) == pytest.approx(5 * dollars(before["API"]))
    assert dollars(after["SLM"]) > dollars(before["SLM"])
    full_height_screenshot(page, "compare")
    page.get_by_role("tab", name="Cost vs traffic").click()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=DEFAULT_TIMEOUT_MS)
    wait_for_app(page)
    element_screenshot(page.locator('[data-testid="stTabs"]'), "compare-cost-vs-traffic")

    with page.expect_download(timeout=DEFAULT_TIMEOUT_MS) as download_info:
        page.get_by_role("button", name="Download comparison (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "support-bot-comparison.csv"
    rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    meta = {r[0]: r[1] for r in rows[:5]}  # name, oldest and newest price date, cheapest, scenario
    assert meta["scenario_name"] == "support-bot" and meta["cheapest"] == "API"
    assert json.loads(meta["scenario_json"])["workload"]["requests_per_day"] == 1000000
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", meta["oldest_price_date"])
    assert meta["oldest_price_date"] <= meta["newest_price_date"]
    header = rows.index(next(r for r in rows if r and r[0] == "label"))
    end = rows.index([], header)
    deployments = {r[0]: r for r in rows[header + 1:end]}
    assert list(deployments) == ["SLM", "LLM", "On-prem", "API"]
    cost_col = rows[header].index("monthly_cost_usd")
    assert float(deployments["API"][cost_col]) == pytest.approx(7300)
    assert deployments["On-prem"][cost_col] == ""  # missing, not 0
    lines_header = next(i for i, r in enumerate(rows) if r[:2] == ["label", "cost_line"])
    cost_lines = [r for r in rows[lines_header + 1:] if r]
    assert {r[0] for r in cost_lines} == {"SLM", "LLM", "On-prem", "API"}
    status_col = rows[lines_header].index("price_status")
    assert any(r[status_col] == "missing" for r in cost_lines if r[0] == "On-prem")

    link = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stCode"]').inner_text()
    link = link.strip()
    assert link.startswith(app_url) and "rpd=1000000" in link
    assert link.split("?", 1)[1] == page.url.split("?", 1)[1]
    other = page.context.new_page()
    other.goto(link)
    wait_for_app(other)
    assert monthly_costs(other) == after
    assert other.locator('[data-testid="stAlertContentWarning"]').count() == 0
    other.close()


def test_every_page_desktop_and_narrow(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    for title, name in [("Capacity", "capacity"), ("Catalog", "catalog"),
                        ("Methodology", "methodology")]:
        page.locator('[data-testid="stTopNavLink"]').filter(has_text=title).click()
        page.wait_for_url(re.compile(rf"/{name}\b"), timeout=DEFAULT_TIMEOUT_MS)
        wait_for_app(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "rpd=200000" in page.url  # the link survives page changes
        full_height_screenshot(page, name)

    page.set_viewport_size({"width": 420, "height": 900})
    page.goto(app_url)
    wait_for_app(page)
    assert monthly_costs(page)["API"] == "$1,460"
    no_sideways_scroll = page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert no_sideways_scroll
    full_height_screenshot(page, "compare-narrow-420px")


def test_tampered_link_explains_itself(page, app_url):
    page.goto(f"{app_url}/?rpd=lots&d=Mine~gpt-4o~fp16~vllm~api&d=Broken~nomodel&hack=1")
    wait_for_app(page)
    warning = page.locator('[data-testid="stAlertContentWarning"]').first.inner_text()
    assert "rpd" in warning and "hack" in warning and "Deployment 2" in warning
    assert page.locator('[data-testid="stException"]').count() == 0
    assert list(monthly_costs(page)) == ["Mine"]
    page.wait_for_url(re.compile(r"rpd=100000"), timeout=DEFAULT_TIMEOUT_MS)  # repaired link
    full_height_screenshot(page, "tampered-link")
