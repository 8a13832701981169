"""The cheap render paths the dashboard takes for speed show exactly what the slow ones showed:
plain-dict Plotly figures equal what plotly's validation makes of them, Arrow tables built from
rows equal pandas' conversion of the same rows, and the Compare page's figures table carries the
plan's own numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pytest
import streamlit  # noqa: F401  (its Plotly template is the default, as in the app)
from streamlit.testing.v1 import AppTest

from planner.pipeline.plan import plan_scenario
from ui import charts
from ui.presets import PRESETS, default_scenario, preset
from ui.tables import arrow_table

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _scenarios():
    base = default_scenario()
    hostile = base.model_copy(update={"deployments": (
        base.deployments[0].model_copy(update={"label": "<a href='x'>%{y}</a>"}),
        base.deployments[3])})
    return [preset(name) for name in PRESETS] + [hostile]


def test_cost_breakdown_spec_is_what_plotly_validation_makes_of_it(catalog):
    for scenario in _scenarios():
        result = plan_scenario(scenario, catalog)
        spec = charts.cost_breakdown_spec(result)
        fast = charts.Prevalidated(spec).to_dict()
        assert fast == go.Figure(spec).to_dict()  # validation changes nothing, template included
        assert fast["layout"]["template"]  # Streamlit's template, as a go.Figure carries it
        # the stacked bars add up to each option's known monthly cost (the plan's own sum)
        for i, plan in enumerate(result.deployments):
            stacked = sum(trace["y"][i] or 0.0 for trace in fast["data"])
            assert stacked == pytest.approx(plan.monthly_cost_known_usd or 0.0, rel=1e-9)


def test_capacity_figures_are_what_plotly_validation_makes_of_them(catalog):
    checked = 0
    for scenario in _scenarios():
        w = scenario.workload
        for plan in plan_scenario(scenario, catalog).deployments:
            if plan.memory is None or plan.batch_curve is None:
                continue
            spec = charts.memory_breakdown_spec(plan)
            assert charts.Prevalidated(spec).to_dict() == go.Figure(spec).to_dict()
            mem = plan.memory
            # the bars fill the GPU's memory (free clipped at 0) and the line marks usable memory
            assert sum(t["x"][0] for t in spec["data"]) == pytest.approx(
                mem.gpu_mem_gb - min(mem.free_gb, 0.0), rel=1e-9)
            assert spec["layout"]["shapes"][0]["x0"] == mem.usable_gb
            curve = plan.batch_curve.model_dump()
            for tpot, ttft in ((w.tpot_slo_ms, w.ttft_slo_ms), (50.0, 60.0)):  # TTFT line or not
                spec = charts.batch_curve_spec(curve, plan, tpot, ttft)
                assert charts.Prevalidated(spec).to_dict() == go.Figure(spec).to_dict()
                assert spec["data"][0]["y"] == curve["tpot_ms"]
                assert spec["layout"]["shapes"][0]["y0"] == tpot
                assert spec["layout"]["shapes"][-1]["x0"] == plan.throughput.batch
            checked += 1
    assert checked >= 3


def test_cost_breakdown_figure_escapes_labels(catalog):
    hostile = _scenarios()[-1]
    spec = charts.cost_breakdown_spec(plan_scenario(hostile, catalog))
    assert "&lt;a href='x'&gt;%{y}&lt;/a&gt;" in spec["data"][0]["x"][0]


def test_arrow_table_equals_pandas_conversion_of_the_same_rows():
    rows = [  # every kind of column the pages build: gaps, mixed numbers, text, all unknown
        {"Option": "A", "GPUs": 2, "Batch": 8, "Cost": 10.5, "Mixed": 3, "Text": "x",
         "Unknown": None, "Gappy text": None},
        {"Option": "B", "GPUs": None, "Batch": 16, "Cost": None, "Mixed": 2.5, "Text": "—",
         "Unknown": None, "Gappy text": "y"},
    ]
    fast = arrow_table(rows)
    slow = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
    assert fast.equals(slow.replace_schema_metadata(None))
    assert fast.schema.field("GPUs").type == pa.float64()  # 2 and a gap: a float, as in pandas
    assert fast.schema.field("Batch").type == pa.int64()
    mixed = [{"Quantity": 1.5}, {"Quantity": "—"}]  # Arrow cannot type it: pandas' way instead
    assert isinstance(arrow_table(mixed), pd.DataFrame)
    assert list(arrow_table(mixed)["Quantity"]) == [1.5, "—"]


def test_compare_figures_table_carries_the_plans_numbers(catalog):
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    # the page's tables: all figures, and the cost-by-line tab
    frame = next(t.value for t in at.dataframe if "Option" in t.value.columns)
    assert len(at.dataframe) == 2
    result = plan_scenario(default_scenario(), catalog)
    assert len(frame) == len(result.deployments)
    for (_, row), plan in zip(frame.iterrows(), result.deployments, strict=True):
        assert row["Option"].removeprefix("★ ") == plan.label
        cost = row["Monthly cost (USD)"]
        if plan.monthly_cost_usd is None:
            assert math.isnan(cost)
        else:
            assert cost == pytest.approx(plan.monthly_cost_usd, rel=1e-12)
        if plan.gpus is None:
            assert math.isnan(row["GPUs"])
        else:
            assert row["GPUs"] == plan.gpus


def test_pareto_specs_are_what_plotly_validation_makes_of_them(catalog):
    """The Advisor's two trade-off charts (thousands of points): validation changes nothing,
    the frontier trace is the ranking's frontier options cheapest first, the star the cheapest
    option, the SLO a dotted line at its value; also with no options at all."""
    from planner.analyses.advisor import SearchSpace, advise

    result = advise(default_scenario().workload, SearchSpace(), catalog, top=10)
    ranked = result.ranked
    mine = [{"label": "<a href='x'>%{y}</a>", "monthly_cost_usd": 5000.0, "y": 60.0}]
    for spec, column, flag in (
            (charts.pareto_cost_quality_spec(ranked, mine), "mmlu_5shot", "pareto_cost_quality"),
            (charts.pareto_cost_latency_spec(ranked, mine, 100.0), "tpot_ms",
             "pareto_cost_latency")):
        assert charts.Prevalidated(spec).to_dict() == go.Figure(spec).to_dict()
        traces = {t["name"]: t for t in spec["data"]}
        front = ranked[ranked[flag] & ranked[column].notna()].sort_values("monthly_cost_usd")
        assert traces["Pareto frontier"]["x"] == front["monthly_cost_usd"].tolist()
        assert traces["Pareto frontier"]["y"] == front[column].tolist()
        shown = ranked[ranked[column].notna()].iloc[0]
        assert traces["cheapest"]["x"] == [shown["monthly_cost_usd"]]
        assert traces["your options"]["x"] == [5000.0]
        assert "<a" not in " ".join(traces["your options"]["customdata"])  # escaped
    assert spec["layout"]["shapes"][0]["y0"] == 100.0  # the latency chart's SLO line
    empty = charts.pareto_cost_latency_spec(ranked.iloc[0:0], None, None)
    assert empty["data"] == [] and charts.Prevalidated(empty).to_dict() == go.Figure(
        empty).to_dict()
