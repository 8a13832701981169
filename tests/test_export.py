"""The tidy CSV: one table for pandas, totals a pivot away and equal to the plan's."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from planner.io.export import (
    COLUMNS,
    MONTHLY_COLUMN,
    OPTION_COLUMN,
    RANGE_HIGH_COLUMN,
    RANGE_LOW_COLUMN,
    YEAR_COLUMN,
    plan_csv,
)
from planner.pipeline.plan import plan_scenario
from planner.pricing.projection import serving_by_month
from planner.scenario import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
SUPPORT_BOT = ROOT / "examples" / "support-bot.json"


def read(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), comment="#")


def cents_tolerance(lines: int) -> float:
    """Each line is rounded to the cent on its own: the sum can be off by half a cent a line."""
    return 0.005 * lines + 1e-9


@pytest.fixture(scope="module")
def support_bot(catalog):
    return plan_scenario(load_scenario(SUPPORT_BOT), catalog)


def test_cli_csv_is_one_table_whose_pivot_is_the_plan(tmp_path, support_bot):
    out = subprocess.run([sys.executable, "-m", "planner", "plan", "--scenario", str(SUPPORT_BOT),
                          "--format", "csv"], capture_output=True, text=True, check=True, cwd=ROOT)
    path = tmp_path / "x.csv"
    path.write_text(out.stdout, encoding="utf-8")
    table = pd.read_csv(path, comment="#")
    assert list(table.columns) == COLUMNS
    for column in ("Category", "Region", "Plan", MONTHLY_COLUMN, YEAR_COLUMN):
        assert column in table.columns
    # one row per cost line per option
    assert len(table) == sum(len(p.cost_lines) for p in support_bot.deployments)
    monthly = table.groupby(OPTION_COLUMN, sort=False)[MONTHLY_COLUMN].sum(min_count=1)
    year = table.groupby(OPTION_COLUMN, sort=False)[YEAR_COLUMN].sum(min_count=1)
    assert list(monthly.index) == ["SLM", "LLM", "On-prem", "API"]
    complete = 0
    for plan in support_bot.deployments:
        rows = table[table[OPTION_COLUMN] == plan.label]
        if plan.monthly_cost_usd is None:  # incomplete: a blank line, never a zero
            assert rows[MONTHLY_COLUMN].isna().any()
            assert (rows["Status"] == "price missing").any()
            continue
        complete += 1
        tol = cents_tolerance(len(rows))
        assert monthly[plan.label] == pytest.approx(plan.monthly_cost_usd, abs=tol)
        months, _ = serving_by_month(plan)
        assert year[plan.label] == pytest.approx(sum(months), abs=tol)
    assert complete == 4
    # hand-checked: the API option bills 200k requests/day x 30.42 days x (800 in @ $0.15/1M +
    # 200 out @ $0.60/1M) = $730 + $730 a month (LiteLLM's azure/global-standard/gpt-4o-mini)
    assert monthly["API"] == pytest.approx(1460.00, abs=0.01)
    assert year["API"] == pytest.approx(12 * 1460.00, abs=0.01)
    api = table[table[OPTION_COLUMN] == "API"]
    assert set(api["Category"]) == {"Input tokens", "Output tokens"}
    assert set(api["VM size or machine"]) == {"not applicable"}
    slm = table[table[OPTION_COLUMN] == "SLM"].iloc[0]
    assert (slm["Target kind"], slm["VM size or machine"], slm["Region"], slm["Plan"],
            slm["Category"]) == ("Azure (AKS)", "Standard_NC24ads_A100_v4", "eastus",
                                 "pay-as-you-go", "GPU nodes")
    # amounts are rounded to cents
    amounts = table[MONTHLY_COLUMN].dropna()
    assert (amounts.round(2) == amounts).all()


def test_a_missing_price_is_a_blank_never_a_zero(catalog):
    scenario = scenario_from_dict({"deployments": [
        {"label": "spot", "model": "llama-3-8b", "precision": "fp16",
         "target": {"kind": "azure", "vm_sku": "Standard_NC40ads_H100_v5", "pricing": "spot"}}]})
    result = plan_scenario(scenario, catalog)
    assert result.deployments[0].monthly_cost_usd is None  # the premise: flagged missing
    table = read(plan_csv(result))
    [missing] = [line for line in result.deployments[0].cost_lines if line.amount_usd is None]
    gpu = table[table["Cost line"] == missing.name].iloc[0]
    assert pd.isna(gpu[MONTHLY_COLUMN]) and pd.isna(gpu[YEAR_COLUMN])
    assert gpu["Status"] == "price missing" and gpu["Category"] == "GPU nodes"
    total = table.groupby(OPTION_COLUMN)[MONTHLY_COLUMN].sum(min_count=1)["spot"]
    assert total < result.deployments[0].monthly_cost_known_usd + 0.01  # only the known lines


def test_comment_block_records_scenario_and_price_dates(support_bot):
    text = plan_csv(support_bot, share_link="http://host/?v=1&name=support-bot")
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert text.startswith("# planner comparison: support-bot\n")
    assert f"oldest price dated {support_bot.oldest_price_date}" in comments[1]
    assert f"newest {support_bot.newest_price_date}" in comments[1]
    assert any(line == "# Share link: http://host/?v=1&name=support-bot" for line in comments)
    scenario = json.loads(next(c for c in comments if c.startswith("# Scenario (JSON): "))
                          .removeprefix("# Scenario (JSON): "))
    assert scenario["workload"]["requests_per_day"] == 200000


def test_growth_year_follows_the_node_plan(catalog):
    scenario = scenario_from_dict({"name": "grow", "workload": {
        "requests_per_day": 2_000_000, "monthly_growth": 0.2}, "deployments": [
        {"label": "x", "model": "llama-3-8b", "precision": "fp16",
         "target": {"kind": "azure", "vm_sku": "Standard_NC24ads_A100_v4"}}]})
    result = plan_scenario(scenario, catalog)
    [plan] = result.deployments
    assert plan.nodes_by_month[-1] > plan.nodes_by_month[0]  # the premise: nodes grow
    table = read(plan_csv(result))
    months, _ = serving_by_month(plan)
    assert table[YEAR_COLUMN].sum() == pytest.approx(sum(months), abs=cents_tolerance(len(table)))
    assert table[YEAR_COLUMN].sum() > 12 * plan.monthly_cost_usd  # growth costs more than flat
    fixed = table[table["Category"] == "AKS cluster management"].iloc[0]
    assert fixed[YEAR_COLUMN] == pytest.approx(12 * fixed[MONTHLY_COLUMN], abs=0.01)


def test_hash_and_line_breaks_in_user_text_keep_one_table(catalog):
    scenario = scenario_from_dict({"name": "team #1\nsecond line", "deployments": [
        {"label": "#1 api, cheap", "model": "gpt-4o-mini", "target": {"kind": "api"}}]})
    text = plan_csv(plan_scenario(scenario, catalog))
    table = read(text)
    assert set(table[OPTION_COLUMN]) == {"#1 api, cheap"}
    assert len(table) == 2
    assert all(line.startswith("#") for line in text.splitlines()[:3])


def test_an_option_that_does_not_fit_is_one_row_saying_so(catalog):
    scenario = scenario_from_dict({"deployments": [
        {"label": "big", "model": "llama-3.1-405b", "precision": "fp16",
         "target": {"kind": "azure", "vm_sku": "Standard_NC24ads_A100_v4"}}]})
    table = read(plan_csv(plan_scenario(scenario, catalog)))
    assert len(table) == 1
    row = table.iloc[0]
    assert pd.isna(row[MONTHLY_COLUMN]) and row["Status"].startswith("Llama 3.1 405B at fp16")
    assert "does not fit" in row["Status"]


def test_each_row_carries_its_options_cost_range_in_cents(support_bot):
    table = read(plan_csv(support_bot))
    assert list(table.columns) == COLUMNS  # still one table
    checked = 0
    for plan in support_bot.deployments:
        rows = table[table[OPTION_COLUMN] == plan.label]
        if plan.monthly_cost_range_usd is None:
            assert rows[RANGE_LOW_COLUMN].isna().all() and rows[RANGE_HIGH_COLUMN].isna().all()
            continue
        low, high = plan.monthly_cost_range_usd
        # repeated, rounded to the cent, on every row of the option (not a pivot: one per option)
        assert (rows[RANGE_LOW_COLUMN] == round(low, 2)).all()
        assert (rows[RANGE_HIGH_COLUMN] == round(high, 2)).all()
        assert rows[RANGE_LOW_COLUMN].iloc[0] <= rows[RANGE_HIGH_COLUMN].iloc[0]
        checked += 1
    assert checked >= 3
    # the own-hardware option rests on the throughput estimate and its machine count moves
    # within the interval: a real spread, not a point
    onprem = table[table[OPTION_COLUMN] == "On-prem"].iloc[0]
    assert onprem[RANGE_LOW_COLUMN] < onprem[RANGE_HIGH_COLUMN]
    # the API option is billed per token at list prices: its range is its total
    api = table[table[OPTION_COLUMN] == "API"].iloc[0]
    assert api[RANGE_LOW_COLUMN] == api[RANGE_HIGH_COLUMN] == pytest.approx(1460.00, abs=0.01)
