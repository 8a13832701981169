"""Share links: a whole :class:`~planner.scenario.Scenario` in a URL query string, and back.

Pure functions (no UI import): the dashboard writes :func:`encode_scenario` into the address bar
whenever the scenario changes and reads :func:`decode_params` when a link is opened.

Format (version 1)
------------------
One parameter per workload field, one ``d`` parameter per deployment, in order::

    ?v=1&name=support-bot
    &rpd=200000&in=800&out=200&peak=3&ttft=2000&tpot=100&minr=2&growth=0&util=0.8&mmlu=60
    &d=SLM~phi-3-mini-4k~fp16~vllm~azure~Standard_NC24ads_A100_v4~eastus~payg
    &d=On-prem~phi-3-mini-4k~int4~vllm~local~workstation-1x-rtx-4090~eastus~3
    &d=API~gpt-4o-mini~fp16~vllm~api

=========  ====================================================  ==============
parameter  meaning                                               Scenario field
=========  ====================================================  ==============
v          format version (1)                                    —
name       scenario name                                         name
rpd        requests per day                                      requests_per_day
in / out   input / output tokens per request                     input_tokens / output_tokens
peak       peak-to-average traffic ratio                         peak_to_average
ttft       time-to-first-token SLO, ms                           ttft_slo_ms
tpot       time-per-output-token SLO, ms                         tpot_slo_ms
minr       minimum replicas                                      min_replicas
growth     month-on-month growth, 0.1 = +10 %                    monthly_growth
util       target utilisation at peak, 0-1                       target_utilization
mmlu       advisor quality floor, MMLU % (0 = any; optional)     min_mmlu
shape      traffic over the day (optional, default flat)         traffic_shape
tz         the shape's UTC offset, hours (optional)              utc_offset_hours
hours      custom shape: 24 values joined by ``;`` (optional)    hourly_requests
cache      input share from the prompt cache, 0-1 (optional)     cached_input_share
mkt        market-based carbon, g CO2e/kWh (optional)            market_gco2_per_kwh
d          one deployment (below), repeatable, in order          deployments
=========  ====================================================  ==============

A deployment is ``~``-separated: ``label~model~precision~engine~target[~option...]`` where target is

- ``azure~<vm_sku>~<region>~<pricing plan>``
- ``local~<hardware>~<region>~<amortisation years>``
- ``api``

and options, written only when they differ from the default, are ``name_value``:
``kv_fp8`` (KV-cache dtype), ``tp_2`` (tensor parallelism), ``ctx_8192`` (max context tokens),
``scale_autoscale`` / ``scale_scale-to-zero`` (scaling policy), ``minn_1`` / ``maxn_4`` (autoscaler
node bounds), ``tier_free`` (AKS tier), ``sys_0`` (system nodes), ``pue_1.3``, ``kwh_0.12``
(electricity USD/kWh), ``buy_12000`` (USD per machine) and ``type_batch`` /
``type_provisioned`` (hosted API through the Batch API, or on provisioned throughput units).

``~`` is the separator because URL encoders leave it alone, so links stay readable (``:`` and
``=`` would be percent-encoded). Inside a text field a literal ``%`` is written ``%25`` and a
literal ``~`` ``%7E``. Numbers are written exactly (integers without a decimal point, other floats
as Python's shortest round-tripping repr), so ``decode(encode(s)) == s`` for every scenario.

Limits: a query longer than :data:`MAX_QUERY_CHARS` characters is not decoded (nor produced: see
:func:`share_link_problem`) and at most :data:`~planner.scenario.MAX_DEPLOYMENTS` deployments are
read. Decoding never raises on user input: anything unknown, malformed or out of range is ignored
or replaced by its default, and :func:`decode_params` returns one plain-English message for each
such decision.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, get_args
from urllib.parse import parse_qs, urlencode

from pydantic import BaseModel, ValidationError

from planner.catalog import Catalog
from planner.scenario import (
    MAX_DEPLOYMENTS,
    ApiTarget,
    Deployment,
    Scenario,
    Workload,
    deployment_problems,
    describe_validation_error,
)
from planner.targets import MODULES, TARGET_KINDS, module_for

FORMAT_VERSION = 1
MAX_QUERY_CHARS = 4_000
SEP = "~"

# query parameter -> Workload field, in the order they are written
WORKLOAD_PARAMS: dict[str, str] = {
    "rpd": "requests_per_day",
    "in": "input_tokens",
    "out": "output_tokens",
    "peak": "peak_to_average",
    "ttft": "ttft_slo_ms",
    "tpot": "tpot_slo_ms",
    "minr": "min_replicas",
    "growth": "monthly_growth",
    "util": "target_utilization",
}
# optional workload fields: written only when set, absent = the field's default (not reported)
OPTIONAL_WORKLOAD_PARAMS: dict[str, str] = {"mmlu": "min_mmlu", "shape": "traffic_shape",
                                            "tz": "utc_offset_hours", "hours": "hourly_requests",
                                            "cache": "cached_input_share"}
HOURS_SEP = ";"  # the 24 values of a custom shape: hours=5;3;2;...

# deployment-level options (``name_value``); each target's own options are in its module's LINK
DEPLOYMENT_OPTIONS: dict[str, str] = {"kv": "kv_cache_dtype", "tp": "tp", "ctx": "context_tokens",
                                      "scale": "scaling", "minn": "min_nodes", "maxn": "max_nodes"}
# deployment fields a bad value of which is replaced by the default instead of dropping the
# deployment (every target field other than its positional identity is defaultable too)
_DEFAULTABLE_DEP = {"precision", "engine", "kv_cache_dtype", "tp", "context_tokens", "scaling",
                    "min_nodes", "max_nodes"}


def _defaultable(field: str, in_target: bool, kind: str) -> bool:
    if not in_target:
        return field in _DEFAULTABLE_DEP
    module = MODULES.get(kind)
    if module is None:
        return False
    identity = module.LINK.positional[:1]  # a VM size or machine is not replaced by a default
    return field in module.Model.model_fields and field not in identity


def _field_type(model: type[BaseModel], field: str) -> type:
    """int, float or str: how a link value of this field is read."""
    annotation = model.model_fields[field].annotation
    args = set(get_args(annotation)) or {annotation}
    if int in args and float not in args:
        return int
    if float in args:
        return float
    return str


_SILENT_PARAMS = {"embed", "embed_options",  # Streamlit's own
                  "view"}  # the dashboard's view of the scenario (view=summary: for readers)
# optional scenario-level fields: written only when set
SCENARIO_PARAMS: dict[str, str] = {"mkt": "market_gco2_per_kwh"}
_KNOWN_PARAMS = {"v", "name", "d", *WORKLOAD_PARAMS, *OPTIONAL_WORKLOAD_PARAMS, *SCENARIO_PARAMS}


class DecodedLink(NamedTuple):
    """What a link held: the scenario to show and what was ignored or defaulted on the way."""

    scenario: Scenario
    messages: list[str]


# ---------------------------------------------------------------- text and numbers


def escape(text: str) -> str:
    """Make a text field safe to place between ``~`` separators."""
    return text.replace("%", "%25").replace(SEP, "%7E")


_UNESCAPE = re.compile(r"%(25|7[Ee])")


def unescape(text: str) -> str:
    """Inverse of :func:`escape` (other ``%xx`` sequences are left as they are)."""
    return _UNESCAPE.sub(lambda m: "%" if m.group(1) == "25" else SEP, text)


def format_number(value: float | int) -> str:
    """Shortest text that parses back to exactly ``value``."""
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _parse_number(text: str, integer: bool) -> float | int:
    """A finite number from link text; raises ValueError with a readable reason."""
    cleaned = text.strip()
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", cleaned):
        raise ValueError(f"{text!r} is not a number")
    value = float(cleaned)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    if integer:
        if not value.is_integer():
            raise ValueError(f"{text!r} is not a whole number")
        return int(value)
    return value


# ---------------------------------------------------------------- encode


def _value_text(value: Any) -> str:
    return format_number(value) if isinstance(value, int | float) else escape(str(value))


def _deployment_param(dep: Deployment) -> str:
    target = dep.target
    module = module_for(target)
    parts = [escape(dep.label), escape(dep.model), dep.precision, dep.engine, module.KIND]
    parts += [_value_text(getattr(target, field)) for field in module.LINK.positional]
    options: list[str] = []
    for name, field in module.LINK.options.items():
        value = getattr(target, field)
        if value != module.Model.model_fields[field].default:
            options.append(f"{name}_{_value_text(value)}")
    if dep.kv_cache_dtype != "fp16":
        options.append(f"kv_{dep.kv_cache_dtype}")
    if dep.tp is not None:
        options.append(f"tp_{dep.tp}")
    if dep.context_tokens is not None:
        options.append(f"ctx_{dep.context_tokens}")
    if dep.scaling != "fixed":
        options.append(f"scale_{dep.scaling}")
    for name, value in (("minn", dep.min_nodes), ("maxn", dep.max_nodes)):
        if value is not None:
            options.append(f"{name}_{value}")
    return SEP.join(parts + options)


def _optional_text(value: Any) -> str:
    if isinstance(value, tuple):
        return HOURS_SEP.join(format_number(v) for v in value)
    return format_number(value) if isinstance(value, int | float) else str(value)


def _optional_value(field: str, text: str) -> Any:
    """An optional workload field's value from its link text (ValueError when unreadable)."""
    if field == "hourly_requests":
        return tuple(_parse_number(part, False) for part in text.split(HOURS_SEP))
    kind = _field_type(Workload, field)
    return text if kind is str else _parse_number(text, kind is int)


