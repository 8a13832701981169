"""The pipeline end to end: scenarios in, plans out (golden files), and scenario validation."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from planner.errors import ScenarioError
from planner.findings import FindingCode
from planner.io.wording import finding_text, fit_text
from planner.pipeline.plan import plan_scenario
from planner.pipeline.sizing import MAX_REPLICAS
from planner.scenario import (
    Deployment,
    Scenario,
    Workload,
    load_scenario,
    parse_scenario_text,
    scenario_from_dict,
)
from planner.targets import AzureTarget
from planner.units import DAYS_PER_MONTH, HOURS_PER_MONTH, SECONDS_PER_DAY

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.*"))
GOLDEN = ROOT / "tests" / "golden"


def base(**deployment):
    dep = {"label": "x", "model": "llama-3-8b", "precision": "fp16",
           "target": {"kind": "azure", "vm_sku": "Standard_NC24ads_A100_v4", "region": "eastus"}}
    dep.update(deployment)
    return {"name": "t", "workload": {"requests_per_day": 100_000}, "deployments": [dep]}


def plan_of(catalog, data):
    return plan_scenario(scenario_from_dict(data), catalog)


def compare(actual, expected, path="$"):
    """Equal structure; floats within 1e-6 relative."""
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        assert actual == pytest.approx(expected, rel=1e-6, abs=1e-9), path
    elif isinstance(expected, dict):
        assert set(actual) == set(expected), f"{path}: keys differ"
        for key in expected:
            compare(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{path}: length differs"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            compare(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, path


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_golden_plans(example, catalog, update_golden):
    """Scenario in, expected plan out. Regenerate with ``pytest --update-golden``."""
    result = plan_scenario(load_scenario(example), catalog).model_dump(mode="json")
    golden = GOLDEN / f"{example.stem}.json"
    if update_golden or not golden.exists():
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        if not update_golden:
            pytest.fail(f"golden file {golden.name} was missing and has been written")
    compare(result, json.loads(golden.read_text()))


def test_support_bot_headline(catalog):
    result = plan_scenario(load_scenario(ROOT / "examples" / "support-bot.json"), catalog)
    by = {p.label: p for p in result.deployments}
    slm = by["SLM"]
    assert slm.fits and slm.replicas >= 2  # min_replicas
    node = slm.cost_lines[0]
    # price the VM, not the GPU: NC24ads_A100_v4 eastus payg 3.673 $/h x nodes x 730 h
    assert node.kind == "gpu_nodes" and node.period == "month"
    assert node.name == "GPU nodes (Standard_NC24ads_A100_v4, pay-as-you-go)"
    assert node.quantity == pytest.approx(slm.nodes * HOURS_PER_MONTH)
    assert node.amount_usd == pytest.approx(slm.nodes * 3.673 * HOURS_PER_MONTH)
    assert node.price_key == "Standard_NC24ads_A100_v4/eastus/payg"
    api = by["API"]
    # 200,000 req/day x 30.42 days x (800 in x $0.15 + 200 out x $0.60) / 1M = $1,460.00
    assert api.monthly_cost_usd == pytest.approx(200_000 * DAYS_PER_MONTH * (800 * 0.15 + 200 * 0.60)
                                                 / 1e6)
    assert api.monthly_cost_usd == pytest.approx(1460.0)
    # the local workstation's price is a component estimate ($1,599 GPU + $1,314 host parts,
    # local_hardware.csv): priced, written off over 3 years, support 10 %/year, flagged estimated
    onprem = by["On-prem"]
    [hardware] = [line for line in onprem.cost_lines if line.kind == "hardware"]
    [support] = [line for line in onprem.cost_lines if line.kind == "support"]
    assert hardware.amount_usd == pytest.approx(onprem.nodes * HOURS_PER_MONTH * 2913 / (3 * 8760))
    assert support.amount_usd == pytest.approx(onprem.nodes * HOURS_PER_MONTH * 2913 * 0.10 / 8760)
    assert onprem.monthly_cost_usd is not None
    estimated = [f for f in onprem.findings if f.code == FindingCode.PRICE_ESTIMATED]
    assert [f.values["line"] for f in estimated] == [hardware.name, support.name]
    assert "estimated price" in finding_text(estimated[0])
    assert result.cheapest_label in by


def test_missing_spot_price_is_flagged_not_zero(catalog):
    data = base(target={"kind": "azure", "vm_sku": "Standard_NC40ads_H100_v5", "region": "eastus",
                        "pricing": "spot"})
    plan = plan_of(catalog, data).deployments[0]
    assert plan.monthly_cost_usd is None
    spot = plan.cost_lines[1]  # [0] is the regular pool holding the base (priced pay-as-you-go)
    assert "spot pool" in spot.name
    assert spot.status == "missing" and spot.amount_usd is None
    assert spot.kind == "gpu_nodes"
    # the snapshot has the row, flagged missing (the copies list no spot discount for it)
    assert spot.missing_reason == "flagged_missing"
    assert FindingCode.PRICE_MISSING in [f.code for f in plan.findings]
    assert plan.monthly_cost_known_usd > 0  # the AKS fee and system pool are still known
    assert plan.cost_per_million_output_tokens_usd is None


def test_estimated_reservation_is_priced_and_flagged(catalog):
    data = base(target={"kind": "azure", "vm_sku": "Standard_NC24ads_A100_v4", "region": "eastus",
                        "pricing": "reserved-1y"})
    plan = plan_of(catalog, data).deployments[0]
    line = plan.cost_lines[0]
    # no quoted NC A100 v4 reservation: payg 3.673 x the quoted ND A100 v4 ratio 0.63999
    # (183722 / 8760 / 32.77, Retail Prices API copy 2026-09-27), see test_price_estimates
    assert line.status == "estimated" and line.unit_price_usd == pytest.approx(2.35071, rel=1e-4)
    assert plan.monthly_cost_usd is not None
    assert FindingCode.PRICE_ESTIMATED in [f.code for f in plan.findings]


def test_unit_costs_allocation_vs_usage(catalog):
    plan = plan_of(catalog, base()).deployments[0]
    tokens = 100_000 * DAYS_PER_MONTH * 200
    assert plan.cost_per_million_output_tokens_usd == pytest.approx(
        plan.monthly_cost_usd / tokens * 1e6)
    assert plan.usage_cost_per_million_output_tokens_usd == pytest.approx(
        plan.cost_per_million_output_tokens_usd * plan.utilization)
    assert plan.idle_cost_usd_per_month == pytest.approx(
        plan.monthly_cost_usd * (1 - plan.utilization))


def test_model_that_fits_nowhere_says_why(catalog):
    data = base(model="llama-3.1-405b", precision="int8",
                target={"kind": "azure", "vm_sku": "Standard_NC24ads_A100_v4", "region": "eastus"})
    plan = plan_of(catalog, data).deployments[0]
    assert not plan.fits and plan.fit.status == "does_not_fit"
    assert plan.fit.tried[0].tp == 1 and plan.fit.tried[0].problem == "memory"
    assert plan.fit.tried[0].need_gb > plan.fit.tried[0].usable_gb
    assert FindingCode.DOES_NOT_FIT in [f.code for f in plan.findings]
    assert "does not fit" in fit_text(plan) and "tensor parallel 1 needs" in fit_text(plan)
    assert plan.monthly_cost_usd is None and plan.replicas is None


def test_request_longer_than_context(catalog):
    data = base(model="phi-2")
    data["workload"]["input_tokens"] = 3000
    plan = plan_of(catalog, data).deployments[0]
    assert not plan.fits and plan.fit.status == "request_too_long"
    assert plan.fit.request_tokens == 3000 + 200
    assert plan.fit.context_tokens == catalog.models["phi-2"].max_context_tokens
    [too_long] = [f for f in plan.findings if f.code == FindingCode.REQUEST_EXCEEDS_CONTEXT]
    assert too_long.values == {"request_tokens": 3200,
                               "context_tokens": plan.fit.context_tokens}
    assert "context" in fit_text(plan)


def test_growth_schedule(catalog):
    data = base()
    data["workload"].update(requests_per_day=2_000_000, monthly_growth=0.2)
    plan = plan_of(catalog, data).deployments[0]
    assert len(plan.nodes_by_month) == 12
    assert plan.nodes_by_month[0] == plan.nodes
    assert plan.nodes_by_month == sorted(plan.nodes_by_month)
    assert plan.nodes_by_month[-1] > plan.nodes_by_month[0]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["deployments"][0].update(model="gpt-5-ultra"), "deployments[0].model"),
        (lambda d: d["deployments"][0]["target"].update(region="antarcticanorth"),
         "deployments[0].target.region"),
        (lambda d: d["deployments"][0]["target"].update(vm_sku="Standard_Nope"),
         "deployments[0].target.vm_sku"),
        (lambda d: d["deployments"][0].update(precision="fp8"), "deployments[0].precision"),
        (lambda d: d["workload"].update(requests_per_day=-5), "workload.requests_per_day"),
        (lambda d: d["workload"].update(surprise=1), "workload.surprise"),
        (lambda d: d["deployments"][0]["target"].update(pricing="cheap"),
         "deployments[0].target.pricing"),
        (lambda d: d["deployments"][0].update(model="gpt-4o"), "deployments[0].model"),
    ],
)
def test_invalid_scenarios_name_the_field(catalog, mutate, field):
    data = base()
    mutate(data)
    with pytest.raises(ScenarioError) as err:
        plan_scenario(scenario_from_dict(data), catalog)
    assert field in str(err.value)


def test_bf16_on_t4_is_rejected(catalog):
    data = base(precision="bf16", target={"kind": "azure", "vm_sku": "Standard_NC4as_T4_v3",
                                          "region": "eastus"})
    with pytest.raises(ScenarioError, match=r"deployments\[0\].precision: .*cannot run bf16"):
        plan_scenario(scenario_from_dict(data), catalog)


def test_defaults_are_filled():
    s = scenario_from_dict({"deployments": [{"label": "a", "model": "gpt-4o",
                                             "target": {"kind": "api"}}]})
    assert s.workload.peak_to_average == 3.0 and s.deployments[0].precision == "fp16"


def test_yaml_and_json_parse_the_same():
    json_text = (ROOT / "examples" / "support-bot.json").read_text()
    import yaml

    yaml_text = yaml.safe_dump(json.loads(json_text))
    assert parse_scenario_text(json_text) == parse_scenario_text(yaml_text, "yaml")


@pytest.mark.parametrize("text", ["{", "[1, 2]", "deployments: 5", "a: [", "\x00"])
def test_malformed_scenario_text(text):
    with pytest.raises(ScenarioError):
        parse_scenario_text(text)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "planner", *args], capture_output=True, text=True,
                          check=False, cwd=ROOT)


def test_throughput_cli_json():
    out = run_cli("throughput", "--model", "llama-3-8b", "--gpu", "a100-80gb-pcie", "--precision",
                  "fp16", "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    for key in ("weights_gb", "kv_cache_bytes_per_token", "fits", "tp", "max_batch",
                "prefill_tokens_per_s", "decode_tokens_per_s", "tpot_ms", "ttft_ms",
                "output_tokens_per_s"):
        assert key in data
    assert data["weights_gb"] == pytest.approx(16.06)
    assert data["kv_cache_bytes_per_token"] == 131_072
    assert data["fits"] is True and data["tp"] == 1


def test_throughput_cli_does_not_fit():
    out = run_cli("throughput", "--model", "llama-3-70b", "--gpu", "h100-sxm", "--precision",
                  "fp16", "--tp", "1", "--format", "json")
    assert out.returncode == 0
    data = json.loads(out.stdout)
    assert data["fits"] is False and "does not fit" in data["fit_reason"]


def test_throughput_cli_bad_input():
    out = run_cli("throughput", "--model", "nope", "--gpu", "h100-sxm", "--precision", "fp16")
    assert out.returncode == 2 and "--model" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_plan_cli_formats(fmt):
    out = run_cli("plan", "--scenario", "examples/support-bot.json", "--format", fmt)
    assert out.returncode == 0, out.stderr
    if fmt == "json":
        data = json.loads(out.stdout)
        row = data["deployments"][0]
        for key in ("label", "model", "target", "replicas", "gpus", "nodes", "monthly_cost_usd",
                    "cost_per_million_output_tokens_usd", "energy_kwh_per_month",
                    "co2_kg_per_month", "findings", "cost_lines"):
            assert key in row
        assert row["cost_lines"][0]["price_key"]
    elif fmt == "csv":
        assert "Monthly amount (USD)" in out.stdout and "Category" in out.stdout
    else:
        assert "SLM" in out.stdout and "cheapest" in out.stdout


def test_plan_cli_invalid_scenario(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(base(model="nope")))
    out = run_cli("plan", "--scenario", str(bad))
    assert out.returncode == 2
    assert "deployments[0].model" in out.stderr and "Traceback" not in out.stderr


def test_spare_replica_slots_are_reported(catalog):
    # one tp=2 replica of a 70B model on an 8-GPU node: 3 more replicas fit at no extra cost
    data = base(model="llama-3-70b", precision="fp8", context_tokens=8192, tp=2,
                target={"kind": "azure", "vm_sku": "Standard_ND96isr_H100_v5", "region": "eastus"})
    data["workload"]["requests_per_day"] = 1000
    plan = plan_of(catalog, data).deployments[0]
    assert plan.replicas == 1 and plan.nodes == 1
    spare = next(f for f in plan.findings if f.code == FindingCode.SPARE_REPLICA_SLOTS)
    assert spare.values["spare_slots"] == 3 and spare.values["idle_gpus"] == 6
    assert spare.values["nodes"] == 1
    assert plan.sizing.spare_replica_slots == 3 and plan.sizing.idle_gpus == 6
    note = finding_text(spare)
    assert note.startswith("3 spare replica slot(s)") and "6 idle GPU(s)" in note


def test_amd_gpu_uses_the_rocm_profile_and_the_plan_carries_its_curve(catalog):
    data = base(target={"kind": "azure", "vm_sku": "Standard_ND96isr_MI300X_v5",
                        "region": "eastus2", "pricing": "payg"}, engine="vllm")
    data["workload"]["requests_per_day"] = 2_000_000
    plan = plan_of(catalog, data).deployments[0]
    assert plan.fits and plan.engine_profile == "vllm@rocm"
    curve, choice = plan.batch_curve, plan.throughput
    # the Capacity chart reads this curve: at the chosen batch it is the plan's own figure
    assert curve.batch[choice.batch - 1] == choice.batch
    assert curve.tpot_ms[choice.batch - 1] == pytest.approx(choice.tpot_ms, rel=1e-9)
    assert curve.ttft_ms[choice.batch - 1] == pytest.approx(choice.ttft_ms, rel=1e-9)
    assert len(curve.batch) == min(curve.memory_max_batch, curve.engine_max_batch)
    assert "batch_curve" not in plan.model_dump()  # kept out of JSON exports


def test_price_dates_span_the_snapshot(catalog):
    result = plan_of(catalog, base())
    assert result.oldest_price_date <= result.newest_price_date
    dates = [row.as_of for row in catalog.prices if row.price_per_hour is not None]
    assert result.oldest_price_date == min(dates)
    assert result.newest_price_date == max(dates)


def test_range_whose_slow_end_needs_too_many_replicas_is_unknown_not_a_crash(catalog):
    """Traffic the central estimate serves with ~95,000 replicas: the interval's slow end needs
    more than MAX_REPLICAS (100,000), so the plan has its cost and no range (it used to raise
    TooManyReplicasError out of the cost range; found by tests/test_curves.py)."""
    dep = Deployment(label="x", model="llama-3.1-8b",
                     target=AzureTarget(vm_sku="Standard_NC24ads_A100_v4"))
    workload = Workload(requests_per_day=1000, peak_to_average=1.0, target_utilization=0.7)
    small = plan_scenario(one_deployment(workload, dep), catalog).deployments[0]
    rps = small.sizing.replica_requests_per_s
    rpd = 0.95 * MAX_REPLICAS * rps * 0.7 * SECONDS_PER_DAY
    big = plan_scenario(one_deployment(workload.model_copy(
        update={"requests_per_day": rpd}), dep), catalog).deployments[0]
    assert 94_000 < big.replicas <= 95_001
    assert big.monthly_cost_usd is not None and big.monthly_cost_range_usd is None


def one_deployment(workload: Workload, dep: Deployment) -> Scenario:
    return Scenario(name="bound", workload=workload, deployments=(dep,))
