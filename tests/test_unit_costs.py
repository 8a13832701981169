"""Honest unit costs, a year of costs and cost ranges from the calibrated throughput interval."""

from pathlib import Path

import pytest

from planner.physics.throughput import gpu_vendor, load_intervals, output_range_factors
from planner.pipeline.plan import plan_scenario
from planner.scenario import load_scenario
from planner.units import DAYS_PER_MONTH

ROOT = Path(__file__).resolve().parent.parent


def by_label(result, label):
    return next(p for p in result.deployments if p.label == label)


def test_api_unit_costs_against_list_prices(catalog):
    # support-bot: 200,000 requests/day x 800 input + 200 output tokens on GPT-4o mini, whose
    # list prices are $0.15 / $0.60 per 1M input / output tokens (data/api_models.csv)
    api = by_label(plan_scenario(load_scenario(ROOT / "examples/support-bot.json"), catalog),
                   "API")
    assert api.list_price_input_usd_per_million == 0.15
    assert api.list_price_output_usd_per_million == 0.60
    requests = 200_000 * DAYS_PER_MONTH
    # whole bill over all tokens: (800 x 0.15 + 200 x 0.60) / 1000 = $0.24 per 1M
    assert api.cost_per_million_tokens_usd == pytest.approx(0.24)
    # whole bill over output tokens only (blended): 4 x input + output = $1.20, not $0.60
    assert api.cost_per_million_output_tokens_usd == pytest.approx(1.20)
    assert api.cost_per_thousand_requests_usd == pytest.approx(api.monthly_cost_usd / requests
                                                               * 1000)
    assert api.monthly_cost_range_usd == [api.monthly_cost_usd] * 2  # list prices: no model error


def test_year_follows_growth(catalog):
    result = plan_scenario(load_scenario(ROOT / "examples/internal-copilot.yaml"), catalog)
    for plan in result.deployments:
        assert len(plan.cost_by_month_usd) == 12
        assert plan.cost_by_month_usd[0] == pytest.approx(plan.monthly_cost_usd)
        assert plan.year_cost_usd == pytest.approx(sum(plan.cost_by_month_usd))
    grown = by_label(result, "Mistral 7B on A10")  # +10 %/month: nodes step up within the year
    assert grown.cost_by_month_usd[-1] > grown.cost_by_month_usd[0]
    assert grown.year_cost_usd > 12 * grown.monthly_cost_usd


def test_cost_range_brackets_the_estimate(catalog):
    result = plan_scenario(load_scenario(ROOT / "examples/internal-copilot.yaml"), catalog)
    plan = by_label(result, "Llama 3 70B on 8xL40S")
    low, high = plan.monthly_cost_range_usd
    # 3 replicas of TP4 fill two 8-GPU machines (two replicas each); the slow end of the interval
    # (vLLM's thin loaded cells take the pooled loaded TP > 1 cell's low factor, 0.70) needs 5
    # replicas, a third machine; the fast end still needs 3
    assert plan.replicas == 3 and plan.replicas_range == [3, 5]
    assert plan.nodes_range == [plan.nodes, plan.nodes + 1]
    assert low == plan.monthly_cost_usd < high
    a10 = by_label(result, "Mistral 7B on A10")  # the fast end needs one node fewer
    assert a10.nodes_range[0] < a10.nodes_range[1]
    assert a10.monthly_cost_range_usd[0] < a10.monthly_cost_range_usd[1] == a10.monthly_cost_usd
    lo_r, hi_r = plan.replicas_range
    assert lo_r <= plan.replicas <= hi_r
    # the slow end of the interval needs replicas for peak / (rps x low factor)
    gpu = catalog.gpus[catalog.skus["Standard_ND96isr_H100_v5"].gpu_id]  # any NVIDIA GPU
    intervals = load_intervals()
    pooled = intervals["cells"]["loaded|tp>1"]
    assert output_range_factors(intervals, "vllm", gpu_vendor(gpu), plan.throughput.batch,
                                plan.tp) == (pooled["low"], pooled["high"])