def encode_scenario(scenario: Scenario) -> dict[str, str | list[str]]:
    """Query parameters for the scenario (values are plain text; URL-encode with
    :func:`to_query_string` or hand them to a framework that does)."""
    params: dict[str, str | list[str]] = {"v": str(FORMAT_VERSION), "name": scenario.name}
    for param, field in WORKLOAD_PARAMS.items():
        params[param] = format_number(getattr(scenario.workload, field))
    defaults = Workload()
    for param, field in OPTIONAL_WORKLOAD_PARAMS.items():
        value = getattr(scenario.workload, field)
        if value is not None and value != getattr(defaults, field):
            params[param] = _optional_text(value)
    for param, field in SCENARIO_PARAMS.items():
        value = getattr(scenario, field)
        if value is not None:
            params[param] = format_number(value)
    params["d"] = [_deployment_param(dep) for dep in scenario.deployments]
    return params


def _decode_scenario_fields(params: Mapping[str, list[str]], messages: list[str]) -> dict:
    """The optional scenario-level fields of a link (a bad value is dropped with a message)."""
    out: dict[str, Any] = {}
    for param, field in SCENARIO_PARAMS.items():
        text = _last(params, param, messages)
        if text is None:
            continue
        try:
            value = _parse_number(text, False)
            info = Scenario.model_fields[field]
            low = next((m.ge for m in info.metadata if hasattr(m, "ge")), None)
            high = next((m.le for m in info.metadata if hasattr(m, "le")), None)
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValueError(f"must be between {low} and {high}")
        except ValueError as exc:
            messages.append(f"Link parameter {param}={_clip(text)} ignored ({exc}); not set.")
            continue
        out[field] = value
    return out


