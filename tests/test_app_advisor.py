"""The Advisor page under Streamlit's AppTest: it renders the ranking, the trade-offs and the
scenario's break-evens; a quality floor filters the ranking; "Add to comparison" puts the option in
the scenario, the share link and Compare; a space the engine refuses gives a message, not a
traceback. Also the page's pure helpers (option wording, adding to the editor's draft,
break-even sentences)."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import pytest
from app_support import open_section
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from planner.analyses import advisor
from planner.analyses.advisor import SearchSpace, advise, deployment_for
from planner.analyses.whatif import BreakEven
from planner.scenario import MAX_DEPLOYMENTS, ApiTarget, Deployment, Scenario
from ui import breakeven, charts
from ui.presets import default_scenario, preset

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "ui/pages/advisor.py"
TIMEOUT_S = 60


def advisor_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    if query:
        at.query_params.update(query)
    at.run()
    return at.switch_page(PAGE).run()


def no_problems(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def ranked(at: AppTest):
    frame = at.dataframe[0].value
    return frame.data if hasattr(frame, "data") else frame  # a Styler carries its frame


def markdown_text(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def search(at: AppTest) -> AppTest:
    """There is no search button: a change to the space searches again on the rerun."""
    return at.run()


@pytest.fixture(scope="module")
def page() -> AppTest:
    return advisor_page()


def test_advisor_page_answers(page, catalog):
    no_problems(page)
    assert page.title[0].value == "Advisor"
    shown = metrics(page)
    expected = advise(default_scenario().workload, SearchSpace(), catalog, top=10)
    assert shown["Options evaluated"] == f"{expected.options_evaluated:,}"
    assert shown["Meet the SLOs, fully priced"] == f"{expected.viable_options:,}"
    assert shown["Search time"].endswith(" s")
    table = ranked(page)
    assert len(table) == 10
    costs = table["Monthly cost (USD)"].tolist()
    assert costs == sorted(costs)
    assert costs[0] == pytest.approx(expected.ranked.iloc[0]["monthly_cost_usd"])
    assert table["Option"].iloc[0].startswith("★ ")
    assert {"time per output token (ms)", "time to first token (ms)", "tensor parallel", "MMLU (%)",
            "Per 1M output tokens (USD)"} <= set(table.columns)
    assert not {"TPOT (ms)", "TTFT (ms)", "TP"} & set(table.columns)
    assert not table["Option"].str.contains(r"payg|reserved-\dy|savings-\dy").any()
    text = markdown_text(page)
    assert "Cheapest that meets the SLOs" in text and ":green-badge[cheapest]" in text
    # the scenario's own options: tornado, and a break-even sentence for every pair
    assert len(page.get("plotly_chart")) == 3  # 2 Pareto charts + the tornado
    pairs = breakeven.pairs_to_compare(default_scenario())
    assert len(pairs) == 5  # 3 self-hosted x 1 API, + SLM/LLM and LLM/On-prem (SLM/On-prem: same model)
    assert text.count("no break-even") >= 1
    # the workstation is priced (a component estimate): it has a break-even with the API
    assert "**On\\-prem** vs **API**: no break-even" not in text
    assert "self-hosting **On\\-prem** beats **API**" in text
    assert "Price" in table.columns  # list price or estimate, per option


def test_a_quality_floor_filters_the_ranking(catalog):
    at = advisor_page()
    at.slider(key="adv.min_mmlu").set_value(70)
    search(at)
    no_problems(at)
    table = ranked(at)
    assert len(table) == 10
    assert all(float(score) >= 70 for score in table["MMLU (%)"])
    expected = advise(default_scenario().workload, SearchSpace(min_mmlu=70), catalog, top=10)
    assert table["Monthly cost (USD)"].iloc[0] == pytest.approx(
        expected.ranked.iloc[0]["monthly_cost_usd"])
    assert any(e.label.startswith("below the quality floor") for e in at.expander)


def test_adding_the_top_option_reaches_the_scenario_link_and_compare(catalog):
    at = advisor_page()
    before = at.session_state["scenario"]
    top = advise(before.workload, SearchSpace(), catalog, top=1).ranked.iloc[0].to_dict()
    expected = deployment_for(top, SearchSpace())
    at.button(key="adv.add").click().run()
    no_problems(at)
    after = at.session_state["scenario"]
    assert len(after.deployments) == len(before.deployments) + 1
    added = after.deployments[-1]
    assert added == expected.model_copy(update={"label": added.label})
    assert len(at.query_params["d"]) == len(after.deployments)  # the share link follows
    assert any("Added **" in s.value for s in at.success)
    assert at.button(key="adv.add").disabled  # the same option again: already compared
    at.switch_page("ui/pages/compare.py").run()
    no_problems(at)
    labels = [m.label.removesuffix(" · monthly cost").replace("\\", "") for m in at.metric
              if m.label.endswith("monthly cost")]
    assert labels[-1] == added.label and len(labels) == len(after.deployments)


def test_an_added_option_gets_a_free_label(catalog):
    top = advise(default_scenario().workload, SearchSpace(), catalog, top=1).ranked.iloc[0]
    label = deployment_for(top.to_dict(), SearchSpace()).label  # taken by an API option below
    at = advisor_page({"d": [f"{label}~gpt-4o~fp16~vllm~api"]})
    assert [d.label for d in at.session_state["scenario"].deployments] == [label]
    at.button(key="adv.add").click().run()
    no_problems(at)
    assert [d.label for d in at.session_state["scenario"].deployments] == [label, f"{label} 2"]


def test_a_full_comparison_cannot_take_more():
    at = advisor_page({"d": [f"A{i}~gpt-4o~fp16~vllm~api" for i in range(MAX_DEPLOYMENTS)]})
    no_problems(at)
    assert len(at.session_state["scenario"].deployments) == MAX_DEPLOYMENTS
    assert at.button(key="adv.add").disabled
    assert "the most it holds" in "\n".join(c.value for c in at.caption)


def test_an_impossible_space_explains_itself():
    at = advisor_page()
    at.number_input(key="adv.context").set_value(100)  # shorter than any request
    at.toggle(key="adv.api").set_value(False)
    search(at)
    no_problems(at)
    assert any("No option in this search space" in w.value for w in at.warning)
    assert any(e.label.startswith("request longer than the context") for e in at.expander)
    assert metrics(at)["Meet the SLOs, fully priced"] == "0"
    at.multiselect(key="adv.regions").set_value([])
    search(at)
    no_problems(at)
    assert any("Choose at least a region" in w.value for w in at.warning)


def test_a_space_the_engine_refuses_shows_its_message(monkeypatch):
    from ui import cached

    monkeypatch.setattr(advisor, "MAX_OPTIONS", 10)
    cached._advise.clear()
    try:
        at = advisor_page()
        assert not at.exception
        message = " ".join(e.value for e in at.error)
        assert "cannot search this space" in message and "exceeds the limit of 10" in message
        assert at.title[0].value == "Advisor"
        assert "Break-even traffic" in "\n".join(h.value for h in at.subheader)
    finally:
        cached._advise.clear()


def test_the_space_survives_a_visit_to_another_page():
    at = advisor_page()
    at.slider(key="adv.min_mmlu").set_value(60)
    search(at)
    at.switch_page("ui/pages/compare.py").run()
    at.switch_page(PAGE).run()
    no_problems(at)
    assert at.slider(key="adv.min_mmlu").value == 60


def test_sensitivity_of_another_option_and_of_one_without_a_cost():
    at = advisor_page()
    at.selectbox(key="adv.sensitivity").set_value("API").run()
    no_problems(at)
    assert len(at.get("plotly_chart")) == 3
    at.selectbox(key="adv.sensitivity").set_value("On-prem").run()  # an estimated price
    no_problems(at)
    assert len(at.get("plotly_chart")) == 3


# ------------------------------------------------------------------ pure helpers


def test_break_even_sentences():
    grid = [1e3, 1e4, 1e5]
    api = breakeven.PairBreakEven("vs_api", "SLM", "API", grid, {"SLM": [500, 500, 500],
                                                               "API": [50, 500.0, 5000]},
                                  [BreakEven(1e4, "API", "SLM", 500.0)])
    assert breakeven.pair_text(api) == ("self-hosting **SLM** beats **API** above ≈ 10k "
                                        "requests/day (both ≈ \\$500/month there).")
    hosted = breakeven.PairBreakEven("hosted", "SLM", "LLM", grid,
                                     {"SLM": [100, 100, 100], "LLM": [900, 900, 900]}, [])
    assert breakeven.pair_text(hosted).startswith("**SLM** is cheaper on cost per token than "
                                                  "**LLM** at every traffic from 1k")
    unknown = breakeven.PairBreakEven("vs_api", "On-prem", "API", grid,
                                      {"On-prem": [None] * 3, "API": [1.0] * 3}, [])
    assert "no break-even — **On\\-prem** has no usable cost" in breakeven.pair_text(unknown)


def test_pairs_to_compare():
    pairs = breakeven.pairs_to_compare(preset("Internal copilot"))
    # examples/internal-copilot.yaml: three self-hosted options of three models and one API
    hosted = ["Mistral 7B on A10", "Llama 3 8B workstation", "Llama 3 70B on 8xL40S"]
    assert pairs == [*(("vs_api", h, "GPT-4o mini") for h in hosted),
                     ("hosted", hosted[0], hosted[1]), ("hosted", hosted[0], hosted[2]),
                     ("hosted", hosted[1], hosted[2])]
    one = Scenario(deployments=(Deployment(label="x", model="gpt-4o", target=ApiTarget()),))
    assert breakeven.pairs_to_compare(one) == []


def test_advisor_charts_build_and_escape_labels(catalog):
    from planner.analyses.whatif import sensitivity

    scenario = preset("Internal copilot")
    result = advise(scenario.workload, SearchSpace(regions=("eastus", "westus2")), catalog, top=5)
    hostile = [{"label": "<b>%{y}</b>", "monthly_cost_usd": 5000.0, "y": 70.0}]
    # the specs the page draws, validated as plotly figures
    figures = [go.Figure(charts.pareto_cost_quality_spec(result.ranked, hostile)),
               go.Figure(charts.pareto_cost_latency_spec(result.ranked, hostile,
                                                         scenario.workload.tpot_slo_ms))]
    for dep in scenario.deployments:
        rows = sensitivity(scenario, dep.label, catalog)
        if any(r.swing_usd for r in rows):  # the 8x L40S server has no purchase price
            figures.append(charts.tornado(rows, dep.label))
    assert all(f.to_json() for f in figures)
    assert "&lt;b&gt;%{y}&lt;/b&gt;" in figures[0].data[-1].customdata[0]
    front = result.ranked[result.ranked["pareto_cost_quality"]]
    labelled = {a.text for a in figures[0].layout.annotations}
    assert labelled and labelled <= set(front["model"])
    bot = preset("Customer-support chatbot")
    on_prem = next(d for d in bot.deployments if d.label == "On-prem")
    moved = on_prem.model_copy(update={"target": on_prem.target.model_copy(
        update={"region": "uksouth"})})  # no electricity tariff known there: no usable cost
    unpriced = bot.model_copy(update={"deployments": tuple(
        moved if d.label == "On-prem" else d for d in bot.deployments)})
    with pytest.raises(ValueError, match="no usable cost"):
        charts.tornado(sensitivity(unpriced, "On-prem", catalog), "On-prem")


@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.text("abcdefgh-", min_size=1,
                                                                     max_size=16)),
                max_size=12))
@settings(max_examples=80, deadline=None)
def test_frontier_labels_never_overlap(points):
    offsets = charts._label_offsets(points, prefer_up=True)
    boxes = []
    for (fx, fy, text), offset in zip(points, offsets, strict=True):
        if offset is None:
            continue
        cx = fx * charts.PLOT_W_PX + offset[0]
        cy = (1 - fy) * charts.PLOT_H_PX + offset[1]
        w, h = len(text) * charts.CHAR_W_PX + 4, charts.LINE_H_PX
        boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    for i, a in enumerate(boxes):
        assert a[0] >= 0 and a[1] >= 0
        assert a[2] <= charts.PLOT_W_PX and a[3] <= charts.PLOT_H_PX
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def test_commitment_plans_are_checked_against_autoscaled_payg(catalog):
    """Reservations in the ranking get a short table beside the same option autoscaled on
    pay-as-you-go, with the figures the engine's check computes."""
    at = advisor_page()
    at.multiselect(key="adv.plans").set_value(["reserved-1y"])
    at.toggle(key="adv.local").set_value(False)
    at.toggle(key="adv.api").set_value(False)
    search(at)
    no_problems(at)
    tables = [d.value for d in at.dataframe]
    checks = [t for t in tables if "pay-as-you-go, autoscaled (USD/month)" in t.columns]
    assert len(checks) == 1
    shown = checks[0]
    expected = advise(default_scenario().workload,
                      SearchSpace(plans=("reserved-1y",), include_local=False, include_api=False),
                      catalog, top=10)
    assert len(shown) == len(expected.commitment_checks) == 10
    assert set(shown["commitment"]) == {"1-year reservation"}
    assert shown["pay-as-you-go, autoscaled (USD/month)"].iloc[0] == pytest.approx(
        expected.commitment_checks[0].payg_autoscaled_monthly_cost_usd)
    assert "Commitment plans vs the same option autoscaled" in markdown_text(at)


