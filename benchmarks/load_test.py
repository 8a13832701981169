"""Load test of the dashboard: concurrent browser sessions against one ``streamlit run app.py``.

    python benchmarks/load_test.py [--sessions 8] [--duration 60] [--iterations K] [--think 1.0]
                                   [--ramp 10] [--timeout 20] [--nice 10] [--seed 0] [--json FILE]

Starts one Streamlit server on a free 127.0.0.1 port (headless, no file watcher), launches Debian's
Chromium (/usr/bin/chromium, headless; Playwright's own browsers are never used) once, and drives
N browser contexts from one asyncio loop (N contexts in one Chromium are much lighter than N
browsers). Each session is one user; the sessions start evenly spread over ``--ramp`` seconds:

=========  ==========================================================================
load       a fresh context opens the app (odd sessions with a share-link query string carrying
           their own requests/day) -> the Compare page's answer and monthly-cost cards shown
=========  ==========================================================================

then repeats an iteration until the duration is over or it has done ``--iterations``, pausing a
random 0.5-1.5 x ``--think`` seconds before each action:

=========  ==========================================================================
edit       type a new requests/day into the sidebar -> a monthly-cost card shows a new value
share      (2nd, 6th, 10th... iteration) open the Compare page's share link (its "Share this
           scenario" dialog) in a new tab -> the same costs shown; the tab is closed
capacity   click "Capacity" in the top navigation -> its title shown
catalog    click "Catalog" -> its title shown
compare    click "Compare" -> the answer and the cost cards shown
=========  ==========================================================================

Latency is measured from the action to its visible result; "idle" latency runs on until the
Streamlit script has finished and no loading skeleton is left, after which the session goes on.
Only completed actions have latencies. An action fails on a timeout (``--timeout``, default 20 s,
at most 60 s; twice that for the two that open a page, load and share: a fresh page spends seconds
of CPU on the front end's JavaScript), a Streamlit exception box
(``[data-testid="stException"]``), a browser console error or uncaught page error, or a wrong
result (e.g. the share link showing other costs); after a failure the user starts over (the
context is closed and the app opened in a new one).

Prints sessions, the measured window, actions completed, throughput, latency p50/p90/p95/p99/max
per action and overall, errors and error rate, the server's peak RSS (sum of VmHWM over the
streamlit process and its children) and CPU time, the load generator's CPU time and the machine's
load. The load generator (Playwright's driver and Chromium) runs at ``--nice`` 10, so that on a
small machine it does not take CPU from the server it measures. Bounded: at most 16 sessions and
300 s; every wait has a timeout; a watchdog stops the whole run (server included) at duration +
60 s whatever happens. All traffic stays on 127.0.0.1: Chromium resolves no other host name;
requests the page makes elsewhere fail at once and are counted and listed ("blocked"), and their
console messages are not counted as errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # planner and ui, for the share links (see share_query)
sys.path.insert(0, str(Path(__file__).resolve().parent))  # load_common, a sibling
sys.path.insert(0, str(ROOT / "tests"))  # browser_support: when a page counts as drawn

from browser_support import SETTLED_JS  # noqa: E402
from load_common import (  # noqa: E402
    ActionFailed,
    cpu_seconds,
    machine_jiffies,
    ms_text,
    percentile,
    process_tree,
    share_query,
    status_kb,
    stop_process_group,
    streamlit_server,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 # loopback only: every other host name fails to resolve
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
MAX_SESSIONS = 16
MAX_DURATION_S = 300
SLACK_S = 60            # the whole run ends within duration + SLACK_S
DEFAULT_TIMEOUT_S = 20  # per action; --timeout, at most MAX_TIMEOUT_S
MAX_TIMEOUT_S = 60
SERVER_START_TIMEOUT_S = 30
CLEANUP_MARGIN_S = 12   # kept free at the end for closing contexts, browser and server
ACTIONS = ("load", "edit", "capacity", "catalog", "compare", "share")
ACTION_TEXT = {
    "load": "open app -> answer shown",
    "edit": "requests/day -> new cost",
    "capacity": "nav -> Capacity title",
    "catalog": "nav -> Catalog title",
    "compare": "nav -> answer shown",
    "share": "open share link -> costs",
}
# pooled rows of the latency table: opening a page costs the browser seconds of CPU for the
# front end's JavaScript, an action inside an open page does not, so each pool has its own figure
GROUPS = {"in_page": ("edit", "capacity", "catalog", "compare"), "opens": ("load", "share"),
          "all": ACTIONS}
GROUP_TEXT = {"in_page": "in-page (edit, capacity, catalog, compare)",
              "opens": "page opens (load, share)", "all": "all actions"}
PAGE_TITLES = {"capacity": ("Capacity", "Capacity detail"), "catalog": ("Catalog", "Catalog"),
               "compare": ("Compare", "Compare")}

MAIN = '[data-testid="stMainBlockContainer"]'
RPD_INPUT = '[data-testid="stSidebar"] [data-testid="stNumberInput"] input[aria-label="Requests per day"]'
EXCEPTION = '[data-testid="stException"]'
# The Compare page's answer: its title, a bullet per option and the cheapest sentence, and the
# monthly-cost cards. textContent (not innerText) so that polling forces no layout.
COSTS_JS = """() => [...document.querySelectorAll(
        '[data-testid="stMainBlockContainer"] [data-testid="stMetric"]')]
    .filter(m => (m.querySelector('[data-testid="stMetricLabel"]') || {}).textContent
                 ?.includes('monthly cost'))
    .map(m => ((m.querySelector('[data-testid="stMetricValue"]') || {}).textContent || '').trim())
    .join(' | ')"""
ANSWER_JS = f"""() => {{
    const main = document.querySelector('{MAIN}');
    const h1 = main && main.querySelector('h1');
    if (!h1 || !h1.textContent.trim().startsWith('Compare')) return false;
    const answer = [...main.querySelectorAll('[data-testid="stMarkdownContainer"]')].some(
        e => /Cheapest that fits|No option has a complete price/.test(e.textContent));
    return answer && ({COSTS_JS})() !== '';
}}"""
COSTS_CHANGED_JS = f"""(old) => {{
    const now = ({COSTS_JS})();
    return now !== '' && now !== old;
}}"""
TITLE_JS = f"""(title) => {{
    const h1 = document.querySelector('{MAIN} h1');
    return !!h1 && h1.textContent.trim().startsWith(title);
}}"""
IDLE_JS = SETTLED_JS  # script finished, nothing loading, the first view replaced


# --- measurements ----------------------------------------------------------------------------

def summary(values: list[float]) -> dict:
    out: dict = {"n": len(values)}
    for q in (50, 90, 95, 99):
        p = percentile(values, q)
        out[f"p{q}_ms"] = None if p is None else round(p, 1)
    out["max_ms"] = round(max(values), 1) if values else None
    return out


@dataclass
class Stats:
    latency: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    idle: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    attempted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    errors: list[dict] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # URLs of requests off 127.0.0.1
    visits: int = 0                # app opens in a fresh context (one per session, more after errors)
    iterations: int = 0            # iterations started
    iterations_complete: int = 0   # iterations whose every action completed

    def error(self, session: int, iteration: int, action: str, kind: str, message: str) -> None:
        self.errors.append({"session": session, "iteration": iteration, "action": action,
                            "kind": kind,
                            "message": message.strip().splitlines()[0][:300] if message else ""})


# --- /proc readings ----------------------------------------------------------------------------

def load_average() -> float:
    with open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])


class Sampler:
    """Samples the server's summed VmRSS and the 1-min load average every 0.5 s."""

    def __init__(self, pid: int):
        self.pid, self.peak_rss_kb, self.peak_load = pid, 0, load_average()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = sum(status_kb(p, "VmRSS") for p in process_tree(self.pid))
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_load = max(self.peak_load, load_average())
            self._stop.wait(0.5)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


