"""Share links: exact round trip of every scenario, and tampered links decoded with messages,
never an exception."""

from __future__ import annotations

import math
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from planner.catalog import PRECISIONS, PRICING_PLANS
from planner.io.sharelink import (
    MAX_QUERY_CHARS,
    WORKLOAD_PARAMS,
    decode_params,
    decode_query_string,
    encode_scenario,
    escape,
    format_number,
    has_scenario_params,
    share_link_problem,
    to_query_string,
    unescape,
)
from planner.scenario import (
    MAX_DEPLOYMENTS,
    ApiTarget,
    AzureTarget,
    Deployment,
    LocalTarget,
    Scenario,
    Workload,
    scenario_from_dict,
)
from ui.presets import PRESETS, default_scenario, preset

# ------------------------------------------------------------------ the documented format


def test_support_bot_link_is_readable_and_matches_the_docstring():
    query = to_query_string(encode_scenario(default_scenario()))
    assert query == (
        "v=1&name=support-bot&rpd=200000&in=800&out=200&peak=3&ttft=2000&tpot=100&minr=2"
        "&growth=0&util=0.8&mmlu=60"
        "&d=SLM~phi-3-mini-4k~fp16~vllm~azure~Standard_NC24ads_A100_v4~eastus~payg"
        "&d=LLM~llama-3-70b~fp8~vllm~azure~Standard_ND96isr_H100_v5~eastus~payg"
        "&d=On-prem~phi-3-mini-4k~int4~vllm~local~workstation-1x-rtx-4090~eastus~3"
        "&d=API~gpt-4o-mini~fp16~vllm~api")


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_round_trip_without_messages(name, catalog):
    scenario = preset(name)
    decoded, messages = decode_query_string(to_query_string(encode_scenario(scenario)), catalog)
    assert messages == []
    assert decoded == scenario


def test_options_are_written_only_when_not_default():
    dep = Deployment(label="x", model="m", kv_cache_dtype="fp8", tp=2, context_tokens=8192,
                     target=AzureTarget(vm_sku="Standard_X", cluster_tier="free", system_nodes=0))
    local = Deployment(label="y", model="m", target=LocalTarget(
        hardware="h", pue=1.3, electricity_usd_per_kwh=0.12, purchase_usd_per_machine=5000))
    params = encode_scenario(Scenario(deployments=(dep, local)))
    assert params["d"] == [
        "x~m~fp16~vllm~azure~Standard_X~eastus~payg~tier_free~sys_0~kv_fp8~tp_2~ctx_8192",
        "y~m~fp16~vllm~local~h~eastus~3~pue_1.3~kwh_0.12~buy_5000",
    ]


def test_colon_target_form_is_accepted():
    scenario, messages = decode_params({
        "rpd": "1000", "d": "A~phi-2~fp16~vllm~azure:Standard_NC24ads_A100_v4:eastus:spot"})
    assert scenario.deployments[0].target == AzureTarget(
        vm_sku="Standard_NC24ads_A100_v4", region="eastus", pricing="spot")
    assert scenario.workload.requests_per_day == 1000
    assert any("Not in the link" in m for m in messages)


# ------------------------------------------------------------------ exact round trip, any scenario

finite = {"allow_nan": False, "allow_infinity": False}
text = st.text(min_size=1, max_size=60)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_~%:", min_size=1, max_size=30)

workloads = st.builds(
    Workload,
    requests_per_day=st.just(0.0) | st.floats(1, 1e10, **finite),  # 0 or at least 1 a day
    input_tokens=st.integers(1, 1_000_000),
    output_tokens=st.integers(1, 100_000),
    peak_to_average=st.floats(1, 100, **finite),
    ttft_slo_ms=st.floats(1, 600_000, **finite),
    tpot_slo_ms=st.floats(1, 60_000, **finite),
    min_replicas=st.integers(1, 1000),
    monthly_growth=st.floats(-0.9, 5.0, **finite),
    target_utilization=st.floats(0.05, 1, **finite),
)
azure_targets = st.builds(
    AzureTarget, vm_sku=ids, region=ids, pricing=st.sampled_from(PRICING_PLANS),
    cluster_tier=st.sampled_from(["free", "standard"]), system_nodes=st.integers(0, 100))
optional = st.none() | st.floats(min_value=0.001, max_value=5.0, **finite)
local_targets = st.builds(
    LocalTarget, hardware=ids, region=ids,
    amortization_years=st.floats(0.25, 15, **finite),
    pue=st.none() | st.floats(1.0, 3.0, **finite), electricity_usd_per_kwh=optional,
    purchase_usd_per_machine=st.none() | st.floats(0.01, 1e8, **finite))
targets = azure_targets | local_targets | st.just(ApiTarget())


