"""How fast the dashboard answers one person, measured in Chromium. Prints figures; asserts nothing.

    python benchmarks/page_speed.py [--opens 5] [--edits 10] [--switches 10]

Starts ``streamlit run app.py`` on a free localhost port and drives Debian's headless Chromium
with Playwright (never a downloaded browser):

* **first open after start**: a new tab opens the app on a server that has served nothing yet;
* **open to first numbers, warm**: a new tab (a new session) opens the app on the warmed
  server; timed from navigation to the first monthly cost on the Compare page, and to the page
  being settled (script finished, no skeleton, the first view replaced by the whole page). The
  first cost is timed twice: by the page's own clock, the animation frame that first shows it
  (an observer in the page notes when the element appears and the frame after it), and when
  Playwright, polling from outside, sees it; the second is later whenever the page is busy
  drawing what follows the numbers;
* **reference**: between those opens, the same browser opens a title-and-metric Streamlit app on a
  second server (same theme and settings), the floor any Streamlit page pays on this machine;
  printed with the planner's ratio to it, which carries over better than seconds when the
  machine is shared;
* **edit to new numbers**: the person types another "Requests per day" in the sidebar; timed
  from the keypress to a monthly cost on the Compare page showing its new value;
* **tab switches**: Compare's chart tabs (Cost breakdown <-> Cost by line) and the Catalog's tables
  (GPUs <-> Models), each a fragment: from the click to the tab's content shown, and the
  server's CPU per switch (utime + stime of its process tree over the switches; its idle
  polling included);
* **Advisor**: opening the page to its answer line, and a change of the search space (the
  quality floor) to the new answer, with no button.

The machine is shared, so the best and the median of several runs are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from browser_support import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    streamlit_process,
    streamlit_server,
    wait_for_app,
)
from load_common import tree_cpu_seconds  # noqa: E402

MAIN = '[data-testid="stMainBlockContainer"]'
FIRST_COST = f'{MAIN} [data-testid="stMetric"] [data-testid="stMetricValue"]'
TIMEOUT_MS = 120_000
ANSWER_JS = """() => {
    const text = document.querySelector('[data-testid="stMainBlockContainer"]')?.innerText || '';
    const m = text.match(/Cheapest that meets the SLOs: ([^\\n]+)/);
    return m ? m[1] : null;
}"""


def _settled(page) -> None:
    wait_for_app(page, TIMEOUT_MS)


COSTS_JS = """(sel) => [...document.querySelectorAll(sel)].map(e => e.innerText).join('|')"""


def _costs(page) -> str:
    """Every monthly cost on the page, as one string (an edit moves at least one of them)."""
    return page.evaluate(COSTS_JS, FIRST_COST)


# In the page: the time (ms from navigation start) of the first animation frame in which a
# monthly cost is in the document, i.e. the frame that paints it.
PAINTED_JS = f"""(() => {{
    window.__costPainted = null;
    const seen = new MutationObserver(() => {{
        if (!document.querySelector('{FIRST_COST}')) return;
        seen.disconnect();
        requestAnimationFrame(t => {{ window.__costPainted = t; }});
    }});
    seen.observe(document, {{subtree: true, childList: true}});
}})();"""


def _open(browser, url: str) -> tuple[float, float, float, object]:
    """(seconds to the frame that paints the first monthly cost, by the page's clock; seconds
    until Playwright sees it; seconds to a settled page; the tab)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(PAINTED_JS)
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.locator(FIRST_COST).first.wait_for(timeout=TIMEOUT_MS)
    seen = time.perf_counter() - start
    _settled(page)
    settled = time.perf_counter() - start
    painted = page.evaluate("window.__costPainted") / 1000
    return painted, seen, settled, page


def _edit(page, value: int) -> float:
    """Type ``value`` as the requests per day; seconds until a monthly cost changes."""
    before = _costs(page)
    box = page.get_by_role("spinbutton", name="Requests per day")
    box.fill(str(value))
    start = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(
        f"""([sel, before]) => {{ const now = ({COSTS_JS})(sel);
            return now && now !== before; }}""", arg=[FIRST_COST, before], timeout=TIMEOUT_MS)
    seconds = time.perf_counter() - start
    _settled(page)
    return seconds


def _advisor(page, url: str) -> tuple[float, float]:
    """(seconds from opening the Advisor to its answer, seconds from a new quality floor to the
    new answer)."""
    start = time.perf_counter()
    page.goto(f"{url}/advisor")
    page.wait_for_function(ANSWER_JS, timeout=TIMEOUT_MS)
    opened = time.perf_counter() - start
    _settled(page)
    before = page.evaluate(ANSWER_JS)
    slider = page.locator(f'{MAIN} [data-testid="stSlider"] input[type="range"]').first
    slider.focus()
    start = time.perf_counter()
    for _ in range(70 - int(slider.input_value())):  # the scenario's floor -> 70, a point a press
        slider.press("ArrowRight")
    page.wait_for_function(
        f"(before) => {{ const now = ({ANSWER_JS})(); return now && now !== before; }}",
        arg=before, timeout=TIMEOUT_MS)
    changed = time.perf_counter() - start
    _settled(page)
    return opened, changed


