"""The scenario editor (sidebar): presets, workload, and the deployments to compare.

Every widget is keyed ``w.<field>`` or ``w.<deployment id>.<field>`` and seeded from the draft the
first time it renders (or after a preset/link load). A widget's value goes back into the draft only
when the person changed it, so a scenario opened from a link is reproduced exactly — a percent
widget shows 10 for a growth of 0.1 without the draft ever becoming 0.10000000000000002.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from planner.catalog import PRECISIONS, PRICING_PLANS, Catalog
from planner.scenario import MAX_DEPLOYMENTS, gpu_runs_precision
from ui import draft as drafts
from ui import state
from ui.format import PLAN_NAMES, TARGET_KINDS, escape_md
from ui.presets import PRESETS, preset

ENGINES = ("vllm", "tensorrt-llm", "llama.cpp")
ENGINE_NAMES = {"vllm": "vLLM", "tensorrt-llm": "TensorRT-LLM", "llama.cpp": "llama.cpp"}
TP_CHOICES: tuple[int | None, ...] = (None, 1, 2, 4, 8)
_UNSET = "\x00unset"
PRESET_KEY = "preset_choice"


# ---------------------------------------------------------------- binding


def _bind(key: str, current: Any, render: Callable[[str], Any], *,
          options: Sequence[Any] | None = None, prefer: Sequence[Any] = (),
          to_widget: Callable[[Any], Any] | None = None,
          from_widget: Callable[[Any], Any] | None = None) -> Any:
    """Render a widget bound to a draft value; return the (possibly changed) draft value.

    ``options``: if the seeded value is not among them (e.g. a region the newly chosen SKU is not
    sold in), the first of ``prefer`` that is, else the first option, is selected instead.
    """
    ss = st.session_state
    wkey = state.WIDGET_PREFIX + key
    skey = state.SEED_PREFIX + wkey
    to_w = to_widget or (lambda v: v)
    from_w = from_widget or (lambda v: v)
    if wkey not in ss:
        ss[wkey] = to_w(current)
        ss[skey] = ss[wkey]
    if options is not None and ss[wkey] not in options:
        ss[wkey] = next((p for p in prefer if p in options), options[0])
        ss[skey] = _UNSET
    render(wkey)
    value = ss[wkey]
    if ss.get(skey, _UNSET) != value:
        ss[skey] = value
        return from_w(value)
    return current


def _percent_to_fraction(value: float | None) -> float | None:
    return None if value is None else value / 100


def _fraction_to_percent(value: float | None) -> float | None:
    return None if value is None else value * 100


# ---------------------------------------------------------------- callbacks


def _load_preset() -> None:
    name = st.session_state.get(PRESET_KEY)
    if name:
        state.load_scenario(preset(name))
        st.session_state[state.LINK_MESSAGES] = []
    st.session_state[PRESET_KEY] = None


def _add() -> None:
    draft = state.draft()
    if len(draft["deployments"]) < MAX_DEPLOYMENTS:
        drafts.new_deployment(draft)


def _duplicate(dep_id: int) -> None:
    draft = state.draft()
    if len(draft["deployments"]) < MAX_DEPLOYMENTS:
        drafts.duplicate_deployment(draft, dep_id)


def _remove(dep_id: int) -> None:
    drafts.remove_deployment(state.draft(), dep_id)


# ---------------------------------------------------------------- sections


def render(catalog: Catalog) -> None:
    """The whole editor; commits a valid draft as the session's scenario."""
    draft = state.draft()
    st.header("Scenario", anchor=False)
    st.selectbox("Start from a preset", list(PRESETS), index=None, key=PRESET_KEY,
                 placeholder="Choose a preset…", on_change=_load_preset,
                 help="Replaces the scenario below with a ready-made one.")
    draft["name"] = _bind("name", draft["name"], lambda k: st.text_input(
        "Scenario name", key=k, max_chars=100))
    with st.expander("Workload", expanded=True, icon=":material/trending_up:"):
        _workload(draft["workload"])
    count = len(draft["deployments"])
    st.subheader(f"Options to compare ({count} of {MAX_DEPLOYMENTS})", anchor=False)
    for dep in draft["deployments"]:
        _deployment(dep, catalog, can_remove=count > 1, can_add=count < MAX_DEPLOYMENTS)
    st.button("Add an option", key="add_deployment", icon=":material/add:", on_click=_add,
              disabled=count >= MAX_DEPLOYMENTS, width="stretch",
              help=f"Up to {MAX_DEPLOYMENTS} options." if count < MAX_DEPLOYMENTS
              else f"{MAX_DEPLOYMENTS} is the most a scenario compares.")
    state.commit_draft(catalog)
    error = st.session_state.get(state.EDITOR_ERROR)
    if error:
        st.error(escape_md(error), icon="✏️")


