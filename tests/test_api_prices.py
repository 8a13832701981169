"""Hosted-API token prices: cached input and the Batch API, pinned to hand-computed costs.

Figures from docs/research/api_models.md: gpt-4o-mini (Azure OpenAI Global Standard) input
$0.15, cached input $0.075, output $0.60 per 1M tokens (LiteLLM price table [LL]); the Batch API
costs 50 % less than Global Standard (Microsoft Learn deployment types [DT], ms.date 08/06/2026).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.catalog import load_catalog
from planner.findings import FindingCode
from planner.io.sharelink import decode_params, encode_scenario
from planner.io.wording import COST_KIND_TEXT, MISSING_REASON_TEXT, finding_text
from planner.pipeline.plan import plan_scenario
from planner.pricing.resolver import PriceResolver, api_key
from planner.scenario import Deployment, Scenario, ScenarioError, Workload, scenario_from_dict
from planner.targets import ApiTarget
from planner.units import TOKENS_PER_MILLION

# 1,000 requests/day x 1,000 input + 100 output tokens; monthly_requests is days-per-month based,
# so the tests read the month's tokens from the plan's own request count
W = {"requests_per_day": 1000, "input_tokens": 1000, "output_tokens": 100}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _plan(catalog, model="gpt-4o-mini", share=0.0, deployment_type="standard"):
    scenario = Scenario(workload=Workload(**W, cached_input_share=share),
                        deployments=(Deployment(label="API", model=model,
                                                target=ApiTarget(deployment_type=deployment_type)),))
    return plan_scenario(scenario, catalog).deployments[0]


def _month_tokens_m(plan) -> tuple[float, float]:
    """(input, output) tokens of the month, in millions, from the plan's cost lines."""
    inp = sum(line.quantity for line in plan.cost_lines
              if line.kind in ("input_tokens", "cached_input_tokens"))
    out = next(line.quantity for line in plan.cost_lines if line.kind == "output_tokens")
    return inp, out


def test_catalog_carries_the_researched_prices(catalog):
    mini = catalog.api_models["gpt-4o-mini"]
    # docs/research/api_models.md section 2: 1.5e-07 / 7.5e-08 / 6e-07 per token
    assert (mini.input_usd_per_million_tokens, mini.cached_input_usd_per_million_tokens,
            mini.output_usd_per_million_tokens) == (0.15, 0.075, 0.6)
    assert mini.batch_discount == 0.5  # [DT] "50% less cost than Global Standard"
    assert "cached_input_usd_per_million_tokens" in mini.unconfirmed  # LiteLLM is secondary
    assert catalog.api_models["gpt-4.1"].cached_input_usd_per_million_tokens == 0.50
    assert catalog.api_models["gpt-5-nano"].cached_input_usd_per_million_tokens == 0.005
    assert catalog.api_models["o4-mini"].cached_input_usd_per_million_tokens == 0.275
    # no cached-input or batch offer documented for Phi (research section on Phi-4): unknown
    phi = catalog.api_models["phi-4-mini-serverless"]
    assert phi.cached_input_usd_per_million_tokens is None and phi.batch_discount is None


def test_no_cache_share_keeps_two_lines_at_list_prices(catalog):
    plan = _plan(catalog)
    assert [line.kind for line in plan.cost_lines] == ["input_tokens", "output_tokens"]
    inp, out = _month_tokens_m(plan)
    assert plan.monthly_cost_usd == pytest.approx(inp * 0.15 + out * 0.60, rel=1e-9)


def test_cached_share_is_its_own_line_at_the_cached_price(catalog):
    plan = _plan(catalog, share=0.4)
    by_kind = {line.kind: line for line in plan.cost_lines}
    assert list(by_kind) == ["input_tokens", "cached_input_tokens", "output_tokens"]
    inp, out = _month_tokens_m(plan)
    assert by_kind["cached_input_tokens"].quantity == pytest.approx(0.4 * inp, rel=1e-12)
    assert by_kind["cached_input_tokens"].unit_price_usd == 0.075
    assert by_kind["cached_input_tokens"].price_key == "gpt-4o-mini/cached_input"
    # hand-computed: 60 % at $0.15 + 40 % at $0.075 + output at $0.60 per 1M
    assert plan.monthly_cost_usd == pytest.approx(
        0.6 * inp * 0.15 + 0.4 * inp * 0.075 + out * 0.60, rel=1e-9)
    # e.g. 30.4167 days x 1,000 requests: 30.4167M input -> 2.7375 + 0.9125 + 1.825 = $5.475
    days = inp / (W["requests_per_day"] * W["input_tokens"] / TOKENS_PER_MILLION)
    assert plan.monthly_cost_usd == pytest.approx(days * (0.09 + 0.03 + 0.06), rel=1e-9)


def test_batch_halves_every_token_price(catalog):
    standard, batch = _plan(catalog, share=0.4), _plan(catalog, share=0.4, deployment_type="batch")
    prices = {line.kind: line.unit_price_usd for line in batch.cost_lines}
    # [DT]: 50 % off -> 0.075 / 0.0375 / 0.30 per 1M (LiteLLM openai gpt-4o-mini batch 0.075/0.30)
    assert prices == pytest.approx({"input_tokens": 0.075, "cached_input_tokens": 0.0375,
                                    "output_tokens": 0.30}, rel=1e-12)
    assert batch.monthly_cost_usd == pytest.approx(standard.monthly_cost_usd / 2, rel=1e-12)
    assert batch.cost_lines[0].price_key == "gpt-4o-mini/input/batch"
    assert batch.target == "api/batch"
    codes = [f.code for f in batch.findings]
    assert FindingCode.API_BATCH_TURNAROUND in codes
    text = finding_text(next(f for f in batch.findings
                             if f.code == FindingCode.API_BATCH_TURNAROUND))
    assert "24 hours" in text
    assert FindingCode.API_BATCH_TURNAROUND not in [f.code for f in standard.findings]


