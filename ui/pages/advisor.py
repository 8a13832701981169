"""Advisor: the cheapest deployments that meet the scenario's SLOs, ranked from the whole option
space the person allows; the trade-offs (cost against quality and latency); why the rest were
rejected; and, for the options already compared, what moves their cost and where they break even.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from planner.api import (
    DEFAULT_MIN_MMLU,
    ENGINE_IDS,
    ENGINES,
    MAX_DEPLOYMENTS,
    PLAN_NAMES,
    PRECISIONS,
    PRICING_PLANS,
    REJECT_TEXT,
    SCALING_POLICIES,
    TARGET_TITLES,
    TP_HEADER,
    TP_HELP,
    TPOT_HEADER,
    TPOT_HELP,
    TTFT_HEADER,
    TTFT_HELP,
    AdvisorResult,
    Catalog,
    Deployment,
    DeploymentPlan,
    PlannerError,
    Scenario,
    SearchSpace,
    commitment_check_records,
    deployment_for,
    describe_target,
    describe_validation_error,
    is_self_hosted,
)
from ui import breakeven, cached, charts, state
from ui import draft as drafts
from ui.editor import SCALING_NAMES
from ui.format import cur, escape_md, md_usd, money_fmt, quality_text, rests_on_estimate, usd, workload_text

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
KEY = "adv."  # widget keys
SAVED = "advisor_saved_space"  # the person's last search space: widgets are forgotten off the page
ADDED = "advisor_added"  # what the last "Add to comparison" did, shown once
RERUN_APP = "advisor_rerun_app"  # an option was added from inside the search fragment
PICK = KEY + "pick"
TABLE = KEY + "table"
SENSITIVITY_CHOICE = KEY + "sensitivity"
HIGHLIGHT = "background-color: rgba(22, 163, 74, 0.16)"  # readable on light and dark themes
DEFAULT_SPACE = SearchSpace()
SCALED_WORDS = {"autoscale": "autoscaled", "scale-to-zero": "scaled to zero when idle"}
DEFAULTS: dict[str, Any] = {
    "models": [], "min_mmlu": round(DEFAULT_MIN_MMLU), "top": 10, "regions": list(DEFAULT_SPACE.regions),
    "plans": list(DEFAULT_SPACE.plans), "precisions": list(DEFAULT_SPACE.precisions),
    "scaling": list(DEFAULT_SPACE.scaling),
    "engine": DEFAULT_SPACE.engine, "context": None, "local": DEFAULT_SPACE.include_local,
    "api": DEFAULT_SPACE.include_api,
}


# ---------------------------------------------------------------- the search space


def _seed(name: str, default: Any = None) -> str:
    """The widget key for ``name``, seeded from the saved space (or the default) if unset."""
    key = KEY + name
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(SAVED, {}).get(
            name, DEFAULTS[name] if default is None else default)
    return key


def _model_label(catalog: Catalog, model_id: str) -> str:
    if model_id in catalog.api_models:
        m = catalog.api_models[model_id]
        kind = "API"
    else:
        m = catalog.models[model_id]
        kind = f"{m.params_b:.3g}B"
    return f"{model_id} ({kind}, {quality_text(m.mmlu_5shot, m.mmlu_pro)})"


def _region_label(catalog: Catalog, region: str) -> str:
    r = catalog.regions.get(region)
    return f"{region} · {r.name}" if r and r.name != region else region


def scenario_floor(scenario: Scenario) -> int:
    """The quality-floor slider's starting value: the scenario's floor (0 = any quality), else
    the planner's default floor."""
    floor = scenario.workload.min_mmlu
    return round(DEFAULT_MIN_MMLU if floor is None else floor)


