"""Plotly figures of a plan. Pure functions: a result in, a figure out (no streamlit).

Every figure uses one colour per deployment (in scenario order) so a deployment looks the same on
every chart, keeps its legend horizontal above the plot, and leaves little margin, so it reads in a
narrow window.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import plotly.graph_objects as go
import plotly.io as pio
from plotly.basedatatypes import BaseFigure
from plotly.subplots import make_subplots

from planner.api import (
    COST_KINDS,
    ENERGY_KINDS,
    CostKind,
    DeploymentPlan,
    EnergyKind,
    PlanResult,
    advise_where_text,
    difference,
    known_usd_by_kind,
)
from ui.breakeven import PairSummary, Sweep
from ui.format import compact, cur, tick_fmt, usd

if TYPE_CHECKING:
    import pandas as pd

    from planner.api import Sensitivity

PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2", "#dc2626", "#ca8a04",
           "#db2777", "#4f46e5", "#65a30d", "#0d9488", "#78716c"]
KIND_NAMES: dict[CostKind, str] = {
    "gpu_nodes": "GPU nodes", "hardware": "Hardware (amortised)",
    "support": "Support and maintenance", "hosting": "Colocation", "electricity": "Electricity",
    "staff": "Staff time",
    "cluster": "AKS management", "system_nodes": "AKS system nodes",
    "input_tokens": "Input tokens", "cached_input_tokens": "Cached input tokens",
    "output_tokens": "Output tokens", "provisioned_throughput": "Provisioned throughput (PTU)",
    "training": "Training",
}
KIND_COLOURS: dict[CostKind, str] = {
    "gpu_nodes": "#2563eb", "hardware": "#0891b2", "support": "#0e7490", "hosting": "#65a30d",
    "electricity": "#ca8a04", "staff": "#db2777",
    "cluster": "#9ca3af", "system_nodes": "#6b7280", "input_tokens": "#f97316",
    "cached_input_tokens": "#fdba74", "output_tokens": "#c2410c",
    "provisioned_throughput": "#9a3412", "training": "#7c3aed",
}


def plain(text: str) -> str:
    """User-typed text for Plotly, which reads a little HTML (<b>, <a href>) in labels."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def colours(labels: list[str]) -> dict[str, str]:
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def _layout_spec(*, title: str, height: int = 380, **kw) -> dict:
    """The layout every figure shares (title, height, margins, legend below), as a plain dict."""
    return {"title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
            "height": height, "margin": {"l": 8, "r": 8, "t": 40, "b": 8},
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0,
                       "xanchor": "left", "traceorder": "normal"},
            "hovermode": "closest", **kw}


def _layout(fig: go.Figure, *, title: str, height: int = 380, **kw) -> go.Figure:
    fig.update_layout(**_layout_spec(title=title, height=height, **kw))
    return fig


def _tick(plan: DeploymentPlan, cheapest: str | None) -> str:
    return plain(f"★ {plan.label}" if plan.label == cheapest else plan.label)


# ---------------------------------------------------------------- plain-dict figures
# Building a go.Figure validates every property (~20 ms for the cost breakdown, a fifth of the
# server's CPU for an edit). The charts drawn on every rerun are written as plain dicts in the
# shape plotly's own ``Figure.to_dict()`` gives (tests check that validating them changes
# nothing) and handed to Streamlit as a ``Prevalidated`` figure, which it serialises as is.


class Prevalidated(BaseFigure):
    """A figure spec already in validated form: Streamlit's ``st.plotly_chart`` takes any plotly
    ``BaseFigure`` as validated and asks it only for ``to_dict()``. The layout gets plotly's
    default template, as a ``go.Figure`` would."""

    def __init__(self, spec: dict):  # no BaseFigure.__init__: that is the validation skipped
        self._spec = spec

    def to_dict(self) -> dict:
        return {"data": self._spec["data"],
                "layout": {"template": _default_template(pio.templates.default),
                           **self._spec["layout"]}}


@functools.lru_cache(maxsize=4)
def _default_template(name: str | None) -> dict:
    """Plotly's default template (Streamlit's, once streamlit is imported) as a dict."""
    return go.Figure().to_dict()["layout"].get("template", {}) if name else {}


