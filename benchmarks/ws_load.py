"""Server load benchmark of the dashboard over Streamlit's own websocket protocol (no browsers).

    python benchmarks/ws_load.py [--sessions 4,8,16] [--iterations 3] [--think 1.0] [--ramp 2]
                                 [--repeats 8] [--timeout 60] [--nice 10] [--json FILE]

What a browser tab does to the server, without the browser: each session opens the websocket
``/_stcore/stream`` (subprotocol ``streamlit``) and speaks the front end's protocol, protobuf
``BackMsg`` up and ``ForwardMsg`` down (``streamlit.proto``). An action sends a ``rerun_script``
BackMsg carrying the ``ClientState`` a browser would send (the address bar's query string, the
page's script hash, the widget values the session has set) and ends when the server's
``script_finished`` ForwardMsg for that run arrives:

=========  ==========================================================================
load       open a session (odd sessions with a share-link query string carrying their own
           requests/day) -> the Compare page's script finished, monthly-cost metrics sent
edit       set the sidebar's "Requests per day" widget to a new value -> script finished, and
           at least one monthly-cost metric differs from before
capacity   switch to the Capacity page -> script finished, its title sent
catalog    switch to the Catalog page -> script finished, its title sent
compare    back to Compare -> script finished, monthly-cost metrics sent
=========  ==========================================================================

An action fails on a timeout (``--timeout``), an ``exception`` element in the page, a script that
did not finish successfully, a closed connection or a wrong result (the checks above).

First (unless ``--repeats 0``), **server CPU per action type**: a fresh server, warmed by one
unmeasured session, serves one session doing load and then ``--repeats`` x (edit, capacity,
catalog, advisor, compare) one after another (advisor: switch to the Advisor page, its title
sent; after an edit, so a new search); the server tree's CPU-seconds are read after 0.3 s of quiet
before each action and 0.3 s after it (so work left after ``script_finished`` counts), and the mean
and median per action type are printed with the idle server's CPU rate. Then edits in batches
(``--repeats``/2 batches, at least 3, of 50 edits one after another, the CPU read around each
batch) for the planner and for the **reference workload**, a fixed app (a title, one number
input, one metric: ``REFERENCE_APP``) served with the planner's Streamlit settings on its own
server; the planner's edit is printed as a multiple of the reference's, which carries over to
another machine better than CPU-seconds. ``--sessions ""`` prints only these.

For each level in ``--sessions`` a fresh ``streamlit run app.py`` starts on a free 127.0.0.1 port
(headless, no file watcher). One unmeasured session warms it; then the **reference** workload, one
session doing a fixed sequence (load, then edit/capacity/catalog/compare twice, no think time),
gives the figures of a server serving one user; then N sessions run at once (start spread over
``--ramp`` s), each doing load and then ``--iterations`` x (edit, capacity, catalog, compare),
pausing a random 0.5-1.5 x ``--think`` s before each action. All N websockets stay open until the
last session is done, so the memory figure is that of N open sessions.

Printed per level: latency p50/p95/max per action and over all actions, with the ratio to the
reference; actions completed of attempted and errors by kind; the server's CPU-seconds per action
(utime + stime from /proc/<pid>/stat of the server's process tree over the window, divided by the
actions attempted) and the share of one core it used; its peak RSS (VmRSS sampled every 0.2 s, and
VmHWM) and the memory per session ((peak RSS during the level - RSS before it) / N, an estimate:
Python rarely returns memory); the machine's busy share during the window (the load generator runs
at ``--nice`` 10 but shares the cores). ``--json FILE`` writes all of it. Exit status 0 when no
action failed. Bounded: at most 32 sessions and 10 iterations; every wait has a timeout; servers
are always stopped (their process group), also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # planner and ui, for the share links (see share_query)
sys.path.insert(0, str(Path(__file__).resolve().parent))  # load_common, a sibling

from load_common import (  # noqa: E402
    ActionFailed,
    machine_jiffies,
    ms_text,
    percentile,
    process_tree,
    share_query,
    status_kb,
    streamlit_server,
    tree_cpu_seconds,
)

ACTIONS = ("load", "edit", "capacity", "catalog", "compare")
ITERATION = ("edit", "capacity", "catalog", "compare")
REFERENCE = ("load",) + ITERATION * 2
# the sequential per-action CPU also switches to the Advisor (its search cached by inputs)
SEQUENTIAL = ("edit", "capacity", "catalog", "advisor", "compare")
SEQUENTIAL_ACTIONS = ("load", *SEQUENTIAL)
PAGES = {"capacity": "Capacity", "catalog": "Catalog", "compare": "Compare", "advisor": "Advisor"}
TITLES = {"capacity": "Capacity", "catalog": "Catalog", "compare": "Compare", "advisor": "Advisor"}
RPD_LABEL = "Requests per day"
COST_LABEL = "monthly cost"
MAX_SESSIONS, MAX_ITERATIONS, MAX_REPEATS, MAX_TIMEOUT_S = 32, 10, 50, 120
SERVER_START_S = 60
FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


# --- /proc readings ----------------------------------------------------------------------------

def rss_mb(pid: int, key: str = "VmRSS") -> float:
    """Summed ``key`` (VmRSS or VmHWM) over pid's process tree, in MB."""
    return sum(status_kb(p, key) for p in process_tree(pid)) / 1024