def to_query_string(params: Mapping[str, str | Sequence[str]]) -> str:
    """The URL query string (without ``?``) of the parameters."""
    return urlencode({k: v if isinstance(v, str) else list(v) for k, v in params.items()},
                     doseq=True)


def share_link_problem(params: Mapping[str, str | Sequence[str]]) -> str | None:
    """Why these parameters cannot be shared as a link (too long), or None if they can."""
    length = len(to_query_string(params))
    if length > MAX_QUERY_CHARS:
        return (f"this scenario needs a {length:,}-character link, over the "
                f"{MAX_QUERY_CHARS:,}-character limit: shorten labels or remove deployments to "
                "share it as a link, or download the CSV (it records the whole scenario)")
    return None


# ---------------------------------------------------------------- decode


def params_from_query_string(query: str) -> dict[str, list[str]]:
    """Parse a query string (with or without ``?``) into lists of values per key."""
    return parse_qs(query.lstrip("?"), keep_blank_values=True)


def has_scenario_params(params: Mapping[str, Any]) -> bool:
    """Whether the parameters hold anything besides Streamlit's own (i.e. a link was opened)."""
    return any(key not in _SILENT_PARAMS for key in params)


def _values(raw: str | Sequence[str]) -> list[str]:
    return [raw] if isinstance(raw, str) else [str(v) for v in raw]


