"""Hardening II (issue 18): one regression test (or property) per finding, named by its number.

Findings 1-3 (paging guard, NaN in advise JSON, absurd API prices) are covered in
tests/test_azure_prices.py and tests/test_hostile_input.py."""

from __future__ import annotations

import copy
import json
import math
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from planner.errors import ScenarioError
from planner.io.sharelink import decode_query_string, encode_scenario, to_query_string
from planner.pipeline.plan import plan_scenario
from planner.pipeline.sizing import MAX_REPLICAS
from planner.scenario import (
    MAX_SCENARIO_BYTES,
    MAX_YAML_ALIASES,
    load_scenario,
    parse_scenario_bytes,
    parse_scenario_text,
    scenario_from_dict,
)

ROOT = Path(__file__).resolve().parent.parent
PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def default_data() -> dict:
    from ui.presets import default_scenario

    return default_scenario().model_dump(mode="json")


def finite_plan(data: dict, catalog):
    """The plan of ``data`` (every money, energy and count finite and bounded), or None if the
    scenario is refused with a ScenarioError naming a field."""
    try:
        scenario = scenario_from_dict(data)
    except ScenarioError as exc:
        assert str(exc) and len(str(exc)) < 2_500
        return None
    result = plan_scenario(scenario, catalog)
    for plan in result.deployments:
        for value in (plan.monthly_cost_usd, plan.energy_kwh_per_month, plan.co2_kg_per_month,
                      plan.cost_per_million_output_tokens_usd,
                      plan.cost_per_thousand_requests_usd, plan.idle_cost_usd_per_month):
            assert value is None or math.isfinite(value), (plan.label, value)
        if plan.sizing is not None:
            assert plan.sizing.replicas <= MAX_REPLICAS
            assert plan.sizing.nodes <= MAX_REPLICAS and plan.sizing.gpus <= 8 * MAX_REPLICAS
            assert math.isfinite(plan.sizing.headroom_requests_per_day)
    return result


# --- 6: share links and scenario inputs bounded, and every derived count -------------------------

any_float = st.floats(allow_nan=True, allow_infinity=True)
WORKLOAD_FLOATS = ["requests_per_day", "target_utilization", "ttft_slo_ms", "tpot_slo_ms",
                   "peak_to_average", "monthly_growth"]


@PROPERTY
@given(field=st.sampled_from(WORKLOAD_FLOATS), value=any_float)
@example(field="target_utilization", value=1e-20)  # the reported repros
@example(field="target_utilization", value=5e-324)
@example(field="requests_per_day", value=1e-320)
def test_finding_06_any_float_in_the_workload_plans_finitely_or_is_refused(catalog, field, value):
    data = default_data()
    data["workload"][field] = value
    finite_plan(data, catalog)


@PROPERTY
@given(value=any_float)
@example(value=1e-300)
def test_finding_06_any_amortisation_plans_finitely_or_is_refused(catalog, value):
    data = default_data()
    local = [d for d in data["deployments"] if d["target"]["kind"] == "local"]
    assert local, "the default scenario has an on-prem option"
    local[0]["target"]["amortization_years"] = value
    local[0]["target"]["purchase_usd_per_machine"] = 5_000
    finite_plan(data, catalog)


@pytest.mark.parametrize("param, value", [("util", "1e-20"), ("rpd", "1e-320"),
                                          ("util", "5e-324")])
def test_finding_06_tiny_share_link_values_are_refused_with_the_default(catalog, param, value):
    from ui.presets import default_scenario

    params = encode_scenario(default_scenario())
    params[param] = value
    decoded = decode_query_string(to_query_string(params), catalog)
    scenario, messages = decoded.scenario, decoded.messages
    assert any(f"{param}='{value}' ignored" in m for m in messages), messages
    finite_plan(scenario.model_dump(mode="json"), catalog)


def test_finding_06_one_year_write_off_link_is_refused(catalog):
    data = default_data()
    local = next(d for d in data["deployments"] if d["target"]["kind"] == "local")
    local["target"]["amortization_years"] = 1e-300
    with pytest.raises(ScenarioError, match="amortization_years"):
        scenario_from_dict(data)


