"""The vectorised evaluation equals the scalar pipeline it stands for.

* physics: the memory fit, the SLO batch and the replicas of random configurations (model, GPU,
  precision, KV dtype, TP) under random workloads, against memory_breakdown / size_replicas;
* cost: random options of the whole default space (every priced region and plan), against
  plan_deployment for the deployment a user would type;
* counting: every option of a space ends viable or under exactly one reject reason, and the
  space holds exactly the options the catalog enumerates.
"""

import itertools
import random

import numpy as np
import pytest

from planner.analyses.advisor import SearchSpace, advise, deployment_for
from planner.analyses.space import CONFIG_REASONS, size_configs
from planner.errors import CannotEstimateError, TooManyReplicasError
from planner.physics.memory import memory_breakdown, tp_divides_heads
from planner.physics.throughput import load_profiles, profile_for
from planner.pipeline.plan import plan_deployment
from planner.pipeline.sizing import size_replicas
from planner.registry import (
    COMMITMENT_PLANS,
    KV_DTYPES,
    PRECISIONS,
    PRICING_PLANS,
    SCALING_POLICIES,
    TP_DEGREES,
)
from planner.scenario import Workload, gpu_runs_precision

WORKLOADS = [
    Workload(requests_per_day=200_000, input_tokens=800, output_tokens=200, min_replicas=2),
    Workload(requests_per_day=3_000_000, input_tokens=3000, output_tokens=500, tpot_slo_ms=40,
             ttft_slo_ms=1500, min_replicas=1),
    Workload(requests_per_day=5_000, input_tokens=120, output_tokens=900, tpot_slo_ms=120,
             peak_to_average=3.0, target_utilization=0.5),
    # a shaped day: sized for the busiest hour (2.09 x the mean), above peak_to_average
    Workload(requests_per_day=800_000, input_tokens=500, output_tokens=300,
             traffic_shape="business-hours", peak_to_average=1.2, min_replicas=1),
]


@pytest.mark.parametrize("workload", WORKLOADS)
def test_vectorised_physics_equals_the_scalar_functions(catalog, workload):
    profiles = load_profiles()
    models, gpus = sorted(catalog.models), sorted(catalog.gpus)
    space = SearchSpace(context_tokens=None)
    configs = size_configs(models, gpus, np.ones((len(gpus), len(TP_DEGREES)), dtype=np.int64),
                           list(PRECISIONS), list(KV_DTYPES), space, workload, catalog,
                           profiles, None)
    rng = random.Random(19)
    sample = rng.sample(range(len(configs.model)), 400)
    checked = {"fit": 0, "sized": 0, "meets": 0}
    for i in sample:
        model = catalog.models[models[configs.model[i]]]
        gpu = catalog.gpus[gpus[configs.gpu[i]]]
        precision, kv = PRECISIONS[configs.precision[i]], KV_DTYPES[configs.kv[i]]
        tp, reason = int(configs.tp[i]), int(configs.reason[i])
        why = CONFIG_REASONS[reason] if reason >= 0 else None
        runs = gpu_runs_precision(gpu.native_precisions, precision) and (
            kv != "fp8" or "fp8" in gpu.native_precisions)
        if not runs:
            assert why == "precision_unsupported", (model.id, gpu.id, precision, kv)
            continue
        mem = memory_breakdown(model, gpu, precision, tp, kv, model.max_context_tokens)
        fits = tp_divides_heads(model, tp) and mem.fits
        assert (why != "does_not_fit") == fits, (model.id, gpu.id, precision, kv, tp)
        checked["fit"] += 1
        if not fits:
            continue
        try:
            sized = size_replicas(mem, model, gpu, precision, kv, workload,
                                  profile_for(profiles, "vllm", gpu), 8)
        except TooManyReplicasError:
            assert why == "too_many_replicas"
            continue
        except CannotEstimateError:
            assert why == "cannot_estimate"
            continue
        checked["sized"] += 1
        assert (why is None) == sized.choice.meets_slo, (model.id, gpu.id, precision, kv, tp)
        # the SLO batch and the figures there are the scalar curve's, to rounding
        assert configs.tpot_ms[i] == pytest.approx(sized.choice.tpot_ms, rel=1e-12)
        assert configs.ttft_ms[i] == pytest.approx(sized.choice.ttft_ms, rel=1e-12)
        if sized.choice.meets_slo:
            checked["meets"] += 1
            assert configs.batch[i] == sized.choice.batch
            assert configs.replicas[i] == sized.replicas
    # the sample reaches every stage (the test would prove nothing otherwise)
    assert checked["fit"] > 100 and checked["sized"] > 20 and checked["meets"] > 5, checked


@pytest.mark.parametrize("workload", [WORKLOADS[0], WORKLOADS[3]])
def test_sampled_option_costs_equal_the_plan(catalog, workload):
    """Random options of the whole default space, every scaling policy, cost what
    plan_deployment says and hold the node-hours it says (also for a shaped day, which the
    space once sized at peak_to_average instead of the busiest hour)."""
    regions = tuple(sorted({p.region for p in catalog.prices}))
    space = SearchSpace(regions=regions, plans=PRICING_PLANS, scaling=SCALING_POLICIES)
    result = advise(workload, space, catalog, top=1)
    n = len(result.evaluation.options.monthly_cost_usd)
    assert n > 10_000
    rows = result.azure_rows(np.random.default_rng(19).choice(n, 90, replace=False))
    assert set(rows["scaling"]) == set(SCALING_POLICIES)  # the sample has every policy
    # and commitment plans autoscaled (their committed nodes sized from the hourly profile)
    assert ((rows["plan"].isin(COMMITMENT_PLANS)) & (rows["scaling"] != "fixed")).sum() >= 10
    profiles = load_profiles()
    for row in rows.to_dict("records"):
        plan = plan_deployment(deployment_for(row, space), workload, catalog, profiles)
        assert plan.fits and plan.meets_slo, row
        assert plan.scaling.policy == row["scaling"], row
        assert plan.nodes == row["nodes"] and plan.tp == row["tp"], row
        assert plan.throughput.batch == row["batch"], row
        assert plan.node_hours_per_month == pytest.approx(row["node_hours_per_month"],
                                                          rel=1e-12), row
        assert plan.monthly_cost_usd == pytest.approx(row["monthly_cost_usd"], rel=1e-9), row


def test_every_option_is_counted_once(catalog):
    workload = WORKLOADS[0]
    models = ("llama-3-8b", "phi-3-mini-4k", "llama-3-70b", "mixtral-8x7b")
    regions, plans = ("eastus", "westeurope", "japaneast"), ("payg", "spot", "savings-1y")
    space = SearchSpace(models=models, regions=regions, plans=plans, include_local=False,
                        include_api=False)
    result = advise(workload, space, catalog, top=1)
    # the space a user could type: every priced (VM size, region, plan) x model x precision x
    # KV dtype x TP within the node
    rows = {(p.sku, p.region, p.plan) for p in catalog.prices
            if p.region in regions and p.plan in plans and p.sku in catalog.skus
            and not catalog.skus[p.sku].retired}
    expected = sum(1 for _m, (sku, _r, _p), _pr, _kv, tp, _s in itertools.product(
        models, rows, PRECISIONS, KV_DTYPES, TP_DEGREES, space.scaling)
        if tp <= catalog.skus[sku].gpu_count)
    assert result.options_evaluated == expected
    assert int(result.rejected["options"].sum()) + result.viable_options == expected
    assert len(result.evaluation.options.monthly_cost_usd) == result.viable_options