def _last(params: Mapping[str, list[str]], key: str, messages: list[str]) -> str | None:
    values = params.get(key)
    if not values:
        return None
    if len(values) > 1:
        messages.append(f"'{key}' appears {len(values)} times in the link; used the last value.")
    return values[-1]


def _decode_workload(params: Mapping[str, list[str]], messages: list[str]) -> Workload:
    fields: dict[str, Any] = {}
    missing: list[str] = []
    defaults = Workload()
    for param, field in WORKLOAD_PARAMS.items():
        text = _last(params, param, messages)
        if text is None:
            missing.append(param)
            continue
        default_text = format_number(getattr(defaults, field))
        try:
            value = _parse_number(text, _field_type(Workload, field) is int)
            Workload.model_validate({field: value})
        except ValueError as exc:  # ValidationError is a ValueError
            reason = (describe_validation_error(exc).split(": ", 1)[-1]
                      if isinstance(exc, ValidationError) else str(exc))
            messages.append(f"Link parameter {param}={_clip(text)} ignored ({reason}); "
                            f"used the default {default_text}.")
            continue
        fields[field] = value
    for param, field in OPTIONAL_WORKLOAD_PARAMS.items():
        text = _last(params, param, messages)
        if text is None:
            continue
        try:
            fields[field] = _optional_value(field, text)
        except ValueError as exc:
            messages.append(f"Link parameter {param}={_clip(text)} ignored ({exc}); "
                            "used the default.")
    try:
        workload = Workload(**fields)
    except ValidationError as exc:  # a shape and its values that do not go together
        messages.append("Link traffic shape ignored ("
                        f"{describe_validation_error(exc).split(': ', 1)[-1]}); used a flat day.")
        for field in ("traffic_shape", "hourly_requests", "utc_offset_hours"):
            fields.pop(field, None)
        workload = None
    if len(missing) == len(WORKLOAD_PARAMS):
        messages.append("The link has no workload parameters; used the default workload.")
    elif missing:
        messages.append(f"Not in the link: {', '.join(missing)}; used the defaults.")
    return workload if workload is not None else Workload(**fields)


def _clip(text: str, limit: int = 60) -> str:
    text = repr(text)
    return text if len(text) <= limit else text[: limit - 1] + "…'"