def test_gpt41_batch_matches_litellm_batch_keys(catalog):
    # [LL] azure/gpt-4.1: input_cost_per_token_batches 1e-06, output_cost_per_token_batches 4e-06
    resolver = PriceResolver(catalog)
    assert resolver.resolve(api_key("gpt-4.1", "input", batch=True)).value == pytest.approx(1.0)
    assert resolver.resolve(api_key("gpt-4.1", "output", batch=True)).value == pytest.approx(4.0)


def test_unknown_cached_price_is_missing_never_zero(catalog):
    plan = _plan(catalog, model="phi-4-mini-serverless", share=0.5)
    cached = next(line for line in plan.cost_lines if line.kind == "cached_input_tokens")
    assert cached.status == "missing" and cached.amount_usd is None
    assert cached.missing_reason == "not_published"
    assert plan.monthly_cost_usd is None  # the total says it is incomplete
    inp, out = _month_tokens_m(plan)
    assert plan.monthly_cost_known_usd == pytest.approx(0.5 * inp * 0.075 + out * 0.30, rel=1e-9)
    missing = [f for f in plan.findings if f.code == FindingCode.PRICE_MISSING]
    assert [f.values["line"] for f in missing] == [cached.name]
    assert MISSING_REASON_TEXT["not_published"] and COST_KIND_TEXT["cached_input_tokens"]
    # without a cache share the same model is fully priced
    assert _plan(catalog, model="phi-4-mini-serverless").monthly_cost_usd is not None


def test_batch_is_refused_for_a_model_without_a_batch_offer(catalog):
    data = {"workload": W, "deployments": [{"label": "A", "model": "phi-4-mini-serverless",
                                            "target": {"kind": "api",
                                                       "deployment_type": "batch"}}]}
    scenario = scenario_from_dict(data)
    with pytest.raises(ScenarioError, match="deployment_type: Phi-4-mini-instruct has no Batch"):
        plan_scenario(scenario, catalog)


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_cache_share_is_bounded(share):
    with pytest.raises(ScenarioError, match="cached_input_share"):
        scenario_from_dict({"workload": {**W, "cached_input_share": share}, "deployments": [
            {"label": "A", "model": "gpt-4o-mini", "target": {"kind": "api"}}]})


def test_share_link_carries_batch_and_cache_share(catalog):
    scenario = Scenario(workload=Workload(**W, cached_input_share=0.25), deployments=(
        Deployment(label="API", model="gpt-4o-mini", target=ApiTarget(deployment_type="batch")),))
    params = encode_scenario(scenario)
    assert params["cache"] == "0.25"
    assert params["d"] == ["API~gpt-4o-mini~fp16~vllm~api~type_batch"]
    assert decode_params(params, catalog).scenario == scenario
    # defaults are not written
    plain = encode_scenario(Scenario(workload=Workload(**W), deployments=(
        Deployment(label="API", model="gpt-4o-mini", target=ApiTarget()),)))
    assert "cache" not in plain and plain["d"] == ["API~gpt-4o-mini~fp16~vllm~api"]


def test_share_link_with_batch_on_a_model_without_offer_says_why(catalog):
    decoded = decode_params({"rpd": "1000", "d": "A~phi-4-mini-serverless~fp16~vllm~api~type_batch"},
                            catalog)
    # as for any deployment the catalog refuses: ignored with a one-line reason, never raised
    assert any("('A') ignored: Phi-4-mini-instruct has no Batch API offer" in m
               for m in decoded.messages)
    assert decoded.scenario.workload.requests_per_day == 1000


@settings(max_examples=40, deadline=None)
@given(low=st.floats(0, 1), high=st.floats(0, 1))
def test_more_cache_never_costs_more(low, high):
    catalog = load_catalog()
    low, high = sorted((low, high))
    assert (_plan(catalog, share=high).monthly_cost_usd
            <= _plan(catalog, share=low).monthly_cost_usd * (1 + 1e-12))


def test_dashboard_reads_and_edits_cache_share_and_batch():
    """Under Streamlit's AppTest: a link with a cache share and a batch API option opens with
    both in the editor, the plan shows the cached-input line, and switching back to standard
    rewrites the link."""
    from pathlib import Path

    from app_support import open_section
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=30)
    at.query_params.update({"rpd": "1000", "in": "1000", "out": "100", "cache": "0.4",
                            "d": "API~gpt-4o-mini~fp16~vllm~api~type_batch"})
    at = at.run()
    at = open_section(at, "0")
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key="w.cache").value == pytest.approx(40.0)
    assert at.selectbox(key="w.0.dtype").value == "batch"
    at.selectbox(key="w.0.dtype").set_value("standard").run()
    assert not at.exception, [e.value for e in at.exception]
    def param(name: str) -> str:  # one value, whether the test client keeps a list or a str
        value = at.query_params[name]
        return value if isinstance(value, str) else value[0]

    assert param("d") == "API~gpt-4o-mini~fp16~vllm~api"
    assert param("cache") == "0.4"