def test_finding_06_replica_counts_are_bounded(catalog):
    """A billion requests/day of 3,000-token answers at peak 100x and 5 % utilisation would need
    hundreds of millions of replicas: refused per option with its own status, never a 9-digit
    node count."""
    data = default_data()
    data["workload"].update(requests_per_day=1e10, input_tokens=1000, output_tokens=3000,
                            peak_to_average=100, target_utilization=0.05)
    result = finite_plan(data, catalog)
    assert result is not None
    self_hosted = [p for p in result.deployments if p.target_kind != "api"]
    assert self_hosted and all(p.fit.status == "too_many_replicas" for p in self_hosted)
    assert all(p.sizing is None and p.monthly_cost_usd is None for p in self_hosted)
    from planner.io.wording import findings_text, fit_text

    text = fit_text(self_hosted[0])
    assert "replicas" in text and f"{MAX_REPLICAS:,}" in text
    assert any("replicas" in t for t in findings_text(self_hosted[0].findings))


def test_finding_06_growth_beyond_the_replica_bound_is_named_not_costed(catalog):
    """+500 % a month for a year multiplies traffic by 6**11 (3.6e8): the months past 100,000
    replicas are not sized, a finding says from when, and the year is not costed."""
    from planner.findings import FindingCode
    from planner.pricing.projection import line_year_usd, serving_by_month

    data = default_data()
    data["workload"].update(requests_per_day=100_000, monthly_growth=5.0)
    result = finite_plan(data, catalog)
    plan = next(p for p in result.deployments if p.sizing is not None)
    capped = [f for f in plan.findings if f.code == FindingCode.GROWTH_BEYOND_BOUND]
    assert capped and 1 < capped[0].values["month"] <= 12
    assert len(plan.nodes_by_month) == capped[0].values["month"] - 1
    assert max(plan.nodes_by_month) <= MAX_REPLICAS
    costs, basis = serving_by_month(plan)
    assert costs is None and "replicas" in basis
    assert None in line_year_usd(plan)


# --- 8: scenario files read as at most cap + 1 bytes, from regular files only --------------------

def test_finding_08_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    outcome: dict = {}

    def read() -> None:
        try:
            load_scenario(fifo)
        except ScenarioError as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():  # unblock the reader so the test process can end
        with open(fifo, "w"):
            pass
        pytest.fail("load_scenario blocked on a FIFO")
    assert "not a regular file" in outcome.get("error", ""), outcome


def test_finding_08_directory_is_refused(tmp_path):
    with pytest.raises(ScenarioError, match="is a directory"):
        load_scenario(tmp_path)