class RssSampler:
    """Peak summed VmRSS of the server's process tree, sampled every 0.2 s in a thread."""

    def __init__(self, pid: int):
        self.pid, self.peak_mb = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, rss_mb(self.pid))
            self._stop.wait(0.2)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


# --- the server --------------------------------------------------------------------------------

# --- one session over the websocket ------------------------------------------------------------

@dataclass
class Page:
    """What one script run sent: titles, metrics (label -> value), widget ids by label, errors."""
    titles: list[str] = field(default_factory=list)
    metrics: dict[str, str] = field(default_factory=dict)
    widgets: dict[str, str] = field(default_factory=dict)
    exceptions: list[str] = field(default_factory=list)
    messages: int = 0  # ForwardMsgs of the run
    first_cost_at: int | None = None  # messages received up to the first monthly-cost metric
    first_cost_s: float | None = None  # seconds from the rerun request to that metric


class Session:
    """One browser tab's conversation with the server, as the front end holds it: the address
    bar's query string, the current page, the widget values this tab has set."""

    def __init__(self, port: int, timeout_s: float):
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.timeout_s = timeout_s
        self.ws = None
        self.query_string = ""
        self.page_hash = ""
        self.page_hashes: dict[str, str] = {}
        self.widget_states: dict[str, WidgetState] = {}
        self.page = Page()

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)
            self.ws = None

    async def open(self, query_string: str = "") -> Page:
        try:
            self.ws = await asyncio.wait_for(websockets.connect(
                self.url, subprotocols=["streamlit"], max_size=None, open_timeout=self.timeout_s,
                ping_interval=None), self.timeout_s)
        except (TimeoutError, OSError, websockets.WebSocketException) as exc:
            raise ActionFailed("connect", f"{type(exc).__name__}: {exc}") from exc
        self.query_string = query_string
        return await self.rerun()

    async def rerun(self) -> Page:
        """Send a rerun with this tab's state; wait for the run's successful script_finished."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_hash
        state.widget_states.widgets.extend(self.widget_states.values())
        try:
            await self.ws.send(msg.SerializeToString())
            return await asyncio.wait_for(self._read_run(), self.timeout_s)
        except TimeoutError as exc:
            raise ActionFailed("timeout", f"no script_finished within {self.timeout_s:.0f} s") \
                from exc
        except websockets.WebSocketException as exc:
            raise ActionFailed("connection", f"{type(exc).__name__}: {exc}") from exc

    async def _read_run(self) -> Page:
        page, start = Page(), time.perf_counter()
        while True:
            fmsg = ForwardMsg()
            fmsg.ParseFromString(await self.ws.recv())
            page.messages += 1
            kind = fmsg.WhichOneof("type")
            if kind == "new_session":
                page = Page(messages=1)  # a run starts (again, after a rerun the script asked)
            elif kind == "navigation":
                self.page_hashes = {p.page_name: p.page_script_hash
                                    for p in fmsg.navigation.app_pages}
                self.page_hash = fmsg.navigation.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                self.query_string = fmsg.page_info_changed.query_string
            elif kind == "delta" and fmsg.delta.WhichOneof("type") == "new_element":
                _record(page, fmsg.delta.new_element)
                if page.first_cost_at is None and any(COST_LABEL in k for k in page.metrics):
                    page.first_cost_at = page.messages
                    page.first_cost_s = time.perf_counter() - start
            elif kind == "script_finished":
                status = fmsg.script_finished
                if status in FINISHED_OK:
                    self.page = page
                    return page
                if status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    raise ActionFailed("script", f"script finished with status {status}")


def _record(page: Page, element) -> None:
    kind = element.WhichOneof("type")
    body = getattr(element, kind)
    if kind == "exception":
        page.exceptions.append(f"{body.type}: {body.message}"[:300])
    elif kind == "heading":
        page.titles.append(body.body)
    elif kind == "metric":
        page.metrics[body.label] = body.body
    elif hasattr(body, "id") and hasattr(body, "label") and body.id:
        page.widgets[body.label] = body.id


def check(name: str, page: Page, before: Page | None) -> None:
    """Raise ActionFailed if the run's page is not what the action should have produced."""
    if page.exceptions:
        raise ActionFailed("exception", page.exceptions[0])
    costs = {k: v for k, v in page.metrics.items() if COST_LABEL in k}
    if name in ("load", "compare", "edit") and not costs:
        raise ActionFailed("wrong result", "no monthly-cost metric on the Compare page")
    if name == "edit" and before is not None:
        old = {k: v for k, v in before.metrics.items() if COST_LABEL in k}
        if costs == old:
            raise ActionFailed("wrong result", "no monthly cost changed after the edit")
    if name in ("capacity", "catalog", "advisor") and not any(
            t.replace("\\", "").startswith(TITLES[name]) for t in page.titles):
        raise ActionFailed("wrong result", f"no {TITLES[name]} title in {page.titles[:3]}")


