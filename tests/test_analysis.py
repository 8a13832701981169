"""Cost vs traffic, break-even and sensitivity re-run the pipeline; pinned to hand cases."""

import pytest

from planner.analysis import break_even, cost_vs_traffic, sensitivity, traffic_grid
from planner.scenario import scenario_from_dict
from planner.units import DAYS_PER_MONTH

SCENARIO = scenario_from_dict({
    "workload": {"requests_per_day": 20_000, "input_tokens": 800, "output_tokens": 200,
                 "min_replicas": 1},
    "deployments": [
        {"label": "SLM spot", "model": "phi-3-mini-4k", "precision": "fp16",
         "target": {"kind": "azure", "vm_sku": "Standard_NC24ads_A100_v4", "region": "eastus",
                    "pricing": "spot"}},
        {"label": "GPT-4o", "model": "gpt-4o", "target": {"kind": "api"}},
    ],
})


def test_cost_vs_traffic_matches_single_plans(catalog):
    grid = traffic_grid(1e3, 1e6, 4)
    costs = cost_vs_traffic(SCENARIO, catalog, grid)
    # API: requests/day x 30.42 days x (800 x $2.50 + 200 x $10.00) / 1M
    for rpd, cost in zip(grid, costs["GPT-4o"], strict=True):
        assert cost == pytest.approx(rpd * DAYS_PER_MONTH * 4000 / 1e6)
    assert costs["SLM spot"] == sorted(costs["SLM spot"])


def test_break_even_between_self_hosting_and_api(catalog):
    points = break_even(SCENARIO, "SLM spot", "GPT-4o", catalog)
    assert len(points) == 1
    point = points[0]
    assert point.cheaper_below == "GPT-4o" and point.cheaper_above == "SLM spot"
    # one spot node + AKS fee + system pool = API cost at that traffic: rpd = cost / $0.1217
    slm_cost = cost_vs_traffic(SCENARIO, catalog, [point.requests_per_day])["SLM spot"][0]
    expected_rpd = slm_cost / (DAYS_PER_MONTH * 4000 / 1e6)
    assert point.requests_per_day == pytest.approx(expected_rpd, rel=0.01)


def test_sensitivity_orders_by_swing(catalog):
    rows = sensitivity(SCENARIO, "SLM spot", catalog)
    swings = [r.swing_usd for r in rows]
    assert swings == sorted(swings, reverse=True)
    names = {r.input for r in rows}
    assert {"traffic (requests/day)", "output tokens", "pricing plan"} <= names
    plan = next(r for r in rows if r.input == "pricing plan")
    assert plan.low_label == "spot" and plan.cost_high_usd > plan.cost_low_usd


def test_unknown_label(catalog):
    with pytest.raises(ValueError):
        sensitivity(SCENARIO, "nope", catalog)
