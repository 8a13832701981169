"""The one input model: a workload and the deployments to compare.

The CLI, the dashboard and share links all build a :class:`Scenario`. It is frozen and rejects
unknown keys; every number is bounded so hostile input cannot ask for absurd work. Checks that need
the reference data (known model, SKU sold in the region, precision the GPU runs) are in
:func:`check_against_catalog`, which raises :class:`ScenarioError` naming the field.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from planner.catalog import Catalog
from planner.errors import ScenarioError
from planner.io.files import read_capped
from planner.registry import (
    TP_DEGREES,
    WEIGHT_ONLY_PRECISIONS,
    EngineId,
    KvDtype,
    Precision,
    ScalingPolicy,
    TrafficShape,
)
from planner.targets import TARGET_KINDS, ApiTarget, AzureTarget, LocalTarget, Target, module_for
from planner.targets.common import STRICT

MAX_DEPLOYMENTS = 12
MAX_SCENARIO_BYTES = 64_000
MAX_YAML_ALIASES = 100  # a scenario needs a handful; an alias bomb has thousands
MAX_ERROR_CHARS = 2_000  # a validation message is cut after this many characters
MAX_DIGITS = 4_300  # Python's default limit on int() of text; longer runs are refused first
_LONG_DIGITS = re.compile(rf"\d{{{MAX_DIGITS + 1}}}")
MIN_REQUESTS_PER_DAY = 1.0  # below this (and above 0) a day's traffic is not a request

__all__ = ["ApiTarget", "AzureTarget", "Deployment", "LocalTarget", "Scenario", "Workload"]

_STRICT = STRICT


class Workload(BaseModel):
    """Traffic and service-level objectives. Token counts are per request."""

    model_config = _STRICT

    requests_per_day: float = Field(default=100_000, ge=0, le=1e10,
                                    description="0, or from 1 to 1e10 requests/day")
    input_tokens: int = Field(default=800, ge=1, le=1_000_000)
    output_tokens: int = Field(default=200, ge=1, le=100_000)
    peak_to_average: float = Field(default=3.0, ge=1, le=100)
    ttft_slo_ms: float = Field(default=2000, ge=1, le=600_000)
    tpot_slo_ms: float = Field(default=100, ge=1, le=60_000)
    min_replicas: int = Field(default=1, ge=1, le=1000)
    monthly_growth: float = Field(default=0.0, ge=-0.9, le=5.0,
                                  description="month-on-month traffic growth, 0.1 = +10 %")
    target_utilization: float = Field(default=0.8, ge=0.05, le=1.0,
                                      description="share of a replica's capacity used at peak")
    cached_input_share: float = Field(
        default=0.0, ge=0, le=1,
        description="hosted APIs: share of input tokens served from the provider's prompt cache "
                    "(billed at the cached-input price); 0 = none")
    min_mmlu: float | None = Field(
        default=None, ge=0, le=100,
        description="the advisor's quality floor, MMLU 5-shot % at the served precision; "
                    "None = the planner's default floor, 0 = any quality")
    traffic_shape: TrafficShape = Field(
        default="flat", description="traffic over the day (planner.pipeline.traffic); flat = "
                                    "every hour sized for the peak factor, as before shapes")
    utc_offset_hours: int = Field(default=0, ge=-12, le=14,
                                  description="the shape's local time zone, hours from UTC")
    hourly_requests: tuple[float, ...] | None = Field(
        default=None, description="custom shape: 24 relative request counts, hours 0-23 local")

    @model_validator(mode="after")
    def _shape_values(self) -> Workload:
        values = self.hourly_requests
        if self.traffic_shape == "custom":
            if values is None or len(values) != 24:
                raise ValueError("a custom traffic shape needs 24 hourly_requests values")
            if any(not math.isfinite(v) or v < 0 or v > 1e12 for v in values) or sum(values) <= 0:
                raise ValueError("hourly_requests must be numbers >= 0, not all 0")
        elif values is not None:
            raise ValueError("hourly_requests is only read with traffic_shape 'custom'")
        return self

    @field_validator("requests_per_day")
    @classmethod
    def _whole_requests(cls, value: float) -> float:
        if 0 < value < MIN_REQUESTS_PER_DAY:
            raise ValueError("must be 0 or at least 1 request per day")
        return value


class Deployment(BaseModel):
    """One option to compare: a model on a target."""

    model_config = _STRICT

    label: str = Field(min_length=1, max_length=60)
    model: str = Field(min_length=1, max_length=64)
    precision: Precision = "fp16"
    engine: EngineId = "vllm"
    kv_cache_dtype: KvDtype = "fp16"
    tp: int | None = Field(default=None, description="tensor-parallel degree; None = smallest that fits")
    context_tokens: int | None = Field(
        default=None, ge=1, le=10_000_000,
        description="longest request the server accepts (max model length); default = model's maximum",
    )
    target: Target
    scaling: ScalingPolicy = Field(
        default="fixed", description="fixed = sized for the peak all day; autoscale = the "
        "cluster autoscaler follows the traffic shape between min_nodes and max_nodes; "
        "scale-to-zero = autoscale down to no GPU node when an hour has no traffic")
    min_nodes: int | None = Field(default=None, ge=0, le=1000,
                                  description="autoscaler floor; default = nodes for min_replicas")
    max_nodes: int | None = Field(default=None, ge=1, le=1000,
                                  description="autoscaler ceiling; default = nodes for the peak")

    @model_validator(mode="after")
    def _node_bounds(self) -> Deployment:
        if self.min_nodes is not None and self.max_nodes is not None and \
                self.min_nodes > self.max_nodes:
            raise ValueError("min_nodes must not exceed max_nodes")
        return self

    @field_validator("tp")
    @classmethod
    def _tp_power_of_two(cls, value: int | None) -> int | None:
        if value is not None and value not in TP_DEGREES:
            raise ValueError(f"tp must be one of {', '.join(map(str, TP_DEGREES))}")
        return value


class Scenario(BaseModel):
    """A named workload and the deployments to compare for it."""

    model_config = _STRICT

    name: str = Field(default="scenario", min_length=1, max_length=100)
    workload: Workload = Workload()
    deployments: tuple[Deployment, ...] = Field(min_length=1, max_length=MAX_DEPLOYMENTS)
    market_gco2_per_kwh: float | None = Field(
        default=None, ge=0, le=2000,
        description="market-based carbon: the g CO2e/kWh of the electricity supply contract "
                    "(0 = 100 % renewable with certificates); None = location-based only")

    @model_validator(mode="after")
    def _unique_labels(self) -> Scenario:
        labels = [d.label for d in self.deployments]
        dupes = sorted({label for label in labels if labels.count(label) > 1})
        if dupes:
            raise ValueError(f"deployment labels must be unique; repeated: {', '.join(dupes)}")
        return self


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming the field path (``deployments[1].target.vm_sku``); cut
    after :data:`MAX_ERROR_CHARS` characters, saying how many problems were left out."""
    lines = []
    for err in exc.errors():
        path = ""
        for part in err["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part in TARGET_KINDS:
                continue  # discriminator tag pydantic inserts into the path
            else:
                path += f".{part}" if path else str(part)
        lines.append(f"{path or '(scenario)'}: {err['msg']}"[:300])
    return capped_problems(lines)


def capped_problems(lines: list[str], limit: int = MAX_ERROR_CHARS) -> str:
    """``lines`` joined with "; ", cut at whole lines to about ``limit`` characters, ending with
    how many more problems there were."""
    out: list[str] = []
    used = 0
    for line in lines:
        if out and used + len(line) > limit:
            return "; ".join(out) + f"; and {len(lines) - len(out):,} more problems"
        out.append(line)
        used += len(line) + 2
    return "; ".join(out)


def _boolean_path(data: Any, path: str = "") -> str | None:
    """The path of the first true/false in ``data`` (a scenario has no yes/no fields, so a
    boolean is always a mistake: pydantic would read ``true`` as the number 1)."""
    if isinstance(data, bool):
        return path or "(scenario)"
    if isinstance(data, dict):
        for key, value in data.items():
            found = _boolean_path(value, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(data, list | tuple):
        for i, value in enumerate(data):
            found = _boolean_path(value, f"{path}[{i}]")
            if found:
                return found
    return None


def scenario_from_dict(data: Any) -> Scenario:
    """Validate a parsed scenario; raises ScenarioError naming every bad field."""
    if not isinstance(data, dict):
        raise ScenarioError("a scenario must be an object with 'workload' and 'deployments'")
    try:
        boolean = _boolean_path(data)
        if boolean:
            raise ScenarioError(f"{boolean}: true/false is not a value here (give a number)")
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(describe_validation_error(exc)) from exc
    except RecursionError as exc:
        raise ScenarioError("scenario is nested too deeply") from exc


class _BoundedYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses more than :data:`MAX_YAML_ALIASES` aliases (``*name``):
    thousands of references to a large anchor make a small file a huge document."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases_seen = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases_seen += 1
            if self.aliases_seen > MAX_YAML_ALIASES:
                raise ScenarioError(f"scenario uses more than {MAX_YAML_ALIASES} YAML aliases "
                                    "(*references); write the values out")
        return super().compose_node(parent, index)


def _load_yaml(text: str) -> Any:
    loader = _BoundedYamlLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def parse_scenario_text(text: str, fmt: str = "auto") -> Scenario:
    """Parse JSON or YAML text (``fmt`` = json, yaml or auto)."""
    if len(text.encode("utf-8", errors="replace")) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"scenario is larger than {MAX_SCENARIO_BYTES} bytes")
    if _LONG_DIGITS.search(text):
        raise ScenarioError(f"scenario has a number with more than {MAX_DIGITS:,} digits")
    try:
        if fmt == "json" or (fmt == "auto" and text.lstrip().startswith("{")):
            data = json.loads(text)
        else:
            data = _load_yaml(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"scenario is not valid {fmt if fmt != 'auto' else 'JSON/YAML'}: "
                            f"{str(exc).splitlines()[0][:200]}") from exc
    except RecursionError as exc:
        raise ScenarioError("scenario is nested too deeply") from exc
    except ValueError as exc:  # int() of more than sys.get_int_max_str_digits() digits
        if "digits" in str(exc):
            raise ScenarioError(f"scenario has a number with more than {MAX_DIGITS:,} digits") \
                from exc
        raise ScenarioError(f"scenario has a value that cannot be read: {str(exc)[:200]}") \
            from exc
    return scenario_from_dict(data)


def parse_scenario_bytes(name: str, data: bytes) -> Scenario:
    """A scenario from an uploaded file's name and bytes (.json, else YAML)."""
    if len(data) > MAX_SCENARIO_BYTES:
        raise ScenarioError(f"the file is larger than {MAX_SCENARIO_BYTES:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError("the file is not UTF-8 text") from exc
    return parse_scenario_text(text, "json" if name.lower().endswith(".json") else "yaml")


def load_scenario(path: Path) -> Scenario:
    """Read a scenario file (.json, .yaml or .yml): at most MAX_SCENARIO_BYTES of a regular file."""
    data = read_capped(Path(path), MAX_SCENARIO_BYTES, "scenario", ScenarioError)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"cannot read scenario {path.name}: not UTF-8 text") from exc
    fmt = "json" if path.suffix.lower() == ".json" else "yaml" if path.suffix.lower() in (
        ".yaml", ".yml") else "auto"
    return parse_scenario_text(text, fmt)


def check_against_catalog(scenario: Scenario, catalog: Catalog) -> None:
    """Raise ScenarioError for references the catalog does not know, naming the field."""
    problems = [msg for i, dep in enumerate(scenario.deployments)
                for msg in deployment_problems(dep, catalog, f"deployments[{i}]")]
    if problems:
        raise ScenarioError("; ".join(problems))


def deployment_problems(dep: Deployment, catalog: Catalog, where: str) -> list[str]:
    """Every way this deployment does not match the catalog (empty list = consistent)."""
    module = module_for(dep.target)
    problems = module.catalog_problems(dep.target, dep.model, catalog, where)
    if problems:
        return problems
    hw = module.hardware(dep.target, catalog)
    if hw is None:
        return []
    gpu = hw.gpu
    if not gpu_runs_precision(gpu.native_precisions, dep.precision):
        problems.append(f"{where}.precision: {gpu.name} cannot run {dep.precision} "
                        f"(runs {', '.join(gpu.native_precisions)})")
    if dep.kv_cache_dtype == "fp8" and "fp8" not in gpu.native_precisions:
        problems.append(f"{where}.kv_cache_dtype: {gpu.name} has no native fp8")
    return problems


def gpu_runs_precision(native: tuple[str, ...], precision: str) -> bool:
    """Whether a GPU can serve weights in ``precision``.

    Native precisions run directly. int8 and int4 weight-only quantisation (GPTQ/AWQ-style, compute
    in 16-bit) also runs on any GPU with a 16-bit format, and so does MXFP4 (vLLM's and
    TensorRT-LLM's dequantising MoE kernels on Hopper and Ampere); NVFP4 needs FP4 tensor cores.
    """
    if precision in native:
        return True
    if precision == "mxfp4":  # the dequantising MXFP4 kernels need Ampere or newer (bf16 GPUs)
        return "bf16" in native
    return precision in WEIGHT_ONLY_PRECISIONS and bool({"fp16", "bf16"} & set(native))
