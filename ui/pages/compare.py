"""Compare: the answer first (one sentence per option, cheapest marked), then the numbers, the
charts, and the CSV export / share link."""

from __future__ import annotations

import re

import pyarrow as pa
import streamlit as st

from planner.api import (
    COST_KINDS,
    DeploymentPlan,
    FindingCode,
    PlannerError,
    PlanResult,
    Scenario,
    carbon_method_text,
    difference,
    energy_csv,
    finding_text,
    fit_text,
    plan_csv,
    plan_workbook,
    usd_by_kind,
    year_cost,
)
from ui import breakeven, cached, charts, first_view, share, state
from ui.format import (
    FIRST_VISIT_TEXT,
    cheapest_text,
    cur,
    escape_md,
    headline,
    md_usd,
    money_fmt,
    number,
    price_dates_text,
    slo_problem,
    stale_price_short,
    status_text,
    usd,
    usd_range,
    workload_text,
)
from ui.tables import arrow_table

# said in the answer and on the cards already; the notes list the rest
SHOWN_ABOVE = {FindingCode.DOES_NOT_FIT, FindingCode.PRICE_MISSING, FindingCode.SLO_UNMET,
               FindingCode.THROUGHPUT_UNKNOWN, FindingCode.REQUEST_EXCEEDS_CONTEXT,
               FindingCode.ENERGY_NO_TDP, FindingCode.ENERGY_NO_PUE, FindingCode.CO2_NO_GRID}
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


def file_slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "scenario"


def md_usd_range(span: list[float] | None) -> str:
    return usd_range(span).replace("$", "\\$")


def _card(plan: DeploymentPlan, result: PlanResult) -> None:
    cheapest = result.cheapest_label
    with st.container(border=True, width=260):
        if plan.label == cheapest:
            st.badge("cheapest", icon=":material/check_circle:", color="green")
        if not plan.fits:
            value, delta = "does not fit", None
        elif plan.monthly_cost_usd is None:
            value, delta = "price missing", None
        else:
            value = usd(plan.monthly_cost_usd)
            best = next((p for p in result.deployments if p.label == cheapest), None)
            delta = None
            extra = difference(plan.monthly_cost_usd, best.monthly_cost_usd) if best else None
            if best is not None and best.label != plan.label and extra is not None:
                delta = f"+{usd(extra)} vs {escape_md(best.label)}"
        st.metric(f"{escape_md(plan.label)} · monthly cost", value, delta=delta, delta_color="inverse")
        lines = []
        if plan.monthly_cost_range_usd is not None:
            lines.append(f"range {md_usd_range(plan.monthly_cost_range_usd)} "
                         "(throughput model's 80 % interval)")
        if plan.year_cost_usd is not None:
            lines.append(f"12 months: {md_usd(plan.year_cost_usd)} (growth applied)")
        if plan.cost_per_million_tokens_usd is not None:
            lines.append(f"{md_usd(plan.cost_per_million_tokens_usd)} per 1M tokens (input + "
                         f"output) · {md_usd(plan.cost_per_million_output_tokens_usd)} per 1M "
                         "output tokens (blended)")
        if plan.list_price_output_usd_per_million is not None:
            lines.append(f"list prices {md_usd(plan.list_price_input_usd_per_million)} in / "
                         f"{md_usd(plan.list_price_output_usd_per_million)} out per 1M tokens")
        if plan.scaling is not None and plan.scaling.policy != "fixed":
            lines.append(f"{plan.scaling.policy}: {number(plan.node_hours_per_month)} node-hours "
                         f"a month, {number((plan.average_utilization or 0) * 100)} % average "
                         "utilisation")
        if plan.gpus is not None:
            lines.append(f"{plan.gpus} GPU{'s' if plan.gpus != 1 else ''} on {plan.nodes} "
                         f"node{'s' if plan.nodes != 1 else ''} · {plan.replicas} "
                         f"cop{'ies' if plan.replicas != 1 else 'y'} of the model, each on "
                         f"{plan.tp} GPU{'s' if plan.tp != 1 else ''} (tensor parallel {plan.tp})")
        elif plan.fit.status == "hosted":
            lines.append("hosted: no GPUs to run")
        if plan.energy is not None:
            e = plan.energy
            co2 = ("" if e.co2_kg_per_month is None
                   else f" · {number(e.co2_kg_per_month)} kg CO2e")
            lines.append(f"{number(e.kwh_per_month)} kWh{co2} per month "
                         f"(kWh range {number(e.kwh_low)}-{number(e.kwh_high)})")
        if not plan.fits:
            lines.append(f":orange[does not fit: {escape_md(fit_text(plan))}]")
        elif plan.monthly_cost_usd is None:
            missing = ", ".join(dict.fromkeys(line.name for line in plan.cost_lines
                                              if line.amount_usd is None))
            lines.append(f":orange[price missing: {escape_md(missing)} (see the answer above)]")
        problem = slo_problem(plan)
        if problem:
            lines.append(f":orange[SLO unmet: {escape_md(problem)}]")
        stale = stale_price_short(plan)
        if stale:
            lines.append(f":orange[:material/schedule: {escape_md(stale)}]")
        st.markdown("  \n".join(lines))


