"""Traffic curves cost what the plan costs, at every traffic level, and the Compare page's sweeps
built on them equal the sweeps that plan every level.

Random Azure deployments (VM size, region and plan of the price snapshot, model, precision, KV
dtype, TP, engine, spot base) under random workloads (shape, peak factor, replicas floor, SLOs)
at random traffic from 10 to 10^9 requests/day: the curve's cost and SLO verdict against
``plan_deployment`` for the same deployment at that traffic.
"""

import math
import random

import pytest

from planner.analyses.curves import traffic_curve
from planner.analyses.whatif import (
    CurveCosts,
    break_even,
    cost_vs_traffic,
    traffic_curves,
    usable_cost,
    with_traffic,
)
from planner.errors import PlannerError
from planner.physics.throughput import load_profiles
from planner.pipeline.plan import plan_deployment, plan_scenario
from planner.pricing.resolver import PriceResolver
from planner.registry import ENGINE_IDS, KV_DTYPES, PRECISIONS, TP_DEGREES, TRAFFIC_SHAPES
from planner.scenario import Deployment, Scenario, Workload
from planner.targets import ApiTarget, AzureTarget, LocalTarget


def random_workload(rng: random.Random) -> Workload:
    shape = rng.choice([s for s in TRAFFIC_SHAPES if s != "custom"])
    return Workload(requests_per_day=1.0, input_tokens=rng.choice([50, 400, 2000, 8000]),
                    output_tokens=rng.choice([20, 200, 1000]),
                    peak_to_average=rng.choice([1.0, 2.0, 3.5]),
                    target_utilization=rng.choice([0.5, 0.7, 0.9]),
                    min_replicas=rng.choice([1, 2, 3]),
                    tpot_slo_ms=rng.choice([20.0, 50.0, 150.0]),
                    ttft_slo_ms=rng.choice([300.0, 2000.0, 10_000.0]),
                    traffic_shape=shape)


def random_deployment(rng: random.Random, catalog, rows) -> Deployment:
    sku, region, plan = rng.choice(rows)
    spot_base = rng.choice([None, None, 0, 2]) if plan == "spot" else None
    target = AzureTarget(vm_sku=sku, region=region, pricing=plan,
                         cluster_tier=rng.choice(["free", "standard"]),
                         system_nodes=rng.choice([0, 1, 3]), spot_base_nodes=spot_base)
    return Deployment(label="x", model=rng.choice(sorted(catalog.models)),
                      precision=rng.choice(PRECISIONS), kv_cache_dtype=rng.choice(KV_DTYPES),
                      engine=rng.choice(ENGINE_IDS), tp=rng.choice([None, None, *TP_DEGREES]),
                      context_tokens=rng.choice([None, 4096, 32768]), target=target)


def test_curve_costs_equal_the_plan_at_random_traffic(catalog):
    profiles = load_profiles()
    resolver = PriceResolver(catalog)
    rows = sorted({(p.sku, p.region, p.plan) for p in catalog.prices if p.sku in catalog.skus})
    rng = random.Random(2026)
    checked = {"costed": 0, "no cost": 0, "slo unmet": 0, "levels": 0}
    for _ in range(160):
        dep, workload = random_deployment(rng, catalog, rows), random_workload(rng)
        curve = traffic_curve(dep, workload, catalog, profiles, resolver)
        assert curve is not None  # Azure, fixed policy: its cost follows its nodes
        levels = [10 ** rng.uniform(1, 9) for _ in range(4)]
        costs, meets = curve.monthly_cost_usd(levels)
        for rpd, cost, ok in zip(levels, costs, meets, strict=True):
            plan = plan_deployment(dep, workload.model_copy(update={"requests_per_day": rpd}),
                                   catalog, profiles, resolver)
            if plan.monthly_cost_usd is None:
                assert math.isnan(cost), (dep, rpd)
                checked["no cost"] += 1
            else:
                # the same cost lines at the same node count: equal to rounding
                assert cost == pytest.approx(plan.monthly_cost_usd, rel=1e-12), (dep, rpd)
                checked["costed"] += 1
            assert bool(ok) == plan.meets_slo or plan.monthly_cost_usd is None, (dep, rpd)
            checked["slo unmet"] += not plan.meets_slo
            checked["levels"] += 1
    # the sample reaches every branch: costed, no cost (no fit, too many, price missing), SLOs
    assert checked["costed"] > 100 and checked["no cost"] > 20 and checked["slo unmet"] > 20, \
        checked


def test_no_curve_where_the_cost_is_not_a_function_of_nodes(catalog):
    profiles = load_profiles()
    workload = Workload(requests_per_day=10_000)
    azure = AzureTarget(vm_sku="Standard_NC24ads_A100_v4")
    base = Deployment(label="x", model="llama-3.1-8b", target=azure)
    assert traffic_curve(base, workload, catalog, profiles) is not None
    autoscale = base.model_copy(update={"scaling": "autoscale"})
    assert traffic_curve(autoscale, workload, catalog, profiles) is None
    local = base.model_copy(update={"target": LocalTarget(hardware=sorted(
        catalog.local_hardware)[0], region="eastus")})
    assert traffic_curve(local, workload, catalog, profiles) is None  # electricity follows use
    api = Deployment(label="api", model="gpt-4o-mini", target=ApiTarget())
    assert traffic_curve(api, workload, catalog, profiles) is None


def test_sweep_and_break_even_with_curves_equal_planning_every_level(catalog):
    """The default example (two Azure options, own hardware, an API): curves for the Azure
    ones, plans for the others; the same costs on the grid and the same break-evens."""
    from ui.presets import default_scenario

    profiles = load_profiles()
    scenario = default_scenario()

    def planned(s: Scenario, rpd: float) -> dict[str, float | None]:
        try:
            result = plan_scenario(with_traffic(s, rpd), catalog, profiles)
        except PlannerError:
            return {}
        return {p.label: usable_cost(p) for p in result.deployments}

    curves = traffic_curves(scenario, catalog, profiles)
    assert sorted(curves) == sorted(d.label for d in scenario.deployments
                                    if isinstance(d.target, AzureTarget))
    fast = CurveCosts(curves, planned)
    grid = [10 ** (3 + i / 4) for i in range(21)]
    assert cost_vs_traffic(scenario, grid=grid, cost_fn=fast) == \
        cost_vs_traffic(scenario, grid=grid, cost_fn=planned)
    labels = [d.label for d in scenario.deployments]
    api = next(d.label for d in scenario.deployments if isinstance(d.target, ApiTarget))
    found = 0
    for label in labels:
        if label == api:
            continue
        a = break_even(scenario, label, api, grid=grid, cost_fn=fast)
        b = break_even(scenario, label, api, grid=grid, cost_fn=planned)
        assert a == b
        found += len(a)
    assert found >= 1  # the example has a break-even to find