def search_form(catalog: Catalog,
                scenario: Scenario | None = None) -> tuple[SearchSpace | None, int, str | None]:
    """The search-space controls; (space, how many to show, problem) from their current values.
    There is no button: every change searches again (the advisor answers in well under a second,
    and a space searched before is served from the cache)."""
    regions = sorted({p.region for p in catalog.prices})
    with st.container(border=True, key="adv_space"):
        st.markdown("**Search space**: what the advisor may choose from; results follow every "
                    "change")
        c1, c2, c3 = st.columns(3)
        with c1:
            st.multiselect("Models", list(catalog.models) + list(catalog.api_models),
                           key=_seed("models"), placeholder="all models",
                           format_func=lambda m: _model_label(catalog, m),
                           help="Leave empty to search every model in the catalog.")
            st.slider("Quality floor: MMLU 5-shot at least (%)", 0, 90, step=1,
                      key=_seed("min_mmlu", scenario_floor(scenario) if scenario else None),
                      help="Starts at the scenario's floor. 0 = any quality (no floor). With a "
                           "floor, options without a published MMLU score at their precision "
                           "are left out.")
            st.number_input("Options to list", min_value=1, max_value=50, step=1,
                            key=_seed("top"))
        with c2:
            st.multiselect("Azure regions", regions, key=_seed("regions"),
                           format_func=lambda r: _region_label(catalog, r),
                           help="Regions in the price snapshot.")
            st.multiselect("Pricing plans", list(PRICING_PLANS), key=_seed("plans"),
                           format_func=PLAN_NAMES.__getitem__,
                           help="Spot capacity is cheap but can be evicted at short notice.")
            st.multiselect("Weight precisions", list(PRECISIONS), key=_seed("precisions"))
            st.multiselect("Scaling policies (Azure)", list(SCALING_POLICIES),
                           key=_seed("scaling"), format_func=SCALING_NAMES.__getitem__,
                           help="Fixed: sized for the peak all day. Autoscale: the cluster "
                                "autoscaler follows the traffic shape (a commitment plan then "
                                "covers the nodes in service long enough to be worth "
                                "committing, the rest pay-as-you-go). Scale to zero also drops "
                                "the min-replicas floor (dev/test). Own machines are planned "
                                "fixed.")
        with c3:
            st.selectbox("Serving engine", list(ENGINE_IDS), key=_seed("engine"),
                         format_func=lambda e: ENGINES[e].name)
            st.number_input("Max context per request (tokens)", min_value=1,
                            max_value=10_000_000, step=1024, key=_seed("context"),
                            placeholder="each model's maximum",
                            help="A shorter context leaves more memory for the KV cache.")
            st.toggle("Include own hardware", key=_seed("local"))
            st.toggle("Include hosted APIs", key=_seed("api"))
    ss = st.session_state
    values = {name: ss[KEY + name] for name in DEFAULTS}
    ss[SAVED] = values
    missing = [what for what, name in (("a region", "regions"), ("a pricing plan", "plans"),
                                       ("a precision", "precisions"),
                                       ("a scaling policy", "scaling")) if not values[name]]
    if missing:
        return None, values["top"], f"Choose at least {' and '.join(missing)} to search."
    try:
        space = SearchSpace(
            models=tuple(values["models"]),
            min_mmlu=float(values["min_mmlu"]) if values["min_mmlu"] else None,
            any_quality=not values["min_mmlu"],
            regions=tuple(values["regions"]), plans=tuple(values["plans"]),
            precisions=tuple(values["precisions"]), scaling=tuple(values["scaling"]),
            engine=values["engine"],
            context_tokens=values["context"], include_local=values["local"],
            include_api=values["api"])
    except ValidationError as exc:
        return None, values["top"], describe_validation_error(exc)
    return space, int(values["top"]), None


# ---------------------------------------------------------------- ranked options


def option_summary(row: dict, catalog: Catalog) -> str:
    """'gemma-2b fp16 on 2 × Standard_NC4as_T4_v3 (eastus, spot)': one option in one line."""
    dep = deployment_for(row, DEFAULT_SPACE)
    where = describe_target(dep, catalog)
    if not is_self_hosted(dep.target):
        return f"{row['model']} via {where}"
    nodes = f"{int(row['nodes'])} × " if pd.notna(row.get("nodes")) else ""
    if dep.scaling == "fixed":
        return f"{row['model']} {row['precision']} on {nodes}{where}"
    return (f"{row['model']} {row['precision']} on up to {nodes}{where}, "
            f"{SCALED_WORDS[dep.scaling]}")


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _mmlu_text(value: Any) -> str:
    score = _number(value)
    return "not published" if score is None else f"{score:.1f}"


