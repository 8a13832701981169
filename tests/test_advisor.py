"""Advisor: its top choice is never beaten by an option a user could type (brute force)."""

import itertools
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from planner.analyses.advisor import SearchSpace, advise, deployment_for, pareto_front
from planner.errors import ScenarioError
from planner.io.wording import REJECT_TEXT
from planner.physics.throughput import load_profiles
from planner.pipeline.plan import plan_deployment
from planner.registry import PRICING_PLANS
from planner.scenario import AzureTarget, Deployment, Workload

MODELS = ("llama-3-8b", "phi-3-mini-4k", "mistral-7b", "llama-3-70b")
SKUS = ("Standard_NC24ads_A100_v4", "Standard_NV36ads_A10_v5", "Standard_NC4as_T4_v3",
        "Standard_ND96isr_H100_v5", "Standard_NC48ads_A100_v4")
REGIONS = ("eastus", "westus2")
PLANS = ("payg", "spot")


@pytest.mark.parametrize("rpd", [5_000, 300_000, 5_000_000])
def test_top_choice_is_never_beaten_by_brute_force(catalog, rpd):
    workload = Workload(requests_per_day=rpd, input_tokens=700, output_tokens=250,
                        tpot_slo_ms=80, min_replicas=1)
    # exhaustive over every option a user could type: no floor, no KAITO rule, no grouping
    space = SearchSpace(models=MODELS, skus=SKUS, regions=REGIONS, plans=PLANS,
                        include_local=False, include_api=False, context_tokens=4096,
                        any_quality=True, require_kaito=False, group_variants=False)
    result = advise(workload, space, catalog, top=3)
    assert not result.ranked.empty
    best = result.ranked.iloc[0]["monthly_cost_usd"]
    # the advisor's figure is what the planner computes for that deployment
    assert result.top_plans[0].monthly_cost_usd == pytest.approx(best, rel=1e-9)

    profiles = load_profiles()
    brute = []
    for model, sku, region, plan, precision, tp in itertools.product(
            MODELS, SKUS, REGIONS, PLANS, ("fp16", "bf16", "fp8", "int8", "int4"),
            (None, 1, 2, 4, 8)):
        try:
            dep = Deployment(label="u", model=model, precision=precision, tp=tp,
                             context_tokens=4096,
                             target=AzureTarget(vm_sku=sku, region=region, pricing=plan))
        except ValueError:
            continue
        gpu = catalog.gpus[catalog.skus[sku].gpu_id]
        from planner.scenario import gpu_runs_precision
        if not gpu_runs_precision(gpu.native_precisions, precision):
            continue
        if tp is not None and tp > catalog.skus[sku].gpu_count:
            continue
        p = plan_deployment(dep, workload, catalog, profiles)
        if p.fits and p.throughput.meets_slo and p.monthly_cost_usd is not None:
            brute.append(p.monthly_cost_usd)
    assert brute
    assert best <= min(brute) + 1e-6
    assert best == pytest.approx(min(brute), rel=1e-9)


def test_quality_floor_and_reasons(catalog):
    workload = Workload(requests_per_day=50_000)
    result = advise(workload, SearchSpace(min_mmlu=70, include_local=False), catalog)
    mmlu = result.ranked["mmlu_5shot"]
    assert (mmlu >= 70).all()
    reasons = set(result.rejected["reason"])
    assert {"below_quality_floor", "price_missing", "does_not_fit"} <= reasons
    assert reasons <= set(REJECT_TEXT)  # every code has its words
    assert REJECT_TEXT["below_quality_floor"] == "below the quality floor"
    assert REJECT_TEXT["price_missing"] == "price missing"
    assert REJECT_TEXT["does_not_fit"] == "does not fit"


def test_pareto_front():
    cost = pd.Series([1.0, 2.0, 3.0, 3.0, 4.0])
    worse = pd.Series([5.0, 6.0, 2.0, 1.0, 1.0])
    assert pareto_front(cost, worse).tolist() == [True, False, False, True, False]


def test_space_is_bounded(catalog, monkeypatch):
    from planner.analyses import advisor

    regions = tuple(sorted({p.region for p in catalog.prices}))
    # the whole snapshot (every region and plan) is within the limit...
    full = advise(Workload(), SearchSpace(regions=regions, plans=PRICING_PLANS), catalog, top=1)
    assert full.options_evaluated <= advisor.MAX_OPTIONS
    # ...and a space over the limit is refused before any work
    monkeypatch.setattr(advisor, "MAX_OPTIONS", full.options_evaluated // 2)
    with pytest.raises(ScenarioError, match="exceeds the limit"):
        advise(Workload(), SearchSpace(regions=regions, plans=PRICING_PLANS), catalog)


def test_unknown_region_is_an_error(catalog):
    with pytest.raises(ScenarioError, match=r"search\.regions"):
        advise(Workload(), SearchSpace(regions=("moon",)), catalog)


def test_advise_cli_json():
    out = subprocess.run([sys.executable, "-m", "planner", "advise", "--scenario",
                          "examples/support-bot.json", "--top", "3", "--min-mmlu", "65",
                          "--format", "json"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["ranked"]) == 3 and data["options_evaluated"] > 1000
    assert 0 < data["search_seconds"] < 60 and 0 < data["viable_options"] <= data[
        "options_evaluated"]
    costs = [r["monthly_cost_usd"] for r in data["ranked"]]
    assert costs == sorted(costs)
    assert np.isclose(data["top_plans"][0]["monthly_cost_usd"], costs[0])


def test_advise_cli_bad_option():
    out = subprocess.run([sys.executable, "-m", "planner", "advise", "--plans", "cheap"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2 and "plans" in out.stderr and "Traceback" not in out.stderr


def test_ranked_azure_rows_cost_what_the_planner_says(catalog):
    workload = Workload(requests_per_day=400_000, input_tokens=700, output_tokens=250,
                        tpot_slo_ms=80)
    space = SearchSpace(models=MODELS, regions=REGIONS, plans=("payg", "spot", "reserved-1y"),
                        include_local=False, include_api=False, context_tokens=4096)
    result = advise(workload, space, catalog, top=1)
    azure = result.ranked[result.ranked["kind"] == "azure"]
    assert len(azure) >= 20
    profiles = load_profiles()
    # 20 rows spread over the ranking, cheapest to dearest
    for i in np.linspace(0, len(azure) - 1, 20).round().astype(int):
        row = azure.iloc[i].to_dict()
        plan = plan_deployment(deployment_for(row, space), workload, catalog, profiles)
        assert plan.fits and plan.meets_slo, row
        assert plan.nodes == row["nodes"], row
        assert plan.monthly_cost_usd == pytest.approx(row["monthly_cost_usd"], rel=1e-9), row


def test_advise_cli_table_speaks_plainly():
    out = subprocess.run([sys.executable, "-m", "planner", "advise", "--scenario",
                          "examples/support-bot.json", "--top", "40", "--no-local"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    header = out.stdout.splitlines()[2]
    for words in ("time per output token (ms)", "time to first token (ms)", "tensor parallel",
                  "monthly cost (USD)"):
        assert words in header
    assert "tpot_ms" not in header and "ttft_ms" not in header
    body = "\n".join(out.stdout.splitlines()[4:])
    assert re.search(r"Standard_\w+ \(eastus, (pay-as-you-go|spot|\d-year (reservation|savings "
                     r"plan))\)", body)
    assert not re.search(r"\b(payg|reserved-\dy|savings-\dy)\b", body)