def cost_breakdown_spec(result: PlanResult) -> dict:
    """Monthly cost of each deployment, stacked by cost line; missing prices annotated
    (a plain-dict figure: ``{"data": [...], "layout": {...}}``)."""
    ticks = [_tick(p, result.cheapest_label) for p in result.deployments]
    groups: dict[CostKind, list[float | None]] = {}
    hover: dict[CostKind, list[str]] = {}
    for i, plan in enumerate(result.deployments):
        for g, amount in known_usd_by_kind(plan.cost_lines).items():
            groups.setdefault(g, [None] * len(ticks))[i] = amount
        for line in plan.cost_lines:
            hover.setdefault(line.kind, [""] * len(ticks))[i] += (
                f"{plain(line.name)}: {usd(line.amount_usd)}"
                f"{' (price missing)' if line.amount_usd is None else ''}<br>")
    data = [{"customdata": hover[g], "hovertemplate": "%{customdata}<extra></extra>",
             "marker": {"color": KIND_COLOURS[g]}, "name": KIND_NAMES[g], "x": list(ticks),
             "y": groups[g], "type": "bar"}
            for g in sorted(groups, key=COST_KINDS.index)]
    annotations = []
    for tick, plan in zip(ticks, result.deployments, strict=True):
        note = None
        if not plan.fits:
            note = "does not fit"
        elif plan.monthly_cost_usd is None:
            note = "price missing"
        if note:
            annotations.append({"font": {"color": "#b45309"}, "showarrow": False, "text": note,
                                "x": tick, "y": plan.monthly_cost_known_usd or 0, "yshift": 12})
    layout = _layout_spec(title=cur("Monthly cost by cost line (USD)"), barmode="stack",
                          yaxis={"title": {"text": cur("USD per month")}, **tick_fmt("$,.0f")})
    if annotations:
        layout["annotations"] = annotations
    return {"data": data, "layout": layout}


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
                   yaxis={"type": "log", "title": cur("USD per month (log scale)"),
                          **tick_fmt("$,.3s")})


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


def cost_over_year(result: PlanResult, by_month: dict[str, list[float] | None]) -> go.Figure:
    """Each option's serving cost in each of the next 12 months (``by_month``: label -> USD per
    month, from the engine's projection; None = unknown, left out and named in the title)."""
    labels = [p.label for p in result.deployments]
    colour = colours(labels)
    fig = go.Figure()
    unknown = []
    for label in labels:
        months = by_month.get(label)
        if months is None:
            unknown.append(plain(label))
            continue
        fig.add_scatter(x=list(range(1, len(months) + 1)), y=months, name=plain(label),
                        mode="lines+markers", line={"color": colour[label], "shape": "hv"},
                        hovertemplate="%{fullData.name}<br>month %{x}: $%{y:,.0f}<extra></extra>")
    title = "Cost in each of the next 12 months (USD)"
    if unknown:
        title += f" — not shown (cost unknown): {', '.join(unknown)}"
    return _layout(fig, title=title, xaxis={"title": "month (1 = this month)", "dtick": 1},
                   yaxis={"title": "USD per month", "rangemode": "tozero", "tickprefix": "$",
                          "tickformat": ",.0f"})


ENERGY_NAMES: dict[EnergyKind, str] = {
    "gpu_busy": "GPUs serving", "gpu_idle": "GPUs idle", "host": "Host (CPU, memory, fans)",
    "facility_overhead": "Facility overhead (PUE)", "embodied": "Embodied (hardware)",
}
ENERGY_COLOURS: dict[EnergyKind, str] = {
    "gpu_busy": "#2563eb", "gpu_idle": "#93c5fd", "host": "#0891b2",
    "facility_overhead": "#ca8a04", "embodied": "#78716c",
}


