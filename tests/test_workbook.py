"""The Excel workbook: five sheets, numbers as numbers in currency formats, no formulas from text."""

import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from planner.io.workbook import SHEETS, USD_FORMAT, plan_workbook
from planner.pipeline.plan import plan_scenario
from planner.pricing.projection import serving_by_month
from planner.scenario import load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
SUPPORT_BOT = ROOT / "examples" / "support-bot.json"


def table(ws) -> list[dict]:
    header = [c.value for c in ws[1]]
    return [dict(zip(header, row, strict=True))
            for row in ws.iter_rows(min_row=2, values_only=True)]


@pytest.fixture(scope="module")
def support_bot(catalog):
    return plan_scenario(load_scenario(SUPPORT_BOT), catalog)


def test_cli_writes_the_five_sheets(tmp_path, support_bot):
    out = tmp_path / "x.xlsx"
    run = subprocess.run([sys.executable, "-m", "planner", "plan", "--scenario", str(SUPPORT_BOT),
                          "--format", "xlsx", "--out", str(out)], capture_output=True, text=True,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == list(SHEETS)
    summary = table(wb["Summary"])
    assert [r["Option"] for r in summary] == ["SLM", "LLM", "On-prem", "API"]
    for row, plan in zip(summary, support_bot.deployments, strict=True):
        if plan.monthly_cost_usd is None:
            assert row["Monthly cost (USD)"] is None and row["Status"] == "price missing"
            continue
        assert row["Monthly cost (USD)"] == pytest.approx(plan.monthly_cost_usd, abs=0.005)
        assert row["12-month cost (USD)"] == pytest.approx(sum(serving_by_month(plan)[0]),
                                                           abs=0.005)
    api = next(r for r in summary if r["Option"] == "API")
    # $730 input + $730 output a month at gpt-4o-mini's list prices (see test_export)
    assert api["Monthly cost (USD)"] == pytest.approx(1460.0)
    cheapest = [r["Option"] for r in summary if r["Cheapest"] == "yes"]
    assert cheapest == [support_bot.cheapest_label]
    assert api["Per 1M output tokens (USD)"] == pytest.approx(1.2)
    # $1,460 buys 4.87M input + 1.22M output tokens a month: $0.24 per 1M tokens
    assert api["Per 1M tokens, input + output (USD)"] == pytest.approx(0.24)
    for row, plan in zip(summary, support_bot.deployments, strict=True):  # the plan's range
        low, high = plan.monthly_cost_range_usd
        assert (row["Monthly cost, low (USD)"], row["Monthly cost, high (USD)"]) == (
            pytest.approx(low, abs=0.005), pytest.approx(high, abs=0.005))
        # cells hold cents: the cost may round below a range whose low end is the cost itself
        assert low - 0.005 <= row["Monthly cost (USD)"] <= high + 0.005
    assert wb["Summary"]["H2"].number_format == USD_FORMAT
    for name in SHEETS:
        assert wb[name].freeze_panes in ("A2", "B2"), name
    lines = table(wb["Cost lines"])
    assert len(lines) == sum(len(p.cost_lines) for p in support_bot.deployments)
    slm = sum(r["Monthly amount (USD)"] for r in lines if r["Option"] == "SLM")
    assert slm == pytest.approx(support_bot.deployments[0].monthly_cost_usd, abs=0.02)
    months = table(wb["12-month projection"])
    assert [r["Month"] for r in months][:12] == list(range(1, 13))
    assert months[0]["API (USD)"] == pytest.approx(1460.0)
    assert months[12]["Month"] == "12 months" and months[12]["API (USD)"] == pytest.approx(17520)
    assumptions = table(wb["Assumptions"])
    assert {r["Status"] for r in assumptions} >= {"your input", "planner default", "list price",
                                                  "estimate"}
    assert all(r["Source"] for r in assumptions)
    rpd = next(r for r in assumptions if r["Assumption"] == "Requests per day")
    assert rpd["Value"] == 200000 and rpd["Status"] == "your input"
    scenario = {r["Field"]: r["Value"] for r in table(wb["Scenario"])}
    assert scenario["Share link"].startswith("?v=1&name=support-bot&rpd=200000")
    assert scenario["Oldest price date"] == str(support_bot.oldest_price_date)


def test_xlsx_without_out_is_a_one_line_error():
    run = subprocess.run([sys.executable, "-m", "planner", "plan", "--scenario", str(SUPPORT_BOT),
                          "--format", "xlsx"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2 and run.stderr.strip() == (
        "error: --format xlsx writes a file: add --out FILE.xlsx")


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_user_text_never_becomes_a_formula(catalog, prefix):
    scenario = scenario_from_dict({"name": f"{prefix}1+1", "deployments": [
        {"label": f"{prefix}HYPERLINK(\"http://evil\")", "model": "gpt-4o-mini",
         "target": {"kind": "api"}}]})
    wb = openpyxl.load_workbook(io.BytesIO(plan_workbook(plan_scenario(scenario, catalog))))
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(("'=", "'+", "'-", "'@")):
                    assert cell.data_type == "s"
    assert wb["Summary"]["A2"].value == f"'{prefix}HYPERLINK(\"http://evil\")"


def test_amounts_in_another_currency_say_so(support_bot):
    """A snapshot in EUR (lines priced in EUR): headers and number formats name EUR, never $."""
    deployments = [p.model_copy(update={"cost_lines": [
        line.model_copy(update={"currency": "EUR"}) for line in p.cost_lines]})
        for p in support_bot.deployments]
    result = support_bot.model_copy(update={"deployments": deployments})
    from planner.io.export import plan_csv

    table = pd.read_csv(io.StringIO(plan_csv(result)), comment="#")
    assert "Monthly amount (EUR)" in table.columns and "Monthly amount (USD)" not in table.columns
    wb = openpyxl.load_workbook(io.BytesIO(plan_workbook(result)))
    header = [c.value for c in wb["Summary"][1]]
    assert "Monthly cost (EUR)" in header and not any("USD" in h for h in header)
    assert wb["Summary"]["H2"].number_format == '#,##0.00 "EUR"'