@st.composite
def scenarios(draw) -> Scenario:
    count = draw(st.integers(1, MAX_DEPLOYMENTS))
    deployments = []
    for _ in range(count):
        try:
            deployments.append(Deployment(
                label=draw(text), model=draw(ids), precision=draw(st.sampled_from(PRECISIONS)),
                engine=draw(st.sampled_from(["vllm", "tensorrt-llm", "llama.cpp"])),
                kv_cache_dtype=draw(st.sampled_from(["fp16", "fp8"])),
                tp=draw(st.sampled_from([None, 1, 2, 4, 8])),
                context_tokens=draw(st.none() | st.integers(1, 10_000_000)),
                target=draw(targets)))
        except ValidationError:
            assume(False)  # e.g. a label that is only whitespace
    try:
        return Scenario(name=draw(st.text(min_size=1, max_size=100)), workload=draw(workloads),
                        deployments=tuple(deployments))
    except ValidationError:
        assume(False)  # repeated labels or a blank name
        raise


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.filter_too_much])
@given(scenarios())
def test_any_scenario_round_trips_exactly_through_the_query_string(scenario):
    params = encode_scenario(scenario)
    query = to_query_string(params)
    if share_link_problem(params) is not None:
        assert len(query) > MAX_QUERY_CHARS
        decoded, messages = decode_query_string(query)
        assert messages and "limit" in messages[0]
        return
    decoded, messages = decode_query_string(query)
    assert messages == []
    assert decoded == scenario
    # and through the dict form st.query_params hands over
    assert decode_params(params).scenario == scenario


@given(st.text())
def test_escape_round_trips_and_removes_separators(value):
    assert unescape(escape(value)) == value
    assert "~" not in escape(value)


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10**15, 10**15))
def test_numbers_are_written_exactly(value):
    text = format_number(value)
    assert float(text) == value
    if isinstance(value, int):
        assert int(text) == value


# ------------------------------------------------------------------ tampered and invalid links


def decode(params, catalog=None):
    return decode_params(params, catalog, fallback=default_scenario())


def test_unknown_parameters_are_ignored_with_a_message():
    scenario, messages = decode({**encode_scenario(default_scenario()), "utm_source": "mail"})
    assert scenario == default_scenario()
    assert messages == ["Ignored unknown link parameter 'utm_source'."]


def test_streamlit_embed_parameters_are_ignored_silently():
    params = {**encode_scenario(default_scenario()), "embed": "true"}
    assert decode(params).messages == []
    assert not has_scenario_params({"embed": "true"})


@pytest.mark.parametrize(("param", "value", "reason"), [
    ("rpd", "abc", "not a number"),
    ("rpd", "-5", "greater than or equal to 0"),
    ("util", "5", "less than or equal to 1"),
    ("in", "2.5", "not a whole number"),
    ("tpot", "nan", "not a number"),
    ("ttft", "inf", "not a number"),
    ("growth", "1e999", "not a finite number"),
])
def test_bad_workload_values_fall_back_to_defaults(param, value, reason):
    params = {**encode_scenario(default_scenario()), param: value}
    scenario, messages = decode(params)
    field = WORKLOAD_PARAMS[param]
    assert scenario.workload == default_scenario().workload.model_copy(
        update={field: getattr(Workload(), field)})
    assert len(messages) == 1
    assert param in messages[0] and reason in messages[0] and "default" in messages[0]


def test_bad_deployments_are_dropped_or_defaulted_with_messages(catalog):
    params = encode_scenario(default_scenario())
    params["d"] = [
        "Good~phi-3-mini-4k~fp16~vllm~azure~Standard_NC24ads_A100_v4~eastus~payg",
        "BadTp~phi-3-mini-4k~fp16~vllm~azure~Standard_NC24ads_A100_v4~eastus~payg~tp_3",
        "NoSuchModel~gpt-99~fp16~vllm~api",
        "Garbage",
        "Where~phi-2~fp16~vllm~moon",
        "Good~phi-2~fp16~vllm~api",  # phi-2 is not an API model
        "Good~gpt-4o~fp16~vllm~api~zzz_1",
        "BadPrecision~phi-2~fp3~vllm~local~workstation-1x-rtx-4090~eastus~x",
    ]
    scenario, messages = decode(params, catalog)
    assert [d.label for d in scenario.deployments] == ["Good", "BadTp", "Good (2)",
                                                       "BadPrecision"]
    bad_tp = scenario.deployments[1]
    assert bad_tp.tp is None
    assert scenario.deployments[3].precision == "fp16"
    assert scenario.deployments[3].target.amortization_years == 3.0
    text = "\n".join(messages)
    for expected in ["tp '3' ignored", "unknown API model 'gpt-99'", "Deployment 4",
                     "unknown target 'moon'", "unknown API model 'phi-2'",
                     "unknown option 'zzz_1'", "renamed it 'Good (2)'", "precision 'fp3'",
                     "amortization years ignored ('x' is not a number)"]:
        assert expected in text, (expected, text)