async def act(name: str, session: Session, rpd: int, query: str) -> None:
    """One action on a session, checked."""
    before = session.page
    if name == "load":
        page = await session.open(query)
    elif name == "edit":
        if PAGES["compare"] in session.page_hashes:  # edits are made on the Compare page
            session.page_hash = session.page_hashes[PAGES["compare"]]
        widget_id = before.widgets.get(RPD_LABEL)
        if widget_id is None:
            raise ActionFailed("wrong result", f"no {RPD_LABEL!r} widget on the page")
        state = WidgetState(id=widget_id, double_value=float(rpd))
        session.widget_states[widget_id] = state
        page = await session.rerun()
        if before.titles and not before.titles[0].startswith("Compare"):
            before = None  # edited on another page: nothing to compare with
    else:
        target = PAGES[name]
        if target not in session.page_hashes:
            raise ActionFailed("wrong result", f"no {target} page in the navigation")
        session.page_hash = session.page_hashes[target]
        page = await session.rerun()
    check(name, page, before)


# --- runs --------------------------------------------------------------------------------------

@dataclass
class Stats:
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    attempted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    errors: list[dict] = field(default_factory=list)

    def total_attempted(self) -> int:
        return sum(self.attempted.values())

    def total_completed(self) -> int:
        return sum(len(v) for v in self.latency_ms.values())


async def step(name: str, session: Session, stats: Stats, index: int, rpd: int,
               query: str = "") -> bool:
    stats.attempted[name] += 1
    start = time.perf_counter()
    try:
        await act(name, session, rpd, query)
    except ActionFailed as exc:
        stats.errors.append({"session": index, "action": name, "kind": exc.kind,
                             "message": str(exc)})
        return False
    stats.latency_ms[name].append((time.perf_counter() - start) * 1000)
    return True


async def user(index: int, port: int, plan: list[str], stats: Stats, *, think_s: float,
               delay_s: float, timeout_s: float, rng: random.Random, finished: asyncio.Event,
               done: asyncio.Event, sessions: list[Session]) -> None:
    """One user: after ``delay_s``, the actions of ``plan`` in order (the first is load). After
    a failure the user reconnects (a new session) and goes on with the next action."""
    await asyncio.sleep(delay_s)
    session = Session(port, timeout_s)
    sessions.append(session)
    query = share_query(150_000 + 10_000 * index) if index % 2 else ""
    for n, name in enumerate(plan):
        if think_s > 0 and n:
            await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
        rpd = 300_000 + 20_000 * index + 1_000 * n  # new for this user at every edit
        ok = await step(name, session, stats, index, rpd, query)
        if not ok and name != "load":
            await session.close()
            session = Session(port, timeout_s)
            sessions.append(session)
            if not await step("load", session, stats, index, rpd, query):
                break
    finished.set()
    await done.wait()  # keep the websocket (and the server's session) open until all are done