def _parse_deployment(text: str, number: int, messages: list[str]) -> dict[str, Any] | None:
    """The deployment dict a ``d`` value describes, or None (with a message) if unreadable."""
    where = f"Deployment {number} in the link"
    fields = text.split(SEP)
    if len(fields) >= 5 and ":" in fields[4]:  # also accept azure:<sku>:<region>:<plan>
        fields = fields[:4] + fields[4].split(":") + fields[5:]
    if len(fields) < 5:
        messages.append(f"{where} ({_clip(text)}) ignored: it needs at least "
                        "label~model~precision~engine~target.")
        return None
    label, model, precision, engine, kind = (unescape(f) for f in fields[:5])
    rest = fields[5:]
    dep: dict[str, Any] = {"label": label, "model": model}
    if precision:
        dep["precision"] = precision
    if engine:
        dep["engine"] = engine
    module = MODULES.get(kind)
    if module is None:
        messages.append(f"{where} ('{label}') ignored: unknown target {_clip(kind)} "
                        f"(expected {', '.join(TARGET_KINDS)}).")
        return None
    positional = module.LINK.positional
    target: dict[str, Any] = {"kind": kind}
    for field, value in zip(positional, rest, strict=False):
        value = unescape(value)
        if value == "":
            continue
        kind_of = _field_type(module.Model, field)
        if kind_of is str:
            target[field] = value
            continue
        try:
            target[field] = _parse_number(value, kind_of is int)
        except ValueError as exc:
            messages.append(f"{where} ('{label}'): {field.replace('_', ' ')} ignored ({exc}); "
                            "used the default.")
    for option in rest[len(positional):]:
        name, _, value = option.partition("_")
        in_target = name in module.LINK.options
        field = module.LINK.options.get(name) or DEPLOYMENT_OPTIONS.get(name)
        if field is None or not value:
            known = any(name in m.LINK.options for m in MODULES.values())
            messages.append(f"{where} ('{label}'): " + (
                f"option {_clip(option)} does not apply to a {kind} target; ignored." if known
                and value else f"unknown option {_clip(option)} ignored."))
            continue
        kind_of = _field_type(module.Model if in_target else Deployment, field)
        if kind_of is str:
            parsed: Any = unescape(value)
        else:
            try:
                parsed = _parse_number(value, kind_of is int)
            except ValueError as exc:
                messages.append(f"{where} ('{label}'): option {_clip(option)} ignored ({exc}).")
                continue
        (target if in_target else dep)[field] = parsed
    dep["target"] = target
    return dep


def _validate_deployment(data: dict[str, Any], number: int,
                         messages: list[str]) -> Deployment | None:
    """Validate, replacing bad optional fields by their defaults; None if it cannot be saved."""
    label = data.get("label", "?")
    for _ in range(len(data) + len(data.get("target", {})) + 1):
        try:
            return Deployment.model_validate(data)
        except ValidationError as exc:
            fixed = False
            for err in exc.errors():
                loc = [p for p in err["loc"] if p not in TARGET_KINDS]
                in_target = bool(loc) and loc[0] == "target"
                holder = data["target"] if in_target else data
                field = str(loc[-1]) if loc else ""
                if loc == ["label"] and data["label"] != f"Deployment {number}":
                    messages.append(f"Deployment {number} in the link: label {_clip(label)} "
                                    f"ignored ({err['msg']}); called it 'Deployment {number}'.")
                    data["label"] = label = f"Deployment {number}"
                    fixed = True
                elif (_defaultable(field, in_target, data["target"].get("kind", ""))
                      and field in holder and len(loc) <= 2):
                    messages.append(f"Deployment {number} in the link ('{label}'): {field} "
                                    f"{_clip(str(holder[field]))} ignored ({err['msg']}); "
                                    "used the default.")
                    del holder[field]
                    fixed = True
            if not fixed:
                messages.append(f"Deployment {number} in the link ('{label}') ignored: "
                                f"{describe_validation_error(exc)}.")
                return None
    return None  # pragma: no cover - every pass removes a field or returns