def test_catalog_problems_drop_the_deployment(catalog):
    params = {"d": ["A~phi-3-mini-4k~fp16~vllm~azure~Standard_NC24ads_A100_v4~mars~payg",
                    "B~gpt-4o~fp16~vllm~api"]}
    scenario, messages = decode(params, catalog)
    assert [d.label for d in scenario.deployments] == ["B"]
    assert any("has no price in 'mars'" in m for m in messages)
    assert any("no workload parameters" in m for m in messages)


def test_no_usable_deployment_falls_back_to_the_default(catalog):
    scenario, messages = decode({"rpd": "5000", "d": "x"}, catalog)
    assert scenario.deployments == default_scenario().deployments
    assert scenario.workload.requests_per_day == 5000
    assert "No usable deployment" in messages[-1]


def test_deployment_count_is_capped():
    params = {"d": [f"D{i}~gpt-4o~fp16~vllm~api" for i in range(MAX_DEPLOYMENTS + 3)]}
    scenario, messages = decode(params)
    assert len(scenario.deployments) == MAX_DEPLOYMENTS
    assert any(f"kept the first {MAX_DEPLOYMENTS}" in m for m in messages)


def test_overlong_links_are_refused_and_not_produced():
    params = {"d": ["A~gpt-4o~fp16~vllm~api"], "name": "n" * (MAX_QUERY_CHARS + 1)}
    scenario, messages = decode(params)
    assert scenario == default_scenario()
    assert len(messages) == 1 and "4,000-character limit" in messages[0]
    deps = tuple(Deployment(label=f"{i:02d}" + "é" * 58, model="gpt-4o", target=ApiTarget())
                 for i in range(MAX_DEPLOYMENTS))
    long = Scenario(deployments=deps)
    assert share_link_problem(encode_scenario(long)) is not None
    assert share_link_problem(encode_scenario(default_scenario())) is None


def test_repeated_parameters_use_the_last_value():
    params = encode_scenario(default_scenario())
    scenario, messages = decode({**params, "rpd": ["1", "2"]})
    assert scenario.workload.requests_per_day == 2
    assert messages == ["'rpd' appears 2 times in the link; used the last value."]


def test_other_format_versions_are_read_with_a_message():
    scenario, messages = decode({**encode_scenario(default_scenario()), "v": "9"})
    assert scenario == default_scenario()
    assert "version '9'" in messages[0]


def test_labels_with_separators_and_markup_survive(catalog):
    label = "=HYPERLINK(\"x\")~50% off: *SLM* & co"
    base = default_scenario()
    scenario = base.model_copy(update={"deployments": (
        base.deployments[0].model_copy(update={"label": label}),)})
    decoded, messages = decode_query_string(to_query_string(encode_scenario(scenario)), catalog)
    assert messages == []
    assert decoded.deployments[0].label == label


key_names = st.sampled_from(["v", "name", "rpd", "in", "out", "peak", "ttft", "tpot", "minr",
                             "growth", "util", "d", "embed"]) | st.text(max_size=8)
deployment_ish = st.lists(st.sampled_from(
    ["SLM", "phi-2", "gpt-4o", "fp16", "int4", "vllm", "azure", "local", "api", "eastus",
     "Standard_NC24ads_A100_v4", "workstation-1x-rtx-4090", "payg", "tp_2", "kv_fp8", "3", "",
     "ctx_0", "sys_-1", "pue_9"]) | st.text(max_size=10), max_size=10).map("~".join)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(key_names, st.lists(deployment_ish | st.text(max_size=20), min_size=1,
                                           max_size=4), max_size=8))
def test_decoding_never_raises(catalog, params):
    scenario, messages = decode_params(params, catalog)
    assert isinstance(scenario, Scenario)
    assert all(isinstance(m, str) and m for m in messages)
    # whatever came in, what comes out is a valid scenario that round-trips
    assert scenario_from_dict(scenario.model_dump()) == scenario


def test_raw_query_strings_decode_like_dicts():
    query = urlencode({"rpd": "100", "d": "A~gpt-4o~fp16~vllm~api"})
    assert decode_query_string("?" + query).scenario.workload.requests_per_day == 100
    assert math.isclose(decode_query_string(query).scenario.workload.target_utilization, 0.8)


def test_market_based_carbon_round_trips_and_bad_values_are_dropped():
    from planner.io.sharelink import decode_params, encode_scenario
    from planner.scenario import Deployment, Scenario
    from planner.targets import ApiTarget

    scenario = Scenario(deployments=(Deployment(label="API", model="gpt-4o-mini",
                                                target=ApiTarget()),), market_gco2_per_kwh=0.0)
    params = encode_scenario(scenario)
    assert params["mkt"] == "0"
    assert decode_params(params).scenario == scenario
    assert "mkt" not in encode_scenario(scenario.model_copy(update={"market_gco2_per_kwh": None}))
    bad = decode_params({**params, "mkt": "-1"})
    assert bad.scenario.market_gco2_per_kwh is None
    assert any("mkt" in m for m in bad.messages)
