"""Retired hosted models: never offered by default, marked where a saved scenario still names one."""

from planner.analyses.advisor import SearchSpace, advise
from planner.findings import FindingCode
from planner.pipeline.plan import plan_scenario
from planner.scenario import Workload, scenario_from_dict
from planner.targets import api


def test_the_catalog_marks_retired_models_with_their_dates(catalog):
    # MicrosoftDocs/azure-ai-docs concepts-retired-models-content.md (ms.date 04/23/2026):
    # Phi-3 serverless retired August 30, 2025 (replacement Phi-4-mini-instruct)
    phi3 = catalog.api_models["phi-3-mini-4k-serverless"]
    assert phi3.retired and str(phi3.retires_on) == "2025-08-30"
    assert not catalog.api_models["gpt-4o-mini"].retired
    assert "phi-3-mini-4k-serverless" not in api.model_ids(catalog)
    assert {"gpt-4o-mini", "gpt-5-nano", "phi-4-mini-serverless"} <= set(api.model_ids(catalog))


def test_the_advisor_leaves_retired_apis_out_unless_asked(catalog):
    workload = Workload(requests_per_day=20_000)
    space = SearchSpace(include_local=False, models=("phi-3-mini-4k-serverless", "gpt-4o-mini"),
                        any_quality=True)
    ranked = advise(workload, space, catalog).ranked
    assert list(ranked["model"]) == ["gpt-4o-mini"]
    with_retired = advise(workload, space.model_copy(update={"include_retired": True}),
                          catalog).ranked
    assert set(with_retired["model"]) == {"gpt-4o-mini", "phi-3-mini-4k-serverless"}


def test_a_saved_scenario_naming_a_retired_model_is_marked_and_never_cheapest(catalog):
    scenario = scenario_from_dict({"deployments": [
        {"label": "old", "model": "phi-3-mini-4k-serverless", "target": {"kind": "api"}},
        {"label": "new", "model": "gpt-4o-mini", "target": {"kind": "api"}}]})
    result = plan_scenario(scenario, catalog)
    old, new = result.deployments
    assert old.monthly_cost_usd < new.monthly_cost_usd  # cheaper on paper ...
    assert FindingCode.MODEL_RETIRED in [f.code for f in old.findings]
    assert result.cheapest_label == "new"  # ... but it cannot be bought
