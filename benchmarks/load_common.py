"""Helpers the dashboard benchmarks share (``load_test.py`` with browsers, ``ws_load.py`` over the
websocket protocol, ``page_speed.py``): a free port, stopping a server's process group,
percentiles, share links, and ``/proc`` readings (a process tree's CPU time and memory, the
machine's busy jiffies). Imported by those scripts as a sibling module; not a benchmark itself."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# --- /proc readings ----------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/*/stat's parent pid)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def status_kb(pid: int, key: str) -> int:
    """A ``/proc/<pid>/status`` field in kB (0 if the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of each process, plus those of its reaped children (cutime + cstime), in
    CPU-seconds (the kernel counts them in ticks of 1/CLK_TCK s)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / CLK_TCK


def tree_cpu_seconds(pid: int) -> float:
    """:func:`cpu_seconds` of pid's whole process tree."""
    return cpu_seconds(process_tree(pid))


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs since boot."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])       # guest time is already inside user/nice
    return total - idle, total


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=8)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def share_query(rpd: int) -> str:
    """The share link's query string of the dashboard's default scenario at ``rpd`` requests per
    day, written by the planner's own encoder."""
    from planner.io.sharelink import encode_scenario, to_query_string
    from ui.presets import default_scenario

    scenario = default_scenario()
    scenario = scenario.model_copy(update={
        "workload": scenario.workload.model_copy(update={"requests_per_day": rpd})})
    return to_query_string(encode_scenario(scenario))


def ms_text(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


class ActionFailed(Exception):
    """A load-test action that did not reach its result: ``kind`` says how (timeout, script...)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@contextlib.contextmanager
def streamlit_server(timeout_s: float, log_prefix: str,
                     app: Path = ROOT / "app.py") -> Iterator[tuple[int, subprocess.Popen]]:
    """``streamlit run app.py`` (or ``app``, run from its own folder, so that folder's
    ``.streamlit/config.toml`` applies) on a free 127.0.0.1 port in its own process group; yields
    (port, process) once /_stcore/health answers within ``timeout_s``; always stopped afterwards
    (the whole group, children too). The server's log is kept only if something went wrong."""
    port = free_port()
    ok = False
    with tempfile.NamedTemporaryFile("w+", prefix=f"{log_prefix}-streamlit-{port}-", suffix=".log",
                                     delete=False) as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(app), "--server.port",
             str(port), "--server.headless", "true", "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
             "--server.runOnSave", "false"],
            cwd=app.parent, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"streamlit exited with code {process.returncode} "
                                       f"(log {log.name})")
                with contextlib.suppress(OSError), urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer from the server in {timeout_s:.0f} s "
                                       f"(log {log.name})")
                time.sleep(0.2)
            yield port, process
            ok = True
        finally:
            stop_process_group(process)
    if ok:
        with contextlib.suppress(OSError):
            os.unlink(log.name)