def energy_and_co2(result: PlanResult) -> go.Figure:
    """Facility energy (kWh/month) and emissions (kg CO2e/month) side by side, stacked by line
    (GPUs serving, GPUs idle, host, facility overhead; embodied on the CO2 side), with the range
    (bursty to spread-out traffic, across the throughput interval) as a bar on each total."""
    plans = [p for p in result.deployments if p.energy is not None]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("kWh per month", "kg CO2e per month"),
                        horizontal_spacing=0.12)
    x = [plain(p.label) for p in plans]
    for kind in ENERGY_KINDS:
        name = ENERGY_NAMES[kind]
        lines = [next(line for line in p.energy.lines if line.kind == kind) for p in plans]
        if kind != "embodied":
            fig.add_bar(x=x, y=[line.kwh_per_month for line in lines], row=1, col=1, name=name,
                        legendgroup=kind, marker_color=ENERGY_COLOURS[kind],
                        hovertemplate=f"%{{x}}: %{{y:,.0f}} kWh/month ({name})<extra></extra>")
        fig.add_bar(x=x, y=[line.co2_kg_per_month for line in lines], row=1, col=2, name=name,
                    legendgroup=kind, showlegend=kind == "embodied",
                    marker_color=ENERGY_COLOURS[kind],
                    hovertemplate=f"%{{x}}: %{{y:,.0f}} kg CO2e/month ({name})<extra></extra>")
    for col, total, low, high, unit in (
            (1, "kwh_per_month", "kwh_low", "kwh_high", "kWh"),
            (2, "co2_kg_per_month", "co2_kg_low", "co2_kg_high", "kg CO2e")):
        shown = [p for p in plans if getattr(p.energy, total) is not None]
        fig.add_scatter(
            x=[plain(p.label) for p in shown], y=[getattr(p.energy, total) for p in shown],
            mode="markers", marker={"color": "#111827", "size": 7, "symbol": "line-ew-open"},
            name="range", legendgroup="range", showlegend=col == 1, row=1, col=col,
            error_y={"type": "data", "symmetric": False,
                     "array": [getattr(p.energy, high) - getattr(p.energy, total) for p in shown],
                     "arrayminus": [getattr(p.energy, total) - getattr(p.energy, low)
                                    for p in shown]},
            customdata=[[getattr(p.energy, low), getattr(p.energy, high)] for p in shown],
            hovertemplate=(f"%{{x}}: %{{y:,.0f}} {unit}/month, range %{{customdata[0]:,.0f}}"
                           f"-%{{customdata[1]:,.0f}}<extra></extra>"))
    fig.update_layout(barmode="stack")
    fig = _layout(fig, title="Energy and CO2 of the provisioned hardware by line (range: traffic "
                             "pattern and throughput interval)", height=420)
    fig.update_layout(margin={"t": 90})
    return fig


def memory_breakdown_spec(plan: DeploymentPlan) -> dict:
    """One GPU's memory: weights, KV cache at the chosen batch, overheads, free; limits marked
    (a plain-dict figure)."""
    mem = plan.memory
    if mem is None:
        raise ValueError(f"{plan.label} has no memory breakdown (does not fit or not self-hosted)")
    parts = [("Weights", mem.weights_gb, "#2563eb"),
             (f"KV cache (batch {plan.throughput.batch if plan.throughput else '?'})",
              mem.kv_cache_gb, "#f97316"),
             ("Runtime (activations, CUDA context)", mem.runtime_overhead_gb, "#9ca3af"),
             ("NCCL buffers (tensor parallel 2 or more)", mem.comm_buffers_gb, "#6b7280"),
             ("Free", max(mem.free_gb, 0.0), "#e5e7eb")]
    data = [{"hovertemplate": f"{name}: %{{x:.1f}} GB<extra></extra>",
             "marker": {"color": colour}, "name": name, "orientation": "h", "x": [value],
             "y": ["per GPU"], "type": "bar"}
            for name, value, colour in parts if value > 0]
    layout = _layout_spec(title=f"Memory of one GPU: {mem.gpu_mem_gb:g} GB (10⁹ bytes)",
                          barmode="stack", height=250, xaxis={"range": [0, mem.gpu_mem_gb]},
                          yaxis={"showticklabels": False})
    layout["legend"]["y"] = -0.3
    layout["shapes"] = [{"line": {"color": "#b91c1c", "dash": "dash"}, "type": "line",
                         "x0": mem.usable_gb, "x1": mem.usable_gb, "xref": "x",
                         "y0": 0, "y1": 1, "yref": "y domain"}]
    layout["annotations"] = [{"font": {"color": "#b91c1c"}, "showarrow": False,
                              "text": f"usable {mem.usable_gb:.0f} GB", "x": mem.usable_gb,
                              "xanchor": "right", "y": 1, "yanchor": "bottom", "yref": "paper"}]
    return {"data": data, "layout": layout}


