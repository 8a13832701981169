"""The dashboard under Streamlit's AppTest: every page renders, inputs move the numbers the right
way, share links round-trip through the query string, bad links give a message, not a traceback.
Also the UI layer's pure helpers (headline text, break-even search, editor draft)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from app_support import open_downloads, open_section
from streamlit.testing.v1 import AppTest

from planner.io.sharelink import encode_scenario
from planner.physics.throughput import throughput_accuracy
from planner.pipeline.plan import plan_scenario
from planner.scenario import ApiTarget, AzureTarget, Deployment, Scenario, scenario_from_dict
from ui import breakeven, charts
from ui import draft as drafts
from ui.format import accuracy_text, escape_md, headline, usd
from ui.presets import PRESETS, default_scenario, preset

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["ui/pages/compare.py", "ui/pages/capacity.py", "ui/pages/catalog.py",
         "ui/pages/methodology.py"]
TIMEOUT_S = 30


def run_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    if query:
        at.query_params.update(query)
    return at.run()


def money(text: str) -> float:
    """'$5,601' -> 5601.0"""
    match = re.search(r"-?\$[\d,]+(\.\d+)?", text)
    assert match, text
    return float(match.group(0).replace("$", "").replace(",", ""))


def monthly_costs(at: AppTest) -> dict[str, str]:
    return {m.label.removesuffix(" · monthly cost").replace("\\", ""): m.value for m in at.metric
            if m.label.endswith("monthly cost")}


def open_option(at: AppTest, *ids: int) -> AppTest:
    """Expand options in the editor (a closed option's widgets are not drawn)."""
    for i in ids:
        at.session_state[f"exp.{i}"] = True
        at.session_state[f"open.{i}"] = True
    return at.run()


def no_problems(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def markdown_text(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


@pytest.fixture(scope="module")
def app() -> AppTest:
    return run_app()


# ------------------------------------------------------------------ every page renders


def test_compare_page_names_the_oldest_and_the_newest_price_date(app, catalog):
    """The caption once called the oldest price date the newest; each is now named as what it is,
    checked against the snapshot's priced rows themselves."""
    priced = [row.as_of for row in catalog.prices if row.status != "missing"]
    oldest, newest = min(priced), max(priced)
    assert oldest < newest  # the shipped snapshot mixes dates, so the two must differ on screen
    captions = "\n".join(c.value for c in app.caption)
    assert f"oldest price dated {oldest}, newest {newest}" in captions
    assert f"newest price dated {oldest}" not in captions


def test_compare_page_answers_first(app, catalog):
    no_problems(app)
    expected = plan_scenario(default_scenario(), catalog)
    slm = expected.deployments[0]
    assert app.title[0].value == "Compare · support\\-bot"
    text = markdown_text(app)
    assert (f"**SLM** — phi\\-3\\-mini\\-4k on {slm.nodes} × Standard\\_NC24ads\\_A100\\_v4 "
            f"\\(eastus, pay\\-as\\-you\\-go\\): **\\{usd(slm.monthly_cost_usd)}/month**, "
            f"\\{usd(slm.cost_per_million_output_tokens_usd)} per 1M output tokens") in text
    # the workstation's price is a component estimate (local_hardware.csv): priced and marked
    assert ":orange-badge[rests on an estimated price]" in text
    assert ":green-badge[cheapest]" in text
    costs = monthly_costs(app)
    assert costs == {p.label: usd(p.monthly_cost_usd) if p.monthly_cost_usd else "price missing"
                     for p in expected.deployments}
    assert not app.get("download_button")  # in the download menu, drawn when opened
    assert len(open_downloads(app).get("download_button")) == 4
    assert "Break-even between self-hosting and the API" in text


def test_compare_opens_on_the_cost_by_line_table(app, catalog):
    """The default chart tab is a table (no chart library to load): one row per cost line and
    the total, a column per option; the API's $730 of input and $730 of output tokens (see
    test_export), the SLM's lines adding up to its cost."""
    expected = plan_scenario(default_scenario(), catalog)
    table = next(d.value for d in app.dataframe if "Cost line" in d.value.columns)
    rows = table.set_index("Cost line")
    assert list(rows.columns) == [p.label for p in expected.deployments]
    assert rows.loc["Input tokens", "API"] == pytest.approx(730.0)
    assert rows.loc["Output tokens", "API"] == pytest.approx(730.0)
    slm = expected.deployments[0]
    assert rows.loc["Total", "SLM"] == pytest.approx(slm.monthly_cost_usd)
    assert rows["SLM"].drop("Total").sum() == pytest.approx(slm.monthly_cost_usd)
    assert pd.isna(rows.loc["Input tokens", "SLM"])  # no such line: shown as —
    assert not app.get("plotly_chart")  # the chart library is loaded by a chart tab


@pytest.mark.parametrize("page", PAGES[1:])
def test_every_page_renders(app, page):
    at = run_app()
    at.switch_page(page).run()
    no_problems(at)
    assert at.title[0].value in {"Capacity detail", "Catalog", "Methodology"}


def test_capacity_explains_memory_batch_and_error_band(catalog):
    first = plan_scenario(default_scenario(), catalog).deployments[0]
    batch = first.throughput.batch
    at = run_app()
    at.switch_page("ui/pages/capacity.py").run()
    text = markdown_text(at)
    assert f"Each replica runs **{batch} concurrent requests**" in text
    # the calibrated 80 % interval of the plan, where throughput is shown
    low, high = first.output_tokens_per_s_range
    assert f"80 % range {low:,.0f}–{high:,.0f}" in text
    assert any(bound in text for bound in ("memory bound", "SLO bound", "engine cap"))
    band, _ = accuracy_text(throughput_accuracy())
    shown = text + "\n".join(i.value for i in at.info) + "\n".join(c.value for c in at.caption)
    assert band.split(":")[0].removeprefix("throughput ") in shown
    at.selectbox(key="capacity_choice").set_value("LLM").run()
    no_problems(at)
    assert "tensor parallel 2" in "\n".join(str(r) for r in at.dataframe[0].value["How"])
    at.selectbox(key="capacity_choice").set_value("API").run()
    assert any("hosted API" in i.value for i in at.info)


def test_catalog_filters_and_shows_provenance(catalog):
    at = run_app()
    at.switch_page("ui/pages/catalog.py").run()
    models = at.dataframe[0].value
    assert {"source", "as_of", "unconfirmed", "link"} <= set(models.columns)
    at.text_input(key="filter.models").input("llama 70b").run()
    filtered = at.dataframe[0].value
    assert 0 < len(filtered) < len(models)
    assert all("70" in name for name in filtered["id"])
    assert "Price snapshot as of" not in markdown_text(at)  # only the tab on show is built
    at.session_state["catalog_tab"] = "Prices"
    text = markdown_text(at.run())
    assert "Price snapshot as of" in text and "Refreshing prices" in text
    assert len(at.dataframe[0].value) == len(catalog.prices)  # every price row, unfiltered
    at.multiselect(key="prices.regions").set_value(["eastus"]).run()
    at.multiselect(key="prices.plans").set_value(["spot"]).run()
    picked = at.dataframe[0].value
    expected = [r for r in catalog.prices if r.region == "eastus" and r.plan == "spot"]
    assert len(picked) == len(expected) > 0
    shown = [None if math.isnan(v) else v for v in picked["price_per_hour"]]  # missing: blank
    assert shown == [r.price_per_hour for r in expected]


# ------------------------------------------------------------------ inputs move the numbers


def test_more_traffic_costs_more_and_the_link_follows(app):
    at = run_app()
    before = monthly_costs(at)
    at.number_input(key="w.rpd").set_value(2_000_000.0).run()
    no_problems(at)
    after = monthly_costs(at)
    assert money(after["API"]) == pytest.approx(money(before["API"]) * 10)
    assert money(after["SLM"]) > money(before["SLM"])  # more nodes
    assert at.query_params["rpd"] == "2000000"


def test_longer_answers_cost_more_per_request_on_the_api():
    at = run_app()
    before = money(monthly_costs(at)["API"])
    at.number_input(key="w.out").set_value(400).run()
    assert money(monthly_costs(at)["API"]) == pytest.approx(before + 730 * 1)  # +$0.60/M × 1,217M


def test_tighter_slo_lowers_the_batch_and_needs_more_gpus():
    at = run_app()
    at.number_input(key="w.rpd").set_value(2_000_000.0).run()
    before = money(monthly_costs(at)["SLM"])
    open_section(at, "slo")
    at.number_input(key="w.tpot").set_value(30.0).run()
    no_problems(at)
    assert money(monthly_costs(at)["SLM"]) > before


def test_growth_is_planned_month_by_month():
    at = run_app()
    at.number_input(key="w.growth").set_value(20.0).run()
    no_problems(at)
    assert at.query_params["growth"] == "0.2"
    assert "+20 %/month" in "\n".join(c.value for c in at.caption)


def test_switching_a_deployment_to_the_api_and_back_keeps_its_settings():
    at = open_option(run_app(), 0)
    at.radio(key="w.0.kind").set_value("api").run()
    no_problems(at)
    assert at.query_params["d"][0] == "SLM~gpt-4o-mini~fp16~vllm~api"
    at.radio(key="w.0.kind").set_value("azure").run()
    assert at.query_params["d"][0] == encode_scenario(default_scenario())["d"][0]


def test_changing_the_sku_keeps_region_and_precision_valid():
    at = open_option(run_app(), 0)
    at.selectbox(key="w.0.sku").set_value("Standard_NC4as_T4_v3").run()  # T4: no bf16
    no_problems(at)
    assert at.query_params["d"][0].startswith(
        "SLM~phi-3-mini-4k~fp16~vllm~azure~Standard_NC4as_T4_v3~eastus~payg")
    assert "bf16" not in at.selectbox(key="w.0.precision").options


def test_add_duplicate_remove_options():
    at = open_option(run_app(), 0, 1)
    at.button(key="add_deployment").click().run()
    no_problems(at)
    assert len(monthly_costs(at)) == 5
    at.button(key="dup.0").click().run()
    labels = list(monthly_costs(at))
    assert labels[:2] == ["SLM", "SLM copy"] and len(labels) == 6
    at.button(key="rm.1").click().run()
    assert "LLM" not in monthly_costs(at)
    assert len(at.query_params["d"]) == 5


def test_invalid_edit_keeps_the_last_valid_scenario():
    at = open_option(run_app(), 1)
    at.text_input(key="w.1.label").input("SLM").run()  # two options called SLM
    assert not at.exception
    assert any("labels must be unique" in e.value for e in at.error)
    assert list(monthly_costs(at)) == ["SLM", "LLM", "On-prem", "API"]
    at.text_input(key="w.1.label").input("Big model").run()
    no_problems(at)
    assert "Big model" in monthly_costs(at)


def test_presets_load(app):
    at = run_app()
    for name in PRESETS:
        at.selectbox(key="preset_choice").set_value(name).run()
        no_problems(at)
        assert at.query_params["name"] == preset(name).name
        assert list(monthly_costs(at)) == [d.label for d in preset(name).deployments]


def test_entering_a_hardware_quote_prices_the_on_prem_option():
    at = open_option(run_app(), 2)
    at.toggle(key="more.2").set_value(True).run()
    at.number_input(key="w.2.buy").set_value(3600.0).run()
    no_problems(at)
    on_prem = monthly_costs(at)["On-prem"]
    assert money(on_prem) > 2 * 3600 / 36  # hardware + electricity
    assert "buy_3600" in at.query_params["d"][2]


def test_sidebar_names_the_currency_costs_are_in():
    at = run_app()
    assert any(c.value == "Costs in USD, the price snapshot's currency." for c in at.sidebar.caption)


def test_own_hardware_tco_fields_change_the_on_prem_cost():
    at = open_option(run_app(), 2)
    at.toggle(key="more.2").set_value(True).run()
    before = money(monthly_costs(at)["On-prem"])
    # the catalog default (data/onprem_costs.csv) is shown where the field is left empty
    assert at.number_input(key="w.2.supp").proto.placeholder == "default 0.1"
    at.selectbox(key="w.2.host").set_value("colocation").run()
    at.number_input(key="w.2.staffh").set_value(10.0).run()
    at.number_input(key="w.2.staffr").set_value(80.0).run()
    no_problems(at)
    after = money(monthly_costs(at)["On-prem"])
    # 2 workstations x (360 W host + 450 W RTX 4090) x $184.06/kW-month (CBRE) + 10 h x $80
    assert after == pytest.approx(before + 2 * 0.81 * 184.06 + 800, abs=2)
    assert "host_colocation" in at.query_params["d"][2]


# ------------------------------------------------------------------ share links


def test_share_link_round_trip_reproduces_scenario_and_numbers():
    first = open_option(run_app(), 1, 3)
    first.number_input(key="w.rpd").set_value(750_000.0).run()
    first.number_input(key="w.growth").set_value(10.0).run()
    first.selectbox(key="w.1.pricing").set_value("spot").run()
    first.button(key="dup.3").click().run()
    link = dict(first.query_params)
    opened = run_app(link)
    no_problems(opened)
    assert not opened.warning
    assert monthly_costs(opened) == monthly_costs(first)
    assert dict(opened.query_params) == link
    assert opened.session_state["scenario"] == first.session_state["scenario"]


def test_a_link_with_exotic_values_is_reproduced_exactly():
    scenario = default_scenario().model_copy(update={
        "name": "q3 $plan: *draft*", "workload": default_scenario().workload.model_copy(
            update={"monthly_growth": 0.1, "target_utilization": 0.7, "peak_to_average": 2.75})})
    at = run_app(encode_scenario(scenario))
    no_problems(at)
    assert at.session_state["scenario"] == scenario
    assert dict(at.query_params) == encode_scenario(scenario)  # widgets did not round it


@pytest.mark.parametrize("query", [
    {"rpd": "lots", "util": "7", "d": ["X~nomodel~fp16~vllm~azure~Standard_Nope~eastus~payg"],
     "evil": "<script>"},
    {"d": "garbage~~~~~"},
    {"name": "x" * 5000},
    {"d": [f"A{i}~gpt-4o~fp16~vllm~api" for i in range(40)]},
])
def test_invalid_links_show_a_message_not_a_traceback(query):
    at = run_app(query)
    assert not at.exception
    assert at.warning, "expected a message saying what was ignored"
    message = at.warning[0].value
    assert "not everything in it could be used" in message
    assert monthly_costs(at)


def test_the_link_message_names_what_was_ignored():
    at = run_app({"rpd": "lots", "evil": "1", "d": ["B~gpt-4o~fp16~vllm~api"]})
    message = at.warning[0].value
    assert "rpd" in message and "evil" in message
    assert list(monthly_costs(at)) == ["B"]
    at.button(key="dismiss_link_messages").click().run()
    assert not at.warning


# ------------------------------------------------------------------ pure helpers


def test_headline_never_shows_zero_for_a_missing_price(catalog):
    scenario = default_scenario()
    on_prem = scenario.deployments[2]  # sited where no electricity tariff is known: missing
    unpriced = on_prem.model_copy(update={"target": on_prem.target.model_copy(
        update={"region": "uksouth"})})
    scenario = scenario.model_copy(update={"deployments": (
        *scenario.deployments[:2], unpriced, *scenario.deployments[3:])})
    result = plan_scenario(scenario, catalog)
    lines = {p.label: headline(d, p, catalog, p.label == result.cheapest_label)
             for d, p in zip(scenario.deployments, result.deployments, strict=True)}
    assert "price missing: Electricity" in lines["On-prem"] and "\\$0" not in lines["On-prem"]
    assert ":orange-badge[rests on an estimated price]" not in lines["SLM"]
    big = scenario.model_copy(update={"workload": scenario.workload.model_copy(
        update={"input_tokens": 5000})})
    result = plan_scenario(big, catalog)
    line = headline(big.deployments[0], result.deployments[0], catalog, False)
    assert "does not fit: a request of 5,200 tokens exceeds the 4,096\\-token context" in line


def test_money_and_markdown_formatting():
    assert usd(5600.56) == "$5,601" and usd(4.6032) == "$4.60" and usd(0.01234) == "$0.0123"
    assert usd(None) == "—" and usd(0) == "$0"
    assert escape_md("$5 *x* :red[y]") == "\\$5 \\*x\\* \\:red\\[y\\]"


def test_accuracy_band_text():
    assert accuracy_text(None)[1] is None
    assert "not yet calibrated" in accuracy_text(None)[0]
    text, ape = accuracy_text({"median_ape": 0.23, "n": 41})
    assert text == "±23% median error against 41 published measurements" and ape == 0.23
    text, ape = accuracy_text({"median_ape": 0.084, "cv_median_ape": 0.15, "n": 116})
    assert text.startswith("±15% median error against 116 published measurements")
    assert "8% on the fitted data" in text and ape == 0.15


def cost_fn_for(catalog):
    def cost(scenario, rpd):
        result = plan_scenario(breakeven.at_traffic(scenario, rpd), catalog)
        return {p.label: p.monthly_cost_usd for p in result.deployments}
    return cost


def test_break_even_is_where_the_costs_cross(catalog):
    scenario = Scenario(deployments=(
        Deployment(label="SLM", model="phi-3-mini-4k",
                   target=AzureTarget(vm_sku="Standard_NC24ads_A100_v4")),
        Deployment(label="API", model="gpt-4o", target=ApiTarget())))
    cost = cost_fn_for(catalog)
    sweep = breakeven.sweep(scenario, cost)
    assert len(sweep.requests_per_day) == 25 and sweep.api_labels == ["API"]
    [summary] = breakeven.summarise(scenario, sweep, cost)
    first = summary.crossings[0]
    assert first.self_hosted_cheaper_above
    assert "SLM becomes cheaper than API above ≈" in summary.text
    below, above = cost(scenario, first.requests_per_day * 0.999), cost(scenario,
                                                                         first.requests_per_day * 1.001)
    assert below["SLM"] > below["API"] and above["SLM"] <= above["API"]


def test_break_even_reports_no_crossing_and_missing_prices(catalog):
    cost = cost_fn_for(catalog)
    scenario = default_scenario()
    summaries = breakeven.summarise(scenario, breakeven.sweep(scenario, cost), cost)
    texts = {s.self_hosted: s.text for s in summaries}
    assert "no break-even in that range" in texts["LLM"]
    # the workstation is priced (a component estimate), so it has a break-even with the API
    assert "becomes cheaper than API above" in texts["On-prem"]


def test_draft_round_trips_and_editing_helpers():
    for name in PRESETS:
        scenario = preset(name)
        draft = drafts.draft_from_scenario(scenario)
        assert scenario_from_dict(drafts.scenario_dict(draft)) == scenario
    draft = drafts.draft_from_scenario(default_scenario())
    twin = drafts.duplicate_deployment(draft, 0)
    assert twin["label"] == "SLM copy" and draft["deployments"][1] is twin
    assert drafts.duplicate_deployment(draft, 0)["label"] == "SLM copy 2"
    added = drafts.new_deployment(draft)
    assert added["label"] == "Option 7" and added["id"] == draft["next_id"] - 1
    assert drafts.remove_deployment(draft, added["id"])
    solo = drafts.draft_from_scenario(Scenario(deployments=(default_scenario().deployments[0],)))
    assert not drafts.remove_deployment(solo, 0)


def test_charts_build_for_every_preset_and_escape_labels(catalog):
    for name in PRESETS:
        scenario = preset(name)
        result = plan_scenario(scenario, catalog)
        cost = cost_fn_for(catalog)
        sweep = breakeven.sweep(scenario, cost, breakeven.traffic_grid(points=5))
        figures = [go.Figure(charts.cost_breakdown_spec(result)), charts.nodes_over_time(result),
                   charts.energy_and_co2(result),
                   charts.cost_vs_traffic(sweep, breakeven.summarise(scenario, sweep, cost),
                                          scenario.workload.requests_per_day,
                                          [d.label for d in scenario.deployments])]
        figures += [go.Figure(charts.memory_breakdown_spec(p)) for p in result.deployments
                    if p.memory]
        assert all(f.to_json() for f in figures)
    base = default_scenario()
    hostile = base.model_copy(update={"deployments": (
        base.deployments[0].model_copy(update={"label": "<a href='x'>%{y}</a>"}),
        base.deployments[3])})
    fig = go.Figure(charts.cost_breakdown_spec(plan_scenario(hostile, catalog)))
    assert "&lt;a href='x'&gt;%{y}&lt;/a&gt;" in fig.data[0].x


def test_app_refuses_to_start_on_broken_data(tmp_path, monkeypatch):
    """Startup check: a table that fails validation stops the app with the file, row and field."""
    import csv
    import shutil

    from planner.catalog import DATA_DIR, DATA_DIR_ENV

    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "gpus.csv"
    rows = list(csv.DictReader(path.open()))
    rows[1]["mem_bandwidth_gb_per_s"] = "-1"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    monkeypatch.setenv(DATA_DIR_ENV, str(data))
    from ui import cached as ui_data

    ui_data.reload_reference_data()
    try:
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not at.exception
        message = " ".join(e.value for e in at.error)
        assert "gpus.csv row 3, field mem_bandwidth_gb_per_s" in message
        assert "cannot start" in message
    finally:
        ui_data.reload_reference_data()
