"""The scenario editor (sidebar): presets, workload, and the deployments to compare.

Every widget is keyed ``w.<field>`` or ``w.<deployment id>.<field>`` and seeded from the draft the
first time it renders (or after a preset/link load). A widget's value goes back into the draft only
when the person changed it, so a scenario opened from a link is reproduced exactly — a percent
widget shows 10 for a growth of 0.1 without the draft ever becoming 0.10000000000000002.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import streamlit as st

from planner.api import (
    ENGINE_IDS,
    ENGINES,
    MAX_DEPLOYMENTS,
    PRECISIONS,
    SCALING_POLICIES,
    TARGET_KINDS,
    TARGET_TITLES,
    TP_DEGREES,
    TRAFFIC_SHAPES,
    Catalog,
    PlannerError,
    gpu_runs_precision,
    hourly_requests_from_csv,
    module_for,
)
from ui import draft as drafts
from ui import state
from ui.format import escape_md, quality_text
from ui.presets import PRESETS, preset

TP_CHOICES: tuple[int | None, ...] = (None, *TP_DEGREES)
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


@contextmanager
def _lazy_expander(title: str, name: str, icon: str) -> Iterator[bool]:
    """An expander whose widgets are drawn only while it is open (a lighter sidebar on every run);
    yields whether it is open. Its title may show the values inside: Streamlit then sees a new
    expander, so whether it is open is kept here (``open.<name>``) rather than left to it."""
    ss = st.session_state
    with st.expander(title, key=f"exp.{name}", icon=icon, on_change="rerun",
                     expanded=bool(ss.get(f"open.{name}", False))) as box:
        ss[f"open.{name}"] = bool(box.open)
        yield bool(box.open)


def render(catalog: Catalog) -> None:
    """The whole editor; commits a valid draft as the session's scenario."""
    draft = state.draft()
    st.header("Scenario", anchor=False)
    st.selectbox("Start from a preset", list(PRESETS), index=None, key=PRESET_KEY,
                 placeholder="Choose a preset…", on_change=_load_preset,
                 help="Replaces the scenario below with a ready-made one.")
    draft["name"] = _bind("name", draft["name"], lambda k: st.text_input(
        "Scenario name", key=k, max_chars=100))
    w = draft["workload"]
    with st.expander("Workload", expanded=True, icon=":material/trending_up:"):
        _workload(w)
    with _lazy_expander(_service_title(w), "slo", ":material/timer:") as is_open:
        if is_open:
            _service_levels(w)
    with _lazy_expander(_day_title(w), "day", ":material/schedule:") as is_open:
        if is_open:
            _traffic_shape(w)
    with _lazy_expander("Carbon accounting", "carbon", ":material/eco:") as is_open:
        if is_open:
            draft["market_gco2_per_kwh"] = _bind(
                "mkt", draft.get("market_gco2_per_kwh"), lambda k: st.number_input(
                    "Market-based: your supply contract (g CO2e/kWh)", min_value=0.0,
                    max_value=2000.0, value=None, step=10.0, format="%.0f", key=k,
                    placeholder="location-based only",
                    help="0 for a 100 % renewable contract with certificates. Blank: CO2 is counted "
                         "at the region's average grid intensity (location-based)."))
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
    w["monthly_growth"] = _bind("growth", w["monthly_growth"], lambda k: st.number_input(
        "Traffic growth per month (%)", min_value=-90.0, max_value=500.0, step=5.0,
        format="%.1f", key=k), to_widget=_fraction_to_percent, from_widget=_percent_to_fraction)
    w["cached_input_share"] = _bind("cache", w["cached_input_share"], lambda k: st.number_input(
        "Input served from the prompt cache (%)", min_value=0.0, max_value=100.0, step=10.0,
        format="%.0f", key=k, help="Hosted APIs only: this share of input tokens is billed at the "
                                   "model's cached-input price."),
        to_widget=_fraction_to_percent, from_widget=_percent_to_fraction)


def _current(key: str, fallback: Any) -> Any:
    """Widget ``w.<key>``'s current value (it may be newer than the draft), else ``fallback``."""
    return st.session_state.get(state.WIDGET_PREFIX + key, fallback)


def _service_title(w: dict[str, Any]) -> str:
    """'Service levels · TTFT 2,000 ms · TPOT 100 ms': the section's title carries its SLOs."""
    ttft = _current("ttft", w["ttft_slo_ms"])
    tpot = _current("tpot", w["tpot_slo_ms"])
    return f"Service levels · TTFT {ttft:,.0f} ms · TPOT {tpot:,.0f} ms"


def _day_title(w: dict[str, Any]) -> str:
    shape = _current("shape", w.get("traffic_shape", "flat"))
    return f"Traffic over the day · {DAY_NAMES.get(shape, shape)}"