def _slo_line(y: float, colour: str, text: str, top: bool) -> tuple[dict, dict]:
    """A dashed horizontal target line across the plot and its label at the left end (above the
    line when ``top``, below it otherwise)."""
    shape = {"line": {"color": colour, "dash": "dash", "width": 1}, "type": "line",
             "x0": 0, "x1": 1, "xref": "x domain", "y0": y, "y1": y, "yref": "y"}
    label = {"showarrow": False, "text": text, "x": 0, "xanchor": "left", "xref": "x domain",
             "y": y, "yanchor": "bottom" if top else "top", "yref": "y"}
    return shape, label


def batch_curve_spec(curve: dict, plan: DeploymentPlan, tpot_slo_ms: float,
                     ttft_slo_ms: float) -> dict:
    """TPOT and TTFT of one replica against batch size (ms, left axis) and its output tokens/s
    (right axis), with the SLOs and the chosen batch (a plain-dict figure)."""
    data = [
        {"line": {"color": "#2563eb"}, "name": "time per output token (ms)",
         "x": list(curve["batch"]), "y": list(curve["tpot_ms"]), "type": "scatter"},
        {"line": {"color": "#9333ea", "dash": "dot"}, "name": "time to first token (ms)",
         "x": list(curve["batch"]), "y": list(curve["ttft_ms"]), "type": "scatter"},
        {"line": {"color": "#16a34a"}, "name": "output tokens/s", "x": list(curve["batch"]),
         "y": list(curve["output_tokens_per_s"]), "type": "scatter", "xaxis": "x",
         "yaxis": "y2"},
    ]
    lines = [_slo_line(tpot_slo_ms, "#2563eb",
                       f"time per output token target {tpot_slo_ms:g} ms", top=True)]
    if ttft_slo_ms <= max(curve["ttft_ms"]) * 1.5:
        lines.append(_slo_line(ttft_slo_ms, "#9333ea",
                               f"time to first token target {ttft_slo_ms:g} ms", top=False))
    shapes = [shape for shape, _ in lines]
    annotations = [label for _, label in lines]
    if plan.throughput:
        batch = plan.throughput.batch
        shapes.append({"line": {"color": "#111827", "width": 1}, "type": "line",
                       "x0": batch, "x1": batch, "xref": "x", "y0": 0, "y1": 1,
                       "yref": "y domain"})
        annotations.append({"showarrow": False, "text": f"chosen batch {batch}", "x": batch,
                            "xanchor": "right", "y": 1, "yanchor": "top", "yref": "paper"})
    layout = _layout_spec(
        title="One replica: latency and throughput against batch size",
        xaxis={"anchor": "y", "domain": [0.0, 0.94],
               "title": {"text": "concurrent requests (batch)"}},
        yaxis={"anchor": "x", "domain": [0.0, 1.0], "title": {"text": "ms"},
               "rangemode": "tozero"},
        yaxis2={"anchor": "x", "overlaying": "y", "side": "right",
                "title": {"text": "output tokens/s"}, "rangemode": "tozero", "showgrid": False},
        shapes=shapes, annotations=annotations)
    return {"data": data, "layout": layout}


# ---------------------------------------------------------------- Advisor


def _option_text(row: dict) -> str:
    """Hover text of one advisor option."""
    where = advise_where_text(row)
    precision = f" {row['precision']}" if isinstance(row.get("precision"), str) else ""
    parts = [f"<b>{plain(str(row['model']))}</b>{precision} · {plain(where)}",
             f"{usd(row['monthly_cost_usd'])}/month"]
    if _known(row.get("tpot_ms")):
        parts.append(f"time per output token {row['tpot_ms']:,.0f} ms · "
                     f"time to first token {row['ttft_ms']:,.0f} ms")
    if _known(row.get("mmlu_5shot")):
        parts.append(f"MMLU {row['mmlu_5shot']:g}")
    return "<br>".join(parts)


def _known(value: object) -> bool:
    return isinstance(value, int | float) and not math.isnan(value)


PLOT_W_PX, PLOT_H_PX = 360, 290  # plot area assumed for label placement (the narrowest likely)
CHAR_W_PX, LINE_H_PX = 6.6, 14


