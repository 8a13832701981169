"""The websocket load benchmark (benchmarks/ws_load.py), tiny: the sequential per-action CPU (one
of each action) on one server; on another the reference workload, then 2 concurrent sessions x 2
iterations over Streamlit's websocket protocol (no browser). Every
action must complete and pass its check (the edit changes a monthly cost, each page sends its
title, no exception element). About 15-25 s on an idle 2-core machine; the 60 s action timeout and
the 240 s backstop leave room for a busy one.

Run as a subprocess: its own server (process group, always stopped) and event loop."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

SESSIONS, ITERATIONS = 2, 2
PER_SESSION = {"load": 1, "edit": ITERATIONS, "capacity": ITERATIONS, "catalog": ITERATIONS,
               "compare": ITERATIONS}
REFERENCE = {"load": 1, "edit": 2, "capacity": 2, "catalog": 2, "compare": 2}


def test_two_sessions_two_iterations_over_the_websocket(tmp_path):
    figures = tmp_path / "ws.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "ws_load.py"), "--sessions",
               str(SESSIONS), "--iterations", str(ITERATIONS), "--think", "0", "--ramp", "0",
               "--timeout", "60", "--repeats", "1", "--json", str(figures)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    output = done.stdout + done.stderr
    assert figures.exists(), output
    result = json.loads(figures.read_text(encoding="utf-8"))
    assert result["errors"] == 0, output
    # the sequential per-action CPU: one of each action, each with a CPU figure (10 ms ticks)
    per_action = result["per_action"]["actions"]
    assert {a: per_action[a]["n"] for a in PER_SESSION} == dict.fromkeys(PER_SESSION, 1), output
    assert all(0 <= per_action[a]["cpu_s_mean"] < 30 for a in PER_SESSION), output
    (level,) = result["levels"]
    assert level["sessions"] == SESSIONS
    assert level["actions_attempted"] == level["actions_completed"] == \
        SESSIONS * sum(PER_SESSION.values()), output
    assert {a: level["latency"][a]["n"] for a in PER_SESSION} == \
        {a: SESSIONS * n for a, n in PER_SESSION.items()}, output
    assert {a: level["reference"]["latency"][a]["n"] for a in REFERENCE} == REFERENCE, output
    # figures exist and are physical: latency and server CPU positive, memory of a real server
    assert 0 < level["latency"]["all"]["p50_ms"] <= level["latency"]["all"]["p95_ms"]
    assert 0 < level["server"]["cpu_s_per_action"] < 30
    assert 50 < level["server"]["peak_rss_mb"] < 4000
    assert level["ratio"]["p50_ms"] > 0 and level["ratio"]["cpu_s_per_action"] > 0
    assert "p95" in done.stdout and "CPU-s per action" in done.stdout
    assert done.returncode == 0, output