async def run_users(port: int, plans: list[list[str]], *, think_s: float, ramp_s: float,
                    timeout_s: float, seed: int) -> Stats:
    stats, done, sessions = Stats(), asyncio.Event(), []
    n = len(plans)
    finished = [asyncio.Event() for _ in plans]
    tasks = [asyncio.create_task(user(
        i, port, plan, stats, think_s=think_s, delay_s=ramp_s * i / n if n > 1 else 0.0,
        timeout_s=timeout_s, rng=random.Random(seed * 1000 + i), finished=finished[i], done=done,
        sessions=sessions)) for i, plan in enumerate(plans)]
    try:
        while not all(f.is_set() or t.done() for f, t in zip(finished, tasks, strict=True)):
            await asyncio.sleep(0.05)
    finally:
        done.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for session in sessions:
            await session.close()
    for t in tasks:
        if not t.cancelled() and t.exception() is not None:
            stats.errors.append({"session": -1, "action": "-", "kind": "load generator",
                                 "message": repr(t.exception())})
    return stats


def run_niced(nice: int, coroutine_factory) -> Stats:
    """Run the load generator's event loop in a thread of its own at ``nice`` (Linux niceness is
    per thread), so the server, started from the main thread, keeps its normal priority."""
    box: dict = {}

    def target() -> None:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        try:
            box["stats"] = asyncio.run(coroutine_factory())
        except BaseException as exc:  # reported by the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="ws-load-generator")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["stats"]


def latency_summary(values: list[float]) -> dict:
    return {"n": len(values),
            "p50_ms": _round(percentile(values, 50)), "p95_ms": _round(percentile(values, 95)),
            "max_ms": _round(max(values) if values else None)}


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def measured(port: int, process: subprocess.Popen, plans: list[list[str]], nice: int,
             **kw) -> dict:
    """Run the users of ``plans`` against the server and return the figures of that window."""
    rss_before = rss_mb(process.pid)
    cpu_before, (busy0, total0) = tree_cpu_seconds(process.pid), machine_jiffies()
    start = time.perf_counter()
    with RssSampler(process.pid) as sampler:
        stats = run_niced(nice, lambda: run_users(port, plans, **kw))
    wall_s = time.perf_counter() - start
    cpu_s = tree_cpu_seconds(process.pid) - cpu_before
    busy1, total1 = machine_jiffies()
    all_ms = [v for values in stats.latency_ms.values() for v in values]
    attempted = stats.total_attempted()
    kinds: dict[str, int] = {}
    for e in stats.errors:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    return {
        "sessions": len(plans), "wall_s": round(wall_s, 2),
        "actions_attempted": attempted, "actions_completed": stats.total_completed(),
        "attempted": dict(stats.attempted),
        "latency": {**{a: latency_summary(stats.latency_ms[a]) for a in ACTIONS},
                    "all": latency_summary(all_ms),
                    "in_page": latency_summary([v for a in ITERATION
                                                for v in stats.latency_ms[a]])},
        "errors": len(stats.errors), "errors_by_kind": kinds, "first_errors": stats.errors[:20],
        "server": {
            "cpu_s": round(cpu_s, 2),
            "cpu_s_per_action": round(cpu_s / attempted, 3) if attempted else None,
            "core_share": round(cpu_s / wall_s, 3) if wall_s else None,
            "rss_before_mb": round(rss_before, 1),
            "peak_rss_mb": round(max(sampler.peak_mb, rss_before), 1),
            "hwm_mb": round(rss_mb(process.pid, "VmHWM"), 1),
            "mem_mb_per_session": round(max(sampler.peak_mb - rss_before, 0.0) / len(plans), 1),
        },
        "machine_busy_share": round((busy1 - busy0) / max(total1 - total0, 1), 3),
    }