def ranked_table(rows: list[dict], plans: list[DeploymentPlan], catalog: Catalog) -> pd.DataFrame:
    """The top options as a readable table (units in the headers), the cheapest first and starred."""
    out = []
    for i, row in enumerate(rows):
        plan = plans[i] if i < len(plans) else None
        frontier = [name for name, flag in (("quality", "pareto_cost_quality"),
                                            ("latency", "pareto_cost_latency")) if row.get(flag)]
        out.append({
            "#": i + 1,
            "Option": ("★ " if i == 0 else "") + option_summary(row, catalog),
            cur("Monthly cost (USD)"): _number(row["monthly_cost_usd"]),
            "Price": ("" if plan is None else
                      "estimated" if rests_on_estimate(plan) else "list / your figure"),
            "MMLU (%)": _mmlu_text(row.get("mmlu_5shot")),
            "MMLU-Pro (%)": _mmlu_text(row.get("mmlu_pro")),
            TPOT_HEADER: _number(row.get("tpot_ms")),
            TTFT_HEADER: _number(row.get("ttft_ms")),
            cur("Per 1M output tokens (USD)"): plan.cost_per_million_output_tokens_usd if plan else None,
            "GPUs": plan.gpus if plan else None,
            "Nodes": _number(row.get("nodes")),
            "Node-hours a month": _number(row.get("node_hours_per_month")),
            TP_HEADER: _number(row.get("tp")),
            "Batch": _number(row.get("batch")),
            "Runs on": TARGET_TITLES.get(row["kind"], row["kind"]),
            "Pareto frontier": ", ".join(frontier),
            "Also at": row.get("other_precisions") or "",
        })
    return pd.DataFrame(out)


def _column_config() -> dict:
    one = st.column_config.NumberColumn(format="%.0f")
    return {
        "#": st.column_config.NumberColumn(width=36),
        "Option": st.column_config.TextColumn(width=330),
        cur("Monthly cost (USD)"): st.column_config.NumberColumn(format=money_fmt("dollar")),
        cur("Per 1M output tokens (USD)"): st.column_config.NumberColumn(format=money_fmt("$%.3f")),
        TPOT_HEADER: st.column_config.NumberColumn(format="%.0f", help=TPOT_HELP),
        TTFT_HEADER: st.column_config.NumberColumn(format="%.0f", help=TTFT_HELP),
        TP_HEADER: st.column_config.NumberColumn(format="%.0f", help=TP_HELP),
        "Nodes": st.column_config.NumberColumn(
            format="%.0f", help="GPU nodes at the busiest hour (what an autoscaled option scales "
                                "up to)."),
        "Node-hours a month": st.column_config.NumberColumn(
            format="%.0f", help="GPU node-hours held in a month: the nodes times 730 h at a fixed "
                                "policy, what the autoscaler holds hour by hour otherwise."),
        "Batch": one, "GPUs": one,
        "MMLU (%)": st.column_config.TextColumn(
            help="MMLU 5-shot at the option's precision: the published score where the weights are "
                 "as the vendor ships them or a published evaluation of that precision exists; "
                 "'not measured' otherwise."),
        "MMLU-Pro (%)": st.column_config.TextColumn(
            help="MMLU-Pro as the vendor published it (settings differ between vendors: see the "
                 "Catalog page's sources)."),
        "Pareto frontier": st.column_config.TextColumn(
            help="No other option is both cheaper and better on quality (MMLU) or latency (time "
                 "per output token)."),
        "Price": st.column_config.TextColumn(
            help="'estimated': the monthly cost rests on a derived price (a reservation or savings "
                 "plan from a sibling's quoted discount, a machine priced from its components); "
                 "the Compare page lists which line."),
        "Also at": st.column_config.TextColumn(
            help="Other precisions (or tensor-parallel degrees and regions) of the same model, VM "
                 "size and plan, grouped into this row: they cost the same or more."),
    }


def _highlight_cheapest(row: pd.Series) -> list[str]:
    return [HIGHLIGHT if row["#"] == 1 else ""] * len(row)


def _on_table_select() -> None:
    selection = st.session_state[TABLE].selection
    if selection.rows:
        st.session_state[PICK] = selection.rows[0]


