"""Plotly figures of a plan. Pure functions: a result in, a figure out (no streamlit).

Every figure uses one colour per deployment (in scenario order) so a deployment looks the same on
every chart, keeps its legend horizontal above the plot, and leaves little margin, so it reads in a
narrow window.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from planner.plan import DeploymentPlan, PlanResult
from ui.breakeven import PairSummary, Sweep
from ui.format import compact, usd

PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2", "#dc2626", "#ca8a04",
           "#db2777", "#4f46e5", "#65a30d", "#0d9488", "#78716c"]
LINE_GROUPS = [  # cost-line name prefix -> legend group, in stacking order
    ("GPU nodes", "GPU nodes"), ("Hardware", "Hardware (amortised)"),
    ("Electricity", "Electricity"), ("AKS cluster", "AKS management"),
    ("System node", "AKS system nodes"), ("Input tokens", "Input tokens"),
    ("Output tokens", "Output tokens"),
]
GROUP_COLOURS = {"GPU nodes": "#2563eb", "Hardware (amortised)": "#0891b2",
                 "Electricity": "#ca8a04", "AKS management": "#9ca3af",
                 "AKS system nodes": "#6b7280", "Input tokens": "#f97316",
                 "Output tokens": "#c2410c", "Other": "#a3a3a3"}


def plain(text: str) -> str:
    """User-typed text for Plotly, which reads a little HTML (<b>, <a href>) in labels."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def colours(labels: list[str]) -> dict[str, str]:
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def _layout(fig: go.Figure, *, title: str, height: int = 380, **kw) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        height=height, margin={"l": 8, "r": 8, "t": 40, "b": 8},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0, "xanchor": "left",
                "traceorder": "normal"},
        hovermode="closest", **kw)
    return fig


def _tick(plan: DeploymentPlan, cheapest: str | None) -> str:
    return plain(f"★ {plan.label}" if plan.label == cheapest else plan.label)


def _group(name: str) -> str:
    return next((group for prefix, group in LINE_GROUPS if name.startswith(prefix)), "Other")


def cost_breakdown(result: PlanResult) -> go.Figure:
    """Monthly cost of each deployment, stacked by cost line; missing prices annotated."""
    ticks = [_tick(p, result.cheapest_label) for p in result.deployments]
    groups: dict[str, list[float | None]] = {}
    hover: dict[str, list[str]] = {}
    order = [g for _, g in LINE_GROUPS] + ["Other"]
    for i, plan in enumerate(result.deployments):
        for line in plan.cost_lines:
            g = _group(line.name)
            groups.setdefault(g, [None] * len(ticks))
            hover.setdefault(g, [""] * len(ticks))
            groups[g][i] = (groups[g][i] or 0.0) + (line.monthly_usd or 0.0)
            hover[g][i] += (f"{line.name}: {usd(line.monthly_usd)}"
                            f"{' (price missing)' if line.monthly_usd is None else ''}<br>")
    fig = go.Figure()
    for g in sorted(groups, key=order.index):
        fig.add_bar(name=g, x=ticks, y=groups[g], marker_color=GROUP_COLOURS.get(g),
                    customdata=hover[g], hovertemplate="%{customdata}<extra></extra>")
    for tick, plan in zip(ticks, result.deployments, strict=True):
        note = None
        if not plan.fits:
            note = "does not fit"
        elif plan.monthly_cost_usd is None:
            note = "price missing"
        if note:
            fig.add_annotation(x=tick, y=plan.monthly_cost_known_usd or 0, text=note,
                               showarrow=False, yshift=12, font={"color": "#b45309"})
    return _layout(fig, title="Monthly cost by cost line (USD)", barmode="stack",
                   yaxis={"title": "USD per month", "tickformat": "$,.0f"})