def test_the_advisor_ranks_autoscaled_options_on_a_shaped_day(catalog):
    """Business-hours traffic at 3M requests/day, pay-as-you-go only: the cluster autoscaler
    holds fewer node-hours than the peak all day, so the page's cheapest Azure option is an
    autoscaled one, at the cost the engine gives (and its plan, re-planned as a user would)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    at.number_input(key="w.rpd").set_value(3_000_000.0).run()
    open_section(at, "day")
    at.selectbox(key="w.shape").set_value("business-hours").run()
    at.switch_page(PAGE).run()
    at.multiselect(key="adv.plans").set_value(["payg"])
    at.toggle(key="adv.local").set_value(False)
    at.toggle(key="adv.api").set_value(False)
    search(at)
    no_problems(at)
    table = ranked(at)
    assert "autoscaled" in table["Option"].iloc[0]
    workload = at.session_state["scenario"].workload
    expected = advise(workload, SearchSpace(plans=("payg",), include_local=False,
                                            include_api=False), catalog, top=1)
    top = expected.ranked.iloc[0]
    assert top["scaling"] == "autoscale"
    assert table["Monthly cost (USD)"].iloc[0] == pytest.approx(top["monthly_cost_usd"])
    assert expected.top_plans[0].monthly_cost_usd == pytest.approx(top["monthly_cost_usd"],
                                                                   rel=1e-9)
    assert table["Node-hours a month"].iloc[0] < table["Nodes"].iloc[0] * 730
    # fixed only: the same search without the autoscaler costs more
    at.multiselect(key="adv.scaling").set_value(["fixed"])
    search(at)
    no_problems(at)
    assert "autoscaled" not in " ".join(ranked(at)["Option"])
    assert ranked(at)["Monthly cost (USD)"].iloc[0] > top["monthly_cost_usd"]
    at.multiselect(key="adv.scaling").set_value([])
    search(at)
    assert any("Choose at least a scaling policy" in w.value for w in at.warning)
