"""Deploy & fine-tune and the price refresh in headless Chromium: open the Deploy page, download
the KAITO manifest and parse it, change the dataset and watch the hours move; refresh prices while
the API is unreachable, then from a local server of recorded pages. Screenshots (desktop and
420 px) go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml
from browser_support import (
    DEFAULT_TIMEOUT_MS,
    full_height_screenshot,
    rerun_after,
    streamlit_server,
    wait_for_app,
)
from test_app_deploy import API_PATH, BASE_URL_ENV, recorded_prices_server

from planner.catalog import DATA_DIR, DATA_DIR_ENV, PRICES_FILE, load_catalog

pytestmark = pytest.mark.browser

MAIN = '[data-testid="stMainBlockContainer"]'
REFRESH = "Refresh from the Azure Retail Prices API"


def open_deploy(page, app_url: str) -> None:
    page.goto(app_url)
    wait_for_app(page)
    page.locator('[data-testid="stTopNavLink"]').filter(has_text="Deploy").click()
    page.wait_for_url(re.compile(r"/deploy\b"), timeout=DEFAULT_TIMEOUT_MS)
    wait_for_app(page)


def training_hours(page) -> float:
    card = page.locator('[data-testid="stMetric"]').filter(has_text="Training time")
    value = card.locator('[data-testid="stMetricValue"]').inner_text()
    return float(re.match(r"([\d,.]+) h", value.strip()).group(1).replace(",", ""))


def no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_download_the_kaito_workspace_and_estimate_a_fine_tune(page, app_url):
    open_deploy(page, app_url)
    assert page.locator('[data-testid="stException"]').count() == 0
    main = page.locator(MAIN)
    assert "Deploy on AKS with KAITO" in main.inner_text()

    with page.expect_download(timeout=DEFAULT_TIMEOUT_MS) as download_info:
        page.get_by_role("button", name="Download KAITO manifest (YAML)").first.click()
    download = download_info.value
    assert download.suggested_filename == "workspace-slm.yaml"
    manifest = yaml.safe_load(download.path().read_text(encoding="utf-8"))
    # the SLM's two replicas are an InferenceSet (kaito.sh/v1beta1) of two Workspaces
    assert manifest["kind"] == "InferenceSet" and manifest["spec"]["replicas"] == 2
    template = manifest["spec"]["template"]
    assert template["resource"]["instanceType"] == "Standard_NC24ads_A100_v4"
    assert template["inference"]["preset"]["name"] == "phi-3-mini-4k-instruct"

    before = training_hours(page)
    examples = page.locator('[data-testid="stNumberInput"] input[aria-label="Dataset examples"]')
    examples.fill("80000")
    rerun_after(page, lambda: examples.press("Enter"))
    assert training_hours(page) == pytest.approx(4 * before, rel=0.02)
    full_height_screenshot(page, "deploy")
    page.get_by_role("tab", name="LLM").click()
    wait_for_app(page)
    assert "KAITO has no preset for Meta Llama 3 70B" in main.inner_text()
    full_height_screenshot(page, "deploy-llm-tab")

    page.set_viewport_size({"width": 420, "height": 900})
    page.reload()
    wait_for_app(page)
    assert no_sideways_scroll(page)
    full_height_screenshot(page, "deploy-narrow-420px")


def test_price_refresh_offline_then_online(page, tmp_path, monkeypatch):
    """Its own dashboard on a copy of data/, pointed at a local server of recorded pages: while
    the server drops connections the refresh says it is offline and leaves the copy alone; once
    it answers, the copy is rewritten and the page shows what changed."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    snapshot = data / PRICES_FILE
    before = snapshot.read_bytes()
    monkeypatch.setenv(DATA_DIR_ENV, str(data))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("PLANNER_ALLOW_PRICE_REFRESH", "1")  # the operator's server
    with recorded_prices_server() as api:
        monkeypatch.setenv(BASE_URL_ENV, api.origin + API_PATH)
        api.down = True
        with streamlit_server() as url:
            page.goto(f"{url}/catalog")
            wait_for_app(page)
            page.get_by_role("tab", name="Prices").click()
            age = page.locator('[data-testid="stMetric"]').filter(has_text="Age of oldest price")
            assert re.search(r"[\d,]+ days", age.inner_text())
            regions = page.locator('[data-testid="stMultiSelect"]').filter(
                has_text="Regions to refresh")
            regions.get_by_role("button", name="Clear all").click()  # then pick eastus only
            wait_for_app(page)
            regions.locator("input").fill("eastus")
            regions.locator("input").press("Enter")
            page.keyboard.press("Escape")
            wait_for_app(page)

            page.get_by_role("button", name=REFRESH).click()
            offline = page.locator('[data-testid="stAlertContentWarning"]').filter(
                has_text="Offline")
            offline.wait_for(timeout=DEFAULT_TIMEOUT_MS)
            wait_for_app(page)
            assert "could not be reached" in offline.inner_text()
            assert snapshot.read_bytes() == before
            full_height_screenshot(page, "catalog-prices-offline")

            api.down = False
            page.get_by_role("button", name=REFRESH).click()
            done = page.locator('[data-testid="stAlertContentSuccess"]')
            done.wait_for(timeout=DEFAULT_TIMEOUT_MS)
            wait_for_app(page)
            assert "Prices refreshed for eastus" in done.inner_text()
            assert page.locator('[data-testid="stException"]').count() == 0
            full_height_screenshot(page, "catalog-prices-refreshed")
            page.set_viewport_size({"width": 420, "height": 900})
            page.wait_for_timeout(300)
            assert no_sideways_scroll(page)
            full_height_screenshot(page, "catalog-prices-refreshed-420px")
    assert snapshot.read_bytes() != before
    assert load_catalog(data).price("Standard_NC24ads_A100_v4", "eastus", "savings-1y")