def _in_scenario(dep: Deployment, scenario: Scenario) -> str | None:
    """The label of a deployment of the scenario that is ``dep`` under another name."""
    return next((d.label for d in scenario.deployments
                 if d.model_copy(update={"label": dep.label}) == dep), None)


def add_to_draft(draft: dict[str, Any], dep: Deployment) -> str | None:
    """Append ``dep`` to the editor's draft under a free label, as the editor's own "Add an
    option" does; its label, or None when the scenario is full."""
    if len(draft["deployments"]) >= MAX_DEPLOYMENTS:
        return None
    taken = {d["label"] for d in draft["deployments"]}
    dep = dep.model_copy(update={"label": drafts.unique_label(dep.label, taken)})
    draft["deployments"].append(drafts.deployment_draft(dep, draft["next_id"]))
    draft["next_id"] += 1
    return dep.label


def _add(dep: Deployment) -> None:
    label = add_to_draft(state.draft(), dep)
    st.session_state[ADDED] = label
    st.session_state[RERUN_APP] = True


def _add_controls(rows: list[dict], space: SearchSpace, catalog: Catalog,
                  scenario: Scenario) -> None:
    if st.session_state.get(PICK) not in range(len(rows)):
        st.session_state[PICK] = 0
    choices = list(range(len(rows)))
    with st.container(horizontal=True, vertical_alignment="bottom", key="adv_add"):
        pick = st.selectbox(
            "Option to add to the comparison (or select a row in the table)", choices,
            key=PICK, width=560,
            format_func=lambda i: f"{i + 1}. {option_summary(rows[i], catalog)} — "
                                  f"{usd(rows[i]['monthly_cost_usd'])}/month")
        dep = deployment_for(rows[pick], space)
        count = len(state.draft()["deployments"])
        twin = _in_scenario(dep, scenario)
        full = count >= MAX_DEPLOYMENTS
        st.button("Add to comparison", key=KEY + "add", icon=":material/add:", type="primary",
                  on_click=_add, args=(dep,), disabled=full or twin is not None,
                  help=(f"A scenario compares at most {MAX_DEPLOYMENTS} options." if full
                        else f"Already in the comparison as '{twin}'." if twin
                        else "Appends it to the scenario's options (sidebar), the Compare page "
                             "and the share link."))
    if twin:
        st.caption(f"Option {pick + 1} is already in the comparison as **{escape_md(twin)}**.")
    elif full:
        st.caption(f"The comparison already has {MAX_DEPLOYMENTS} options, the most it holds: "
                   "remove one in the sidebar to add another.")


def _added_message() -> None:
    if ADDED not in st.session_state:
        return
    label = st.session_state.pop(ADDED)
    if label is None:
        st.warning(f"Not added: the comparison already has {MAX_DEPLOYMENTS} options.")
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.success(f"Added **{escape_md(label)}** to the comparison.", icon=":material/check:")
        st.page_link("ui/pages/compare.py", label="Open Compare", icon=":material/balance:")


def _rejected(result: AdvisorResult) -> None:
    st.subheader("Why the rest were rejected", anchor=False)
    rej = result.rejected
    if rej.empty:
        st.caption("Nothing was rejected.")
        return
    st.caption("Options counted by the first reason that ruled them out; a family is one model "
               "on one GPU or machine (and precision).")
    by_reason = (rej.groupby("reason").agg(options=("options", "sum"), families=("family", "count"))
                 .sort_values("options", ascending=False))
    for reason, totals in by_reason.iterrows():
        n, fam = int(totals["options"]), int(totals["families"])
        with st.expander(f"{escape_md(REJECT_TEXT[reason])}: {n:,} option{'s' if n != 1 else ''} "
                         f"in {fam:,} famil{'ies' if fam != 1 else 'y'}"):
            rows = (rej[rej["reason"] == reason][["family", "options"]]
                    .sort_values(["options", "family"], ascending=[False, True])
                    .rename(columns={"family": "Family", "options": "Options"}))
            st.dataframe(rows, hide_index=True, placeholder="—", width="stretch",
                         height=min(38 + 35 * len(rows), 300))