SETTLE_S = 0.3  # pause around each sequential action so its trailing server work is counted
EDITS_PER_BATCH = 50  # edits per CPU reading in batched_edit_cpu: a 10 ms tick is 0.2 ms of one
MIN_BATCHES = 3
IDLE_S = 5.0  # quiet over which the idle server's CPU rate is read (CPU time comes in 10 ms ticks)


async def idle_cpu_rate(pid: int) -> float:
    """The idle server tree's CPU-seconds per second, over ``IDLE_S`` of quiet (Streamlit polls
    its config and secrets files every 0.2 s)."""
    start = tree_cpu_seconds(pid)
    await asyncio.sleep(IDLE_S)
    return (tree_cpu_seconds(pid) - start) / IDLE_S


async def sequential_cpu(port: int, pid: int, repeats: int, timeout_s: float) -> dict:
    """One session, no think time: load, then ``repeats`` x (edit, capacity, catalog, advisor,
    compare); the server tree's CPU-seconds read before and after each action (with ``SETTLE_S``
    of quiet around it, so work the server does after ``script_finished`` counts too). Also the idle
    server's CPU rate over 5 s of quiet (Streamlit polls its config and secrets files every
    0.2 s), and each action's CPU net of that rate over its window: what the action itself cost,
    as opposed to what the process spends anyway."""
    idle_cpu_s_per_s = await idle_cpu_rate(pid)
    session = Session(port, timeout_s)
    cpu: dict[str, list[float]] = {a: [] for a in SEQUENTIAL_ACTIONS}
    net: dict[str, list[float]] = {a: [] for a in SEQUENTIAL_ACTIONS}
    wall: dict[str, list[float]] = {a: [] for a in SEQUENTIAL_ACTIONS}
    messages: dict[str, list[int]] = {a: [] for a in SEQUENTIAL_ACTIONS}
    first_cost: dict[str, list[float]] = {a: [] for a in SEQUENTIAL_ACTIONS}
    first_cost_at: dict[str, list[int]] = {a: [] for a in SEQUENTIAL_ACTIONS}
    errors: list[dict] = []
    plan = ["load", *SEQUENTIAL * repeats]
    try:
        for n, name in enumerate(plan):
            await asyncio.sleep(SETTLE_S)
            before, start = tree_cpu_seconds(pid), time.perf_counter()
            try:
                await act(name, session, 300_000 + 7_000 * n, "")
            except ActionFailed as exc:
                errors.append({"session": 0, "action": name, "kind": exc.kind,
                               "message": str(exc)})
                if name == "load":
                    break
                continue
            elapsed = time.perf_counter() - start
            await asyncio.sleep(SETTLE_S)
            cpu[name].append(tree_cpu_seconds(pid) - before)
            window_s = time.perf_counter() - start + SETTLE_S
            net[name].append(cpu[name][-1] - idle_cpu_s_per_s * window_s)
            wall[name].append(elapsed * 1000)
            messages[name].append(session.page.messages)
            if session.page.first_cost_s is not None:
                first_cost[name].append(session.page.first_cost_s * 1000)
                first_cost_at[name].append(session.page.first_cost_at)
    finally:
        await session.close()
    return {"repeats": repeats, "idle_cpu_s_per_s": round(idle_cpu_s_per_s, 4),
            "errors": errors,
            "actions": {a: {"n": len(cpu[a]),
                            "cpu_s_mean": _round(sum(cpu[a]) / len(cpu[a]), 3) if cpu[a] else None,
                            "cpu_s_median": _round(percentile(cpu[a], 50), 3),
                            "net_cpu_s_mean": (_round(sum(net[a]) / len(net[a]), 3) if net[a]
                                               else None),
                            "wall_ms_median": _round(percentile(wall[a], 50)),
                            "messages_median": percentile(messages[a], 50),
                            "first_cost_ms_median": _round(percentile(first_cost[a], 50)),
                            "first_cost_message_median": percentile(first_cost_at[a], 50)}
                        for a in SEQUENTIAL_ACTIONS}}


# The fixed reference workload for the CPU figures: a title, one number input and one metric,
# served by the same Streamlit with the planner's .streamlit/config.toml, its input edited as the
# planner's is. Its CPU per edit is the floor any Streamlit app pays for a rerun on this machine,
# so the planner's edit as a multiple of it carries over to another machine better than seconds.
REFERENCE_APP = '''import streamlit as st

st.title("Compare (reference)")
requests_per_day = st.number_input("Requests per day", value=200000.0, step=10000.0)
st.metric("Reference · monthly cost", f"${requests_per_day * 0.0073:,.0f}")
'''


