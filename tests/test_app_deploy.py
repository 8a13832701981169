"""The Deploy & fine-tune page and the Catalog's price refresh under Streamlit's AppTest.

Deploy: the KAITO manifest shown parses and names the plan's VM size; API and own-hardware options
say there is nothing to deploy on AKS; an option that does not fit gets no manifest; fine-tuning
inputs move the hours the right way and a missing price reads "price missing", never $0.

Refresh: the page is pointed ($PLANNER_PRICES_BASE_URL) at a closed 127.0.0.1 port (offline) or
at a local HTTP server serving the recorded pages of tests/data/azure_prices/, and writes into a
tmp copy of data/ ($PLANNER_DATA_DIR); the shipped data/ is never touched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from planner.catalog import DATA_DIR, DATA_DIR_ENV, PRICES_FILE, load_catalog
from planner.errors import ScenarioError
from planner.io.sharelink import encode_scenario
from planner.pipeline.finetune import FinetuneError
from planner.pipeline.plan import plan_scenario
from planner.pricing.azure_api.query import MAX_SKUS_PER_QUERY
from ui import deploy_data
from ui.format import usd
from ui.presets import default_scenario, preset

APP = str(Path(__file__).resolve().parent.parent / "app.py")
DEPLOY = "ui/pages/deploy.py"
CATALOG = "ui/pages/catalog.py"
RECORDED = Path(__file__).resolve().parent / "data" / "azure_prices"
API_PATH = "/api/retail/prices"
BASE_URL_ENV = "PLANNER_PRICES_BASE_URL"
TIMEOUT_S = 60
DATA_COPY_NAME = "data-copy"


@pytest.fixture(autouse=True)
def allow_price_refresh(monkeypatch):
    """These tests play the operator: the refresh button is on (PLANNER_ALLOW_PRICE_REFRESH)."""
    monkeypatch.setenv("PLANNER_ALLOW_PRICE_REFRESH", "1")


def run_page(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    if query:
        at.query_params.update(query)
    at.run()
    return at.switch_page(page).run()


def prices_page() -> AppTest:
    """The Catalog page on its Prices tab (the page builds only the tab on show)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.session_state["catalog_tab"] = "Prices"
    return at.switch_page(CATALOG).run()


def no_problems(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label.replace("\\", ""): m.value for m in at.metric}


def hours(value: str) -> float:
    """'1.40 h' / '1,234 h (51 days)' -> hours."""
    match = re.match(r"([\d,.]+) h", value)
    assert match, value
    return float(match.group(1).replace(",", ""))


def texts(at: AppTest) -> str:
    parts = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.success]
    return "\n".join(str(p.value) for p in parts).replace("\\", "")


@pytest.fixture(scope="module")
def deploy() -> AppTest:
    return run_page(DEPLOY)


# ------------------------------------------------------------------ deploy on AKS


def test_deploy_page_renders_every_option(deploy):
    no_problems(deploy)
    assert deploy.title[0].value == "Deploy & fine-tune"
    assert [t.label.replace("\\", "") for t in deploy.tabs[:4]] == ["SLM", "LLM", "On-prem", "API"]
    infos = [i.value for i in deploy.info]
    assert any("own hardware" in i and "nothing to deploy on AKS" in i for i in infos)
    assert any("hosted API" in i and "nothing to deploy on AKS" in i for i in infos)


def test_kaito_yaml_parses_and_names_the_sku(deploy, catalog):
    plan = plan_scenario(default_scenario(), catalog).deployments[0]
    blocks = [c for c in deploy.code if c.language == "yaml"]
    assert len(blocks) == 2  # SLM and LLM, the Azure options
    manifest = yaml.safe_load(blocks[0].value)
    # the SLM runs two replicas: an InferenceSet (kaito.sh/v1beta1) of two Workspaces
    assert manifest["kind"] == "InferenceSet" and manifest["apiVersion"] == "kaito.sh/v1beta1"
    template = manifest["spec"]["template"]
    assert template["resource"]["instanceType"] == "Standard_NC24ads_A100_v4"
    assert manifest["spec"]["replicas"] == plan.replicas
    assert template["inference"]["preset"]["name"] == "phi-3-mini-4k-instruct"
    big = yaml.safe_load(blocks[1].value)
    assert big["spec"]["template"]["resource"]["instanceType"] == "Standard_ND96isr_H100_v5"
    commands = [c.value for c in deploy.code if c.language == "bash"]
    assert "--node-vm-size Standard_NC24ads_A100_v4" in commands[0]
    assert f"--node-count {plan.nodes}" in commands[0]
    keys = {b.key for b in deploy.get("download_button")}
    assert {"dl.kaito.0", "dl.az.0", "dl.kaito.1", "dl.az.1"} <= keys


