"""Helpers the two dashboard load benchmarks share (``load_test.py`` with browsers, ``ws_load.py``
over the websocket protocol): a free port, stopping a server's process group, percentiles, share
links. Imported by those scripts as a sibling module; not a benchmark itself."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess


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