@contextlib.contextmanager
def reference_app() -> Iterator[Path]:
    """The reference app's script in a temporary folder beside the planner's Streamlit config."""
    with tempfile.TemporaryDirectory(prefix="ws-load-reference-") as folder:
        app = Path(folder) / "reference_app.py"
        app.write_text(REFERENCE_APP, encoding="utf-8")
        (Path(folder) / ".streamlit").mkdir()
        shutil.copy(ROOT / ".streamlit" / "config.toml", Path(folder) / ".streamlit")
        yield app


async def batched_edit_cpu(port: int, pid: int, batches: int, timeout_s: float) -> dict:
    """One session: load, a few unmeasured edits, then ``batches`` x ``EDITS_PER_BATCH`` edits one
    after another, the server tree's CPU read around each batch (after ``SETTLE_S`` of quiet, and
    ``SETTLE_S`` after it): CPU-seconds per edit, mean over the batches and net of the idle rate
    over each batch's window. A batch spans many 10 ms CPU ticks, so a few-ms edit (the reference
    app's) is resolved as well as the planner's."""
    idle_cpu_s_per_s = await idle_cpu_rate(pid)
    session = Session(port, timeout_s)
    per_edit: list[float] = []
    errors: list[dict] = []
    rpd = 300_000
    try:
        await act("load", session, rpd, "")
        for _ in range(3):
            rpd += 1_000
            await act("edit", session, rpd, "")
        for _ in range(batches):
            await asyncio.sleep(SETTLE_S)
            before, start = tree_cpu_seconds(pid), time.perf_counter()
            for _ in range(EDITS_PER_BATCH):
                rpd += 1_000
                await act("edit", session, rpd, "")
            await asyncio.sleep(SETTLE_S)
            window_s = time.perf_counter() - start
            per_edit.append((tree_cpu_seconds(pid) - before - idle_cpu_s_per_s * window_s)
                            / EDITS_PER_BATCH)
    except ActionFailed as exc:
        errors.append({"session": 0, "action": "edit", "kind": exc.kind, "message": str(exc)})
    finally:
        await session.close()
    return {"batches": len(per_edit), "edits_per_batch": EDITS_PER_BATCH,
            "idle_cpu_s_per_s": round(idle_cpu_s_per_s, 4), "errors": errors,
            "net_cpu_s_per_edit": (round(sum(per_edit) / len(per_edit), 4) if per_edit else None),
            "per_batch": [round(v, 4) for v in per_edit]}