def _runs_on(p: DeploymentPlan) -> str:
    """'Standard_NC24ads_A100_v4 · eastus · pay-as-you-go' from the option's placement."""
    where = p.placement
    if where is None:
        return "—"
    return " · ".join(part for part in (where.node, where.region, where.plan) if part)


def _table(result: PlanResult) -> pa.Table:
    """One row per option: the option pinned, the money first (what fits in 1280 px), then the
    sizing and speed, then where it runs. Unknown or not applicable cells show '—'."""
    rows = []
    for p in result.deployments:
        t = p.throughput
        rows.append({
            "Option": ("★ " if p.label == result.cheapest_label else "") + p.label,
            "Status": status_text(p),
            cur("Monthly cost (USD)"): p.monthly_cost_usd,
            cur("Next 12 months (USD)"): (year_cost(p, None).serving_year_usd if p.fits else None),
            cur("Monthly cost range (USD)"): usd_range(p.monthly_cost_range_usd),
            "Replicas range": ("—" if p.replicas_range is None else
                               f"{p.replicas_range[0]}-{p.replicas_range[1]}"),
            cur("Per 1M tokens, input + output (USD)"): p.cost_per_million_tokens_usd,
            cur("Per 1M output tokens, blended (USD)"): p.cost_per_million_output_tokens_usd,
            cur("API list price per 1M input / output (USD)"): (
                "—" if p.list_price_output_usd_per_million is None else
                f"{usd(p.list_price_input_usd_per_million)} / "
                f"{usd(p.list_price_output_usd_per_million)}"),
            cur("Per 1k requests (USD)"): p.cost_per_thousand_requests_usd,
            cur("Per 1M output tokens, busy share (USD)"):
                p.usage_cost_per_million_output_tokens_usd,
            "GPUs": p.gpus, "Nodes": p.nodes, "Replicas": p.replicas, "Tensor parallel": p.tp,
            "Batch": t.batch if t else None,
            "Utilisation (%)": None if p.utilization is None else p.utilization * 100,
            "Scaling": p.scaling.policy if p.scaling else "—",
            "Node-hours per month": p.node_hours_per_month,
            "Average utilisation (%)": (None if p.average_utilization is None else
                                        p.average_utilization * 100),
            "Time per output token (ms)": t.tpot_ms if t else None,
            "Time to first token (ms)": t.ttft_ms if t else None,
            "Energy (kWh/month)": p.energy_kwh_per_month,
            "CO2e (kg/month)": p.co2_kg_per_month,
            "J per output token": p.energy.joules_per_output_token if p.energy else None,
            "Runs on": _runs_on(p),
        })
    return arrow_table(rows)


def _column_config() -> dict:
    money = st.column_config.NumberColumn(format=money_fmt("dollar"), width="small")
    small_money = st.column_config.NumberColumn(format=money_fmt("$%.3f"), width="small")
    one = st.column_config.NumberColumn(format="%.0f", width="small")
    return {
        "Option": st.column_config.TextColumn(pinned=True, width="small"),
        "Status": st.column_config.TextColumn(width="small"),
        cur("Monthly cost (USD)"): money,
        cur("Next 12 months (USD)"): st.column_config.NumberColumn(
            format=money_fmt("dollar"), width="small",
            help="Serving cost over the next 12 months; with traffic growth the GPU nodes follow "
                 "the growth plan."),
        cur("Monthly cost range (USD)"): st.column_config.TextColumn(
            help="The monthly cost at the fast and the slow end of the throughput model's "
                 "cross-validated 80 % interval (more or fewer replicas); hosted APIs bill list "
                 "prices, so their range is one figure."),
        cur("Per 1M tokens, input + output (USD)"): st.column_config.NumberColumn(
            format=money_fmt("$%.3f"), width="small",
            help="The whole monthly bill over every token, input and output."),
        cur("Per 1M output tokens, blended (USD)"): st.column_config.NumberColumn(
            format=money_fmt("$%.3f"), width="small",
            help="The whole monthly bill (input tokens included) over output tokens only: "
                 "compare it with list output prices with care."),
        "Node-hours per month": one, "Average utilisation (%)": one,
        cur("Per 1k requests (USD)"): small_money,
        cur("Per 1M output tokens, busy share (USD)"): st.column_config.NumberColumn(
            format=money_fmt("$%.3f"),
            help="What the tokens actually served cost: idle capacity left out."),
        "GPUs": one, "Nodes": one, "Replicas": one, "Batch": one,
        "Tensor parallel": st.column_config.NumberColumn(
            format="%.0f", width="small",
            help="Tensor parallel: how many GPUs one copy of the model is split across."),
        "Utilisation (%)": one,
        "Time per output token (ms)": st.column_config.NumberColumn(
            format="%.0f", help="TPOT: the time between two output tokens of one answer."),
        "Time to first token (ms)": st.column_config.NumberColumn(
            format="%.0f", help="TTFT: the wait before the first token of an answer."),
        "Energy (kWh/month)": st.column_config.NumberColumn(format="localized"),
        "CO2e (kg/month)": st.column_config.NumberColumn(format="localized"),
        "J per output token": st.column_config.NumberColumn(
            format="%.2f", help="Facility energy per output token served, idle capacity and "
                                "PUE included (embodied emissions excluded)."),
    }


