"""Commitment plans in the advisor's top list, checked against the same option autoscaled on
pay-as-you-go (issue 15: "commitment plans compared against autoscaled pay-as-you-go")."""

import json
from pathlib import Path

import pytest

from planner.analyses.advisor import SearchSpace, advise, cheaper_of, deployment_for
from planner.catalog import load_catalog
from planner.cli.main import main
from planner.io.wording import commitment_check_text
from planner.physics.throughput import load_profiles
from planner.pipeline.plan import plan_deployment
from planner.pricing.resolver import PriceResolver
from planner.scenario import load_scenario
from planner.targets import ApiTarget, AzureTarget, LocalTarget, module_for

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "support-bot-business-hours.json"
# Azure only, commitment and payg plans, so the top options include reservations
SPACE = SearchSpace(include_local=False, include_api=False, plans=("payg", "reserved-1y"))


@pytest.fixture(scope="module")
def checked():
    scenario = load_scenario(EXAMPLE)
    catalog = load_catalog()
    return scenario, catalog, advise(scenario.workload, SPACE, catalog, top=3)


def test_reserved_option_has_a_check_equal_to_its_payg_autoscaled_plan(checked):
    scenario, catalog, result = checked
    reserved = [c for c in result.commitment_checks if c.commitment_plan == "reserved-1y"]
    assert reserved, "a 1-year reservation in the top 3 gets a check"
    check = reserved[0]
    plan = result.top_plans[check.rank - 1]
    assert plan.label == check.label
    assert check.commitment_monthly_cost_usd == plan.monthly_cost_usd
    dep = deployment_for(result.ranked.to_dict("records")[check.rank - 1], SPACE)
    payg = dep.model_copy(update={"target": dep.target.model_copy(update={"pricing": "payg"}),
                                  "scaling": "autoscale"})
    expected = plan_deployment(payg, scenario.workload, catalog, load_profiles(),
                               PriceResolver(catalog))
    assert expected.monthly_cost_usd is not None
    assert check.payg_autoscaled_monthly_cost_usd == pytest.approx(expected.monthly_cost_usd,
                                                                   rel=1e-12)
    assert check.payg_autoscaled_node_hours_per_month == expected.node_hours_per_month
    assert check.cheaper == cheaper_of(plan.monthly_cost_usd, expected.monthly_cost_usd)
    assert "1-year reservation" in commitment_check_text(check)


def test_payg_options_get_no_check(checked):
    _, _, result = checked
    payg_ranks = {i + 1 for i, row in enumerate(result.ranked.head(3).to_dict("records"))
                  if row["plan"] == "payg"}
    assert payg_ranks.isdisjoint({c.rank for c in result.commitment_checks})


def test_only_commitment_plans_have_a_payg_counterpart():
    for plan in ("reserved-1y", "reserved-3y", "savings-1y", "savings-3y"):
        target = AzureTarget(vm_sku="Standard_NC24ads_A100_v4", pricing=plan)
        committed, twin = module_for(target).payg_counterpart(target)
        assert committed == plan and twin.pricing == "payg" and twin.vm_sku == target.vm_sku
    for target in (AzureTarget(vm_sku="Standard_NC24ads_A100_v4", pricing="payg"),
                   AzureTarget(vm_sku="Standard_NC24ads_A100_v4", pricing="spot"),
                   ApiTarget(), LocalTarget(hardware="workstation-1x-rtx-4090")):
        assert module_for(target).payg_counterpart(target) is None


def test_cheaper_of():
    assert cheaper_of(100.0, 200.0) == "commitment"
    assert cheaper_of(200.0, 100.0) == "payg_autoscaled"
    assert cheaper_of(100.0, 100.0) == "same"
    assert cheaper_of(None, 100.0) == "unknown"
    assert cheaper_of(100.0, None) == "unknown"


def test_advise_json_carries_commitment_checks(capsys):
    assert main(["advise", "--scenario", str(EXAMPLE), "--top", "3", "--no-local", "--no-api",
                 "--plans", "payg,reserved-1y", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    checks = data["commitment_checks"]
    assert checks and checks[0]["commitment_plan"] == "reserved-1y"
    assert checks[0]["payg_autoscaled_monthly_cost_usd"] is not None
    assert {"rank", "label", "commitment_monthly_cost_usd", "cheaper",
            "payg_autoscaled_node_hours_per_month"} <= set(checks[0])


def test_check_line_speaks_plainly(checked):
    _, _, result = checked
    line = commitment_check_text(result.commitment_checks[0])
    assert " on Standard_" in line and "(eastus, 1-year reservation)" in line
    assert "pay-as-you-go autoscaled $" in line and "node-hours" in line
    assert "reserved-1y" not in line and "payg" not in line