def _workload(w: dict[str, Any]) -> None:
    # bounds mirror Workload's, so no valid scenario (e.g. from a link) is out of a widget's range
    w["requests_per_day"] = _bind("rpd", w["requests_per_day"], lambda k: st.number_input(
        "Requests per day", min_value=0.0, max_value=1e10, step=10_000.0, format="%.0f", key=k,
        help="Average daily traffic today."), to_widget=float)
    w["input_tokens"] = _bind("in", w["input_tokens"], lambda k: st.number_input(
        "Input tokens per request", min_value=1, max_value=1_000_000, step=100, key=k,
        help="Prompt, including system prompt and retrieved context."))
    w["output_tokens"] = _bind("out", w["output_tokens"], lambda k: st.number_input(
        "Output tokens per request", min_value=1, max_value=100_000, step=50, key=k))
    w["peak_to_average"] = _bind("peak", w["peak_to_average"], lambda k: st.number_input(
        "Peak ÷ average traffic", min_value=1.0, max_value=100.0, step=0.5, format="%.2f", key=k,
        help="How much busier the busiest hour is than the daily average."), to_widget=float)
    w["ttft_slo_ms"] = _bind("ttft", w["ttft_slo_ms"], lambda k: st.number_input(
        "Time to first token SLO (ms)", min_value=0.0, max_value=600_000.0, step=100.0,
        format="%.0f", key=k), to_widget=float)
    w["tpot_slo_ms"] = _bind("tpot", w["tpot_slo_ms"], lambda k: st.number_input(
        "Time per output token SLO (ms)", min_value=0.0, max_value=60_000.0, step=5.0,
        format="%.0f", key=k, help="100 ms ≈ 10 tokens/s per user, faster than most people read."),
        to_widget=float)
    w["min_replicas"] = _bind("minr", w["min_replicas"], lambda k: st.number_input(
        "Minimum replicas", min_value=1, max_value=1000, step=1, key=k,
        help="Kept running whatever the traffic, e.g. 2 for redundancy."))
    w["monthly_growth"] = _bind("growth", w["monthly_growth"], lambda k: st.number_input(
        "Traffic growth per month (%)", min_value=-90.0, max_value=500.0, step=5.0,
        format="%.1f", key=k), to_widget=_fraction_to_percent, from_widget=_percent_to_fraction)
    w["target_utilization"] = _bind("util", w["target_utilization"], lambda k: st.number_input(
        "Target utilisation at peak (%)", min_value=0.0, max_value=100.0, step=5.0,
        format="%.0f", key=k, help="Headroom: replicas run at most this busy at peak."),
        to_widget=_fraction_to_percent, from_widget=_percent_to_fraction)


def _live(dep_id: int, field: str, fallback: Any) -> Any:
    """A deployment widget's current value (it may be newer than the draft), else the draft's."""
    return st.session_state.get(f"{state.WIDGET_PREFIX}{dep_id}.{field}", fallback)


def _live_summary(dep: dict[str, Any]) -> str:
    i = dep["id"]
    kind = _live(i, "kind", dep["kind"])
    model = _live(i, "model", dep["model"])
    if kind == "azure":
        return f"{model} on {_live(i, 'sku', dep['azure']['vm_sku']).removeprefix('Standard_')}"
    if kind == "local":
        return f"{model} on {_live(i, 'hardware', dep['local']['hardware'])}"
    return f"{_live(i, 'api_model', dep['api_model'])} API"


def _gpu_of(dep: dict[str, Any], catalog: Catalog) -> Any:
    if dep["kind"] == "azure":
        sku = catalog.skus.get(dep["azure"]["vm_sku"])
        return catalog.gpus.get(sku.gpu_id) if sku else None
    hw = catalog.local_hardware.get(dep["local"]["hardware"])
    return catalog.gpus.get(hw.gpu_id) if hw else None


