"""Hostile scenarios: every input ends in a valid plan or a clear ScenarioError, never a
traceback, a hang or a silently clamped number."""

import contextlib
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.errors import ScenarioError
from planner.io.export import plan_csv
from planner.io.render import FORMULA_PREFIXES, spreadsheet_safe, to_csv
from planner.pipeline.plan import plan_scenario
from planner.scenario import MAX_DEPLOYMENTS, MAX_SCENARIO_BYTES, parse_scenario_text, scenario_from_dict

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                      st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30))
json_value = st.recursive(json_leaf, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=20)

KEYS = ["requests_per_day", "input_tokens", "output_tokens", "peak_to_average", "ttft_slo_ms",
        "tpot_slo_ms", "min_replicas", "monthly_growth", "target_utilization", "surprise"]
numbers = st.one_of(st.integers(-10**15, 10**15), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=8), st.none())


def plan_or_error(data, catalog):
    try:
        scenario = scenario_from_dict(data)
        result = plan_scenario(scenario, catalog)
    except ScenarioError as exc:
        assert str(exc), "an error must say what is wrong"
        return None
    for plan in result.deployments:
        for value in (plan.monthly_cost_usd, plan.energy_kwh_per_month,
                      plan.cost_per_million_output_tokens_usd):
            assert value is None or math.isfinite(value)
    return result


@FUZZ
@given(data=json_value)
def test_arbitrary_json_is_rejected_cleanly(catalog, data):
    plan_or_error(data, catalog)


@FUZZ
@given(workload=st.dictionaries(st.sampled_from(KEYS), numbers, max_size=6),
       model=st.sampled_from(["llama-3-8b", "gpt-4o", "", "../../etc", "ÿ" * 80, "mixtral-8x7b"]),
       sku=st.sampled_from(["Standard_NC24ads_A100_v4", "Standard_ND96isr_H100_v5", "x" * 200]),
       precision=st.sampled_from(["fp16", "int4", "fp8", "fp64", None]),
       label=st.text(max_size=80))
def test_random_workloads_plan_or_explain(catalog, workload, model, sku, precision, label):
    dep = {"label": label, "model": model, "target": {"kind": "azure", "vm_sku": sku}}
    if precision is not None:
        dep["precision"] = precision
    plan_or_error({"workload": workload, "deployments": [dep]}, catalog)


def test_values_are_never_silently_clamped(catalog):
    with pytest.raises(ScenarioError, match="requests_per_day"):
        scenario_from_dict({"workload": {"requests_per_day": 1e12},
                            "deployments": [{"label": "a", "model": "gpt-4o",
                                             "target": {"kind": "api"}}]})
    for bad in (math.nan, math.inf, -1):
        with pytest.raises(ScenarioError, match="peak_to_average"):
            scenario_from_dict({"workload": {"peak_to_average": bad},
                                "deployments": [{"label": "a", "model": "gpt-4o",
                                                 "target": {"kind": "api"}}]})


def test_too_many_deployments():
    deps = [{"label": f"d{i}", "model": "gpt-4o", "target": {"kind": "api"}}
            for i in range(MAX_DEPLOYMENTS + 1)]
    with pytest.raises(ScenarioError, match="deployments"):
        scenario_from_dict({"deployments": deps})


def test_oversized_and_deeply_nested_text():
    with pytest.raises(ScenarioError, match="larger than"):
        parse_scenario_text("{" + " " * MAX_SCENARIO_BYTES + "}")
    with pytest.raises(ScenarioError):
        parse_scenario_text("[" * 5000 + "]" * 5000)
    with pytest.raises(ScenarioError):
        parse_scenario_text("a:\n" + "".join("  " * i + "- \n" for i in range(3000)), "yaml")


@FUZZ
@given(text=st.text(max_size=400))
def test_arbitrary_text_parses_or_errors(text):
    with contextlib.suppress(ScenarioError):
        parse_scenario_text(text)


@pytest.mark.parametrize("prefix", list(FORMULA_PREFIXES))
def test_csv_formula_injection_is_neutralised(catalog, prefix):
    label = f"{prefix}HYPERLINK(\"http://evil\")"
    scenario = scenario_from_dict({"name": f"{prefix}cmd|' /C calc'!A0", "deployments": [
        {"label": label, "model": "gpt-4o-mini", "target": {"kind": "api"}}]})
    text = plan_csv(plan_scenario(scenario, catalog))
    for line in text.splitlines():
        if line.startswith("# "):  # the comment block (pandas' comment="#" skips it)
            continue
        for cell in line.split(","):
            cell = cell.strip('"')
            assert not cell.startswith(FORMULA_PREFIXES) or cell.startswith("'") or \
                cell.lstrip("-").replace(".", "", 1).isdigit(), cell
    if prefix.strip():  # labels are whitespace-stripped on input, so tab/CR cannot lead
        assert f"'{prefix}HYPERLINK" in text
    assert to_csv([{"label": label}]).splitlines()[1].strip('"').startswith("'")


def test_spreadsheet_safe_leaves_numbers_alone():
    assert spreadsheet_safe(-3.5) == -3.5
    assert spreadsheet_safe("=1+1") == "'=1+1"
    assert spreadsheet_safe("plain") == "plain"


def test_json_output_has_no_nan(catalog):
    scenario = scenario_from_dict({"deployments": [
        {"label": "a", "model": "llama-3.1-405b", "precision": "fp16",
         "target": {"kind": "azure", "vm_sku": "Standard_NC24ads_A100_v4"}}]})
    dumped = json.dumps(plan_scenario(scenario, catalog).model_dump(mode="json"),
                        allow_nan=False)
    [plan] = json.loads(dumped)["deployments"]
    assert plan["fits"] is False and plan["fit"]["status"] == "does_not_fit"
    assert "does_not_fit" in [f["code"] for f in plan["findings"]]


@FUZZ
@given(data=st.one_of(st.binary(max_size=600), st.text(max_size=300).map(str.encode)),
       name=st.sampled_from(["s.json", "s.yaml", "s.yml", "S.JSON"]))
def test_uploaded_scenario_files_load_or_explain(catalog, data, name):
    from planner.scenario import check_against_catalog, parse_scenario_bytes

    try:
        check_against_catalog(parse_scenario_bytes(name, data), catalog)
    except ScenarioError as exc:
        assert str(exc)


def test_uploaded_file_limits():
    from planner.scenario import parse_scenario_bytes

    with pytest.raises(ScenarioError, match="larger than"):
        parse_scenario_bytes("big.json", b" " * (MAX_SCENARIO_BYTES + 1))
    with pytest.raises(ScenarioError, match="UTF-8"):
        parse_scenario_bytes("bad.yaml", b"\xff\xfe\x00name: x")
    example = (Path(__file__).resolve().parent.parent / "examples" / "support-bot.json")
    assert parse_scenario_bytes("support-bot.json", example.read_bytes()).name == "support-bot"