def _label_offsets(points: list[tuple[float, float, str]], prefer_up: bool,
                   obstacles: list[tuple[float, float]] = ()) -> list[tuple[float, float] | None]:
    """Pixel offsets (ax, ay) for labels of points given in plot fractions (0-1, y up), so no two
    labels overlap each other, a labelled point, an ``obstacle`` (other markers, same units) or
    the plot's edge; None = no room (hover only).

    Labels go first to the left of a point and above it (``prefer_up``) or below it: the
    side of a Pareto frontier where no option lies."""
    placed: list[tuple[float, float, float, float]] = []
    dots = [(fx * PLOT_W_PX, (1 - fy) * PLOT_H_PX) for fx, fy, _ in points]
    dots += [(fx * PLOT_W_PX, (1 - fy) * PLOT_H_PX) for fx, fy in obstacles]
    out: list[tuple[float, float] | None] = []
    for (px, py), (_, _, text) in zip(dots[:len(points)], points, strict=True):
        w, h = len(text) * CHAR_W_PX + 4, LINE_H_PX
        vertical = [-16, -32, -48, 16, 32] if prefer_up else [16, 32, 48, -16, -32]
        candidates = [(dx, dy) for dy in vertical for dx in (-w / 2 - 4, w / 2 + 4, 0)]
        chosen = None
        for dx, dy in candidates:
            cx, cy = px + dx, py + dy
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if box[0] < 0 or box[2] > PLOT_W_PX or box[1] < 0 or box[3] > PLOT_H_PX:
                continue
            if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                   for b in placed):
                continue
            if any(box[0] - 5 < x < box[2] + 5 and box[1] - 5 < y < box[3] + 5 for x, y in dots):
                continue
            chosen = (dx, dy)
            placed.append(box)
            break
        out.append(chosen)
    return out


