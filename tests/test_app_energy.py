"""The Compare page's Energy & CO2 tab and the Methodology page's energy section (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import open_section
from streamlit.testing.v1 import AppTest

from planner.api import plan_scenario
from ui import charts
from ui.presets import default_scenario

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _text(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in [*at.markdown, *at.caption])


def test_energy_chart_stacks_the_lines_and_shows_the_range(catalog):
    result = plan_scenario(default_scenario(), catalog)
    fig = charts.energy_and_co2(result)
    names = {trace.name for trace in fig.data}
    assert {"GPUs serving", "GPUs idle", "Host (CPU, memory, fans)", "Facility overhead (PUE)",
            "Embodied (hardware)", "range"} <= names
    planned = [p for p in result.deployments if p.energy is not None]
    kwh_range = next(t for t in fig.data if t.name == "range" and t.xaxis == "x")
    for plan, up, down in zip(planned, kwh_range.error_y.array, kwh_range.error_y.arrayminus,
                              strict=True):
        assert up == plan.energy.kwh_high - plan.energy.kwh_per_month >= 0
        assert down == plan.energy.kwh_per_month - plan.energy.kwh_low >= 0
    # the stacked kWh bars add up to each option's total
    kwh_bars = [t for t in fig.data if t.type == "bar" and t.xaxis == "x"]
    for i, plan in enumerate(planned):
        assert sum(t.y[i] for t in kwh_bars) == pytest.approx(plan.energy.kwh_per_month, rel=1e-12)


def test_methodology_quotes_the_energy_check():
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("ui/pages/methodology.py").run()
    assert not at.exception
    text = _text(at)
    assert "published points" in text and "ML.ENERGY" in text
    assert "market_gco2_per_kwh" in text


def _co2_lines(at: AppTest) -> list[str]:
    return [line for m in at.markdown for line in str(m.value).splitlines() if "kg CO2e" in line]


def test_market_based_input_moves_co2_and_the_link(catalog):
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    before = _co2_lines(at)
    open_section(at, "carbon")
    box = next(n for n in at.number_input if n.label.startswith("Market-based"))
    box.set_value(0.0).run()
    assert not at.exception, [e.value for e in at.exception]
    scenario = at.session_state["scenario"]
    assert scenario.market_gco2_per_kwh == 0.0
    assert "0" in str(at.query_params.get("mkt"))
    after = _co2_lines(at)
    assert before and after and before != after
    # a 100 % renewable contract leaves only the hardware's embodied share
    plan = next(p for p in plan_scenario(scenario, catalog).deployments if p.energy)
    embodied = next(line for line in plan.energy.lines if line.kind == "embodied")
    assert plan.energy.co2_kg_per_month == embodied.co2_kg_per_month