def _service_levels(w: dict[str, Any]) -> None:
    """The SLOs and the headroom: what each option is sized to meet."""
    w["ttft_slo_ms"] = _bind("ttft", w["ttft_slo_ms"], lambda k: st.number_input(
        "Time to first token SLO (ms)", min_value=1.0, max_value=600_000.0, step=100.0,
        format="%.0f", key=k), to_widget=float)
    w["tpot_slo_ms"] = _bind("tpot", w["tpot_slo_ms"], lambda k: st.number_input(
        "Time per output token SLO (ms)", min_value=1.0, max_value=60_000.0, step=5.0,
        format="%.0f", key=k, help="100 ms ≈ 10 tokens/s per user, faster than most people read."),
        to_widget=float)
    w["min_replicas"] = _bind("minr", w["min_replicas"], lambda k: st.number_input(
        "Minimum replicas", min_value=1, max_value=1000, step=1, key=k,
        help="Kept running whatever the traffic, e.g. 2 for redundancy."))
    w["target_utilization"] = _bind("util", w["target_utilization"], lambda k: st.number_input(
        "Target utilisation at peak (%)", min_value=5.0, max_value=100.0, step=5.0,
        format="%.0f", key=k, help="Headroom: replicas run at most this busy at peak."),
        to_widget=_fraction_to_percent, from_widget=_percent_to_fraction)


SHAPE_NAMES = {"flat": "flat (sized for the peak all day)", "business-hours": "business hours",
               "consumer-evening": "consumer, evening peak", "follow-the-sun": "follow the sun",
               "custom": "custom (your hourly CSV)"}
DAY_NAMES = {"flat": "flat", "business-hours": "business hours",
             "consumer-evening": "evening peak", "follow-the-sun": "follow the sun",
             "custom": "your hourly CSV"}
SCALING_NAMES = {"fixed": "fixed (peak nodes all day)", "autoscale": "cluster autoscaler",
                 "scale-to-zero": "scale to zero (dev/test)"}


HOURLY_UPLOAD = state.WIDGET_PREFIX + "hourly_csv"
HOURLY_SEEN = state.WIDGET_PREFIX + "hourly_csv_seen"
HOURLY_ERROR = state.WIDGET_PREFIX + "hourly_csv_error"


def _take_hourly_upload(w: dict[str, Any]) -> None:
    """A newly uploaded hourly CSV becomes the draft's custom shape, and the shape picker is set
    to it before it renders (so the picker shows what the scenario holds); a bad file changes
    nothing and its one-line reason is kept for the uploader to show."""
    ss = st.session_state
    upload = ss.get(HOURLY_UPLOAD)
    if upload is None:  # the file was removed: so is its message
        ss.pop(HOURLY_ERROR, None)
        return
    if ss.get(HOURLY_SEEN) == upload.file_id:
        return
    ss[HOURLY_SEEN] = upload.file_id
    try:
        values = hourly_requests_from_csv(upload.getvalue().decode("utf-8", errors="replace"))
    except PlannerError as exc:
        ss[HOURLY_ERROR] = str(exc)
        return
    ss.pop(HOURLY_ERROR, None)
    w["traffic_shape"], w["hourly_requests"] = "custom", values
    picker = state.WIDGET_PREFIX + "shape"
    ss[picker] = ss[state.SEED_PREFIX + picker] = "custom"


def _traffic_shape(w: dict[str, Any]) -> None:
    """Traffic over the day: a preset shape, or 24 hourly values from an uploaded CSV."""
    _take_hourly_upload(w)
    shapes = [s for s in TRAFFIC_SHAPES if s != "custom" or w.get("hourly_requests")]
    shape = _bind("shape", w.get("traffic_shape", "flat"), lambda k: st.selectbox(
        "Traffic over the day", shapes, key=k, format_func=SHAPE_NAMES.__getitem__,
        help="Preset shapes are stated assumptions (see the Methodology page); upload an hourly "
             "CSV for your own. The peak factor above still sets the busiest moment."),
        options=shapes)
    w["traffic_shape"] = shape
    if shape != "custom":
        w["hourly_requests"] = None
    w["utc_offset_hours"] = _bind("tz", w.get("utc_offset_hours", 0), lambda k: st.number_input(
        "Time zone of the shape (hours from UTC)", min_value=-12, max_value=14, step=1, key=k))
    st.file_uploader("Hourly traffic (CSV: hour,requests for hours 0-23)", type=["csv"],
                     key=HOURLY_UPLOAD)
    if st.session_state.get(HOURLY_ERROR):
        st.error(escape_md(st.session_state[HOURLY_ERROR]), icon=":material/schedule:")


def _live(dep_id: int, field: str, fallback: Any) -> Any:
    """A deployment widget's current value (it may be newer than the draft), else the draft's."""
    return _current(f"{dep_id}.{field}", fallback)