def _mine(scenario: Scenario, attr: str) -> list[dict]:
    """The scenario's deployments as chart points (label, monthly cost, quality or latency)."""
    try:
        result = cached.plan(scenario)
    except PlannerError:
        return []
    points = []
    for p in result.deployments:
        if not p.fits or p.monthly_cost_usd is None:
            continue
        y = p.mmlu_5shot if attr == "mmlu" else (p.throughput.tpot_ms if p.throughput else None)
        points.append({"label": p.label, "monthly_cost_usd": p.monthly_cost_usd, "y": y})
    return points


def _tradeoffs(result: AdvisorResult, scenario: Scenario) -> None:
    ranked = result.ranked
    st.subheader("Trade-offs", anchor=False)
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.Prevalidated(charts.pareto_cost_quality_spec(
            ranked, _mine(scenario, "mmlu"))), config=PLOTLY_CONFIG, key="chart_pareto_quality")
    with right:
        st.plotly_chart(charts.Prevalidated(charts.pareto_cost_latency_spec(
            ranked, _mine(scenario, "tpot"), scenario.workload.tpot_slo_ms)),
            config=PLOTLY_CONFIG, key="chart_pareto_latency")
    no_mmlu = sorted(ranked.loc[ranked["mmlu_5shot"].isna(), "model"].unique())
    notes = ["On the frontier are the options no other beats on both monthly cost and the other "
             "measure; grey dots are the cheapest option of each model at each level."]
    if no_mmlu:
        notes.append(f"Not on the quality chart (no published MMLU): {', '.join(no_mmlu)}.")
    if ranked["tpot_ms"].isna().any():
        notes.append("Hosted APIs publish no per-token latency, so they are not on the latency "
                     "chart.")
    st.caption(escape_md(" ".join(notes)))


def _results(space: SearchSpace, top: int, catalog: Catalog, scenario: Scenario) -> None:
    try:
        result, seconds = cached.advise(scenario.workload, space, top)
    except PlannerError as exc:
        st.error(f"The advisor cannot search this space: {escape_md(str(exc))}",
                 icon=":material/block:")
        return
    ranked = result.ranked
    with st.container(horizontal=True, key="adv_metrics"):
        st.metric("Options evaluated", f"{result.options_evaluated:,}", border=True)
        st.metric("Meet the SLOs, fully priced", f"{result.viable_options:,}", border=True)
        st.metric("Search time", f"{seconds:.2f} s", border=True,
                  help="Time the engine took to evaluate the whole space (one vectorised pass); "
                       "the same search again is served from the cache.")
        if not ranked.empty:
            st.metric("Cheapest", f"{usd(ranked.iloc[0]['monthly_cost_usd'])}/month", border=True)
    if ranked.empty:
        st.warning("No option in this search space fits, meets the SLOs and has every price. "
                   "Widen the space (more models, regions, plans or precisions; a lower quality "
                   "floor; a longer context) or relax the SLOs in the sidebar; the reasons are "
                   "below.", icon=":material/search_off:")
        _rejected(result)
        return
    rows = ranked.head(top).to_dict("records")
    best, plan = rows[0], result.top_plans[0] if result.top_plans else None
    per_m = (f", {md_usd(plan.cost_per_million_output_tokens_usd)} per 1M output tokens"
             if plan and plan.cost_per_million_output_tokens_usd is not None else "")
    st.markdown(f"Cheapest that meets the SLOs: **{escape_md(option_summary(best, catalog))}**, "
                f"**{md_usd(best['monthly_cost_usd'])}/month**{per_m} :green-badge[cheapest]")
    st.subheader(f"The {len(rows)} cheapest", anchor=False)
    table = ranked_table(rows, result.top_plans, catalog)
    st.dataframe(table.style.apply(_highlight_cheapest, axis=1), hide_index=True, placeholder="—",
                 column_config=_column_config(), key=TABLE, on_select=_on_table_select,
                 selection_mode="single-row", width="stretch")
    _commitment_checks(result)
    _add_controls(rows, space, catalog, scenario)
    _added_message()
    _tradeoffs(result, scenario)
    _rejected(result)


