"""Loading a scenario file in the browser: a good file replaces the scenario (and the link);
a bad one is refused with its problem and the current scenario stays."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_support import (
    DEFAULT_TIMEOUT_MS,
    screenshot,
    wait_for_app,
)

pytestmark = pytest.mark.browser
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def open_uploader(page):
    page.get_by_text("Load a scenario file").click()
    return scenario_input(page)


def scenario_input(page):
    """The scenario file's input (the editor has another uploader, for hourly traffic)."""
    return page.get_by_role("region", name=re.compile("Scenario file")).get_by_test_id(
        "stFileUploaderDropzoneInput")


def test_upload_good_and_bad_scenario_files(page, app_url, tmp_path):
    page.goto(app_url)
    wait_for_app(page)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    assert "support-bot" in main.inner_text()

    bad = tmp_path / "bad.json"
    bad.write_text('{"deployments": [{"label": "x", "model": "gpt-9", "target": {"kind": "api"}}]}')
    open_uploader(page).set_input_files(str(bad))
    page.get_by_text("Not loaded").wait_for(timeout=DEFAULT_TIMEOUT_MS)
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "deployments[0].model" in sidebar and "unchanged" in sidebar
    assert "support-bot" in main.inner_text()

    scenario_input(page).set_input_files(
        str(EXAMPLES / "document-summarisation.yaml"))
    page.wait_for_url(re.compile(r"name=document-summarisation"), timeout=DEFAULT_TIMEOUT_MS)
    wait_for_app(page)
    assert "document-summarisation" in main.inner_text()
    screenshot(page, "upload-loaded")