# --- the server --------------------------------------------------------------------------------

# --- the sessions ------------------------------------------------------------------------------

@dataclass
class Run:
    base_url: str
    stats: Stats
    stop_at: float                # no action starts after this (monotonic)
    hard_stop: float              # in-flight actions are cut off here
    iterations: int | None
    think_s: float
    timeout_s: float              # per action
    ramp_s: float                 # session i starts ramp_s * i / sessions after the first
    sessions: int
    current: dict[int, tuple[int, str]] = field(default_factory=dict)  # session: (iteration, action)


OPENS = ("load", "share")  # a fresh page: seconds of CPU for the front end's JavaScript


def action_deadline(name: str, run: Run) -> tuple[float, float]:
    """(deadline, seconds allowed): the action times out ``--timeout`` after its start (twice that
    for opening a page), and never after the hard stop."""
    allowed = run.timeout_s * (2 if name in OPENS else 1)
    deadline = min(time.monotonic() + allowed, run.hard_stop)
    return deadline, deadline - time.monotonic()


def timeoutms_text(ctx: dict) -> float:
    """What is left of the current action's time (Playwright wants at least a little)."""
    return max(100.0, (ctx["deadline"] - time.monotonic()) * 1000)


async def bounded(awaitable, ctx: dict):
    """Await a Playwright call that takes no timeout of its own (evaluate, count, new_page), within
    what is left of the action's time."""
    return await asyncio.wait_for(awaitable, timeout=timeoutms_text(ctx) / 1000)