def per_action(args: argparse.Namespace) -> dict:
    """A fresh server, warmed by one unmeasured session, then the sequential CPU figures and edits
    in batches; then edits in batches of the reference app on its own server, and the planner's
    edit as a multiple of the reference's."""
    with streamlit_server(SERVER_START_S, "ws-load") as (port, process):
        measured(port, process, [["load", *ITERATION]], think_s=0.0, ramp_s=0.0,
                 timeout_s=args.timeout, seed=args.seed, nice=args.nice)
        result = run_niced(args.nice, lambda: sequential_cpu(port, process.pid, args.repeats,
                                                              args.timeout))
        batches = max(MIN_BATCHES, args.repeats // 2)
        result["batched_edit"] = run_niced(args.nice, lambda: batched_edit_cpu(
            port, process.pid, batches, args.timeout))
    with reference_app() as app, streamlit_server(SERVER_START_S, "ws-load-ref", app) as (
            port, process):
        result["reference_edit"] = run_niced(args.nice, lambda: batched_edit_cpu(
            port, process.pid, batches, args.timeout))
    result["errors"] += result["batched_edit"]["errors"] + result["reference_edit"]["errors"]
    result["edit_ratio_to_reference"] = _ratio(result["batched_edit"]["net_cpu_s_per_edit"],
                                               result["reference_edit"]["net_cpu_s_per_edit"])
    return result


def print_per_action(result: dict) -> None:
    print(f"\nserver CPU per action, one session, actions one after another ({result['repeats']} "
          f"of each; CPU of the server's process tree read just before each, after {SETTLE_S:.1f} s "
          f"of quiet, and {SETTLE_S:.1f} s after it; idle server "
          f"{result['idle_cpu_s_per_s'] * 1000:.1f} ms CPU per s):")
    print(f"  {'action':<10}{'n':>4}{'mean CPU-s':>12}{'median':>9}{'net of idle':>13}"
          f"{'wall p50':>12}"
          f"{'messages':>10}{'first cost p50':>20}")
    for action in SEQUENTIAL_ACTIONS:
        a = result["actions"][action]
        mean = "-" if a["cpu_s_mean"] is None else f"{a['cpu_s_mean']:.3f}"
        median = "-" if a["cpu_s_median"] is None else f"{a['cpu_s_median']:.3f}"
        net = "-" if a["net_cpu_s_mean"] is None else f"{a['net_cpu_s_mean']:.3f}"
        first = ("-" if a["first_cost_ms_median"] is None else
                 f"{ms_text(a['first_cost_ms_median'])} ms (msg {a['first_cost_message_median']:.0f})")
        print(f"  {action:<10}{a['n']:>4}{mean:>12}{median:>9}{net:>13}{ms_text(a['wall_ms_median']):>9} ms"
              f"{a['messages_median'] or 0:>10.0f}{first:>20}")
    print("  (net of idle: the mean less the idle rate over each action's window, the action "
          f"and the {SETTLE_S:.1f} s after it)")
    print("  (messages: ForwardMsgs the run sent; first cost: from the rerun request to the first "
          "monthly-cost metric, and which message it was)")
    planner, ref = result["batched_edit"], result["reference_edit"]
    print(f"\nedits in batches ({planner['batches']} x {EDITS_PER_BATCH} one after another, CPU "
          "read around each batch, net of idle), the planner and the fixed reference workload (a "
          "title, one number input and one metric; same Streamlit and settings, its own server):")
    for name, figures in (("planner", planner), ("reference", ref)):
        value = figures["net_cpu_s_per_edit"]
        print(f"  {name:<10} " + ("no batch completed" if value is None else
                                  f"{value:.4f} CPU-s per edit"))
    print(f"  the planner's edit is x{result['edit_ratio_to_reference']} the reference's "
          "(the figure to carry to another machine)")
    for e in result["errors"][:5]:
        print(f"    {e['action']}: {e['kind']}: {e['message']}")


def level(n: int, args: argparse.Namespace) -> dict:
    """One fresh server: warm-up, the reference workload, then n concurrent sessions."""
    with streamlit_server(SERVER_START_S, "ws-load") as (port, process):
        common = {"timeout_s": args.timeout, "seed": args.seed, "nice": args.nice}
        warm = measured(port, process, [["load"]], think_s=0.0, ramp_s=0.0, **common)
        reference = measured(port, process, [list(REFERENCE)], think_s=0.0, ramp_s=0.0, **common)
        plans = [["load"] + list(ITERATION) * args.iterations for _ in range(n)]
        result = measured(port, process, plans, think_s=args.think, ramp_s=args.ramp, **common)
    result["reference"] = reference
    result["warmup_ms"] = warm["latency"]["load"]["p50_ms"]
    result["warmup_errors"] = warm["errors"]
    result["ratio"] = {
        key: _ratio(result["latency"]["all"][key], reference["latency"]["all"][key])
        for key in ("p50_ms", "p95_ms")}
    result["ratio"]["edit_p95_ms"] = _ratio(result["latency"]["edit"]["p95_ms"],
                                            reference["latency"]["edit"]["p95_ms"])
    result["ratio"]["cpu_s_per_action"] = _ratio(result["server"]["cpu_s_per_action"],
                                                 reference["server"]["cpu_s_per_action"])
    return result


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 2)


# --- printing ----------------------------------------------------------------------------------