def test_export_warnings_are_shown(deploy):
    warnings = "\n".join(w.value for w in deploy.warning).replace("\\", "")
    assert "KAITO has no preset for Meta Llama 3 70B" in warnings  # LLM
    assert "resource.count" not in warnings  # replicas are an InferenceSet, not a warning


def test_t4_gets_the_kaito_compute_capability_warning():
    base = default_scenario()
    t4 = base.deployments[0].model_copy(update={"target": base.deployments[0].target.model_copy(
        update={"vm_sku": "Standard_NC4as_T4_v3"})})
    scenario = base.model_copy(update={"deployments": (t4, base.deployments[3])})
    at = run_page(DEPLOY, encode_scenario(scenario))
    no_problems(at)
    warnings = "\n".join(w.value for w in at.warning).replace("\\", "")
    assert "fails on T4/V100 nodes" in warnings


def test_an_option_that_does_not_fit_gets_no_manifest():
    base = default_scenario()
    scenario = base.model_copy(update={
        "workload": base.workload.model_copy(update={"input_tokens": 5000}),
        "deployments": (base.deployments[0], base.deployments[3])})
    at = run_page(DEPLOY, encode_scenario(scenario))
    assert not at.exception
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any(e.startswith("Does not fit, so there is no manifest") and "4,096-token context" in e
               for e in errors)
    assert not [c for c in at.code if c.language == "yaml"]


def test_an_api_only_scenario_has_nothing_to_deploy_or_fine_tune():
    base = default_scenario()
    at = run_page(DEPLOY, encode_scenario(base.model_copy(
        update={"deployments": (base.deployments[3],)})))
    no_problems(at)
    infos = [i.value for i in at.info]
    assert any("nothing to deploy on AKS" in i for i in infos)
    assert any("Every option is a hosted API" in i for i in infos)
    assert not at.metric and not [c for c in at.code if c.language in ("yaml", "bash")]


# ------------------------------------------------------------------ fine-tuning


def test_more_examples_epochs_or_full_training_take_longer():
    at = run_page(DEPLOY)
    base = hours(metrics(at)["Training time"])
    at.number_input(key="ft.examples").set_value(80_000).run()
    no_problems(at)
    more = hours(metrics(at)["Training time"])
    assert more == pytest.approx(4 * base, rel=0.02)  # 4x the tokens
    at.number_input(key="ft.epochs").set_value(6.0).run()
    assert hours(metrics(at)["Training time"]) == pytest.approx(2 * more, rel=0.02)
    # half the fitted LoRA default: median of the LoRA runs' implied MFUs (9.1536 % and
    # 13.0818 %, hand-computed in tests/test_finetune.py) = 11.1177 %, half = 5.55885 %
    at.number_input(key="ft.mfu").set_value(5.55885).run()
    slower = hours(metrics(at)["Training time"])
    assert slower == pytest.approx(4 * more, rel=0.02)
    at.radio(key="ft.method").set_value("full").run()
    assert hours(metrics(at)["Training time"]) > slower  # 6 N T instead of 4 N T
    no_problems(at)