async def wait_idle(page, ctx: dict) -> None:
    await page.wait_for_function(IDLE_JS, timeout=timeoutms_text(ctx), polling=50)


async def wait_answer(page, ctx: dict) -> None:
    await page.wait_for_function(ANSWER_JS, timeout=timeoutms_text(ctx), polling=50)


async def act(name: str, page, run: Run, rng: random.Random, ctx: dict) -> tuple[float, float]:
    """Do one action; return (ms to its visible result, ms until the app is idle again)."""
    ctx["deadline"], ctx["allowed_s"] = action_deadline(name, run)
    start = time.perf_counter()
    if name == "load":
        url = run.base_url + "/" + (f"?{ctx['load_query']}" if ctx["load_query"] else "")
        await page.goto(url, timeout=timeoutms_text(ctx), wait_until="commit")
        await wait_answer(page, ctx)
    elif name == "edit":
        before = await bounded(page.evaluate(COSTS_JS), ctx)
        current = await page.locator(RPD_INPUT).input_value(timeout=timeoutms_text(ctx))
        value = int(float(current or 0))
        while value == int(float(current or 0)):
            value = rng.randrange(5, 200) * 10_000
        box = page.locator(RPD_INPUT)
        await box.fill(str(value), timeout=timeoutms_text(ctx))
        await box.press("Enter", timeout=timeoutms_text(ctx))
        await page.wait_for_function(COSTS_CHANGED_JS, arg=before, timeout=timeoutms_text(ctx),
                                     polling=50)
    elif name in PAGE_TITLES:
        link, title = PAGE_TITLES[name]
        await page.locator('[data-testid="stTopNavLink"]').filter(has_text=link).click(
            timeout=timeoutms_text(ctx))
        await page.wait_for_function(TITLE_JS, arg=title, timeout=timeoutms_text(ctx), polling=50)
        if name == "compare":
            await wait_answer(page, ctx)
    elif name == "share":
        await wait_idle(page, ctx)
        costs = await bounded(page.evaluate(COSTS_JS), ctx)
        await page.locator(MAIN).get_by_role("button", name="Share this scenario").click(
            timeout=timeoutms_text(ctx))  # the link is drawn in a dialog
        link = (await page.locator('[data-testid="stDialog"] [data-testid="stCode"]').first
                .inner_text(timeout=timeoutms_text(ctx))).strip()
        await page.keyboard.press("Escape")
        if not link.startswith(run.base_url + "/"):
            raise ActionFailed("wrong result", f"share link not on {run.base_url}: {link[:120]}")
        start = time.perf_counter()  # reading the link is not part of opening it
        tab = await bounded(page.context.new_page(), ctx)
        watch(tab, ctx)
        try:
            await tab.goto(link, timeout=timeoutms_text(ctx), wait_until="commit")
            await wait_answer(tab, ctx)
            result_ms = (time.perf_counter() - start) * 1000
            await wait_idle(tab, ctx)
            idle_ms = (time.perf_counter() - start) * 1000
            shown = await bounded(tab.evaluate(COSTS_JS), ctx)
            if shown != costs:
                raise ActionFailed("wrong result", f"share link shows {shown!r}, page had {costs!r}")
            await check_page(tab, ctx)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(tab.close(), timeout=10)
        return result_ms, idle_ms
    else:
        raise ValueError(name)
    result_ms = (time.perf_counter() - start) * 1000
    await wait_idle(page, ctx)
    return result_ms, (time.perf_counter() - start) * 1000