def cost_by_line_rows(result: PlanResult) -> tuple[list[dict], list[str]]:
    """One row per cost kind (then the total) and a column per option: monthly USD, None where
    the option has no such line or a price in it is missing. Returns (rows, column names)."""
    first = "Cost line"
    labels = [p.label for p in result.deployments]
    while first in labels:  # an option may be called anything: the first column gives way
        first += " "
    amounts = [usd_by_kind(p.cost_lines) for p in result.deployments]
    kinds = [k for k in COST_KINDS if any(k in a for a in amounts)]
    rows = [{first: charts.KIND_NAMES[k],
             **{label: a.get(k) for label, a in zip(labels, amounts, strict=True)}}
            for k in kinds]
    rows.append({first: "Total", **{p.label: p.monthly_cost_usd for p in result.deployments}})
    return rows, [first, *labels]


def _notes(result: PlanResult) -> list[str]:
    notes = []
    for p in result.deployments:
        for f in p.findings:
            if f.code not in SHOWN_ABOVE:
                notes.append(f"**{escape_md(p.label)}**: {escape_md(finding_text(f))}")
    return notes


@st.fragment
def _charts(scenario: Scenario, result: PlanResult, sweep: breakeven.Sweep,
            summaries: list[breakeven.PairSummary]) -> None:
    """The chart tabs: a change of tab reruns only this part (the editor and the rest of the
    page stay as they are)."""
    # the first tab is a table: the page's numbers come without loading the chart library,
    # which a chart tab loads when it is opened (~2 s of a first open in headless Chromium)
    tabs = st.tabs(["Cost by line", "Cost breakdown", "Cost over 12 months", "Cost vs traffic",
                    "Nodes over 12 months", "Energy & CO2"], key="chart_tab", on_change="rerun")
    by_line, breakdown, year_tab, traffic_tab, growth, energy = tabs
    if by_line.open:
        with by_line:
            rows, columns = cost_by_line_rows(result)
            st.dataframe(arrow_table(rows), hide_index=True, placeholder="—",
                         key="cost_by_line", column_config={
                             c: st.column_config.NumberColumn(format=money_fmt("dollar"))
                             for c in columns[1:]})
            st.caption(cur("Monthly cost (USD) of each option by cost line; — where a price "
                           "is missing or the option has no such line. The chart tabs draw the "
                           "same figures."))
    if year_tab.open:
        with year_tab:
            st.plotly_chart(charts.cost_over_year(result, {p.label: p.cost_by_month_usd
                                                           for p in result.deployments}),
                            config=PLOTLY_CONFIG, key="chart_year")
    if breakdown.open:  # only the chart on show is drawn
        with breakdown:
            st.plotly_chart(charts.Prevalidated(charts.cost_breakdown_spec(result)),
                            config=PLOTLY_CONFIG, key="chart_breakdown")
    if traffic_tab.open:
        with traffic_tab:
            labels = [d.label for d in scenario.deployments]
            st.plotly_chart(charts.cost_vs_traffic(sweep, summaries,
                                                   scenario.workload.requests_per_day, labels),
                            config=PLOTLY_CONFIG, key="chart_traffic")
    if growth.open:
        with growth:
            if any(p.nodes_by_month for p in result.deployments):
                st.plotly_chart(charts.nodes_over_time(result), config=PLOTLY_CONFIG,
                                key="chart_nodes")
            else:
                st.caption("No self-hosted option fits, so there are no nodes to plan.")
    if energy.open:
        with energy:
            if any(p.energy_kwh_per_month is not None for p in result.deployments):
                st.plotly_chart(charts.energy_and_co2(result), config=PLOTLY_CONFIG,
                                key="chart_energy")
            methods = [f"{escape_md(p.label)}: {escape_md(carbon_method_text(p))}"
                       for p in result.deployments if p.energy is not None]
            if methods:
                st.markdown("\n".join(f"- {m}" for m in methods))
            st.caption("Bars stack the lines of each option; the black mark is the range: bursty "
                       "traffic (full batch, then idle) to spread-out traffic (a smaller batch all "
                       "the time), across the throughput model's interval. Hosted APIs publish "
                       "no energy figures, so they are not shown. Sources: Methodology page.")