def test_fine_tune_once_and_serve_monthly(deploy, catalog):
    shown = metrics(deploy)
    plan = plan_scenario(default_scenario(), catalog).deployments[0]
    est = deploy_data.finetune(deploy_data.job_fields(
        default_scenario().deployments[0], method="lora", dataset_examples=20_000,
        tokens_per_example=600, epochs=3.0, precision="bf16"))
    once, monthly = est.cost_usd, plan.monthly_cost_usd
    assert shown["Fine-tune (once)"] == usd(once)
    assert shown["Serving SLM (per month)"] == usd(monthly)
    assert shown["First 12 months"] == usd(once + 12 * monthly)
    text = texts(deploy)
    assert "12 × today's monthly cost" in text
    training = next(m for m in deploy.metric if m.label == "Training time")
    # the range: hours at the highest and lowest MFU the published fine-tuning runs imply
    assert training.delta.startswith("range ")
    fast, slow = training.delta.removeprefix("range ").split(" – ")
    assert hours(fast) == pytest.approx(est.wall_clock_hours_at_high_mfu, rel=0.01)
    assert hours(slow) == pytest.approx(est.wall_clock_hours_at_low_mfu, rel=0.01)
    assert hours(fast) <= hours(training.value) <= hours(slow)
    assert hours(training.value) == pytest.approx(est.wall_clock_hours, rel=0.01)
    assert "Fits in GPU memory" in text


def test_a_missing_price_shows_as_missing_never_zero():
    scenario = default_scenario()  # On-prem moved to a site with no known electricity tariff
    on_prem = scenario.deployments[2]
    moved = on_prem.model_copy(update={"target": on_prem.target.model_copy(
        update={"region": "uksouth"})})
    scenario = scenario.model_copy(update={"deployments": (
        *scenario.deployments[:2], moved, *scenario.deployments[3:])})
    at = run_page(DEPLOY, encode_scenario(scenario))
    at.selectbox(key="ft.deployment").set_value("On-prem").run()
    no_problems(at)
    shown = metrics(at)
    assert shown["Fine-tune (once)"] == "price missing"
    assert shown["First 12 months"] == "price missing"
    assert shown["Serving On-prem (per month)"] == "price missing"
    [lines] = [d.value for d in at.dataframe if "Cost line" in d.value.columns]
    power = lines[lines["Cost line"].str.startswith("Electricity")].iloc[0]
    assert power["Amount (USD)"] == "price missing" and power["Price status"] == "missing"
    assert "12-month total unknown — price missing" in texts(at)
    assert "$0" not in " ".join(shown.values())


def test_a_full_fine_tune_of_a_70b_model_does_not_fit_and_says_why():
    at = run_page(DEPLOY)
    at.selectbox(key="ft.deployment").set_value("LLM").run()
    at.radio(key="ft.method").set_value("full").run()
    assert not at.exception
    [error] = [e.value.replace("\\", "") for e in at.error]
    assert error.startswith("**Does not fit in GPU memory**") and "try LoRA/QLoRA" in error


def test_growth_plan_basis_and_engine_errors(catalog):
    scenario = preset("Internal copilot")
    plan = next(p for p in plan_scenario(scenario, catalog).deployments
                if p.label == "Mistral 7B on A10")  # examples/internal-copilot.yaml
    months, basis = deploy_data.serving_by_month(plan)
    assert months[0] == pytest.approx(plan.monthly_cost_usd) and len(months) == 12
    assert months[-1] > months[0] and "growth plan" in basis
    assert "2 → 3 nodes" in basis
    year = deploy_data.year_cost(plan, None)
    assert year.total_usd is None and year.serving_year_usd == pytest.approx(sum(months))
    with pytest.raises(FinetuneError):
        deploy_data.finetune({"model": "no-such-model", "dataset_examples": 1,
                              "tokens_per_example": 1, "vm_sku": "Standard_NC24ads_A100_v4"})
    with pytest.raises(ValueError):
        deploy_data.job_fields(default_scenario().deployments[3])  # the hosted API


def test_unplannable_scenario_is_a_message(monkeypatch):
    from ui import cached as ui_data

    def broken(scenario):
        raise ScenarioError("deployment 'SLM': no such thing")

    monkeypatch.setattr(ui_data, "plan", broken)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S).run()
    at.switch_page(DEPLOY).run()
    assert not at.exception
    assert any("cannot plan this scenario" in e.value for e in at.error)


