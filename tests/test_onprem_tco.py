"""Own-hardware total cost of ownership: amortisation less residual value, support as a share of
the purchase price, colocation per kW-month, electricity, staff hours. Hand-computed cases and
monotonicity properties; every machine in the catalog is priced."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.catalog import load_catalog
from planner.io.sharelink import decode_query_string, encode_scenario, to_query_string
from planner.pipeline.plan import plan_scenario
from planner.scenario import load_scenario, scenario_from_dict

CATALOG = load_catalog()
RTX4090_USD = 1599 + 1314  # data/local_hardware.csv: GPU MSRP + published host parts


def onprem(**target: object) -> dict:
    base = {"kind": "local", "hardware": "workstation-1x-rtx-4090", "amortization_years": 3}
    base.update(target)
    return {"name": "t", "workload": {"requests_per_day": 200_000, "input_tokens": 800,
                                      "output_tokens": 200, "peak_to_average": 3.0,
                                      "min_replicas": 2},
            "deployments": [{"label": "On-prem", "model": "phi-3-mini-4k", "precision": "int4",
                             "target": base}]}


def plan(data: dict):
    return plan_scenario(scenario_from_dict(data), CATALOG).deployments[0]


def lines(dep) -> dict[str, object]:
    return {line.kind: line for line in dep.cost_lines}


def test_every_machine_has_a_purchase_price_with_source() -> None:
    assert len(CATALOG.local_hardware) >= 8
    for hw in CATALOG.local_hardware.values():
        assert hw.purchase_usd is not None and hw.purchase_usd > 0, hw.id
        assert hw.source


def test_support_bot_on_prem_option_costs_a_number() -> None:
    scenario = load_scenario(Path(__file__).resolve().parents[1] / "examples" / "support-bot.json")
    dep = next(d for d in plan_scenario(scenario, CATALOG).deployments if d.label == "On-prem")
    assert dep.monthly_cost_usd is not None and dep.monthly_cost_usd > 0


def test_default_lines_hand_computed() -> None:
    dep = plan(onprem())
    by = lines(dep)
    hours = dep.nodes * 730
    # $2,913 over 3 years of 8,760 h; support 10 % of the price per year (onprem_costs.csv)
    assert by["hardware"].amount_usd == pytest.approx(hours * RTX4090_USD / (3 * 8760), rel=1e-9)
    assert by["support"].amount_usd == pytest.approx(hours * RTX4090_USD * 0.10 / 8760, rel=1e-9)
    assert by["hardware"].status == "estimated"  # a component estimate, not a quote
    assert "hosting" not in by and "staff" not in by
    assert dep.monthly_cost_usd == pytest.approx(
        by["hardware"].amount_usd + by["support"].amount_usd + by["electricity"].amount_usd)


def test_residual_colocation_and_staff() -> None:
    dep = plan(onprem(residual_share=0.25, support_share_per_year=0.15, hosting="colocation",
                      staff_hours_per_month=10, staff_usd_per_hour=80))
    by = lines(dep)
    hours = dep.nodes * 730
    assert by["hardware"].amount_usd == pytest.approx(
        hours * RTX4090_USD * 0.75 / (3 * 8760), rel=1e-9)
    assert by["support"].amount_usd == pytest.approx(hours * RTX4090_USD * 0.15 / 8760, rel=1e-9)
    # rated power 360 W host + 450 W RTX 4090 TDP = 0.81 kW per machine, CBRE $184.06/kW-month
    assert by["hosting"].quantity == pytest.approx(dep.nodes * 0.81, rel=1e-9)
    assert by["hosting"].amount_usd == pytest.approx(dep.nodes * 0.81 * 184.06, rel=1e-9)
    assert by["staff"].amount_usd == pytest.approx(800.0)
    assert by["staff"].status == "input"


def test_staff_hours_without_a_rate_are_missing_not_zero() -> None:
    dep = plan(onprem(staff_hours_per_month=10))
    staff = lines(dep)["staff"]
    assert staff.status == "missing" and staff.amount_usd is None
    assert dep.monthly_cost_usd is None


def test_new_fields_survive_a_share_link() -> None:
    scenario = scenario_from_dict(onprem(residual_share=0.2, hosting="colocation",
                                         colocation_usd_per_kw_month=250, staff_hours_per_month=4,
                                         staff_usd_per_hour=90, support_share_per_year=0.12))
    back = decode_query_string(to_query_string(encode_scenario(scenario)), CATALOG).scenario
    assert back.deployments[0].target == scenario.deployments[0].target


@settings(max_examples=25, deadline=None)
@given(years=st.floats(1, 10), more=st.floats(0.1, 5), resid=st.floats(0, 0.9))
def test_monthly_hardware_cost_falls_with_longer_write_off_and_resale(years, more, resid) -> None:
    short = lines(plan(onprem(amortization_years=years)))["hardware"].amount_usd
    longer = lines(plan(onprem(amortization_years=min(15, years + more))))["hardware"].amount_usd
    resold = lines(plan(onprem(amortization_years=years, residual_share=resid)))["hardware"]
    assert longer < short
    assert resold.amount_usd <= short


def test_every_cost_kind_has_words_and_a_chart_name_and_colour() -> None:
    from planner.io.wording import COST_KIND_TEXT
    from planner.pricing.money import COST_KINDS
    from ui.charts import KIND_COLOURS, KIND_NAMES

    assert set(COST_KIND_TEXT) == set(COST_KINDS)
    assert set(KIND_NAMES) == set(COST_KINDS) and set(KIND_COLOURS) == set(COST_KINDS)


def test_eu_electricity_is_eurostat_converted_at_the_stated_rate() -> None:
    # Eurostat nrg_pc_205, MWH500-1999, excl. VAT, 2024-S2, x ECB 2025-02-28 1.0411 USD/EUR
    for region, eur in (("westeurope", 0.1983), ("northeurope", 0.2552), ("swedencentral", 0.0853)):
        row = CATALOG.regions[region]
        assert row.electricity_usd_per_kwh == pytest.approx(eur * 1.0411, abs=5e-5)
        assert "nrg_pc_205" in row.electricity_source and "electricity_usd_per_kwh" in row.unconfirmed
