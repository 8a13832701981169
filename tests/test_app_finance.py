"""AppTest: the read-only summary view, the first-visit sentence, stale-price warnings, the
Compare caption's price dates, and replicas reloading a replaced price snapshot."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from planner.catalog import DATA_DIR, DATA_DIR_ENV, PRICES_FILE, load_catalog
from planner.io.sharelink import encode_scenario
from planner.io.wording import EXCLUDED_TEXT
from planner.pipeline.plan import plan_scenario
from planner.scenario import load_scenario
from ui.format import stale_price_dates, usd

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
SUPPORT_BOT = ROOT / "examples" / "support-bot.json"
TIMEOUT_S = 90


def run_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def text_of(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.title, *at.subheader)]
    parts += [e.value for e in (*at.warning, *at.info)]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def test_summary_view_is_read_only_and_complete():
    query = {**encode_scenario(load_scenario(SUPPORT_BOT)), "view": "summary"}
    at = run_app(query)
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["support\\-bot — cost summary"]
    assert not at.number_input and not at.selectbox and not at.text_input  # no editor
    assert len(at.sidebar) == 0
    assert not at.warning or all("link was opened" not in w.value for w in at.warning)
    text = text_of(at)
    assert "Cheapest that fits, is fully priced and meets the SLOs: **On-prem**" in text
    assert "$1,460/month" in text  # the API option, $730 + $730 (see test_export)
    assert EXCLUDED_TEXT.replace("\\", "") in text
    assert "oldest price dated 2024-08-18, newest" in text
    [table] = at.table
    frame = table.value
    assert list(frame.index) == ["SLM", "LLM", "★ On-prem", "API"]
    assert frame.loc["API", "Monthly cost"] == "$1,460"
    assert frame.loc["API", "Next 12 months"] == "$17,520"  # 12 x $1,460
    assert frame.loc["API", "Monthly range"] == "$1,460"  # list prices: no range
    assert " – " in frame.loc["★ On-prem", "Monthly range"]  # the calibrated throughput interval
    # each option's range sits right beside its monthly total and is the plan's own range
    columns = list(frame.columns)
    assert columns.index("Monthly range") == columns.index("Monthly cost") + 1
    result = plan_scenario(load_scenario(SUPPORT_BOT), load_catalog())
    for plan in result.deployments:
        row = frame.loc[("★ " if plan.label == result.cheapest_label else "") + plan.label]
        low, high = plan.monthly_cost_range_usd
        assert row["Monthly range"] == (usd(low) if usd(low) == usd(high)
                                        else f"{usd(low)} – {usd(high)}")
    assert frame.loc["★ On-prem", "Monthly range"] == "$310 – $415"  # 309.86 and 415.05 a month
    assert "None" not in frame.to_string()
    # the price dates older than 90 days are warned beside the option they affect
    stale = [w.value.replace("\\", "") for w in at.warning if "days old" in w.value]
    assert any(w.startswith("**SLM**") and "2024-08-18" in w for w in stale)
    assert not any(w.startswith("**API**") for w in stale)


def test_summary_says_unknown_costs_are_unknown():
    from planner.scenario import scenario_from_dict

    scenario = scenario_from_dict({"name": "spot", "deployments": [
        {"label": "spot", "model": "llama-3-8b", "precision": "fp16",
         "target": {"kind": "azure", "vm_sku": "Standard_NC40ads_H100_v5", "pricing": "spot"}},
        {"label": "API", "model": "gpt-4o-mini", "target": {"kind": "api"}}]})
    at = run_app({**encode_scenario(scenario), "view": "summary"})
    assert not at.exception
    frame = at.table[0].value
    assert frame.loc["spot", "Monthly cost"] == "—" and frame.loc["spot", "Status"] == \
        "price missing"
    assert "None" not in frame.to_string()


def test_stale_price_dates_count_days_from_today():
    from planner.catalog import load_catalog
    from planner.pipeline.plan import plan_scenario

    result = plan_scenario(load_scenario(SUPPORT_BOT), load_catalog())
    slm = result.deployments[0]
    vm_date = slm.cost_lines[0].price_as_of
    assert stale_price_dates(slm, today=vm_date + dt.timedelta(days=90)) == []
    assert stale_price_dates(slm, today=vm_date + dt.timedelta(days=91)) == [vm_date]


def test_first_visit_sentence_only_without_a_link():
    at = run_app()
    assert not at.exception
    assert any("The sidebar holds an example scenario" in i.value for i in at.info)
    at = run_app(encode_scenario(load_scenario(SUPPORT_BOT)))
    assert not any("The sidebar holds an example scenario" in i.value for i in at.info)


def test_compare_caption_names_oldest_and_newest_price_dates(catalog):
    at = run_app()
    caption = next(c.value for c in at.caption if "Azure prices" in c.value).replace("\\", "")
    assert (f"oldest price dated {catalog.prices_as_of}, newest {catalog.prices_newest}"
            in caption)
    assert catalog.prices_as_of < catalog.prices_newest


def _set_price(path: Path, sku: str, region: str, plan: str, price: float) -> None:
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    hit = [r for r in rows if (r["sku"], r["region"], r["plan"]) == (sku, region, plan)]
    assert hit, "the row to change exists"
    for row in hit:
        row["price_per_hour"] = str(price)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_replaced_snapshot_is_read_on_the_next_run(tmp_path, monkeypatch):
    """What a scheduled refresh does to a running replica: the file changes, the next run
    plans with the new prices (no restart, no button)."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    monkeypatch.setenv(DATA_DIR_ENV, str(data))
    query = encode_scenario(load_scenario(SUPPORT_BOT))
    at = run_app(query)
    assert not at.exception

    def slm_cost(app: AppTest) -> str:
        return next(m.value for m in app.metric if m.label.startswith("SLM"))

    assert slm_cost(at) == "$5,601"
    # 2 nodes x 730 h x $10/h + AKS $73 + system pool 730 h x $0.226 = $14,838
    _set_price(data / PRICES_FILE, "Standard_NC24ads_A100_v4", "eastus", "payg", 10.0)
    at = run_app(query)
    assert not at.exception
    assert slm_cost(at) == "$14,838"


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test starts from the shipped data (the reload test points at a copy)."""
    from ui import cached

    cached.reload_reference_data()
    yield
    cached.reload_reference_data()


def test_editor_messages_say_what_to_type_where_not_field_names():
    from ui.state import _readable

    draft = {"deployments": [{"label": "SLM"}, {"label": "Own"}]}
    assert _readable("deployments[0].target.vm_sku: unknown VM size 'x'", draft) == \
        "deployment 1 ('SLM') → 'Azure VM size (node)': unknown VM size 'x'"
    text = _readable("deployments[1].target.purchase_usd_per_machine: must be > 0", draft)
    assert "purchase_usd_per_machine" not in text and "'Your quote per machine (USD)'" in text
    assert _readable("workload.requests_per_day: too large", draft) == \
        "workload → 'Requests per day': too large"