def _log_ticks(low: float, high: float, most: int = 7) -> list[float]:
    """1-2-5 ticks between ``low`` and ``high``, thinned to 1-3 or powers of ten if too many
    (plotly's own log ticks run into each other in a half-width chart)."""
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    ticks: list[float] = []
    for steps in ((1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10.0 ** k for k in decades for m in steps if low <= m * 10.0 ** k <= high]
        if len(ticks) <= most:
            break
    return ticks


def pareto_spec(ranked: pd.DataFrame, *, y: str, flag: str, title: str, y_title: str,
                y_unit: str, mine: list[dict] | None = None, slo: float | None = None,
                lower_is_better: bool = False) -> dict:
    """Monthly cost (log x) against a second objective for every ranked option, the Pareto
    frontier (the engine's ``flag`` column) drawn as a labelled line, the cheapest option starred,
    and ``mine`` (the scenario's deployments: label, monthly_cost_usd, y) as diamonds (a
    plain-dict figure; validating thousands of points cost ~0.1 s per chart).

    Of options with the same model and the same ``y`` only the cheapest is drawn (the others are
    the same option at a higher price), which keeps a chart of thousands of options light."""
    rows = ranked[ranked[y].notna()]
    points = [m for m in (mine or []) if m.get("monthly_cost_usd") and _known(m.get("y"))]
    data: list[dict] = []
    annotations: list[dict] = []
    xs = list(rows["monthly_cost_usd"]) + [m["monthly_cost_usd"] for m in points]
    ys = list(rows[y]) + [m["y"] for m in points] + ([slo] if slo is not None else [])
    if not xs:
        return {"data": data, "layout": _layout_spec(title=title, height=420)}
    x_lo, x_hi = math.log10(min(xs)) - 0.12, math.log10(max(xs)) + 0.12
    y_lo = 0.0 if lower_is_better else max(0.0, min(ys) - 6)
    y_hi = max(ys) * 1.12 if lower_is_better else min(100.0, max(ys) + 6)

    def scatter(x: list, y_values: list, **kw) -> dict:
        return {**kw, "x": x, "y": y_values, "type": "scatter"}

    if not rows.empty:
        thin = rows.assign(_y=rows[y].round(3)).drop_duplicates(subset=["model", "_y"])
        others = thin[~thin[flag]]
        data.append(scatter(
            others["monthly_cost_usd"].tolist(), others[y].tolist(), mode="markers",
            name="other options", marker={"size": 5, "color": "#cbd5e1", "line": {"width": 0}},
            customdata=[_option_text(r) for r in others.to_dict("records")],
            hovertemplate="%{customdata}<extra></extra>"))
        front = rows[rows[flag]].sort_values("monthly_cost_usd")
        data.append(scatter(
            front["monthly_cost_usd"].tolist(), front[y].tolist(), mode="lines+markers",
            name="Pareto frontier", line={"color": "#2563eb", "width": 2, "shape": "hv"},
            marker={"size": 8, "color": "#2563eb"},
            customdata=[_option_text(r) for r in front.to_dict("records")],
            hovertemplate="<b>on the frontier</b><br>%{customdata}<extra></extra>"))
        labels, previous = [], None
        for model, cost, value in zip(front["model"], front["monthly_cost_usd"], front[y],
                                      strict=True):
            if model != previous:  # a run of one model along the frontier is labelled once
                labels.append(((math.log10(cost) - x_lo) / (x_hi - x_lo),
                               (value - y_lo) / (y_hi - y_lo), str(model), cost, value))
            previous = model
        def frac(cost: float, value: float) -> tuple[float, float]:
            return ((math.log10(cost) - x_lo) / (x_hi - x_lo), (value - y_lo) / (y_hi - y_lo))

        markers = [frac(c, v) for c, v in zip(front["monthly_cost_usd"], front[y], strict=True)]
        markers += [frac(m["monthly_cost_usd"], m["y"]) for m in points]
        markers.append(frac(rows.iloc[0]["monthly_cost_usd"], rows.iloc[0][y]))
        offsets = _label_offsets([(fx, fy, text) for fx, fy, text, _, _ in labels],
                                 prefer_up=not lower_is_better, obstacles=markers)
        annotations += [
            {"x": math.log10(cost), "y": value, "text": plain(text), "ax": offset[0],
             "ay": offset[1], "showarrow": True, "arrowwidth": 1, "arrowhead": 0,
             "arrowcolor": "#93c5fd", "font": {"size": 11, "color": "#1e3a8a"},
             "bgcolor": "rgba(255,255,255,0.75)"}
            for (_, _, text, cost, value), offset in zip(labels, offsets, strict=True)
            if offset is not None]
        best = rows.iloc[0]
        data.append(scatter(
            [float(best["monthly_cost_usd"])], [float(best[y])], mode="markers", name="cheapest",
            marker={"symbol": "star", "size": 16, "color": "#16a34a",
                    "line": {"color": "#14532d", "width": 1}},
            customdata=[_option_text(best.to_dict())],
            hovertemplate="<b>cheapest</b><br>%{customdata}<extra></extra>"))
    if points:
        data.append(scatter(
            [m["monthly_cost_usd"] for m in points], [m["y"] for m in points], mode="markers",
            name="your options", marker={"symbol": "diamond", "size": 11, "color": "#ea580c",
                                         "line": {"color": "#7c2d12", "width": 1}},
            customdata=[f"<b>{plain(m['label'])}</b> (in your comparison)<br>"
                        f"{usd(m['monthly_cost_usd'])}/month · {m['y']:,.3g} {y_unit}"
                        for m in points],
            hovertemplate="%{customdata}<extra></extra>"))
    layout = _layout_spec(title=title, height=420,
                          xaxis={"type": "log",
                                 "title": {"text": cur("USD per month (log scale)")},
                                 **tick_fmt("$~s"), "range": [x_lo, x_hi],
                                 "tickvals": _log_ticks(10 ** x_lo, 10 ** x_hi)},
                          yaxis={"title": {"text": y_title}, "range": [y_lo, y_hi]})
    layout["legend"] = {**layout["legend"], "y": -0.2}
    if slo is not None:  # what plotly's add_hline makes: a line across the plot, its label
        layout["shapes"] = [{"line": {"color": "#6b7280", "dash": "dot", "width": 1},
                             "type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": slo,
                             "y1": slo, "yref": "y"}]
        annotations.append({"font": {"color": "#6b7280", "size": 11}, "showarrow": False,
                            "text": f"SLO {slo:,.0f} {y_unit}", "x": 1, "xanchor": "right",
                            "xref": "x domain", "y": slo, "yanchor": "bottom", "yref": "y"})
    if annotations:
        layout["annotations"] = annotations
    return {"data": data, "layout": layout}


def pareto_cost_quality_spec(ranked: pd.DataFrame, mine: list[dict] | None = None) -> dict:
    """Monthly cost against MMLU (higher is better), a plain-dict figure."""
    return pareto_spec(ranked, y="mmlu_5shot", flag="pareto_cost_quality",
                       title="Cost vs quality: the cheapest way to each MMLU score",
                       y_title="MMLU 5-shot (%)", y_unit="MMLU", mine=mine)


def pareto_cost_latency_spec(ranked: pd.DataFrame, mine: list[dict] | None = None,
                             tpot_slo_ms: float | None = None) -> dict:
    """Monthly cost against time per output token (lower is better), a plain-dict figure."""
    return pareto_spec(ranked, y="tpot_ms", flag="pareto_cost_latency",
                       title="Cost vs latency: the cheapest way to each time per output token",
                       y_title="time per output token (ms)", y_unit="ms", mine=mine,
                       slo=tpot_slo_ms, lower_is_better=True)


def tornado(rows: list[Sensitivity], label: str) -> go.Figure:
    """Monthly cost of one deployment when each input moves to a low and a high value (the others
    held): horizontal bars from today's cost, largest swing on top, each end labelled with its
    setting and cost. ``rows`` are :class:`planner.analyses.whatif.Sensitivity`, sorted by swing."""
    base = next((r.base_cost_usd for r in rows if r.base_cost_usd is not None), None)
    if base is None:
        raise ValueError(f"{label} has no usable cost to vary")
    names = [plain(r.input) for r in rows]
    costs = [c for r in rows for c in (r.cost_low_usd, r.cost_high_usd) if c is not None]
    lo, hi = min([base, *costs]), max([base, *costs])
    pad = 0.45 * max(hi - lo, 0.1 * base)  # room for the end labels beside the bars
    fig = go.Figure()
    for side, colour, attr, setting in (("low setting", "#2563eb", "cost_low_usd", "low_label"),
                                        ("high setting", "#ea580c", "cost_high_usd",
                                         "high_label")):
        xs, hover = [], []
        for r in rows:
            cost = getattr(r, attr)
            delta = difference(cost, base)
            xs.append(delta)
            hover.append(f"{plain(r.input)} {plain(getattr(r, setting))}: "
                         + ("does not fit / misses the SLOs / unpriced" if cost is None
                            else f"{usd(cost)}/month ({usd(delta)} vs today)"))
        fig.add_bar(y=names, x=xs, base=base, orientation="h", name=side, marker_color=colour,
                    customdata=hover, hovertemplate="%{customdata}<extra></extra>")
    grey, dark = {"size": 11, "color": "#9ca3af"}, {"size": 11, "color": "#374151"}
    pad_lo = min(pad, lo)
    notes: list[dict] = [{"x": base, "y": 1, "yref": "paper", "yanchor": "bottom",
                          "showarrow": False, "text": f"today {usd(base)}/month",
                          "font": {"color": "#111827"}}]
    for name, r in zip(names, rows, strict=True):
        ends = [(getattr(r, setting), getattr(r, attr))
                for setting, attr in (("low_label", "cost_low_usd"), ("high_label", "cost_high_usd"))]
        moved = [(s, c) for s, c in ends if c is not None and abs(c - base) > 0.005 * base]
        unknown = ", ".join(plain(s) for s, c in ends if c is None)
        for s, c in moved:  # each end of a bar: its setting and cost, inside a long bar
            inside = abs(c - base) > 0.35 * (hi - lo + pad + pad_lo)
            left = (c < base) != inside
            notes.append({"x": c, "y": name, "text": f"{plain(s)}: {usd(c)}", "showarrow": False,
                          "xanchor": "right" if left else "left", "xshift": -3 if left else 3,
                          "font": {"size": 11, "color": "#ffffff"} if inside else dark})
        if not moved:
            text = "no change" + (f" ({unknown}: n/a)" if unknown else "")
            notes.append({"x": base, "y": name, "text": text, "showarrow": False,
                          "xanchor": "left", "xshift": 6, "font": grey})
        elif unknown:  # on the side of today's line the known bar leaves free
            right = moved[0][1] < base
            notes.append({"x": base, "y": name, "text": f"{unknown}: n/a", "showarrow": False,
                          "xanchor": "left" if right else "right", "xshift": 6 if right else -6,
                          "font": grey})
    fig.add_vline(x=base, line={"color": "#111827", "width": 1})
    fig.update_layout(annotations=notes)  # at once: add_annotation validates the figure each time
    fig = _layout(fig, title=f"What moves the monthly cost of {plain(label)}", barmode="overlay",
                  height=max(260, 90 + 40 * len(rows)),
                  xaxis={**tick_fmt("$,.0f"), "range": [lo - pad_lo, hi + pad]},
                  yaxis={"autorange": "reversed", "automargin": True})
    fig.update_layout(margin={"t": 60}, legend={"y": -0.12})
    return fig