# Views switched back and forth: (name, page path, ((tab, a selector of what it shows) x 2)).
TAB_VIEWS = (
    ("Compare's chart tabs", "", (
        ("Cost breakdown", '[data-testid="stTabs"] [data-testid="stPlotlyChart"]'),
        ("Cost by line", '[data-testid="stTabs"] [data-testid="stDataFrame"]'))),
    ("Catalog's tables", "/catalog", (
        ("GPUs", ".st-key-filter-gpus"), ("Models", ".st-key-filter-models"))),
)


def _tab_switches(page, url: str, pid: int, path: str, tabs, n: int) -> tuple[list[float], float]:
    """Seconds from a click on a tab to its content shown, for ``n`` switches back and forth,
    and the server's CPU-seconds per switch (its idle polling included)."""
    page.goto(f"{url}{path}")
    _settled(page)
    for name, shows in tabs:  # each once, unmeasured: the chart library loads with the first chart
        page.get_by_role("tab", name=name).click()
        page.locator(shows).first.wait_for(state="visible", timeout=TIMEOUT_MS)
        _settled(page)
    times = []
    cpu_before = tree_cpu_seconds(pid)
    for i in range(n):
        name, shows = tabs[i % 2]
        start = time.perf_counter()
        page.get_by_role("tab", name=name).click()
        page.locator(shows).first.wait_for(state="visible", timeout=TIMEOUT_MS)
        times.append(time.perf_counter() - start)
        _settled(page)
    return times, (tree_cpu_seconds(pid) - cpu_before) / n


REFERENCE_APP = '''import streamlit as st
st.title("Reference", anchor=False)
st.metric("Reference · monthly cost", "$1,000")
'''


def _summary(name: str, values: list[float]) -> str:
    return (f"  {name}: best {min(values):.2f} s, median {statistics.median(values):.2f} s "
            f"({len(values)} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--opens", type=int, default=5)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--switches", type=int, default=10)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} not found: install Debian's chromium package")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        reference = Path(tmp) / "reference_app.py"
        reference.write_text(REFERENCE_APP, encoding="utf-8")
        with streamlit_process() as (url, server), streamlit_server(reference) as ref_url, \
                sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                         headless=True)
            try:
                _measure(browser, url, server.pid, ref_url, args, PlaywrightTimeout)
            finally:
                browser.close()


def _measure(browser, url: str, pid: int, ref_url: str, args, timeout_error) -> None:
    painted, seen, settled, page = _open(browser, url)
    print(f"first open after start: first numbers painted {painted:.2f} s (seen {seen:.2f} s), "
          f"settled {settled:.2f} s")
    page.context.close()
    _open(browser, ref_url)[-1].context.close()  # the reference server's first open, unmeasured
    paints, seens, settles, ref_paints, ref_seens = [], [], [], [], []
    for _ in range(args.opens):  # alternated, so both see the same machine
        ref_painted, ref_seen, _, page = _open(browser, ref_url)
        ref_paints.append(ref_painted)
        ref_seens.append(ref_seen)
        page.context.close()
        painted, seen, settled, page = _open(browser, url)
        paints.append(painted)
        seens.append(seen)
        settles.append(settled)
        page.context.close()
    print("open to first numbers (warm server, new session each time):")
    print(_summary("first monthly cost painted (page's clock)", paints))
    print(_summary("first monthly cost seen by Playwright", seens))
    print(_summary("page settled (whole page drawn)", settles))
    print(_summary("reference one-metric app, its metric painted", ref_paints))
    print(_summary("reference one-metric app, its metric seen by Playwright", ref_seens))
    print(f"  planner / reference, painted: x{statistics.median(paints) / statistics.median(ref_paints):.2f} "
          f"(medians), x{min(paints) / min(ref_paints):.2f} (bests)")
    *_, page = _open(browser, url)
    edits = [_edit(page, 150_000 + 25_000 * (i % 7) + 1_000 * i) for i in range(args.edits)]
    print("edit to new numbers (requests per day typed in the sidebar, Compare page):")
    print(_summary("new monthly cost shown", edits))
    print("tab switches (a view of the page changed without the rest: an st.fragment's run):")
    for name, path, tabs in TAB_VIEWS:
        times, cpu_s = _tab_switches(page, url, pid, path, tabs, args.switches)
        print(_summary(f"{name}, click to the tab's content shown", times)
              + f"; server CPU {cpu_s * 1000:.1f} ms per switch")
    print("", flush=True)
    print("Advisor (no button):")
    try:
        opened, changed = zip(*(_advisor(page, url) for _ in range(3)), strict=True)
    except timeout_error as exc:
        print(f"  not measured: {str(exc).splitlines()[0]}")
    else:
        print(_summary("open to the answer", list(opened)))
        print(_summary("quality floor raised to 70 -> the new answer", list(changed)))
    page.context.close()


if __name__ == "__main__":
    main()