def _model_key(kind: str) -> str:
    """Widget key of the model picker: one per model space (open-weights vs hosted API)."""
    return "model" if module_for(kind).SELF_HOSTED else f"{kind}_model"


def _field_key(kind: str, field: str) -> str | None:
    return next((f.key for f in module_for(kind).EDITOR if f.name == field), None)


def _live_summary(dep: dict[str, Any], catalog: Catalog) -> str:
    i = dep["id"]
    kind = _live(i, "kind", dep["kind"])
    module = module_for(kind)
    model = _live(i, _model_key(kind), dep["models"][kind])
    if not module.SELF_HOSTED:
        return f"{model} API"
    first = module.EDITOR[0]
    where = _live(i, first.key, dep["targets"][kind][first.name])
    return f"{model} on {str(where).removeprefix('Standard_')}"


def _target_of(dep: dict[str, Any]) -> Any:
    """The draft's current target as the engine's model, or None while it is invalid."""
    kind = dep["kind"]
    try:
        return module_for(kind).Model.model_validate({"kind": kind, **dep["targets"][kind]})
    except ValueError:
        return None


def _gpu_of(dep: dict[str, Any], catalog: Catalog) -> Any:
    """The GPU the option's node carries (None for a hosted API or an id the catalog lacks)."""
    target = _target_of(dep)
    if target is None:
        return None
    try:
        hw = module_for(dep["kind"]).hardware(target, catalog)
    except KeyError:  # an unknown VM size or machine: the editor's error says so
        return None
    return hw.gpu if hw else None


def _has_advanced(dep: dict[str, Any]) -> bool:
    if dep["kv_cache_dtype"] != "fp16" or dep["tp"] is not None or dep["context_tokens"]:
        return True
    module = module_for(dep["kind"])
    fields = dep["targets"][dep["kind"]]
    return any(fields.get(f.name) != module.Model.model_fields[f.name].default
               for f in module.EDITOR if f.advanced)


def _deployment(dep: dict[str, Any], catalog: Catalog, *, can_remove: bool,
                can_add: bool) -> None:
    i = dep["id"]
    title = (f"**{escape_md(_live(i, 'label', dep['label']))}** · "
             f"{escape_md(_live_summary(dep, catalog))}")
    with _lazy_expander(title, str(i), ":material/dns:") as is_open:
        if not is_open:
            return
        dep["label"] = _bind(f"{i}.label", dep["label"], lambda k: st.text_input(
            "Label", key=k, max_chars=60))
        dep["kind"] = _bind(f"{i}.kind", dep["kind"], lambda k: st.radio(
            "Runs on", list(TARGET_KINDS), format_func=TARGET_TITLES.__getitem__, key=k,
            horizontal=True))
        module = module_for(dep["kind"])
        if module.SELF_HOSTED:
            _self_hosted(dep, catalog)
        else:
            _hosted(dep, catalog)
        more_key = f"more.{i}"
        if more_key not in st.session_state:
            st.session_state[more_key] = _has_advanced(dep)
        if module.SELF_HOSTED and st.toggle("More settings", key=more_key):
            _advanced(dep, catalog)
        with st.container(horizontal=True):
            st.button("Duplicate", key=f"dup.{i}", icon=":material/content_copy:",
                      on_click=_duplicate, args=(i,), disabled=not can_add)
            st.button("Remove", key=f"rm.{i}", icon=":material/delete:", on_click=_remove,
                      args=(i,), disabled=not can_remove)


def _model_label(catalog: Catalog, model_id: str) -> str:
    m = catalog.models[model_id]
    size = f"{m.params_b:.3g}B" if m.experts == 1 else f"{m.params_b:.3g}B MoE"
    return f"{model_id} ({size}, {quality_text(m.mmlu_5shot, m.mmlu_pro)})"


def _api_label(catalog: Catalog, model_id: str) -> str:
    api = catalog.api_models[model_id]
    retired = f" — retired {api.retires_on}" if api.retired else ""
    return f"{api.name} — {api.provider}{retired}"


def _model_picker(dep: dict[str, Any], catalog: Catalog, label: str,
                  name: Callable[[Catalog, str], str]) -> None:
    """The option's model, among those its target kind serves."""
    i, kind = dep["id"], dep["kind"]
    ids = module_for(kind).model_ids(catalog)
    if dep["models"][kind] not in ids and dep["models"][kind] in catalog.api_models:
        ids = [*ids, dep["models"][kind]]  # a saved scenario's retired model stays, marked
    dep["models"][kind] = _bind(f"{i}.{_model_key(kind)}", dep["models"][kind],
                                lambda k: st.selectbox(label, ids, key=k,
                                                       format_func=lambda m: name(catalog, m)),
                                options=ids, prefer=(drafts.DEFAULT_MODELS.get(kind),))


