"""Spot as burst: the base on a regular pool, burst on spot, both in the az export."""

import pytest

from planner.io.kaito import nodepool_export
from planner.pipeline.plan import plan_scenario
from planner.scenario import scenario_from_dict

SKU = "Standard_NC24ads_A100_v4"  # 1 A100 per node: nodes = replicas


def spot_scenario(**target):
    return scenario_from_dict({
        "name": "spot", "workload": {"requests_per_day": 2_000_000, "min_replicas": 2},
        "deployments": [
            {"label": "spot", "model": "phi-3-mini-4k",
             "target": {"kind": "azure", "vm_sku": SKU, "pricing": "spot", **target}},
            {"label": "payg", "model": "phi-3-mini-4k",
             "target": {"kind": "azure", "vm_sku": SKU, "pricing": "payg"}}]})


def test_spot_plan_has_a_regular_base_line_and_a_spot_burst_line(catalog):
    spot, payg = plan_scenario(spot_scenario(), catalog).deployments
    assert spot.nodes == payg.nodes and spot.nodes > 2
    gpu = [line for line in spot.cost_lines if line.kind == "gpu_nodes"]
    assert len(gpu) == 2
    base, burst = gpu
    assert "regular pool" in base.name and "pay-as-you-go" in base.name
    assert "spot pool" in burst.name and "evictable" in burst.name  # caveat next to the amount
    assert base.quantity == 2 * 730  # min_replicas' nodes all month
    assert burst.quantity == (spot.nodes - 2) * 730
    payg_price = next(line for line in payg.cost_lines if line.kind == "gpu_nodes").unit_price_usd
    assert base.unit_price_usd == payg_price
    assert burst.unit_price_usd == catalog.price(SKU, "eastus", "spot").price_per_hour
    assert spot.monthly_cost_usd == pytest.approx(sum(line.amount_usd for line in spot.cost_lines))
    assert spot.monthly_cost_usd < payg.monthly_cost_usd


def test_a_stated_base_and_all_spot(catalog):
    plans = plan_scenario(spot_scenario(spot_base_nodes=4), catalog).deployments
    assert plans[0].cost_lines[0].quantity == 4 * 730
    all_spot = plan_scenario(spot_scenario(spot_base_nodes=0), catalog).deployments[0]
    assert all_spot.cost_lines[0].quantity == 0
    assert all_spot.cost_lines[1].quantity == all_spot.nodes * 730


def test_az_export_creates_the_regular_and_the_spot_pool(catalog):
    scenario = spot_scenario()
    plan = plan_scenario(scenario, catalog).deployments[0]
    export = nodepool_export(plan, scenario, catalog)
    assert export.base_node_count == 2 and export.base_argv is not None
    assert "--priority" not in export.base_argv  # regular
    assert export.base_argv[export.base_argv.index("--node-count") + 1] == "2"
    assert export.argv[export.argv.index("--priority") + 1] == "Spot"
    assert export.node_count == plan.nodes - 2
    assert export.command.count("az aks nodepool add") == 2