def main() -> None:
    scenario = state.current_scenario()
    catalog = cached.catalog()
    st.title(f"Compare · {escape_md(scenario.name)}", anchor=False)
    if state.first_visit():
        st.info(escape_md(FIRST_VISIT_TEXT), icon=":material/waving_hand:")
    st.caption(escape_md(workload_text(scenario)))
    try:
        result = cached.plan(scenario)
    except PlannerError as exc:
        st.error(f"The planner cannot plan this scenario: {escape_md(str(exc))}")
        first_view.end()  # in a first view the whole page (the editor to fix it) follows
        st.stop()
        return

    st.subheader("The answer", anchor=False)
    answer = "\n".join(f"- {headline(dep, plan, catalog, plan.label == result.cheapest_label)}"
                       for dep, plan in zip(scenario.deployments, result.deployments, strict=True))
    st.markdown(f"{answer}\n\n{cheapest_text(result)}")

    with st.container(horizontal=True, gap="small", key="cards"):
        for plan in result.deployments:
            _card(plan, result)
    first_view.end()  # a new session's first run ends here: the answer is drawn first

    st.subheader("All figures", anchor=False)
    st.dataframe(_table(result), hide_index=True, placeholder="—", column_config=_column_config(),
                 key="figures")
    notes = _notes(result)
    if notes:
        with st.expander(f"Notes and estimates ({len(notes)})", icon=":material/info:"):
            st.markdown("\n".join(f"- {n}" for n in notes))

    st.subheader("Charts", anchor=False)
    sweep, summaries = cached.traffic(scenario)
    _charts(scenario, result, sweep, summaries)
    break_even = ("**Break-even between self-hosting and the API** (traffic at which their "
                  "monthly costs are equal; see Cost vs traffic)\n\n")
    if summaries:
        st.markdown(break_even + "\n".join(f"- {escape_md(s.text)}" for s in summaries))
    else:
        st.markdown(break_even + ":gray[Add a hosted-API option and a self-hosted one to see "
                    "where they break even.]")

    _export(scenario, result)


@st.fragment
def _export(scenario: Scenario, result: PlanResult) -> None:
    """The exports and the share button: opening the download menu reruns only this part."""
    st.subheader("Export and share", anchor=False)
    with st.container(horizontal=True):
        # the four files are drawn only when the menu is opened: a lighter page on every edit
        with st.popover("Download", icon=":material/download:", type="primary",
                        key="downloads", on_change="rerun") as downloads:
            if downloads.open:
                _downloads(scenario, result)
        share.share_button(scenario, key="share_compare")
    st.caption("Download: the comparison as CSV, one table with a row per cost line per option "
               "(category, region, plan, monthly and 12-month amounts in USD; lines starting with "
               "# record the scenario and the price dates); an Excel workbook that adds a "
               "summary, the next 12 months, every assumption with its source, and the scenario "
               "with its share link; energy and CO2 as CSV; the scenario as JSON. 'Share this "
               "scenario' shows the link (the address bar always holds the same one).\n\n"
               + price_dates_text(result))


def _downloads(scenario: Scenario, result: PlanResult) -> None:
    """The export files, each built when its button is pressed."""
    link = share.share_url(scenario)
    st.download_button("Comparison (CSV)", data=lambda: plan_csv(result, link),
                       file_name=f"{file_slug(scenario.name)}-comparison.csv",
                       mime="text/csv", icon=":material/download:", key="download_csv",
                       on_click="ignore", type="primary", width="stretch")
    st.download_button("Workbook (Excel)", data=lambda: plan_workbook(result, link),
                       file_name=f"{file_slug(scenario.name)}-comparison.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/table_view:", key="download_xlsx", on_click="ignore",
                       width="stretch")
    st.download_button("Energy and CO2 (CSV)", data=lambda: energy_csv(result, link),
                       file_name=f"{file_slug(scenario.name)}-energy.csv", mime="text/csv",
                       icon=":material/bolt:", key="download_energy_csv", on_click="ignore",
                       width="stretch")
    st.download_button("Scenario (JSON)", data=lambda: scenario.model_dump_json(indent=2),
                       file_name=f"{file_slug(scenario.name)}.json",
                       mime="application/json", icon=":material/data_object:",
                       key="download_json", on_click="ignore", width="stretch")

main()