def _hosted(dep: dict[str, Any], catalog: Catalog) -> None:
    _model_picker(dep, catalog, "Hosted model", _api_label)
    _target_fields(dep, catalog, advanced=False)  # standard or Batch API


def _target_fields(dep: dict[str, Any], catalog: Catalog, advanced: bool) -> None:
    """The target module's editor fields (its EDITOR), bound to the draft."""
    i, kind = dep["id"], dep["kind"]
    values = dep["targets"][kind]
    for field in module_for(kind).EDITOR:
        if field.advanced != advanced:
            continue
        values[field.name] = _field_widget(f"{i}.{field.key}", field, values, catalog)


def _field_widget(key: str, field: Any, values: dict[str, Any], catalog: Catalog) -> Any:
    current = values[field.name]
    if field.widget == "choice":
        options = field.choices(catalog, values)
        fmt = ((lambda c: field.label_of(catalog, values, c)) if field.label_of else str)
        return _bind(key, current, lambda k: st.selectbox(field.label, options, key=k,
                                                          format_func=fmt,
                                                          help=field.help or None),
                     options=options, prefer=field.prefer)
    is_float = isinstance(field.min_value, float)
    return _bind(key, current, lambda k: st.number_input(
        field.label, min_value=field.min_value, max_value=field.max_value,
        value=None if field.optional else "min", step=field.step, format=field.number_format,
        key=k, help=field.help or None,
        placeholder=(field.placeholder_of(catalog, values) if field.placeholder_of
                     else field.placeholder)),
        to_widget=(lambda v: None if v is None else float(v)) if is_float else None)


def _self_hosted(dep: dict[str, Any], catalog: Catalog) -> None:
    i, kind = dep["id"], dep["kind"]
    _model_picker(dep, catalog, "Model", _model_label)
    for other in TARGET_KINDS:  # one open-weights model for every self-hosted kind
        if module_for(other).SELF_HOSTED:
            dep["models"][other] = dep["models"][kind]
    _target_fields(dep, catalog, advanced=False)
    gpu = _gpu_of(dep, catalog)
    precisions = [p for p in PRECISIONS if gpu is None or gpu_runs_precision(gpu.native_precisions, p)]
    dep["precision"] = _bind(f"{i}.precision", dep["precision"], lambda k: st.selectbox(
        "Weights precision", precisions, key=k,
        help="Precisions this GPU runs (int8/int4 are weight-only quantisation)."),
        options=precisions, prefer=("fp16", "bf16"))
    dep["engine"] = _bind(f"{i}.engine", dep["engine"], lambda k: st.selectbox(
        "Serving engine", list(ENGINE_IDS), key=k, format_func=lambda e: ENGINES[e].name),
        options=list(ENGINE_IDS))
    dep["scaling"] = _bind(f"{i}.scaling", dep.get("scaling", "fixed"), lambda k: st.selectbox(
        "Scaling", list(SCALING_POLICIES), key=k, format_func=SCALING_NAMES.__getitem__,
        help="Autoscaled options hold the nodes each hour of the traffic shape needs, added a "
             "measured lead time ahead; fixed holds the peak's nodes all day."),
        options=list(SCALING_POLICIES))


def _advanced(dep: dict[str, Any], catalog: Catalog) -> None:
    i = dep["id"]
    gpu = _gpu_of(dep, catalog)
    kv = ["fp16", "fp8"] if gpu is None or "fp8" in gpu.native_precisions else ["fp16"]
    dep["kv_cache_dtype"] = _bind(f"{i}.kv", dep["kv_cache_dtype"], lambda k: st.selectbox(
        "KV-cache precision", kv, key=k), options=kv)
    dep["tp"] = _bind(f"{i}.tp", dep["tp"], lambda k: st.selectbox(
        "Tensor parallel (GPUs per replica)", list(TP_CHOICES), key=k,
        format_func=lambda t: "smallest that fits" if t is None else str(t)),
        options=list(TP_CHOICES))
    dep["context_tokens"] = _bind(f"{i}.ctx", dep["context_tokens"], lambda k: st.number_input(
        "Max context per request (tokens)", min_value=1, max_value=10_000_000, value=None,
        step=1024, key=k, placeholder="the model's maximum"))
    if dep.get("scaling", "fixed") != "fixed":
        dep["min_nodes"] = _bind(f"{i}.minn", dep.get("min_nodes"), lambda k: st.number_input(
            "Autoscaler: fewest nodes", min_value=0, max_value=1000, value=None, step=1, key=k,
            placeholder="the nodes min replicas need"))
        dep["max_nodes"] = _bind(f"{i}.maxn", dep.get("max_nodes"), lambda k: st.number_input(
            "Autoscaler: most nodes", min_value=1, max_value=1000, value=None, step=1, key=k,
            placeholder="the peak's nodes"))
    _target_fields(dep, catalog, advanced=True)