def cost_vs_traffic(data: Sweep, summaries: list[PairSummary], current_rpd: float,
                    labels: list[str]) -> go.Figure:
    """Monthly cost of each deployment against requests/day (log-log), break-evens marked."""
    colour = colours(labels)
    fig = go.Figure()
    for label in labels:
        is_api = label in data.api_labels
        costs = data.costs[label]
        name = plain(label if any(c is not None for c in costs) else f"{label} (no price)")
        # straight lines between the computed traffic levels: a staircase drawn between grid
        # points would show a cost the planner never computed
        fig.add_scatter(
            x=data.requests_per_day, y=costs, name=name,
            mode="lines" if is_api else "lines+markers", marker={"size": 4},
            line={"color": colour[label], "dash": "dash" if is_api else "solid", "width": 2},
            hovertemplate="%{fullData.name}<br>%{x:,.0f} requests/day<br>%{y:$,.0f}/month"
                          "<extra></extra>")
    xs, ys, texts = [], [], []
    for summary in summaries:
        for c in summary.crossings:
            xs.append(c.requests_per_day)
            ys.append(c.monthly_usd)
            texts.append(f"{plain(c.self_hosted)} = {plain(c.api)}<br>"
                         f"≈ {compact(c.requests_per_day)} requests/day"
                         f"<br>{usd(c.monthly_usd)}/month")
    if xs:
        fig.add_scatter(x=xs, y=ys, mode="markers", name="break-even",
                        marker={"symbol": "x", "size": 11, "color": "#111827"},
                        customdata=texts, hovertemplate="%{customdata}<extra></extra>")
    fig.add_vline(x=current_rpd, line={"color": "#6b7280", "dash": "dot", "width": 1})
    fig.add_annotation(x=math.log10(max(current_rpd, 1.0)), y=1, yref="paper",  # log axis
                       text="today", showarrow=False,
                       xanchor="left", yanchor="top", font={"color": "#6b7280"})
    return _layout(fig, title="Monthly cost against traffic (API dashed; × = break-even)",
                   height=420,
                   xaxis={"type": "log", "title": "requests per day (log scale)"},
                   yaxis={"type": "log", "title": "USD per month (log scale)", "tickformat": "$,.3s"})


def nodes_over_time(result: PlanResult) -> go.Figure:
    """Nodes each self-hosted deployment needs in each of the next 12 months of growth."""
    labels = [p.label for p in result.deployments]
    colour = colours(labels)
    fig = go.Figure()
    for plan in result.deployments:
        if not plan.nodes_by_month:
            continue
        months = list(range(1, len(plan.nodes_by_month) + 1))
        fig.add_scatter(x=months, y=plan.nodes_by_month, name=plain(plan.label),
                        mode="lines+markers",
                        line={"color": colour[plan.label], "shape": "hv"},
                        hovertemplate="%{fullData.name}<br>month %{x}: %{y} nodes<extra></extra>")
    growth = result.scenario.workload.monthly_growth
    return _layout(fig, title=f"Nodes over the next 12 months (traffic {growth * 100:+.3g} %/month)",
                   xaxis={"title": "month (1 = this month)", "dtick": 1},
                   yaxis={"title": "nodes", "rangemode": "tozero"})


def energy_and_co2(result: PlanResult) -> go.Figure:
    """Facility energy (kWh/month) and emissions (kg CO2e/month) side by side."""
    plans = [p for p in result.deployments if p.energy_kwh_per_month is not None]
    labels = [p.label for p in result.deployments]
    colour = colours(labels)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("kWh per month", "kg CO2e per month"),
                        horizontal_spacing=0.12)
    x = [plain(p.label) for p in plans]
    fig.add_bar(x=x, y=[p.energy_kwh_per_month for p in plans], row=1, col=1,
                marker_color=[colour[p.label] for p in plans], showlegend=False,
                hovertemplate="%{x}: %{y:,.0f} kWh/month<extra></extra>")
    fig.add_bar(x=x, y=[p.co2_kg_per_month for p in plans], row=1, col=2,
                marker_color=[colour[p.label] for p in plans], showlegend=False,
                hovertemplate="%{x}: %{y:,.0f} kg CO2e/month<extra></extra>")
    fig = _layout(fig, title="Energy and CO2 of the provisioned hardware (facility, PUE included)",
                  height=380)
    fig.update_layout(margin={"t": 80})
    return fig


