"""What a person does, in headless Chromium against ``streamlit run app.py``: load the app, change
the traffic and watch the cost move, download the CSV, open the share link in a new page and see
the same numbers; every page screenshotted (test-artifacts/screenshots/), at desktop and phone
width."""

from __future__ import annotations

import io
import json
import re

import openpyxl
import pandas as pd
import pytest
from browser_support import (
    DEFAULT_TIMEOUT_MS,
    element_screenshot,
    full_height_screenshot,
    open_downloads,
    rerun_after,
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


def test_edit_download_and_share(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    before = monthly_costs(page)
    # the workstation is priced from a component estimate (local_hardware.csv), never "$0"
    assert before["API"] == "$1,460" and dollars(before["On-prem"]) > 0
    assert "Cheapest that fits" in page.locator('[data-testid="stMainBlockContainer"]').inner_text()

    traffic = page.locator('[data-testid="stNumberInput"] input[aria-label="Requests per day"]')
    traffic.fill("1000000")
    rerun_after(page, lambda: traffic.press("Enter"))
    page.wait_for_url(re.compile(r"rpd=1000000"), timeout=DEFAULT_TIMEOUT_MS)
    after = monthly_costs(page)
    assert dollars(after["API"]) == pytest.approx(5 * dollars(before["API"]))
    assert dollars(after["SLM"]) > dollars(before["SLM"])
    full_height_screenshot(page, "compare")
    page.get_by_role("tab", name="Cost vs traffic").click()
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=DEFAULT_TIMEOUT_MS)
    wait_for_app(page)
    element_screenshot(page.locator('[data-testid="stTabs"]'), "compare-cost-vs-traffic")

    open_downloads(page)  # the files sit in a menu, drawn when it opens
    with page.expect_download(timeout=DEFAULT_TIMEOUT_MS) as download_info:
        page.get_by_role("button", name="Comparison (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "support-bot-comparison.csv"
    text = download.path().read_text(encoding="utf-8")
    comments = [line for line in text.splitlines() if line.startswith("# ")]
    assert comments[0] == "# planner comparison: support-bot"
    # at 1M requests/day the estimated workstations ($1.4k) undercut the API ($7.3k)
    assert "Cheapest that fits, is fully priced and meets the SLOs: On-prem" in text
    scenario_json = next(c for c in comments if c.startswith("# Scenario (JSON): "))
    assert json.loads(scenario_json.removeprefix("# Scenario (JSON): "))["workload"][
        "requests_per_day"] == 1000000
    dates = re.search(r"oldest price dated (\d{4}-\d\d-\d\d), newest (\d{4}-\d\d-\d\d)", text)
    assert dates and dates.group(1) <= dates.group(2)
    assert any(c.startswith("# Share link: http") and "rpd=1000000" in c for c in comments)
    table = pd.read_csv(io.StringIO(text), comment="#")  # one tidy table
    monthly = table.groupby("Option", sort=False)["Monthly amount (USD)"].sum(min_count=1)
    assert list(monthly.index) == ["SLM", "LLM", "On-prem", "API"]
    assert monthly["API"] == pytest.approx(7300, abs=0.01)  # 5 x $1,460 at 5x the traffic
    on_prem = table[table["Option"] == "On-prem"]
    assert on_prem["Monthly amount (USD)"].notna().all()
    assert (on_prem["Status"] == "estimate").any()  # the estimated purchase price says so
    assert set(table[table["Option"] == "API"]["Category"]) == {"Input tokens", "Output tokens"}

    with page.expect_download(timeout=DEFAULT_TIMEOUT_MS) as download_info:
        page.get_by_role("button", name="Workbook (Excel)").click()
    download = download_info.value
    assert download.suggested_filename == "support-bot-comparison.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(download.path().read_bytes()))
    assert workbook.sheetnames == ["Summary", "Cost lines", "12-month projection",
                                   "Energy and CO2", "Assumptions", "Scenario"]
    assert workbook["Summary"]["A5"].value == "API"
    assert workbook["Summary"]["H5"].value == pytest.approx(7300, abs=0.01)

    # the share link is drawn in a dialog, only when asked for; its reader link says view=summary
    page.locator('[data-testid="stMainBlockContainer"]').get_by_role(
        "button", name="Share this scenario").click()
    codes = page.locator('[data-testid="stDialog"] [data-testid="stCode"]')
    codes.nth(1).wait_for()
    link, reader = (codes.nth(i).inner_text().strip() for i in range(2))
    assert reader == f"{link}&view=summary"
    page.keyboard.press("Escape")
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


def test_own_hardware_tco_from_a_link_and_its_editor_defaults(page, app_url):
    from planner.io.sharelink import encode_scenario, to_query_string
    from ui.presets import default_scenario

    page.goto(app_url)
    wait_for_app(page)
    before = dollars(monthly_costs(page)["On-prem"])
    scenario = default_scenario()
    on_prem = scenario.deployments[2]
    colo = on_prem.model_copy(update={"target": on_prem.target.model_copy(update={
        "hosting": "colocation", "staff_hours_per_month": 10.0, "staff_usd_per_hour": 80.0})})
    scenario = scenario.model_copy(update={"deployments": (
        *scenario.deployments[:2], colo, *scenario.deployments[3:])})
    page.goto(f"{app_url}/?{to_query_string(encode_scenario(scenario))}")
    wait_for_app(page)
    after = dollars(monthly_costs(page)["On-prem"])
    # 2 workstations x 0.81 kW (360 W host + 450 W RTX 4090) x $184.06/kW-month (CBRE) + 10 h x $80
    assert after == pytest.approx(before + 2 * 0.81 * 184.06 + 800, abs=2)
    page.locator('[data-testid="stExpander"] summary').filter(has_text="On-prem").first.click()
    wait_for_app(page)
    support = page.locator('input[aria-label="Support and maintenance per year (share of price)"]')
    support.wait_for(timeout=DEFAULT_TIMEOUT_MS)
    assert support.get_attribute("placeholder") == "default 0.1"  # data/onprem_costs.csv
    staff = page.locator('input[aria-label="Staff hours per month"]')
    assert float(staff.input_value()) == pytest.approx(10.0)
