"""Monotonicity properties of the engine (hypothesis)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.physics.memory import memory_breakdown
from planner.pipeline.plan import plan_scenario
from planner.pricing.money import CostComponent, cost_line
from planner.pricing.resolver import PriceResolver, vm_key
from planner.scenario import scenario_from_dict

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

SELF_HOSTED = [
    ("llama-3-8b", "fp16", "Standard_NC24ads_A100_v4"),
    ("phi-3-mini-4k", "int4", "Standard_NV36ads_A10_v5"),
    ("llama-3-70b", "fp8", "Standard_ND96isr_H100_v5"),
    ("mixtral-8x7b", "fp16", "Standard_NC96ads_A100_v4"),
    ("falcon-7b", "fp16", "Standard_NC4as_T4_v3"),
]


def scenario(rpd, model, precision, sku, input_tokens=800, output_tokens=200):
    return scenario_from_dict({
        "workload": {"requests_per_day": rpd, "input_tokens": input_tokens,
                     "output_tokens": output_tokens},
        "deployments": [{"label": "d", "model": model, "precision": precision, "context_tokens": 2048,
                         "target": {"kind": "azure", "vm_sku": sku, "region": "eastus"}}],
    })


@SETTINGS
@given(rpd=st.just(0.0) | st.floats(1, 5e7), factor=st.floats(1.0, 20.0), option=st.sampled_from(SELF_HOSTED),
       io=st.tuples(st.integers(1, 1000), st.integers(1, 1000)))
def test_more_traffic_never_needs_fewer_gpus(catalog, rpd, factor, option, io):
    small = plan_scenario(scenario(rpd, *option, *io), catalog).deployments[0]
    large = plan_scenario(scenario(rpd * factor, *option, *io), catalog).deployments[0]
    assert small.fits == large.fits
    if small.fits:
        assert large.gpus >= small.gpus
        assert large.nodes >= small.nodes


ORDER = ["fp16", "fp8", "int8", "int4"]  # each needs no more memory than the one before


@SETTINGS
@given(model_id=st.sampled_from(["llama-3-8b", "mistral-7b", "phi-3-medium-4k", "llama-3-70b",
                                 "gemma-7b", "mixtral-8x7b", "falcon-40b"]),
       gpu_id=st.sampled_from(["a100-80gb-pcie", "h100-sxm", "l40s", "a10", "rtx-4090"]),
       tp=st.sampled_from([1, 2, 4, 8]), ctx=st.integers(256, 32768))
def test_lower_precision_never_needs_more_memory(catalog, model_id, gpu_id, tp, ctx):
    model, gpu = catalog.models[model_id], catalog.gpus[gpu_id]
    needs = []
    for precision in ORDER:
        mem = memory_breakdown(model, gpu, precision, tp, context_tokens=ctx)
        needs.append(mem.weights_gb + mem.full_context_kv_gb)
    assert needs == sorted(needs, reverse=True)
    budgets = [memory_breakdown(model, gpu, p, tp, context_tokens=ctx).kv_budget_gb for p in ORDER]
    assert budgets == sorted(budgets)


@SETTINGS
@given(quantity=st.floats(0, 1e6), price=st.floats(0, 1e4), bump=st.floats(0, 1e4))
def test_a_higher_price_never_lowers_cost(catalog, quantity, price, bump):
    key = vm_key("x", "eastus", "payg")
    component = CostComponent("x", "gpu_nodes", "month", quantity, "unit", key)
    low = cost_line(component, PriceResolver(catalog, overrides={key: price})).amount_usd
    high = cost_line(component, PriceResolver(catalog, overrides={key: price + bump})).amount_usd
    assert high >= low


@SETTINGS
@given(rpd=st.floats(1e3, 1e7), bump=st.floats(0.01, 10.0))
def test_a_higher_vm_price_never_lowers_plan_cost(catalog, rpd, bump):
    import dataclasses

    base = plan_scenario(scenario(rpd, *SELF_HOSTED[0]), catalog).deployments[0]
    prices = tuple(
        row.model_copy(update={"price_per_hour": row.price_per_hour + bump})
        if row.price_per_hour is not None else row for row in catalog.prices)
    dearer_catalog = dataclasses.replace(catalog, prices=prices)
    dearer = plan_scenario(scenario(rpd, *SELF_HOSTED[0]), dearer_catalog).deployments[0]
    assert dearer.monthly_cost_usd > base.monthly_cost_usd
    assert dearer.nodes == base.nodes