def memory_breakdown(plan: DeploymentPlan) -> go.Figure:
    """One GPU's memory: weights, KV cache at the chosen batch, overheads, free; limits marked."""
    mem = plan.memory
    if mem is None:
        raise ValueError(f"{plan.label} has no memory breakdown (does not fit or not self-hosted)")
    parts = [("Weights", mem.weights_gb, "#2563eb"),
             (f"KV cache (batch {plan.throughput.batch if plan.throughput else '?'})",
              mem.kv_cache_gb, "#f97316"),
             ("Runtime (activations, CUDA context)", mem.runtime_overhead_gb, "#9ca3af"),
             ("NCCL buffers (TP ≥ 2)", mem.comm_buffers_gb, "#6b7280"),
             ("Free", max(mem.free_gb, 0.0), "#e5e7eb")]
    fig = go.Figure()
    for name, value, colour in parts:
        if value <= 0:
            continue
        fig.add_bar(y=["per GPU"], x=[value], name=name, orientation="h", marker_color=colour,
                    hovertemplate=f"{name}: %{{x:.1f}} GB<extra></extra>")
    fig.add_vline(x=mem.usable_gb, line={"color": "#b91c1c", "dash": "dash"})
    fig.add_annotation(x=mem.usable_gb, y=1, yref="paper", text=f"usable {mem.usable_gb:.0f} GB",
                       showarrow=False, xanchor="right", yanchor="bottom",
                       font={"color": "#b91c1c"})
    fig = _layout(fig, title=f"Memory of one GPU: {mem.gpu_mem_gb:g} GB (10⁹ bytes)",
                  barmode="stack", height=250, xaxis={"range": [0, mem.gpu_mem_gb]},
                  yaxis={"showticklabels": False})
    fig.update_layout(legend={"y": -0.3})
    return fig


def batch_curve(curve: dict, plan: DeploymentPlan, tpot_slo_ms: float,
                ttft_slo_ms: float) -> go.Figure:
    """TPOT and TTFT of one replica against batch size, with the SLOs and the chosen batch."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=curve["batch"], y=curve["tpot_ms"], name="time per output token (ms)",
                    line={"color": "#2563eb"})
    fig.add_scatter(x=curve["batch"], y=curve["ttft_ms"], name="time to first token (ms)",
                    line={"color": "#9333ea", "dash": "dot"})
    fig.add_scatter(x=curve["batch"], y=curve["output_tokens_per_s"], name="output tokens/s",
                    line={"color": "#16a34a"}, secondary_y=True)
    fig.add_hline(y=tpot_slo_ms, line={"color": "#2563eb", "dash": "dash", "width": 1},
                  annotation_text=f"TPOT SLO {tpot_slo_ms:g} ms", annotation_position="top left")
    if ttft_slo_ms <= max(curve["ttft_ms"]) * 1.5:
        fig.add_hline(y=ttft_slo_ms, line={"color": "#9333ea", "dash": "dash", "width": 1},
                      annotation_text=f"TTFT SLO {ttft_slo_ms:g} ms",
                      annotation_position="bottom left")
    if plan.throughput:
        fig.add_vline(x=plan.throughput.batch, line={"color": "#111827", "width": 1})
        fig.add_annotation(x=plan.throughput.batch, y=1, yref="paper", showarrow=False,
                           text=f"chosen batch {plan.throughput.batch}", xanchor="right",
                           yanchor="top")
    fig.update_yaxes(title_text="ms", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text="output tokens/s", rangemode="tozero", secondary_y=True,
                     showgrid=False)
    return _layout(fig, title="One replica: latency and throughput against batch size",
                   xaxis={"title": "concurrent requests (batch)"})