def print_level(result: dict) -> None:
    ref, server = result["reference"], result["server"]
    print(f"\n{result['sessions']} sessions: {result['actions_completed']} of "
          f"{result['actions_attempted']} actions completed in {result['wall_s']:.1f} s; "
          f"errors {result['errors']} {result['errors_by_kind'] or ''}".rstrip())
    print(f"  {'latency, ms':<34}{'n':>5}{'p50':>8}{'p95':>8}{'max':>8} | {'ref p50':>8}"
          f"{'ref p95':>8}")
    for action in (*ACTIONS, "in_page", "all"):
        s, r = result["latency"][action], ref["latency"][action]
        label = {"in_page": "in-page (edit, pages)", "all": "all actions"}.get(action, action)
        print(f"  {label:<34}{s['n']:>5}{ms_text(s['p50_ms']):>8}{ms_text(s['p95_ms']):>8}"
              f"{ms_text(s['max_ms']):>8} | {ms_text(r['p50_ms']):>8}{ms_text(r['p95_ms']):>8}")
    ratio = result["ratio"]
    print(f"  ratio to the reference (1 session, fixed sequence): p50 x{ratio['p50_ms']}, "
          f"p95 x{ratio['p95_ms']}, edit p95 x{ratio['edit_p95_ms']}, "
          f"server CPU per action x{ratio['cpu_s_per_action']}")
    print(f"  server: CPU {server['cpu_s']:.1f} s ({server['core_share']:.0%} of one core), "
          f"{server['cpu_s_per_action']:.3f} CPU-s per action (reference "
          f"{ref['server']['cpu_s_per_action']:.3f}); RSS {server['rss_before_mb']:.0f} MB before, "
          f"peak {server['peak_rss_mb']:.0f} MB (VmHWM {server['hwm_mb']:.0f} MB), "
          f"~{server['mem_mb_per_session']:.1f} MB per open session")
    print(f"  machine busy {result['machine_busy_share']:.0%} during the window "
          f"(warm-up open {ms_text(result['warmup_ms'])} ms)")
    for e in result["first_errors"][:5]:
        print(f"    session {e['session']} {e['action']}: {e['kind']}: {e['message']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="4,8,16",
                        help="comma-separated concurrent session counts, one server each")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--think", type=float, default=1.0, help="mean think time, s")
    parser.add_argument("--ramp", type=float, default=2.0, help="spread of session starts, s")
    parser.add_argument("--timeout", type=float, default=60.0, help="per action, s")
    parser.add_argument("--nice", type=int, default=10, help="niceness of the load generator")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=8,
                        help="sequential per-action CPU: times each action is measured (0: skip)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    try:
        levels = [int(v) for v in args.sessions.split(",") if v.strip()]
    except ValueError:
        parser.error("--sessions: comma-separated whole numbers, e.g. 4,8,16")
    if not all(1 <= n <= MAX_SESSIONS for n in levels):
        parser.error(f"--sessions: each between 1 and {MAX_SESSIONS} (none: only --repeats)")
    if not 0 <= args.repeats <= MAX_REPEATS or not (levels or args.repeats):
        parser.error(f"--repeats: between 0 and {MAX_REPEATS}, not 0 with no --sessions")
    if not 1 <= args.iterations <= MAX_ITERATIONS:
        parser.error(f"--iterations: between 1 and {MAX_ITERATIONS}")
    if not (0 <= args.think <= 30 and 0 <= args.ramp <= 60 and 1 <= args.timeout <= MAX_TIMEOUT_S):
        parser.error(f"--think 0-30 s, --ramp 0-60 s, --timeout 1-{MAX_TIMEOUT_S} s")

    import streamlit
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on SIGTERM too
    print(f"planner dashboard websocket load: sessions {levels}, {args.iterations} iteration(s) "
          f"each, think {args.think} s, ramp {args.ramp} s, action timeout {args.timeout:.0f} s"
          f"\n  (streamlit {streamlit.__version__}, websockets {websockets.__version__}, "
          f"{os.cpu_count()} CPUs, load generator at nice {args.nice}; a fresh server per level)")
    sequential = None
    if args.repeats:
        sequential = per_action(args)
        print_per_action(sequential)
        sys.stdout.flush()
    results = []
    for n in levels:
        result = level(n, args)
        results.append(result)
        print_level(result)
        sys.stdout.flush()
    out = {"settings": {"sessions": levels, "iterations": args.iterations, "think_s": args.think,
                        "ramp_s": args.ramp, "timeout_s": args.timeout, "repeats": args.repeats},
           "per_action": sequential, "levels": results,
           "errors": sum(r["errors"] + r["reference"]["errors"] for r in results)
           + (len(sequential["errors"]) if sequential else 0)}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0 if out["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