def is_loopback(url: str) -> bool:
    if not url or url.startswith(("data:", "blob:", "about:")):
        return True
    return urllib.parse.urlsplit(url).hostname == "127.0.0.1"


def watch(page, ctx: dict) -> None:
    """Collect console errors and uncaught page errors (problems), and requests off 127.0.0.1
    (blocked: Chromium cannot resolve their host)."""
    def on_console(msg) -> None:
        # a request off 127.0.0.1 fails by design (Chromium resolves no other name): counted
        # as blocked, not as a console error
        if msg.type == "error" and is_loopback(msg.location.get("url") or ""):
            ctx["problems"].append(("console error", msg.text))

    def on_request(request) -> None:
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            return
        if not is_loopback(url):
            ctx["blocked"].append(url)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: ctx["problems"].append(("page error", str(exc))))
    page.on("request", on_request)


async def check_page(page, ctx: dict) -> None:
    if ctx["problems"]:
        kind, message = ctx["problems"][0]
        extra = len(ctx["problems"]) - 1
        ctx["problems"].clear()
        raise ActionFailed(kind, message + (f" (+{extra} more)" if extra else ""))
    if await asyncio.wait_for(page.locator(EXCEPTION).count(), timeout=10):
        text = await page.locator(EXCEPTION).first.inner_text(timeout=2_000)
        raise ActionFailed("streamlit exception", text)


def iteration_plan(iteration: int) -> list[str]:
    """A session's iteration, on the Compare page: edit, then the three pages; every fourth (the
    2nd, 6th, ...) also opens the edited scenario's share link after the edit."""
    share = ["share"] if iteration % 4 == 1 else []
    return ["edit", *share, "capacity", "catalog", "compare"]