def _has_advanced(dep: dict[str, Any]) -> bool:
    if dep["kv_cache_dtype"] != "fp16" or dep["tp"] is not None or dep["context_tokens"]:
        return True
    if dep["kind"] == "azure":
        return dep["azure"]["cluster_tier"] != "standard" or dep["azure"]["system_nodes"] != 1
    if dep["kind"] == "local":
        return any(dep["local"][f] is not None
                   for f in ("pue", "electricity_usd_per_kwh", "purchase_usd_per_machine"))
    return False


def _deployment(dep: dict[str, Any], catalog: Catalog, *, can_remove: bool,
                can_add: bool) -> None:
    i = dep["id"]
    ss = st.session_state
    # the title changes with the option; Streamlit then sees a new expander, so whether it is
    # open is remembered here (open.<id>) rather than left to the widget
    title = f"**{escape_md(_live(i, 'label', dep['label']))}** · {escape_md(_live_summary(dep))}"
    with st.expander(title, key=f"exp.{i}", icon=":material/dns:", on_change="rerun",
                     expanded=bool(ss.get(f"open.{i}", False))) as box:
        ss[f"open.{i}"] = bool(box.open)
        if not box.open:  # widgets of a closed option are not drawn: a lighter page
            return
        dep["label"] = _bind(f"{i}.label", dep["label"], lambda k: st.text_input(
            "Label", key=k, max_chars=60))
        dep["kind"] = _bind(f"{i}.kind", dep["kind"], lambda k: st.radio(
            "Runs on", list(TARGET_KINDS), format_func=TARGET_KINDS.__getitem__, key=k,
            horizontal=True))
        if dep["kind"] == "api":
            api_ids = list(catalog.api_models)
            dep["api_model"] = _bind(f"{i}.api_model", dep["api_model"], lambda k: st.selectbox(
                "Hosted model", api_ids, key=k,
                format_func=lambda m: f"{catalog.api_models[m].name} — {catalog.api_models[m].provider}"),
                options=api_ids, prefer=(drafts.DEFAULT_API_MODEL,))
        else:
            _self_hosted(dep, catalog)
        more_key = f"more.{i}"
        if more_key not in st.session_state:
            st.session_state[more_key] = _has_advanced(dep)
        if dep["kind"] != "api" and st.toggle("More settings", key=more_key):
            _advanced(dep, catalog)
        with st.container(horizontal=True):
            st.button("Duplicate", key=f"dup.{i}", icon=":material/content_copy:",
                      on_click=_duplicate, args=(i,), disabled=not can_add)
            st.button("Remove", key=f"rm.{i}", icon=":material/delete:", on_click=_remove,
                      args=(i,), disabled=not can_remove)


def _model_label(catalog: Catalog, model_id: str) -> str:
    m = catalog.models[model_id]
    size = f"{m.params_b:.3g}B" if m.experts == 1 else f"{m.params_b:.3g}B MoE"
    return f"{model_id} ({size})"


def _sku_label(catalog: Catalog, sku_id: str) -> str:
    sku = catalog.skus[sku_id]
    gpu = catalog.gpus[sku.gpu_id]
    retired = " — retired" if sku.retired else ""
    return f"{sku_id.removeprefix('Standard_')} · {sku.gpu_count}× {gpu.mem_gb:g} GB {gpu.id}{retired}"