def test_finding_08_device_is_refused_without_reading_it():
    """/dev/zero never ends: the reader runs in a child limited to 1 GB of address space, so the
    old read-it-all behaviour fails here instead of filling the machine."""
    code = ("from pathlib import Path\nfrom planner.scenario import load_scenario\n"
            "from planner.errors import ScenarioError\n"
            "try:\n    load_scenario(Path('/dev/zero'))\n"
            "except ScenarioError as exc:\n    print('refused:', exc)\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, preexec_fn=limit)
    assert done.returncode == 0 and "refused: scenario zero is not a regular file" in done.stdout, \
        done.stdout + done.stderr


def test_finding_08_oversized_regular_file_is_refused(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.truncate(50 * MAX_SCENARIO_BYTES)  # sparse: nothing written
    with pytest.raises(ScenarioError, match="larger than"):
        load_scenario(big)


# --- 10: integers of more than 4,300 digits --------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(digits=st.integers(1, 20_000), fmt=st.sampled_from(["json", "yaml"]))
def test_finding_10_any_integer_size_is_read_or_refused(digits, fmt):
    number = "9" * digits
    data = default_data()
    text = json.dumps(data).replace('"requests_per_day": 200000', f'"requests_per_day": {number}')
    assert number in text
    try:
        scenario = parse_scenario_text(text, fmt)
    except ScenarioError as exc:
        assert len(str(exc)) < 300
        # over sys.get_int_max_str_digits() the parser refuses it; below, the bound does
        assert "4,300 digits" in str(exc) or "requests_per_day" in str(exc)
    else:
        assert scenario.workload.requests_per_day == int(number)


def test_finding_10_cli_and_upload_give_one_line(tmp_path):
    text = json.dumps(default_data()).replace('"requests_per_day": 200000',
                                              '"requests_per_day": ' + "1" * 5000)
    with pytest.raises(ScenarioError, match="4,300 digits"):
        parse_scenario_bytes("big.json", text.encode())
    path = tmp_path / "big.json"
    path.write_text(text)
    done = subprocess.run([sys.executable, "-m", "planner", "plan", "--scenario", str(path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr


# --- 11: tiny positive inputs --------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [("requests_per_day", 1e-305),
                                          ("target_utilization", 5e-324),
                                          ("ttft_slo_ms", 5e-324), ("tpot_slo_ms", 1e-300)])
def test_finding_11_tiny_positive_workload_values_are_refused(catalog, field, value):
    data = default_data()
    data["workload"][field] = value
    with pytest.raises(ScenarioError, match=field):
        scenario_from_dict(data)


# --- 19: YAML alias bombs --------------------------------------------------------------------------

def test_finding_19_yaml_alias_bomb_gets_a_short_message_fast():
    anchor = "a: &x [" + ", ".join(["1"] * 50) + "]\n"
    text = anchor + "b: [" + ", ".join(["*x"] * 15_000) + "]\n"
    assert len(text) < MAX_SCENARIO_BYTES
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        parse_scenario_text(text, "yaml")
    assert time.perf_counter() - start < 5
    assert "aliases" in str(info.value) and len(str(info.value)) < 200


def test_finding_19_a_few_aliases_still_load():
    data = default_data()
    import yaml

    dep = data["deployments"][0]
    text = yaml.safe_dump(data, sort_keys=False)
    assert parse_scenario_text(text, "yaml").deployments[0].label == dep["label"]
    few = "workload:\n  ttft_slo_ms: &v 3000\n  tpot_slo_ms: *v\n" + yaml.safe_dump(
        {"deployments": data["deployments"]})
    assert parse_scenario_text(few, "yaml").workload.tpot_slo_ms == 3000
    assert MAX_YAML_ALIASES >= 10


def test_finding_19_validation_messages_are_capped():
    """15,000 bad deployments' worth of problems would be a megabyte of text: cut, with a count."""
    data = default_data()
    bad = copy.deepcopy(data["deployments"][0])
    bad["precision"] = "fp64"
    data["deployments"] = [dict(bad, label=f"d{i}", surprise=i) for i in range(400)]
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert len(str(info.value)) < 2_500 and "more problems" in str(info.value)


# --- 4, 5, 12 (deep JSON): the price client against a hostile server on 127.0.0.1 ---------------

def _hostile_server():
    """A real HTTP server on 127.0.0.1 whose paths misbehave: /endless (a chunked body that never
    ends, stopped after 256 MB), /bomb (64 MiB of zeros gzip-compressed to ~64 kB), /drip (100
    bytes at one per 0.1 s), /deep (JSON nested 200,000 levels)."""
    import gzip
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    bomb = gzip.compress(b"\0" * (64 << 20), compresslevel=9)
    deep = b"[" * 200_000 + b"]" * 200_000

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            try:
                if path == "/endless":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunk = b" " * 65536
                    for _ in range(4096):  # 256 MB, then give up
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                elif path in ("/bomb", "/deep"):
                    body = bomb if path == "/bomb" else deep
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    if path == "/bomb":
                        self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    for _ in range(100):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.1)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return server


@pytest.fixture
def hostile(monkeypatch):
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    server = _hostile_server()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _client(origin: str, **kw):
    from planner.pricing.azure_api.client import RetailPricesClient

    return RetailPricesClient(origin + "/api/retail/prices", max_retries=0, sleep=lambda s: None,
                              **kw)


@pytest.mark.parametrize("path", ["/endless", "/bomb"])
def test_finding_04_response_size_is_capped_while_reading(hostile, path):
    from planner.pricing.azure_api.client import ResponseTooLargeError

    start = time.perf_counter()
    with _client(hostile, timeout=20, max_response_bytes=1 << 20) as client, \
            pytest.raises(ResponseTooLargeError, match="larger than 1,048,576 bytes"):
        client.get_page(hostile + path)
    assert time.perf_counter() - start < 10


def test_finding_05_a_dripping_server_is_cut_off_at_the_timeout(hostile):
    from planner.errors import PriceApiError

    start = time.perf_counter()
    with _client(hostile, timeout=1.0) as client, \
            pytest.raises(PriceApiError, match="timed out after 1 s"):
        client.get_page(hostile + "/drip")
    assert time.perf_counter() - start < 4  # the body alone takes 10 s


def test_finding_12_deeply_nested_price_response_is_one_line(hostile):
    from planner.pricing.azure_api.errors import PriceApiResponseError

    with _client(hostile, timeout=20) as client, \
            pytest.raises(PriceApiResponseError, match="nested too deeply"):
        client.get_page(hostile + "/deep")


# --- 7: --out never replaces a non-regular file, refuses directories, writes atomically ---------

def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "planner", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _one_line_error(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    line = done.stderr.strip()
    assert "\n" not in line and line.startswith("error: "), line
    for word in words:
        assert word in line, line


def test_finding_07_out_refuses_a_fifo_and_a_directory(tmp_path):
    from planner.io.files import OutputPathError, write_atomic

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputPathError, match="not a regular file"):
        write_atomic(fifo, "x")
    assert fifo.is_fifo()
    with pytest.raises(OutputPathError, match="is a directory"):
        write_atomic(tmp_path, "x")
    # the commands: calibrate (the fit is skipped), prices refresh (no request is made), deploy
    _one_line_error(_cli("calibrate", "--out", str(fifo)), "not a regular file")
    assert fifo.is_fifo()
    _one_line_error(_cli("calibrate", "--out", str(tmp_path)), "is a directory")
    _one_line_error(_cli("prices", "refresh", "--out", str(tmp_path), "--base-url",
                         "http://127.0.0.1:9/api/retail/prices"), "is a directory")
    _one_line_error(_cli("export", "--scenario", str(ROOT / "examples" / "support-bot.json"),
                         "--deployment", "SLM", "--kind", "kaito", "--out", str(fifo)),
                    "not a regular file")
    assert fifo.is_fifo()


def test_finding_07_failed_write_leaves_the_old_file(tmp_path):
    from planner.io.files import write_atomic

    out = tmp_path / "out.json"
    out.write_text("old")
    os.chmod(out, 0o600)

    def refuse(tmp: Path) -> None:
        assert tmp.read_text() == "new" and tmp.parent == tmp_path
        raise ValueError("invalid")

    with pytest.raises(ValueError):
        write_atomic(out, "new", validate=refuse)
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
    write_atomic(out, "new")
    assert out.read_text() == "new" and out.stat().st_mode & 0o777 == 0o600


def test_finding_07_symlink_replaces_its_target_not_the_link(tmp_path):
    from planner.io.files import write_atomic

    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write_atomic(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


# --- 12: the other tracebacks -----------------------------------------------------------------------

def test_finding_12_prices_status_of_a_directory(tmp_path):
    _one_line_error(_cli("prices", "status", "--file", str(tmp_path)), "is a directory")


@pytest.mark.parametrize("content, words", [
    ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ('{"profiles": {"vllm": {"bandwidth_efficiency": NaN}}}', "finite number"),
    ('{"profiles": {"vllm": {"bandwidth_efficiency": 0}}}', "outside"),
    ('{"profiles": {"vllm": {"bandwidth_efficiency": "fast"}}}', "finite number"),
    ('{"profiles": {"vllm": {"max_batch": true}}}', "finite number"),  # 18: true is no number
    ('{"validation": {}}', "no 'profiles'"),                           # 18: no profiles
], ids=["deep", "nan", "zero", "string", "true", "no-profiles"])
def test_finding_12_validate_profiles_are_checked(tmp_path, content, words):
    from planner.errors import DataError
    from planner.physics.throughput import load_profiles

    path = tmp_path / "engine_profiles.json"
    path.write_text(content)
    with pytest.raises(DataError, match=r"engine_profiles\.json") as info:
        load_profiles(path)
    assert words in str(info.value)
    _one_line_error(_cli("validate", "--profiles", str(path)), words)


def _measurements_with(tmp_path: Path, **cells: str) -> Path:
    import csv

    source = ROOT / "data" / "benchmarks" / "measured_throughput.csv"
    with open(source, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[0].update(cells)
    path = tmp_path / "measurements.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("cells, words", [({"notes": "x" * 140_000}, "field limit"),
                                          ({"value": "5e-324"}, "column 'value'")])
def test_finding_12_validate_data_cells(tmp_path, cells, words):
    _one_line_error(_cli("validate", "--data", str(_measurements_with(tmp_path, **cells))),
                    words)


def test_finding_12_calibrate_on_a_denormal_value(tmp_path):
    out = tmp_path / "profiles.json"
    out.write_text("old")
    data = _measurements_with(tmp_path, value="5e-324")
    _one_line_error(_cli("calibrate", "--data", str(data), "--out", str(out)), "column 'value'")
    assert out.read_text() == "old"


# --- 13: a corrupt engine_profiles.json is named by file, on the CLI and in the dashboard ---------

def test_finding_13_corrupt_profiles_named_in_the_dashboard(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from planner.physics import throughput
    from ui import cached

    corrupt = tmp_path / "engine_profiles.json"
    corrupt.write_text('{"profiles": {"vllm": ')
    monkeypatch.setattr(throughput, "CALIBRATION_FILE", corrupt)
    cached.profiles.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        errors = " ".join(e.value for e in at.error)
        assert "engine_profiles.json" in errors and "not valid JSON" in errors, errors
    finally:
        cached.profiles.clear()


# --- 14: inf in reference tables, empty models.csv ------------------------------------------------

def _data_copy(tmp_path: Path) -> Path:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data, ignore=shutil.ignore_patterns("research", "*.md"))
    return data


def test_finding_14_inf_in_a_reference_table_is_refused(tmp_path):
    import csv

    from planner.catalog import load_catalog
    from planner.errors import DataError

    data = _data_copy(tmp_path)
    path = data / "gpus.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    column = next(c for c in rows[0] if c.endswith("mem_gb"))
    rows[0][column] = "inf"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(DataError, match=rf"gpus.csv row 2, field {column}"):
        load_catalog(data)


def test_finding_14_empty_models_table_is_refused(tmp_path):
    from planner.catalog import load_catalog
    from planner.errors import DataError

    data = _data_copy(tmp_path)
    header = (data / "models.csv").read_text(encoding="utf-8").splitlines()[0]
    (data / "models.csv").write_text(header + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"models\.csv: no rows"):
        load_catalog(data)


# --- 15: stale hidden temp files of a killed snapshot write are removed --------------------------

def test_finding_15_stale_snapshot_temp_files_are_cleaned_up(tmp_path):
    import shutil

    from planner.io.files import STALE_TEMP_S, temp_prefix
    from planner.pricing.azure_api import snapshot as snapshots

    snapshot = tmp_path / "azure_retail_prices.csv"
    shutil.copy(ROOT / "data" / "prices" / "azure_retail_prices.csv", snapshot)
    stale = tmp_path / f"{temp_prefix(snapshot)}abc123.tmp"
    stale.write_bytes(snapshot.read_bytes())  # what kill -9 mid-write leaves
    old = time.time() - STALE_TEMP_S - 60
    os.utime(stale, (old, old))
    fresh = tmp_path / f"{temp_prefix(snapshot)}def456.tmp"  # a write going on right now
    fresh.write_bytes(b"partial")
    snap = snapshots.read_snapshot(snapshot)
    snapshots.write_snapshot_atomic(
        snapshot, snapshots.render_snapshot(snap.header, snap.rows, snap.newline), snap.content)
    assert not stale.exists() and fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([snapshot.name, fresh.name])


# --- 9: Markdown injection: every user string rendered as Markdown is escaped --------------------

HOSTILE_MD = "![p](http://127.0.0.1:9/x.png)"  # an image every viewer's browser would fetch


def _markdown_texts(at) -> list[tuple[str, str]]:
    """(element type, text) of every string the front end renders as Markdown: bodies of
    markdown, alerts, headings, captions; metric labels and deltas; widget and expander labels
    and help texts. Code blocks, plain text, tables and charts are not Markdown."""
    out: list[tuple[str, str]] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        kind = type(proto).__name__ if proto is not None else ""
        if proto is not None and kind not in ("Code", "Text", "Arrow", "PlotlyChart", "Json"):
            for name in ("body", "label", "delta", "help", "placeholder"):
                value = getattr(proto, name, None)
                if isinstance(value, str) and value:
                    out.append((kind, value))
            expandable = getattr(proto, "expandable", None)
            if expandable is not None and getattr(expandable, "label", ""):
                out.append((kind, expandable.label))
        children = getattr(node, "children", None) or {}
        for child in (children.values() if isinstance(children, dict) else children):
            walk(child)

    walk(at._tree)
    return out


def _unescaped(texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    # the page's own links (Methodology's sources) are fine; the hostile image and link are not
    return [(k, t[:160]) for k, t in texts if "](http://127.0.0.1:9" in t or "![p]" in t]


def test_finding_09_hostile_labels_and_names_render_escaped_on_every_page():
    from streamlit.testing.v1 import AppTest

    from ui.presets import default_scenario

    scenario = default_scenario()
    deps = list(scenario.deployments)
    deps[0] = deps[0].model_copy(update={"label": HOSTILE_MD})
    hostile = scenario.model_copy(update={"name": HOSTILE_MD, "deployments": tuple(deps)})
    query = encode_scenario(hostile)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    texts = _markdown_texts(at)
    assert any("png" in t for _, t in texts), ("the hostile label is on the page", texts[:20])
    assert _unescaped(texts) == []
    for page in ("capacity", "advisor", "deploy", "catalog", "methodology"):
        at.switch_page(f"ui/pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert _unescaped(_markdown_texts(at)) == [], page


def test_finding_09_upload_messages_are_escaped():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["upload_box"] = True  # the "Load a scenario file" section, opened
    at.session_state["upload_error"] = f"{HOSTILE_MD}.yaml: model {HOSTILE_MD} is unknown"
    at.run()
    errors = [e.value for e in at.error]
    assert any("png" in e for e in errors), errors
    assert _unescaped(_markdown_texts(at)) == []
    at.session_state["upload_error"] = None
    at.session_state["upload_note"] = f"Loaded {HOSTILE_MD}.json: scenario '{HOSTILE_MD}'."
    at.run()
    assert any("png" in s.value for s in at.success)
    assert _unescaped(_markdown_texts(at)) == []


# --- 11: tiny positive inputs on the command line ----------------------------------------------

def test_finding_11_finetune_mfu_and_epochs_are_bounded():
    from pydantic import ValidationError

    from planner.pipeline.finetune import FinetuneJob

    for field, value in (("mfu", 1e-320), ("mfu", 0.001), ("epochs", 5e-324),
                         ("amortization_years", 1e-300)):
        with pytest.raises(ValidationError, match=field):
            FinetuneJob(model="llama-3-8b", dataset_examples=1000, tokens_per_example=500,
                        vm_sku="Standard_NC24ads_A100_v4", **{field: value})
    done = _cli("finetune", "--model", "llama-3-8b", "--examples", "1000",
                "--tokens-per-example", "500", "--vm-sku", "Standard_NC24ads_A100_v4",
                "--mfu", "1e-320")
    _one_line_error(done, "mfu")


# --- 16: labels that differ only in case export to the same KAITO names ---------------------------

def test_finding_16_case_only_label_clash_is_refused(catalog):
    from planner.io.kaito import ExportError, kaito_export, nodepool_export

    data = {"name": "t", "workload": {"requests_per_day": 100_000}, "deployments": [
        {"label": label, "model": "phi-3-mini-4k",
         "target": {"kind": "azure", "vm_sku": "Standard_NC24ads_A100_v4", "region": "eastus"}}
        for label in ("SLM", "slm")]}
    scenario = scenario_from_dict(data)
    result = plan_scenario(scenario, catalog)
    for plan in result.deployments:
        for export in (kaito_export, nodepool_export):
            with pytest.raises(ExportError, match="same Workspace name"):
                export(plan, scenario, catalog)
    single = scenario_from_dict({**data, "deployments": data["deployments"][:1]})
    kaito_export(plan_scenario(single, catalog).deployments[0], single, catalog)


# --- 17: terminal control characters never reach the terminal ------------------------------------

def test_finding_17_control_characters_are_stripped():
    from planner.io.render import printable, to_table
    from planner.pricing.azure_api.errors import one_line

    hostile = "ok\x1b]0;title\x07\x1b[2J\x9b31m\r\x08done"
    assert printable(hostile) == "ok]0;title[2J31mdone"
    assert "\x1b" not in to_table([{"label": hostile}]) and "title" in to_table([{"label": hostile}])
    assert "\x1b" not in one_line("HTTP 500: \x1b[31mboom\x1b[0m") and "boom" in one_line("\x1bboom")
    assert printable("tab\tand\nnewline") == "tab\tand\nnewline"


def test_finding_17_cli_errors_and_tables_on_a_terminal_are_clean(tmp_path):
    """The plan table (labels) through a pseudo-terminal, and an error naming a hostile file."""
    import pty

    scenario = default_data()
    scenario["name"] = "n\x1b[2Jame"
    scenario["deployments"][0]["label"] = "SLM\x1b]0;pwned\x07"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario))
    leader, follower = pty.openpty()
    done = subprocess.run([sys.executable, "-m", "planner", "plan", "--scenario", str(path)],
                          cwd=ROOT, stdout=follower, stderr=subprocess.PIPE, timeout=120)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    out = b"".join(chunks)
    assert done.returncode == 0, done.stderr
    assert b"SLM]0;pwned" in out and b"\x1b" not in out and b"\x07" not in out
    bad = tmp_path / "bad\x1b[31m.json"
    bad.write_text('{"deployments": [{"label": "\\u001b[2J", "model": "nope", '
                   '"target": {"kind": "api"}}]}')
    done = _cli("plan", "--scenario", str(bad))
    assert done.returncode == 2 and "\x1b" not in done.stderr, done.stderr


# --- 18: silently accepted nonsense --------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["advise", "--top", "-1"], "--top"),
    (["advise", "--precisions", "fp64"], "unknown fp64"),
    (["throughput", "--model", "llama-3.1-8b", "--gpu", "a100-80gb-sxm", "--precision", "fp16",
      "--context-tokens", "-1"], "--context-tokens"),
    (["throughput", "--model", "llama-3.1-8b", "--gpu", "a100-80gb-sxm", "--precision", "fp16",
      "--input-tokens", "100000000000"], "--input-tokens"),
    (["throughput", "--model", "llama-3.1-8b", "--gpu", "a100-80gb-sxm", "--precision", "fp16",
      "--input-tokens", "1000000", "--output-tokens", "100000"], "exceeds the 131,072-token"),
], ids=["top", "precisions", "context", "input", "too-long"])
def test_finding_18_nonsense_arguments_are_refused(args, words):
    done = _cli(*args)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-1500:]
    assert words in done.stderr.strip().splitlines()[-1], done.stderr


def test_finding_18_true_is_not_a_number_in_a_scenario():
    data = default_data()
    data["workload"]["requests_per_day"] = True
    with pytest.raises(ScenarioError, match=r"workload\.requests_per_day: true/false"):
        scenario_from_dict(data)
    data = default_data()
    data["deployments"][0]["tp"] = True
    with pytest.raises(ScenarioError, match=r"deployments\[0\]\.tp"):
        scenario_from_dict(data)