def _commitment_checks(result: AdvisorResult) -> None:
    """Each top option on a commitment plan beside the same option autoscaled on payg."""
    if not result.commitment_checks:
        return
    st.markdown("**Commitment plans vs the same option autoscaled on pay-as-you-go** (the "
                "cluster autoscaler following the traffic shape between its node floor and the "
                "peak)")
    st.dataframe(pd.DataFrame(commitment_check_records(result.commitment_checks)),
                 hide_index=True, placeholder="—", width="stretch", key="adv_commitment_checks")


# ---------------------------------------------------------------- the scenario's own options


def _sensitivity(scenario: Scenario) -> None:
    st.subheader("What moves the cost", anchor=False)
    labels = [d.label for d in scenario.deployments]
    if st.session_state.get(SENSITIVITY_CHOICE) not in labels:
        hosted = [d.label for d in scenario.deployments if is_self_hosted(d.target)]
        st.session_state[SENSITIVITY_CHOICE] = (hosted or labels)[0]
    label = st.selectbox("Option of your comparison", labels, key=SENSITIVITY_CHOICE, width=420)
    try:
        rows = cached.sensitivity(scenario, label)
    except PlannerError as exc:
        st.error(f"The planner cannot vary this option: {escape_md(str(exc))}")
        return
    if not rows or rows[0].base_cost_usd is None:
        st.info(f"**{escape_md(label)}** has no usable monthly cost today (it does not fit, misses "
                "the SLOs or a price is missing), so there is nothing to vary.",
                icon=":material/info:")
        return
    st.plotly_chart(charts.tornado(rows, label), config=PLOTLY_CONFIG, key="chart_tornado")
    flat = [r.input for r in rows if r.swing_usd == 0 and None not in (r.cost_low_usd,
                                                                      r.cost_high_usd)]
    unknown = [f"{r.input} {r.low_label if r.cost_low_usd is None else r.high_label}"
               for r in rows if r.cost_low_usd is None or r.cost_high_usd is None]
    notes = ["Each input moved alone to a low and a high value, the rest held at today's."]
    if flat:
        notes.append(f"No effect at these settings: {', '.join(flat)} (whole nodes absorb the "
                     "change, or the option is billed per token).")
    if unknown:
        notes.append(f"No usable cost (does not fit or misses the SLOs) at: {', '.join(unknown)}.")
    st.caption(escape_md(" ".join(notes)))


def _break_evens(scenario: Scenario) -> None:
    st.subheader("Break-even traffic", anchor=False)
    pairs = cached.break_evens(scenario)
    if not pairs:
        st.caption("Add a hosted API and a self-hosted option, or two self-hosted options with "
                   "different models, to see at what traffic one overtakes the other.")
        return
    st.markdown("\n".join(f"- {breakeven.pair_text(p)}" for p in pairs))
    st.caption("Traffic (requests/day, everything else in the workload held) at which the two "
               "cost the same per month, found by bisection between 25 traffic levels from 1k to "
               "100M requests/day. Only options that fit and meet the SLOs count. At equal "
               "traffic the cheaper per month is also the cheaper per token.")


@st.fragment
def _search(catalog: Catalog, scenario: Scenario) -> None:
    """The search space and its answer: a change to the space reruns only this part (the
    sidebar and the comparison below stay as they are); adding an option reruns the app so the
    sidebar, the share link and the comparison show it."""
    if st.session_state.pop(RERUN_APP, False):
        st.rerun(scope="app")
    space, top, problem = search_form(catalog, scenario)
    if problem:
        st.warning(escape_md(problem), icon=":material/tune:")
    elif space is not None:
        _results(space, top, catalog, state.current_scenario())


def main() -> None:
    scenario = state.current_scenario()
    catalog = cached.catalog()
    st.title("Advisor", anchor=False)
    st.caption(f"The cheapest deployments for the workload of **{escape_md(scenario.name)}** "
               f"(edit it in the sidebar): {escape_md(workload_text(scenario))}.")
    _search(catalog, scenario)
    st.header("Your comparison", anchor=False)
    st.caption("The options of the current scenario (sidebar, Compare page).")
    _sensitivity(scenario)
    _break_evens(scenario)


main()