async def session(index: int, browser, run: Run, seed: int) -> None:
    """One user: open the app in a fresh browser context, then iterate (:func:`iteration_plan`).
    After a failed action the user starts over: the context is closed and the app opened again in
    a new one (a new Streamlit session)."""
    from playwright.async_api import Error as PlaywrightError

    rng = random.Random(seed * 1000 + index)
    stats = run.stats
    await asyncio.sleep(run.ramp_s * index / max(1, run.sessions))  # ramp-up: staggered starts
    iteration = 0

    def more() -> bool:
        return (run.iterations is None or iteration < run.iterations) \
            and time.monotonic() < run.stop_at

    while more():
        ctx: dict = {"problems": [], "blocked": stats.blocked, "load_query": None}
        if index % 2:  # odd sessions open a share link, each with its own traffic
            ctx["load_query"] = share_query(100_000 + 50_000 * (index // 2) + 10_000 * stats.visits)
        stats.visits += 1
        context = None
        try:
            context = await asyncio.wait_for(browser.new_context(
                viewport={"width": 1280, "height": 900}, service_workers="block"), timeout=30)
            context.set_default_timeout(run.timeout_s * 1000)
            page = await asyncio.wait_for(context.new_page(), timeout=30)
            watch(page, ctx)
            failed = not await step(index, iteration, "load", page, run, rng, ctx)
            if failed:  # do not hammer a server that does not answer
                await asyncio.sleep(1 + run.think_s)
            while not failed and more():
                plan = iteration_plan(iteration)
                done = 0
                for name in plan:
                    await asyncio.sleep(rng.uniform(0.5, 1.5) * run.think_s)
                    if time.monotonic() >= run.stop_at:
                        break
                    if not await step(index, iteration, name, page, run, rng, ctx):
                        failed = True
                        break
                    done += 1
                stats.iterations += 1
                stats.iterations_complete += done == len(plan)
                iteration += 1
        except (PlaywrightError, TimeoutError) as exc:  # opening the context or tab
            stats.error(index, iteration, "-", "browser error", str(exc) or repr(exc))
            iteration += 1  # a session that cannot open a browser context does not spin
        finally:
            if context is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(context.close(), timeout=10)


async def step(index: int, iteration: int, name: str, page, run: Run, rng: random.Random,
               ctx: dict) -> bool:
    """Do one action and record its latencies, or its error; True if it succeeded."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    stats = run.stats
    stats.attempted[name] += 1
    run.current[index] = (iteration, name)
    try:
        result_ms, idle_ms = await act(name, page, run, rng, ctx)
        await check_page(page, ctx)
    except ActionFailed as exc:
        stats.error(index, iteration, name, exc.kind, str(exc))
        return False
    except (PlaywrightTimeout, TimeoutError) as exc:
        waited = str(exc).split(":", 1)[0] if str(exc) else "wait"
        stats.error(index, iteration, name, "timeout",
                    f"no result within {ctx.get('allowed_s', run.timeout_s):.0f} s ({waited})")
        return False
    except PlaywrightError as exc:
        stats.error(index, iteration, name, "browser error", str(exc))
        return False
    finally:
        run.current.pop(index, None)
    stats.latency[name].append(result_ms)
    stats.idle[name].append(idle_ms)
    return True


async def warm_up(browser, base_url: str, timeout_s: float) -> None:
    """Open the app once, unmeasured: the server's first script run imports and caches what every
    later run reuses."""
    context = await asyncio.wait_for(
        browser.new_context(viewport={"width": 1280, "height": 900}), timeout=30)
    try:
        page = await asyncio.wait_for(context.new_page(), timeout=30)
        await page.goto(base_url + "/", timeout=timeout_s * 2000, wait_until="commit")
        await page.wait_for_function(ANSWER_JS, timeout=timeout_s * 2000, polling=100)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(context.close(), timeout=10)


async def drive(base_url: str, server_pid: int, args: argparse.Namespace, hard_deadline: float,
                stats: Stats) -> dict:
    from playwright.async_api import async_playwright

    if threading.current_thread() is threading.main_thread():
        # SIGTERM cancels the run, so that the browser is closed and the server stopped
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM,
                                                          asyncio.current_task().cancel)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                           headless=True, timeout=30_000)
        try:
            share_query(100_000)  # import the encoder now, not inside the measured window
            warm_start = time.perf_counter()
            if args.warmup:
                await warm_up(browser, base_url, args.timeout)
            warm_ms = (time.perf_counter() - warm_start) * 1000 if args.warmup else None
            server_pids = process_tree(server_pid)
            client_pids = [p for p in process_tree(os.getpid()) if p not in server_pids]
            cpu0_server, cpu0_client = cpu_seconds(server_pids), cpu_seconds(client_pids)
            busy0, total0 = machine_jiffies()
            load0 = load_average()
            start = time.monotonic()
            hard_stop = hard_deadline - CLEANUP_MARGIN_S
            run = Run(base_url=base_url, stats=stats,
                      stop_at=min(start + args.duration, hard_stop - args.timeout),
                      hard_stop=hard_stop, iterations=args.iterations, think_s=args.think,
                      timeout_s=args.timeout, ramp_s=args.ramp, sessions=args.sessions)
            with Sampler(server_pid) as sampler:
                tasks = [asyncio.create_task(session(i, browser, run, args.seed))
                         for i in range(args.sessions)]
                _done, pending = await asyncio.wait(tasks, timeout=max(1, hard_stop - time.monotonic()))
                for index, task in enumerate(tasks):  # cut off at the hard stop
                    if task in pending:
                        task.cancel()
                        iteration, action = run.current.get(index, (-1, "-"))
                        stats.error(index, iteration, action, "cut off",
                                    "still running at the hard stop")
                    elif task.exception() is not None:  # a bug, not a measurement: make it loud
                        stats.error(index, -1, "-", "load generator error", repr(task.exception()))
                if pending:
                    await asyncio.wait(pending, timeout=5)
                window = time.monotonic() - start
                server_pids = process_tree(server_pid)
                client_pids = [p for p in process_tree(os.getpid()) if p not in server_pids]
                busy1, total1 = machine_jiffies()
                return {
                    "window_s": window,
                    "warmup_first_load_ms": None if warm_ms is None else round(warm_ms, 1),
                    "server_cpu_window_s": cpu_seconds(server_pids) - cpu0_server,
                    "server_cpu_total_s": cpu_seconds(server_pids),
                    "server_peak_rss_kb": sum(status_kb(p, "VmHWM") for p in server_pids),
                    "server_peak_sampled_rss_kb": sampler.peak_rss_kb,
                    "server_processes": len(server_pids),
                    "client_cpu_window_s": cpu_seconds(client_pids) - cpu0_client,
                    "machine_busy": (busy1 - busy0) / max(1, total1 - total0),
                    "load_start": load0, "load_end": load_average(),
                    "load_peak": max(sampler.peak_load, load_average()),
                }
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), timeout=10)


# --- the run -----------------------------------------------------------------------------------

def busy_before(seconds: float = 1.0) -> float:
    busy0, total0 = machine_jiffies()
    time.sleep(seconds)
    busy1, total1 = machine_jiffies()
    return (busy1 - busy0) / max(1, total1 - total0)


def run_load_test(args: argparse.Namespace, emit: Callable[[str], None] = print) -> dict:
    """Run the load test described by ``args`` (see :func:`parse_args`); print and return the
    figures. Raises on a server or browser that cannot start; the watchdog ends the process if
    the run overruns duration + 60 s."""
    began = time.monotonic()
    hard_deadline = began + args.duration + SLACK_S
    server: dict[str, subprocess.Popen] = {}

    def watchdog() -> None:
        emit(f"load test: watchdog: still running after {args.duration + SLACK_S} s; stopping")
        if "process" in server:
            stop_process_group(server["process"])
        os._exit(3)

    timer = threading.Timer(args.duration + SLACK_S, watchdog)
    timer.daemon = True
    timer.start()
    try:
        before = busy_before()
        load_before = load_average()
        stats = Stats()
        with streamlit_server(min(SERVER_START_TIMEOUT_S, args.duration + 20), "load-test") as (
                port, process):
            url = f"http://127.0.0.1:{port}"
            server["process"] = process
            if args.nice:  # Playwright's driver and Chromium inherit it; the server does not
                os.nice(args.nice)
            handler = signal.getsignal(signal.SIGTERM)
            try:
                measured = asyncio.run(drive(url, process.pid, args, hard_deadline, stats))
            except (asyncio.CancelledError, KeyboardInterrupt):
                emit("load test: interrupted; browser closed, stopping the server")
                raise SystemExit(130) from None
            finally:  # the loop reset SIGTERM to the default on closing
                if threading.current_thread() is threading.main_thread():
                    signal.signal(signal.SIGTERM, handler)
        result = report(args, stats, measured, before, load_before)
        result["wall_s"] = round(time.monotonic() - began, 1)
    finally:
        timer.cancel()
    for line in format_report(result):
        emit(line)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        emit(f"figures written to {args.json}")
    return result


def report(args, stats: Stats, m: dict, busy_before_start: float, load_before: float) -> dict:
    from importlib.metadata import version

    completed = sum(len(v) for v in stats.latency.values())
    attempted = sum(stats.attempted.values())
    failed_actions = sum(1 for e in stats.errors if e["action"] in ACTIONS)
    kinds: dict[str, int] = {}
    for e in stats.errors:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    def pooled(values: dict[str, list[float]]) -> dict:
        return {group: summary([v for a in members for v in values[a]])
                for group, members in GROUPS.items()}
    return {
        "sessions": args.sessions, "duration_s": args.duration, "iterations": args.iterations,
        "think_s": args.think, "ramp_s": args.ramp, "action_timeout_s": args.timeout,
        "load_generator_nice": args.nice, "seed": args.seed,
        "versions": {"streamlit": version("streamlit"), "playwright": version("playwright")},
        "window_s": round(m["window_s"], 1), "visits": stats.visits,
        "iterations_started": stats.iterations, "iterations_complete": stats.iterations_complete,
        "actions_attempted": attempted, "actions_completed": completed,
        "actions_by_type": {a: {"attempted": stats.attempted[a], "completed": len(stats.latency[a])}
                            for a in ACTIONS},
        "throughput_per_min": round(completed / m["window_s"] * 60, 1),
        "latency": {**{a: summary(stats.latency[a]) for a in ACTIONS}, **pooled(stats.latency)},
        "idle_latency": {**{a: summary(stats.idle[a]) for a in ACTIONS}, **pooled(stats.idle)},
        "warmup_first_load_ms": m["warmup_first_load_ms"],
        "errors": len(stats.errors), "errors_by_kind": kinds, "failed_actions": failed_actions,
        "error_rate": round(failed_actions / attempted, 4) if attempted else 0.0,
        "error_samples": stats.errors[:50],
        "blocked_off_loopback_requests": len(stats.blocked),
        "blocked_urls": sorted(set(stats.blocked))[:20],
        "server": {"peak_rss_mb": round(m["server_peak_rss_kb"] / 1024, 1),
                   "peak_sampled_rss_mb": round(m["server_peak_sampled_rss_kb"] / 1024, 1),
                   "processes": m["server_processes"],
                   "cpu_window_s": round(m["server_cpu_window_s"], 1),
                   "cpu_total_s": round(m["server_cpu_total_s"], 1)},
        "load_generator_cpu_window_s": round(m["client_cpu_window_s"], 1),
        "machine": {"cpus": os.cpu_count(), "busy_before_start": round(busy_before_start, 3),
                    "load_before_start": load_before, "busy_during_window": round(m["machine_busy"], 3),
                    "load_1min_start": m["load_start"], "load_1min_end": m["load_end"],
                    "load_1min_peak": m["load_peak"]},
    }


def format_report(r: dict) -> list[str]:
    mode = (f"{r['iterations']} iterations (at most {r['duration_s']:g} s)" if r["iterations"]
            else f"{r['duration_s']:g} s")
    lines = [
        f"planner dashboard load test: {r['sessions']} sessions x {mode}; think time "
        f"{r['think_s']:g} s, ramp-up {r['ramp_s']:g} s, action timeout {r['action_timeout_s']:g} s, "
        f"load generator at nice {r['load_generator_nice']}",
        f"  (streamlit {r['versions']['streamlit']}, playwright {r['versions']['playwright']}, "
        f"Chromium headless, all traffic on 127.0.0.1)",
        f"measured window {r['window_s']:.1f} s; app opens {r['visits']}, iterations "
        f"{r['iterations_started']} ({r['iterations_complete']} complete); actions completed "
        f"{r['actions_completed']} of {r['actions_attempted']}; throughput "
        f"{r['throughput_per_min']:.1f} actions/min",
        f"  {'latency, ms: to the visible result':<44} {'n':>4} {'p50':>7} {'p90':>7} {'p95':>7} "
        f"{'p99':>7} {'max':>7} | {'idle p50':>8} {'idle p95':>9}",
    ]
    for name in (*ACTIONS, *GROUPS):
        s, i = r["latency"][name], r["idle_latency"][name]
        label = f"{name} ({ACTION_TEXT[name]})" if name in ACTION_TEXT else GROUP_TEXT[name]
        lines.append(f"  {label:<44} {s['n']:>4} {ms_text(s['p50_ms']):>7} {ms_text(s['p90_ms']):>7} "
                     f"{ms_text(s['p95_ms']):>7} {ms_text(s['p99_ms']):>7} {ms_text(s['max_ms']):>7} | "
                     f"{ms_text(i['p50_ms']):>8} {ms_text(i['p95_ms']):>9}")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["errors_by_kind"].items())) or "none"
    lines.append(f"errors: {r['errors']} ({kinds}); failed actions {r['failed_actions']} of "
                 f"{r['actions_attempted']} = error rate {100 * r['error_rate']:.1f}%")
    for e in r["error_samples"][:5]:
        lines.append(f"  session {e['session']} iteration {e['iteration']} {e['action']}: {e['kind']}: "
                     f"{e['message'][:160]}")
    if r["blocked_off_loopback_requests"]:
        hosts = sorted({urllib.parse.urlsplit(u).hostname or u for u in r["blocked_urls"]})
        lines.append(f"blocked requests off 127.0.0.1 (not errors): "
                     f"{r['blocked_off_loopback_requests']} to {', '.join(hosts)}")
    s, mach = r["server"], r["machine"]
    server_ms_per_action = (f"{1000 * s['cpu_window_s'] / r['actions_attempted']:,.0f}"
                            if r["actions_attempted"] else "-")
    lines += [
        f"server (streamlit, {s['processes']} process{'es' if s['processes'] != 1 else ''}): peak RSS "
        f"{s['peak_rss_mb']:.0f} MB (VmHWM), CPU {s['cpu_window_s']:.1f} s in the window "
        f"({100 * s['cpu_window_s'] / max(r['window_s'], 1e-9):.0f}% of one core), "
        f"{s['cpu_total_s']:.1f} s since start; {server_ms_per_action} ms server CPU per action attempted",
        f"load generator (Playwright driver + Chromium): CPU {r['load_generator_cpu_window_s']:.1f} s "
        f"in the window; "
        + ("no warm-up" if r["warmup_first_load_ms"] is None
           else f"warm-up first page load (unmeasured) {r['warmup_first_load_ms']:,.0f} ms"),
        f"machine: {mach['cpus']} CPUs; before start {100 * mach['busy_before_start']:.0f}% busy, "
        f"load {mach['load_before_start']:.2f}; during the window {100 * mach['busy_during_window']:.0f}% "
        f"busy, 1-min load {mach['load_1min_start']:.2f} -> {mach['load_1min_end']:.2f} "
        f"(peak {mach['load_1min_peak']:.2f})",
        f"wall time {r['wall_s']:.1f} s",
    ]
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8,
                        help=f"concurrent browser sessions (default 8, at most {MAX_SESSIONS})")
    parser.add_argument("--duration", type=float, default=60,
                        help=f"seconds of load (default 60, at most {MAX_DURATION_S})")
    parser.add_argument("--iterations", type=int, default=None,
                        help="iterations per session (default: as many as the duration allows)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean pause between a session's actions, s (default 1)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help=f"seconds an action may take before it counts as an error (default "
                             f"{DEFAULT_TIMEOUT_S}, at most {MAX_TIMEOUT_S})")
    parser.add_argument("--ramp", type=float, default=10,
                        help="seconds over which the sessions start, evenly spaced (default 10)")
    parser.add_argument("--nice", type=int, default=10,
                        help="niceness of the load generator (Playwright and Chromium), so that "
                             "it does not take CPU from the server it measures (default 10; 0: "
                             "none)")
    parser.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=True,
                        help="open the app once, unmeasured, before the sessions start (default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.duration <= 0 or args.think < 0 or (
            args.iterations is not None and args.iterations < 1):
        parser.error("--sessions, --duration and --iterations must be positive, --think >= 0")
    if args.sessions > MAX_SESSIONS:
        print(f"--sessions capped at {MAX_SESSIONS}", file=sys.stderr)
        args.sessions = MAX_SESSIONS
    if args.duration > MAX_DURATION_S:
        print(f"--duration capped at {MAX_DURATION_S} s", file=sys.stderr)
        args.duration = MAX_DURATION_S
    args.think = min(args.think, 10.0)
    args.ramp = min(max(args.ramp, 0.0), args.duration / 2)
    args.nice = min(max(args.nice, 0), 19)
    args.timeout = min(max(args.timeout, 1.0), MAX_TIMEOUT_S)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} not found: install Debian's chromium package", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    result = run_load_test(args)
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
