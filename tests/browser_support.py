"""Browser-test plumbing: the dashboard under ``streamlit run`` on a free localhost port, and
Debian's headless Chromium driven by Playwright (Playwright's own browser download is never used).

Import the fixtures into a test module (``from browser_support import app_url_fixture, ...``);
they are registered under the names ``app_url``, ``browser`` and ``page``.
Without /usr/bin/chromium the browser tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SERVER_START_TIMEOUT_S = 60
DEFAULT_TIMEOUT_MS = 60_000  # generous: CI runs two browser workers on two cores


def require_chromium() -> None:
    """Skip without Chromium, but fail loudly in CI, where browser tests must run."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} not found: install Debian's chromium package (scripts/test.sh does)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " — browser tests never skip under CI=true", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before serving")
        with contextlib.suppress(OSError), urllib.request.urlopen(
                f"{url}/_stcore/health", timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health within {timeout_s} s")


@contextlib.contextmanager
def streamlit_process(app: Path = ROOT / "app.py") -> Iterator[tuple[str, subprocess.Popen]]:
    """Run ``streamlit run app.py`` on a free port; yield its URL and process; stop it
    afterwards."""
    port = free_port()
    log = (ROOT / "test-artifacts")
    log.mkdir(parents=True, exist_ok=True)
    with (log / f"streamlit-server-{port}.log").open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_health(url, process, SERVER_START_TIMEOUT_S)
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextlib.contextmanager
def streamlit_server(app: Path = ROOT / "app.py") -> Iterator[str]:
    """:func:`streamlit_process`, yielding only the URL."""
    with streamlit_process(app) as (url, _):
        yield url


@pytest.fixture(scope="session", name="app_url")
def app_url_fixture() -> Iterator[str]:
    require_chromium()
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="session", name="browser")
def browser_fixture(app_url: str):  # app_url first: skip/fail before importing Playwright
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                      headless=True, timeout=30_000)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(name="page")
def page_fixture(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG under test-artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, timeout=DEFAULT_TIMEOUT_MS)
    return path


def element_screenshot(locator, name: str) -> Path:
    """Screenshot of one element (e.g. a chart's tabs) under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    locator.screenshot(path=str(path), timeout=DEFAULT_TIMEOUT_MS)
    return path


# The page is drawn: the script is not running, no element is still a loading skeleton, and a
# new session's first view (ui/first_view.py) has given way to the whole page. Also the load
# test's idea of an idle page (benchmarks/load_test.py).
SETTLED_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stSkeleton"]')
        && !document.querySelector('.st-key-first_view');
}"""


def wait_for_app(page, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Wait until Streamlit has run the script and drawn the page: a title is shown, the script
    is not running, no element is still a loading skeleton, and a new session's first view (the
    answer only, ui/first_view.py) has given way to the whole page."""
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout_ms)
    page.wait_for_function(SETTLED_JS, timeout=timeout_ms)


def rerun_after(page, action, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Do ``action`` (an edit), then wait until the script run it started has finished. A fixed
    pause before ``wait_for_app`` can read the page before the run has begun; here an observer
    records every change of the app's script state, so a run is seen however short it was."""
    page.evaluate(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            window.__sawRun = false;
            if (window.__runObserver) window.__runObserver.disconnect();
            window.__runObserver = new MutationObserver(records => {
                if (records.some(r => r.oldValue === 'running')
                        || app.getAttribute('data-test-script-state') === 'running') {
                    window.__sawRun = true;
                }
            });
            window.__runObserver.observe(app, {attributes: true, attributeOldValue: true,
                                               attributeFilter: ['data-test-script-state']});
        }""")
    action()
    page.wait_for_function("() => window.__sawRun === true", timeout=timeout_ms)
    wait_for_app(page, timeout_ms)


def full_height_screenshot(page, name: str) -> Path:
    """Screenshot of the whole page: Streamlit scrolls inside its main area, so the viewport is
    stretched to the content's height for the shot and restored afterwards."""
    size = page.viewport_size
    height = page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]');
            const sidebar = document.querySelector('[data-testid="stSidebar"]');
            const content = document.querySelector('[data-testid="stSidebarContent"]');
            const sidebarShown = sidebar && content && sidebar.getBoundingClientRect().right > 0;
            return Math.max(main ? main.scrollHeight : 0, sidebarShown ? content.scrollHeight : 0);
        }""")
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 12_000)})
    try:
        page.wait_for_timeout(300)
        return screenshot(page, name, full_page=False)
    finally:
        page.set_viewport_size(size)


def open_sidebar_section(page, title: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Open the editor's section whose title holds ``title`` (its widgets are drawn only once it
    is open) and wait for them. Waited for by what the run draws: ``rerun_after``'s observer has
    missed such short runs on a busy machine (the page may never show them as running)."""
    section = page.locator('[data-testid="stSidebar"] [data-testid="stExpander"]').filter(
        has=page.locator("summary", has_text=title)).first
    section.locator("summary").click()
    section.locator('[data-testid="stExpanderDetails"] [data-testid="stElementContainer"]') \
        .first.wait_for(state="visible", timeout=timeout_ms)
    wait_for_app(page, timeout_ms)


def open_downloads(page, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Open Compare's download menu (its buttons are drawn when it opens) and wait for them."""
    menu = page.locator('[data-testid="stMainBlockContainer"] [data-testid="stPopover"]').filter(
        has_text="Download").first
    menu.get_by_role("button").first.click()
    # the buttons come with the run the opening starts: waited for by what that run draws
    # (see open_sidebar_section)
    page.locator('[data-testid="stDownloadButton"]').first.wait_for(timeout=timeout_ms)
    wait_for_app(page, timeout_ms)