def _unique_label(label: str, taken: set[str]) -> str:
    n = 2
    while True:
        suffix = f" ({n})"
        candidate = label[: 60 - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def decode_params(params: Mapping[str, str | Sequence[str]], catalog: Catalog | None = None,
                  fallback: Scenario | None = None) -> DecodedLink:
    """Read a scenario from query parameters. Never raises on user input.

    ``catalog``: if given, deployments the catalog cannot plan (unknown model, SKU not priced in
    the region, ...) are dropped with a message. ``fallback``: the scenario whose deployments are
    used if the link has no usable deployment (default: one API deployment of gpt-4o-mini).
    """
    messages: list[str] = []
    lists = {str(k): _values(v) for k, v in params.items()}
    fallback = fallback or Scenario(deployments=(
        Deployment(label="API", model="gpt-4o-mini", target=ApiTarget()),))
    length = len(to_query_string(lists))
    if length > MAX_QUERY_CHARS:
        return DecodedLink(fallback, [
            f"The link's parameters are {length:,} characters long, over the "
            f"{MAX_QUERY_CHARS:,}-character limit; the link was ignored and the default "
            "scenario is shown."])
    for key in lists:
        if key not in _KNOWN_PARAMS and key not in _SILENT_PARAMS:
            messages.append(f"Ignored unknown link parameter {_clip(key, 40)}.")
    version = _last(lists, "v", messages)
    if version is not None and version.strip() != str(FORMAT_VERSION):
        messages.append(f"Link format version {_clip(version)} is not {FORMAT_VERSION}; read it "
                        f"as version {FORMAT_VERSION}.")

    name = _last(lists, "name", messages)
    workload = _decode_workload(lists, messages)
    extra = _decode_scenario_fields(lists, messages)

    raw_deps = lists.get("d", [])
    if len(raw_deps) > MAX_DEPLOYMENTS:
        messages.append(f"The link has {len(raw_deps)} deployments; kept the first "
                        f"{MAX_DEPLOYMENTS} (the most a scenario can compare).")
        raw_deps = raw_deps[:MAX_DEPLOYMENTS]
    deployments: list[Deployment] = []
    for number, text in enumerate(raw_deps, start=1):
        data = _parse_deployment(text, number, messages)
        if data is None:
            continue
        dep = _validate_deployment(data, number, messages)
        if dep is None:
            continue
        if catalog is not None:
            problems = deployment_problems(dep, catalog, "")
            if problems:
                reasons = "; ".join(p.lstrip(".").split(": ", 1)[-1] for p in problems)
                messages.append(f"Deployment {number} in the link ('{dep.label}') ignored: "
                                f"{reasons}.")
                continue
        taken = {d.label for d in deployments}
        if dep.label in taken:
            new_label = _unique_label(dep.label, taken)
            messages.append(f"Deployment {number} in the link repeats the label '{dep.label}'; "
                            f"renamed it '{new_label}'.")
            dep = dep.model_copy(update={"label": new_label})
        deployments.append(dep)
    if not deployments:
        if raw_deps or has_scenario_params(lists):
            messages.append("No usable deployment in the link; showing the default deployments.")
        deployments = list(fallback.deployments)
    try:
        scenario = Scenario(name=fallback.name if name is None else name, workload=workload,
                            deployments=tuple(deployments), **extra)
    except ValidationError as exc:  # only the name can still be invalid
        messages.append(f"Scenario name {_clip(name or '')} ignored "
                        f"({describe_validation_error(exc).split(': ', 1)[-1]}); "
                        f"used '{fallback.name}'.")
        scenario = Scenario(name=fallback.name, workload=workload, deployments=tuple(deployments),
                            **extra)
    return DecodedLink(scenario, messages)


def decode_query_string(query: str, catalog: Catalog | None = None,
                        fallback: Scenario | None = None) -> DecodedLink:
    """:func:`decode_params` of a raw query string."""
    return decode_params(params_from_query_string(query), catalog, fallback)


def same_params(a: Mapping[str, str | Iterable[str]], b: Mapping[str, str | Iterable[str]]) -> bool:
    """Whether two parameter mappings hold the same values (single value == one-item list)."""
    def norm(m: Mapping[str, str | Iterable[str]]) -> dict[str, list[str]]:
        return {k: [v] if isinstance(v, str) else list(v) for k, v in m.items()}
    return norm(a) == norm(b)