def _self_hosted(dep: dict[str, Any], catalog: Catalog) -> None:
    i = dep["id"]
    model_ids = list(catalog.models)
    dep["model"] = _bind(f"{i}.model", dep["model"], lambda k: st.selectbox(
        "Model", model_ids, key=k, format_func=lambda m: _model_label(catalog, m)),
        options=model_ids, prefer=(drafts.DEFAULT_MODEL,))
    if dep["kind"] == "azure":
        az = dep["azure"]
        sku_ids = list(catalog.skus)
        az["vm_sku"] = _bind(f"{i}.sku", az["vm_sku"], lambda k: st.selectbox(
            "Azure VM size (node)", sku_ids, key=k, format_func=lambda s: _sku_label(catalog, s)),
            options=sku_ids, prefer=(drafts.DEFAULT_SKU,))
        regions = catalog.sku_regions(az["vm_sku"]) or ["eastus"]
        az["region"] = _bind(f"{i}.region", az["region"], lambda k: st.selectbox(
            "Region", regions, key=k), options=regions, prefer=("eastus",))

        def plan_label(plan: str) -> str:
            row = catalog.price(az["vm_sku"], az["region"], plan)
            flag = "" if row is not None and row.price_per_hour is not None else " (no price)"
            return PLAN_NAMES[plan] + flag

        az["pricing"] = _bind(f"{i}.pricing", az["pricing"], lambda k: st.selectbox(
            "Pricing plan", list(PRICING_PLANS), key=k, format_func=plan_label),
            options=list(PRICING_PLANS))
    else:
        loc = dep["local"]
        hw_ids = list(catalog.local_hardware)
        loc["hardware"] = _bind(f"{i}.hardware", loc["hardware"], lambda k: st.selectbox(
            "Machine", hw_ids, key=k, format_func=lambda h: catalog.local_hardware[h].name),
            options=hw_ids, prefer=(drafts.DEFAULT_HARDWARE,))
        region_ids = list(catalog.regions)
        loc["region"] = _bind(f"{i}.lregion", loc["region"], lambda k: st.selectbox(
            "Site (electricity price and grid carbon of)", region_ids, key=k,
            format_func=lambda r: catalog.regions[r].name), options=region_ids,
            prefer=("eastus",))
        loc["amortization_years"] = _bind(f"{i}.years", loc["amortization_years"],
                                          lambda k: st.number_input(
            "Written off over (years)", min_value=0.0, max_value=15.0, step=0.5, format="%.1f",
            key=k), to_widget=float)
    gpu = _gpu_of(dep, catalog)
    precisions = [p for p in PRECISIONS if gpu is None or gpu_runs_precision(gpu.native_precisions, p)]
    dep["precision"] = _bind(f"{i}.precision", dep["precision"], lambda k: st.selectbox(
        "Weights precision", precisions, key=k,
        help="Precisions this GPU runs (int8/int4 are weight-only quantisation)."),
        options=precisions, prefer=("fp16", "bf16"))
    dep["engine"] = _bind(f"{i}.engine", dep["engine"], lambda k: st.selectbox(
        "Serving engine", list(ENGINES), key=k, format_func=ENGINE_NAMES.__getitem__),
        options=list(ENGINES))


def _advanced(dep: dict[str, Any], catalog: Catalog) -> None:
    i = dep["id"]
    gpu = _gpu_of(dep, catalog)
    kv = ["fp16", "fp8"] if gpu is None or "fp8" in gpu.native_precisions else ["fp16"]
    dep["kv_cache_dtype"] = _bind(f"{i}.kv", dep["kv_cache_dtype"], lambda k: st.selectbox(
        "KV-cache precision", kv, key=k), options=kv)
    dep["tp"] = _bind(f"{i}.tp", dep["tp"], lambda k: st.selectbox(
        "Tensor parallelism (GPUs per replica)", list(TP_CHOICES), key=k,
        format_func=lambda t: "smallest that fits" if t is None else str(t)),
        options=list(TP_CHOICES))
    dep["context_tokens"] = _bind(f"{i}.ctx", dep["context_tokens"], lambda k: st.number_input(
        "Max context per request (tokens)", min_value=1, max_value=10_000_000, value=None,
        step=1024, key=k, placeholder="the model's maximum"))
    if dep["kind"] == "azure":
        az = dep["azure"]
        az["cluster_tier"] = _bind(f"{i}.tier", az["cluster_tier"], lambda k: st.selectbox(
            "AKS tier", ["standard", "free"], key=k), options=["standard", "free"])
        az["system_nodes"] = _bind(f"{i}.sys", az["system_nodes"], lambda k: st.number_input(
            "System-pool nodes", min_value=0, max_value=100, step=1, key=k))
    else:
        loc = dep["local"]
        loc["purchase_usd_per_machine"] = _bind(
            f"{i}.buy", loc["purchase_usd_per_machine"], lambda k: st.number_input(
                "Your quote per machine (USD)", min_value=0.0, max_value=100_000_000.0,
                value=None, step=500.0, format="%.0f", key=k, placeholder="catalog price"))
        loc["electricity_usd_per_kwh"] = _bind(
            f"{i}.kwh", loc["electricity_usd_per_kwh"], lambda k: st.number_input(
                "Electricity (USD/kWh)", min_value=0.0, max_value=5.0, value=None, step=0.01,
                format="%.4f", key=k, placeholder="the site's average"))
        loc["pue"] = _bind(f"{i}.pue", loc["pue"], lambda k: st.number_input(
            "Site PUE", min_value=1.0, max_value=3.0, value=None, step=0.05, format="%.2f",
            key=k, placeholder="industry average 1.58"))
