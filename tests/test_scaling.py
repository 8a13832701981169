"""Traffic over the day and scaling policies: hand-computed shapes, lead times and node-hours."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import ScenarioError
from planner.io.export import plan_csv
from planner.io.sharelink import decode_query_string, encode_scenario, to_query_string
from planner.pipeline import scaling, traffic
from planner.pipeline.plan import plan_scenario
from planner.scenario import load_scenario, scenario_from_dict
from planner.units import DAYS_PER_MONTH, HOURS_PER_MONTH

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def workload(**kw):
    return scenario_from_dict({"workload": kw, "deployments": [
        {"label": "a", "model": "gpt-4o-mini", "target": {"kind": "api"}}]}).workload


def test_shape_peak_factors_by_hand():
    # business hours: 0.1x7 + 0.3 + 0.7 + 1.0x8 + 0.8 + 0.4 + 0.2 + 0.1x4 = 11.5 over 24 hours
    w = workload(traffic_shape="business-hours", peak_to_average=1)
    assert traffic.shape_peak_factor(w) == pytest.approx(24 / 11.5, rel=1e-12)
    assert traffic.hourly_weights(w).mean() == pytest.approx(1.0)
    assert traffic.shape_peak_factor(workload()) == 1.0  # flat
    # the stated peak factor above the shape's is a burst inside every hour
    assert traffic.burst_factor(workload(traffic_shape="business-hours", peak_to_average=3)) == \
        pytest.approx(3 / (24 / 11.5))
    assert traffic.peak_factor(workload(traffic_shape="business-hours", peak_to_average=1.5)) == \
        pytest.approx(24 / 11.5)  # the shape wins when its peak is higher


def test_time_zone_moves_the_busy_hours():
    w = workload(traffic_shape="business-hours", utc_offset_hours=-5)
    weights = traffic.hourly_weights(w)
    assert weights[14] == pytest.approx(24 / 11.5)  # 09:00 in UTC-5 is 14:00 UTC
    assert weights[4] == pytest.approx(0.1 * 24 / 11.5)  # 23:00 local


def test_hourly_csv():
    text = "hour,requests\n" + "\n".join(f"{h},{h * 10}" for h in range(24))
    values = traffic.hourly_requests_from_csv(text)
    assert values[0] == 0 and values[23] == 230
    with pytest.raises(ScenarioError, match="no value for hour"):
        traffic.hourly_requests_from_csv("0,5\n1,6\n")
    with pytest.raises(ScenarioError, match="line 2"):
        traffic.hourly_requests_from_csv("hour,requests\n25,4\n")
    with pytest.raises(ScenarioError, match="24 hourly_requests"):
        workload(traffic_shape="custom", hourly_requests=[1, 2])


def test_lead_time_by_hand():
    # kaito#2325: 284 + 126 + 101 + 7 + 3 + 74 + 21 + 195 = 811 s, and 51.75 GiB in 62 s
    assert scaling.lead_time_minutes(0) == pytest.approx(811 / 60)
    gib = 51.75 * 2**30 / 1e9
    assert scaling.weight_load_seconds(gib) == pytest.approx(62.0)
    assert scaling.lead_time_minutes(gib) == pytest.approx((811 + 62) / 60)


def test_held_unit_hours_by_hand():
    import numpy as np
    # 1 node for 12 h, 3 for 12 h: 48 unit-hours; one step up of 2 bought 0.25 h early,
    # one step down of 2 released 1/6 h late
    profile = np.array([1] * 12 + [3] * 12)
    assert scaling._held(profile, 0.25, 1 / 6) == pytest.approx(48 + 2 * 0.25 + 2 / 6)


@pytest.mark.parametrize("name", ["support-bot.json", "internal-copilot.yaml",
                                  "document-summarisation.yaml"])
def test_flat_shape_and_fixed_policy_reproduce_the_golden_plans(name, catalog):
    scenario = load_scenario(ROOT / "examples" / name)
    explicit = scenario.model_copy(update={
        "workload": scenario.workload.model_copy(update={"traffic_shape": "flat"}),
        "deployments": tuple(d.model_copy(update={"scaling": "fixed"})
                             for d in scenario.deployments)})
    golden = json.loads((GOLDEN / name.rsplit(".", 1)[0]).with_suffix(".json").read_text())
    planned = plan_scenario(explicit, catalog).model_dump(mode="json")
    for got, want in zip(planned["deployments"], golden["deployments"], strict=True):
        for key in ("monthly_cost_usd", "nodes", "replicas", "idle_cost_usd_per_month",
                    "cost_per_million_output_tokens_usd", "cost_lines", "utilization"):
            assert got[key] == want[key], (name, got["label"], key)
        if got["nodes"] is not None and got["target_kind"] == "azure":
            assert got["node_hours_per_month"] == got["nodes"] * HOURS_PER_MONTH


def test_business_hours_example_autoscales_below_the_fixed_plan(catalog):
    hours = plan_scenario(load_scenario(ROOT / "examples/support-bot-business-hours.json"),
                          catalog)
    fixed = plan_scenario(load_scenario(ROOT / "examples/support-bot.json"), catalog)
    slm, slm_fixed = hours.deployments[0], fixed.deployments[0]
    assert slm.scaling.policy == "autoscale"
    assert slm.monthly_cost_usd < slm_fixed.monthly_cost_usd
    assert slm.node_hours_per_month < slm_fixed.node_hours_per_month
    assert slm.average_utilization > slm_fixed.average_utilization
    # the GPU line is the node-hours held at the pay-as-you-go hourly price
    gpu = next(line for line in slm.cost_lines if line.kind == "gpu_nodes")
    assert gpu.quantity == pytest.approx(slm.node_hours_per_month)
    assert slm.node_hours_per_month == pytest.approx(slm.scaling.node_hours_per_day
                                                     * DAYS_PER_MONTH)
    # JSON and CSV carry the policy, node-hours and utilisation
    data = json.loads(hours.model_dump_json())
    assert data["deployments"][0]["node_hours_per_month"] == pytest.approx(730.0)
    assert "average_utilization" in data["deployments"][1]
    text = plan_csv(hours)
    assert "\"scaling\":\"autoscale\"" in text and "\"traffic_shape\":\"business-hours\"" in text


def test_larger_traffic_follows_the_shape(catalog):
    data = json.loads((ROOT / "examples/support-bot.json").read_text())
    data["workload"].update(requests_per_day=2_000_000, traffic_shape="business-hours")
    data["deployments"][0]["scaling"] = "autoscale"
    slm = plan_scenario(scenario_from_dict(data), catalog).deployments[0]
    nodes = slm.scaling.nodes_by_hour
    assert max(nodes) == slm.nodes and min(nodes) < max(nodes)
    assert min(nodes) >= 2  # never below min_replicas without min_nodes


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 100), min_size=24, max_size=24).filter(lambda v: sum(v) > 0),
       st.sampled_from(["autoscale", "scale-to-zero"]))
def test_scaling_never_costs_more_than_fixed(catalog, hours, policy):
    data = {"workload": {"requests_per_day": 1_500_000, "traffic_shape": "custom",
                         "hourly_requests": hours, "min_replicas": 1},
            "deployments": [
                {"label": p, "model": "phi-3-mini-4k", "scaling": p,
                 "target": {"kind": "azure", "vm_sku": "Standard_NC24ads_A100_v4"}}
                for p in ("fixed", policy)]}
    fixed, scaled = plan_scenario(scenario_from_dict(data), catalog).deployments
    assert scaled.node_hours_per_month <= fixed.node_hours_per_month + 1e-9
    assert scaled.monthly_cost_usd <= fixed.monthly_cost_usd + 1e-6


def test_share_link_round_trips_shape_and_policy(catalog):
    scenario = load_scenario(ROOT / "examples/support-bot-business-hours.json")
    custom = scenario.model_copy(update={"workload": scenario.workload.model_copy(update={
        "traffic_shape": "custom", "hourly_requests": tuple(float(h % 5) for h in range(24))})})
    for s in (scenario, custom):
        query = to_query_string(encode_scenario(s))
        decoded, messages = decode_query_string(query, catalog)
        assert messages == [] and decoded == s
    assert "shape=business-hours" in to_query_string(encode_scenario(scenario))
    assert "scale_autoscale~minn_1" in to_query_string(encode_scenario(scenario))


def test_az_export_uses_the_autoscaler_bounds_of_the_policy(catalog):
    from planner.io.kaito import nodepool_export

    scenario = load_scenario(ROOT / "examples/support-bot-business-hours.json")
    plan = plan_scenario(scenario, catalog).deployments[0]
    export = nodepool_export(plan, scenario, catalog)
    assert export.min_count == 1  # the example's min_nodes, not min_replicas' 2
    assert export.max_count == plan.scaling.max_nodes == 2


@pytest.mark.parametrize("plan", ["reserved-1y", "reserved-3y", "savings-3y"])
def test_a_commitment_under_autoscaling_commits_the_nodes_worth_committing(catalog, plan):
    """A reservation or savings plan is paid for every hour of its term: autoscaled, the plan
    commits the nodes in service in more than commit/payg of the day's hours (all 730 hours)
    and pays the node-hours above them at pay-as-you-go; cheaper than committing every node all
    day and than committing only the floor. Hand-computed from the snapshot's hourly prices."""
    data = json.loads((ROOT / "examples/support-bot.json").read_text())
    data["workload"].update(requests_per_day=3_000_000, traffic_shape="business-hours",
                            min_replicas=1)
    data["deployments"] = [{"label": p, "model": "llama-3.1-8b", "scaling": p,
                            "target": {"kind": "azure", "vm_sku": "Standard_NC24ads_A100_v4",
                                       "pricing": plan}} for p in ("fixed", "autoscale")]
    fixed, scaled = plan_scenario(scenario_from_dict(data), catalog).deployments
    sku, region = "Standard_NC24ads_A100_v4", "eastus"
    committed_usd = catalog.price(sku, region, plan).price_per_hour
    payg = catalog.price(sku, region, "payg").price_per_hour
    hours = scaled.scaling.nodes_by_hour
    ratio = committed_usd / payg
    # the largest k held in more than ratio x 24 hours of the day
    k = max(n for n in range(max(hours) + 1) if sum(h >= n for h in hours) > ratio * 24)
    gpu = [line for line in scaled.cost_lines if line.kind == "gpu_nodes"]
    assert gpu[0].name.startswith(f"GPU nodes, committed base of {k} ")
    burst = scaling.burst_node_hours_per_month(scaled.scaling, k)
    assert [line.quantity for line in gpu] == pytest.approx([k * HOURS_PER_MONTH, burst])
    assert sum(line.amount_usd for line in gpu) == pytest.approx(
        k * HOURS_PER_MONTH * committed_usd + burst * payg, rel=1e-12)
    floor_only = (HOURS_PER_MONTH * min(hours) * committed_usd
                  + scaling.burst_node_hours_per_month(scaled.scaling, min(hours)) * payg)
    assert sum(line.amount_usd for line in gpu) <= floor_only + 1e-9
    # fixed: every node committed all month, at the commitment's price
    fixed_gpu = next(line for line in fixed.cost_lines if line.kind == "gpu_nodes")
    assert fixed_gpu.amount_usd == pytest.approx(fixed.nodes * HOURS_PER_MONTH * committed_usd)
    assert scaled.monthly_cost_usd < fixed.monthly_cost_usd


def test_committed_nodes_by_hand():
    """The business-hours profile of 16 peak nodes: sorted, 16 x8, 13, 12, 7, 5, 4, then 2."""
    from planner.pricing.commitment import committed_nodes

    day = [2] * 7 + [5, 12] + [16] * 8 + [13, 7, 4] + [2] * 4
    # 3-year reservation at 0.44 of payg: 7 nodes run 11 h (0.458 > 0.44), 8 nodes 10 h (0.417)
    assert committed_nodes(day, 0.44, 1.0) == 7
    # 1-year at 0.64: only the 2 nodes that never go away run more than 15.4 h
    assert committed_nodes(day, 0.64, 1.0) == 2
    # exactly half: 5 nodes run 12 h = 0.5, no saving, so not committed; 4 nodes run 13 h
    assert committed_nodes(day, 0.5, 1.0) == 4
    assert committed_nodes(day, 1.0, 1.0) == 0  # no discount: commit nothing
    # at 1 % of the price even the peak's 16 nodes (8 h a day) are worth committing
    assert committed_nodes(day, 0.01, 1.0) == 16
    assert committed_nodes(day, float("nan"), 1.0) == 0
