"""The read-only summary a share link opens with ``&view=summary``: for readers who pay, not edit.

The answer in sentences, a totals table, the next 12 months as a chart, what is not in the
numbers, the price dates (stale ones warned beside the option they affect), and a link that
opens the same scenario in the planner. No sidebar and no editor; print CSS lays it out for
A4 or Letter (the browser's Print → Save as PDF).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from planner.api import EXCLUDED_TEXT, Catalog, PlannerError, PlanResult, Scenario, year_cost
from ui import cached, charts, share, state
from ui.format import (
    cheapest_text,
    escape_md,
    headline,
    price_dates_text,
    stale_price_text,
    status_text,
    target_text,
    usd,
    workload_text,
)

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "staticPlot": False}

# No sidebar or toolbar on screen; in print also no header, no chart toolbars, and blocks kept
# whole across pages. @page sets margins only, so A4 and Letter both fit.
PRINT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none !important; }
@page { margin: 14mm 12mm; }
@media print {
  header, [data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
  [data-testid="stStatusWidget"], .modebar-container, .st-key-summary_actions
    { display: none !important; }
  [data-testid="stMain"], [data-testid="stMainBlockContainer"], [data-testid="stAppViewContainer"]
    { overflow: visible !important; height: auto !important; padding-top: 0 !important; }
  [data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0 !important; }
  table, [data-testid="stPlotlyChart"], [data-testid="stAlert"] { break-inside: avoid; }
  a { color: inherit; }
}
</style>
"""


def is_summary_view() -> bool:
    """Whether the link asked for the read-only summary (``view=summary``)."""
    return st.query_params.get(share.VIEW_PARAM) == share.SUMMARY_VIEW


def _range_text(bounds: list[float] | None) -> str:
    """'$310 – $415' (the throughput model's calibrated interval), or '—' without one."""
    if not bounds:
        return "—"
    low, high = bounds
    return usd(low) if usd(low) == usd(high) else f"{usd(low)} – {usd(high)}"


def totals_table(result: PlanResult, scenario: Scenario, catalog: Catalog) -> pd.DataFrame:
    """One row per option, as text ('—' where unknown): it prints as a plain HTML table."""
    rows = []
    for dep, plan in zip(scenario.deployments, result.deployments, strict=True):
        year = year_cost(plan, None).serving_year_usd if plan.fits else None
        rows.append({
            "Option": ("★ " if plan.label == result.cheapest_label else "") + plan.label,
            "Model": plan.model_name,
            "Runs on": target_text(dep, plan, catalog),
            "Monthly cost": usd(plan.monthly_cost_usd),
            "Monthly range": _range_text(plan.monthly_cost_range_usd),  # beside the total
            "Next 12 months": usd(year),
            "Per 1M output tokens": usd(plan.cost_per_million_output_tokens_usd),
            "Status": status_text(plan),
        })
    return pd.DataFrame(rows)


def render(catalog: Catalog) -> None:
    """The whole summary page (the router calls it instead of the pages and the sidebar)."""
    st.html(PRINT_CSS)
    scenario = state.current_scenario()
    st.title(f"{escape_md(scenario.name)} — cost summary", anchor=False)
    st.caption(escape_md(workload_text(scenario)))
    try:
        result = cached.plan(scenario)
    except PlannerError as exc:
        st.error(f"The planner cannot plan this scenario: {escape_md(str(exc))}")
        return
    with st.container(horizontal=True, key="summary_actions"):
        link = share.share_url(scenario)
        if link:
            st.link_button("Open in the planner (to edit)", link, icon=":material/edit:")
        st.caption("To keep or send this page: your browser's Print → Save as PDF (A4 or Letter).")

    st.subheader("The answer", anchor=False)
    st.markdown("\n".join(f"- {headline(dep, plan, catalog, plan.label == result.cheapest_label)}"
                          for dep, plan in zip(scenario.deployments, result.deployments,
                                               strict=True)))
    st.markdown(cheapest_text(result))
    stale = [(plan.label, stale_price_text(plan)) for plan in result.deployments]
    for label, text in stale:
        if text:
            st.warning(f"**{escape_md(label)}**: {escape_md(text)}.", icon=":material/schedule:")

    st.subheader("Totals", anchor=False)
    st.table(totals_table(result, scenario, catalog).set_index("Option"))

    st.subheader("The next 12 months", anchor=False)
    by_month = {p.label: (year_cost(p, None).serving_by_month_usd if p.fits else None)
                for p in result.deployments}
    if any(v is not None for v in by_month.values()):
        st.plotly_chart(charts.cost_over_year(result, by_month), config=PLOTLY_CONFIG,
                        key="summary_year")
    else:
        st.caption("No option has a known monthly cost, so there is nothing to chart.")
    st.caption(", ".join(dict.fromkeys(year_cost(p, None).basis for p in result.deployments
                                       if p.fits and p.monthly_cost_usd is not None)))

    st.subheader("What is not included", anchor=False)
    st.markdown(escape_md(EXCLUDED_TEXT))
    st.subheader("Prices", anchor=False)
    st.markdown(escape_md(price_dates_text(result)))