# ------------------------------------------------------------------ price refresh


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def data_copy(tmp_path, monkeypatch) -> Iterator[Path]:
    """A private copy of data/ the app reads and the refresh writes; ui.cached caches cleared."""
    from ui import cached as ui_data

    copy = tmp_path / DATA_COPY_NAME
    shutil.copytree(DATA_DIR, copy)
    monkeypatch.setenv(DATA_DIR_ENV, str(copy))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    shipped = sha(DATA_DIR / PRICES_FILE)
    ui_data.reload_reference_data()
    try:
        yield copy
    finally:
        ui_data.reload_reference_data()
        assert sha(DATA_DIR / PRICES_FILE) == shipped, "the shipped snapshot was modified"


class RecordedPrices(BaseHTTPRequestHandler):
    """The recorded pages, routed by the region in $filter and by $skip: eastus is a 3-page
    chain for the query naming Standard_NC24ads_A100_v4 (empty for the other SKU groups),
    westeurope one page, every other region empty. While ``down`` is set, every connection is
    dropped without an answer (the client sees a network error, as when offline)."""

    origin = ""
    down = False
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        type(self).requests.append(self.path)
        if self.down:
            self.close_connection = True
            return
        region = re.search(r"armRegionName eq '([a-z0-9]+)'", query.get("$filter", ""))
        if parts.path != API_PATH or region is None:
            self.send_error(404)
            return
        skip = query.get("$skip")
        name = {("eastus", "4"): "eastus_page2.json", ("eastus", "9"): "eastus_page3.json",
                ("westeurope", None): "westeurope_page1.json"}.get((region.group(1), skip),
                                                                   "empty_page.json")
        if region.group(1) == "eastus" and skip is None and \
                "Standard_NC24ads_A100_v4" in query["$filter"]:
            name = "eastus_page1.json"
        body = (RECORDED / name).read_text(encoding="utf-8").replace("{origin}", self.origin)
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def recorded_prices_server() -> Iterator[type[RecordedPrices]]:
    """A ThreadingHTTPServer on 127.0.0.1 serving the recorded pages; yields its handler class
    (``origin`` + API_PATH is the base URL; set ``down`` to drop connections)."""
    handler = type("Handler", (RecordedPrices,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    handler.origin = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def prices_server() -> Iterator[type[RecordedPrices]]:
    with recorded_prices_server() as handler:
        yield handler


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refresh(regions: list[str]) -> AppTest:
    at = prices_page()
    no_problems(at)
    at.multiselect(key="prices.refresh_regions").set_value(regions).run()
    return at.button(key="prices.refresh").click().run()


def test_prices_tab_shows_the_snapshot_age(catalog):
    at = prices_page()
    no_problems(at)
    shown = {m.label: (m.value, m.delta) for m in at.metric}
    today = dt.date.today()
    assert shown["Age of oldest price"] == (f"{(today - catalog.prices_as_of).days:,} days",
                                            f"as of {catalog.prices_as_of}")
    assert shown["Age of newest price"][1] == f"as of {catalog.prices_newest}"
    counts = next(m.delta for m in at.metric if m.label == "Rows")
    quoted = sum(r.status == "quoted" for r in catalog.prices)
    assert f"{quoted} quoted" in counts and "estimated" in counts and "missing" in counts
    assert int(shown["Unconfirmed"][0].replace(",", "")) == sum(bool(r.unconfirmed) for r in catalog.prices)
    assert at.multiselect(key="prices.refresh_regions").value == sorted(
        {r.region for r in catalog.prices})


def test_refresh_button_only_for_the_operator(monkeypatch, catalog):
    monkeypatch.delenv("PLANNER_ALLOW_PRICE_REFRESH")
    at = prices_page()
    no_problems(at)
    assert not [b for b in at.button if b.key == "prices.refresh"]
    assert "Age of oldest price" in {m.label for m in at.metric}  # the status, for everyone
    assert any("scheduled job writes a new snapshot" in c.value for c in at.caption)
    monkeypatch.setenv("PLANNER_ALLOW_PRICE_REFRESH", "1")
    at = prices_page()
    assert [b for b in at.button if b.key == "prices.refresh"]


def test_refresh_offline_leaves_the_snapshot_untouched(data_copy, monkeypatch):
    monkeypatch.setenv(BASE_URL_ENV, f"http://127.0.0.1:{closed_port()}/api/retail/prices")
    snapshot = data_copy / PRICES_FILE
    before = snapshot.read_bytes()
    at = refresh(["eastus"])
    assert not at.exception
    [message] = [w.value.replace("\\", "") for w in at.warning
                 if w.value.startswith("Offline")]
    as_of = str(load_catalog(data_copy).prices_as_of)
    assert message.startswith("Offline: the Azure Retail Prices API could not be reached (eastus: "
                              "connection failed")
    assert f"using the shipped snapshot dated {as_of}" in message
    assert snapshot.read_bytes() == before
    assert not list(snapshot.parent.glob(".*.tmp"))


def test_refresh_from_a_local_server_rewrites_the_copy(data_copy, prices_server, monkeypatch):
    monkeypatch.setenv(BASE_URL_ENV, prices_server.origin + API_PATH)
    snapshot = data_copy / PRICES_FILE
    before = snapshot.read_bytes()
    at = refresh(["eastus"])
    no_problems(at)
    [success] = [s.value.replace("\\", "") for s in at.success]
    assert success.startswith("Prices refreshed for eastus as of ")
    assert "every page now uses the new prices" in success
    [report] = [c.value for c in at.code if c.value.startswith("fetched")]
    # eastus: a 3-page chain for the first group of SKUs, one empty page for every other group
    groups = -(-len(load_catalog(data_copy).skus) // MAX_SKUS_PER_QUERY)
    assert f"fetched {3 + groups - 1} page(s)" in report
    assert f"wrote {DATA_COPY_NAME}/{PRICES_FILE}" in report
    assert re.search(r"^(new|filled|removed|price): Standard_", report, re.M)
    assert any(path.startswith(API_PATH) and "skip" in path for path in prices_server.requests)
    assert snapshot.read_bytes() != before
    refreshed = load_catalog(data_copy)  # loadable: validated and cross-checked
    a100 = refreshed.price("Standard_NC24ads_A100_v4", "eastus", "payg")
    assert a100.price_per_hour == pytest.approx(3.673)
    assert a100.source.startswith("Azure Retail Prices API http://127.0.0.1")
    # the page was reloaded from the new file: the newest price is today's refresh
    newest = next(m for m in at.metric if m.label == "Age of newest price")
    assert newest.value == "0 days" and newest.delta == f"as of {refreshed.prices_newest}"


def test_refresh_on_a_read_only_data_folder_says_so(data_copy, prices_server, monkeypatch):
    from planner.pricing.azure_api import refresh as azure_refresh  # refresh_snapshot writes from here

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setenv(BASE_URL_ENV, prices_server.origin + API_PATH)
    monkeypatch.setattr(azure_refresh, "write_snapshot_atomic", read_only)
    snapshot = data_copy / PRICES_FILE
    before = snapshot.read_bytes()
    at = refresh(["eastus"])
    assert not at.exception
    [error] = [e.value.replace("\\", "") for e in at.error]
    assert "Cannot write the price snapshot" in error and "is read-only here" in error
    assert "Nothing was changed" in error
    assert snapshot.read_bytes() == before


def test_refresh_reports_an_unusable_answer(data_copy, prices_server, monkeypatch):
    monkeypatch.setenv(BASE_URL_ENV, prices_server.origin + "/elsewhere")  # 404 from the server
    before = (data_copy / PRICES_FILE).read_bytes()
    at = refresh(["eastus"])
    assert not at.exception
    [error] = [e.value.replace("\\", "") for e in at.error]
    assert error.startswith("The refresh failed: the Azure Retail Prices API did not give usable "
                            "prices (eastus: HTTP 404")
    assert (data_copy / PRICES_FILE).read_bytes() == before
    assert json.dumps(error)  # one plain message, no traceback
