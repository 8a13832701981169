"""The load test (benchmarks/load_test.py), tiny: 2 concurrent browser sessions x 2 iterations against
its own ``streamlit run app.py`` on 127.0.0.1. Every action must complete, with no error. 35-50 s
on an idle 2-core machine; the 60 s action timeout (120 s to open a page) and the 150 s window
leave room for a machine busy with other browser tests (a fresh Chromium context spends seconds of
CPU on the Streamlit front end).

Run as a subprocess (its own asyncio loop, server and Chromium, and a watchdog that may end the
process), so nothing leaks into the other browser tests of this worker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from browser_support import ROOT, require_chromium

pytestmark = pytest.mark.browser

SESSIONS, ITERATIONS = 2, 2
# a session opens the app once, then each iteration is edit, capacity, catalog, compare, and the
# second iteration also opens the share link (after the edit)
PER_SESSION = {"load": 1, "edit": 2, "capacity": 2, "catalog": 2, "compare": 2, "share": 1}


def test_two_sessions_two_iterations_without_errors(tmp_path):
    require_chromium()
    figures = tmp_path / "load.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "load_test.py"),
               "--sessions", str(SESSIONS), "--iterations", str(ITERATIONS), "--think", "0",
               "--ramp", "0", "--no-warmup", "--duration", "150", "--timeout", "60",
               "--json", str(figures)]
    # the script stops itself within duration + 60 s; this timeout is only a backstop
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert figures.exists(), output
    result = json.loads(figures.read_text(encoding="utf-8"))
    assert result["errors"] == 0, output
    expected = SESSIONS * sum(PER_SESSION.values())
    assert result["actions_attempted"] == result["actions_completed"] == expected, output
    assert {a: result["latency"][a]["n"] for a in PER_SESSION} == \
        {a: SESSIONS * n for a, n in PER_SESSION.items()}, output
    assert result["visits"] == SESSIONS, output
    assert result["iterations_started"] == result["iterations_complete"] == SESSIONS * ITERATIONS, \
        output
    assert result["latency"]["all"]["p50_ms"] > 0 and result["server"]["peak_rss_mb"] > 0
    assert done.returncode == 0, output
