"""Reference data: row models for every table in ``data/`` and their loaders.

Every row of every table carries ``source`` (a URL or document) and ``as_of`` (ISO date). Rows are
validated by pydantic when loaded; a row that fails raises :class:`DataError` naming the file, the
row number and the field, so a broken table stops the planner instead of producing wrong numbers.

Fields whose value could not be confirmed from a primary source are listed in the row's
``unconfirmed`` column (semicolon-separated field names) and are shown as such by the UI.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from planner.errors import DataError
from planner.io.files import read_capped
from planner.registry import PRECISIONS, PRICING_PLANS, Precision, PricingPlan

__all__ = ["PRECISIONS", "PRICING_PLANS", "Catalog", "Precision", "PricingPlan", "load_catalog"]

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DATA_DIR_ENV = "PLANNER_DATA_DIR"  # read reference tables from another folder (tests, mirrors)


def default_data_dir() -> Path:
    """The shipped ``data/`` folder, or the folder named by $PLANNER_DATA_DIR."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override) if override else DATA_DIR

def _split_list(value: object) -> object:
    """CSV cells holding lists are semicolon-separated; empty means an empty list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


class Row(BaseModel):
    """Base of every reference row: provenance is mandatory; numbers are finite (``inf`` and
    ``nan`` are refused, so ``gt=0`` means a real positive number)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    source: str = Field(min_length=1)
    as_of: dt.date
    notes: str = ""
    unconfirmed: tuple[str, ...] = ()

    @field_validator("unconfirmed", mode="before")
    @classmethod
    def _split_unconfirmed(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("source")
    @classmethod
    def _source_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("source must not be blank")
        return value.strip()

    @model_validator(mode="after")
    def _unconfirmed_names_fields(self) -> Row:
        unknown = [name for name in self.unconfirmed if name not in type(self).model_fields]
        if unknown:
            raise ValueError(f"unconfirmed names unknown field(s): {', '.join(unknown)}")
        return self


class ModelSpec(Row):
    """An open-weights model's architecture, from its config file."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    family: str
    hf_id: str
    params_b: float = Field(gt=0, description="total parameters, billions")
    active_params_b: float = Field(gt=0, description="parameters used per token, billions (MoE)")
    layers: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    attention_heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    vocab_size: int = Field(gt=0)
    max_context_tokens: int = Field(gt=0)
    experts: int = Field(default=1, gt=0, description="MoE routed experts per layer (1 = dense)")
    experts_per_token: int = Field(default=1, gt=0, description="MoE experts routed per token")
    shared_experts: int = Field(default=0, ge=0, description="MoE experts every token uses")
    # multi-head latent attention (DeepSeek): the KV cache holds one latent of kv_lora_rank plus
    # a rotary key of qk_rope_head_dim per token and layer, shared by all heads
    kv_lora_rank: int | None = Field(default=None, gt=0)
    qk_rope_head_dim: int | None = Field(default=None, gt=0)
    # local attention: ``local_layers`` of the layers attend only to the last ``sliding_window``
    # tokens (sliding) or to their own chunk of that many tokens (chunked, Llama 4)
    sliding_window: int | None = Field(default=None, gt=0)
    local_layers: int = Field(default=0, ge=0)
    local_attention: Literal["sliding", "chunked"] = "sliding"
    # layers whose state does not grow with context (linear attention / state-space), and the
    # per-request state they keep in all, bytes at 16-bit
    linear_attention_layers: int = Field(default=0, ge=0)
    state_bytes_per_request: float | None = Field(default=None, ge=0)
    tie_word_embeddings: bool = False
    vision_params_b: float | None = Field(
        default=None, ge=0, description="vision tower, billions; counted in params_b (served), "
        "not in active_params_b (generation does not run it)")
    weight_format: str = Field(default="", description="how the vendor ships the weights, e.g. "
                               "'mxfp4-experts' (MoE experts in MXFP4, the rest bf16)")
    release_date: str = Field(default="", pattern=r"^(\d{4}-\d{2}(-\d{2})?)?$",
                              description="first public release, YYYY-MM[-DD]")
    license: str
    license_osi: bool | None = Field(default=None, description="an OSI-approved open licence")
    mmlu_5shot: float | None = Field(default=None, ge=0, le=100)
    mmlu_source: str = ""
    mmlu_pro: float | None = Field(default=None, ge=0, le=100)
    mmlu_pro_source: str = ""

    @model_validator(mode="after")
    def _check_architecture(self) -> ModelSpec:
        if self.attention_heads % self.kv_heads:
            raise ValueError(
                f"kv_heads ({self.kv_heads}) must divide attention_heads ({self.attention_heads})"
            )
        if self.active_params_b > self.params_b:
            raise ValueError("active_params_b cannot exceed params_b")
        if self.experts_per_token > self.experts:
            raise ValueError("experts_per_token cannot exceed experts")
        text_params = self.params_b - (self.vision_params_b or 0.0)
        if self.experts == 1 and abs(self.active_params_b - text_params) > 1e-4:
            raise ValueError("a dense model (experts = 1) has active_params_b = params_b less "
                             "its vision tower")
        if (self.kv_lora_rank is None) != (self.qk_rope_head_dim is None):
            raise ValueError("multi-head latent attention needs kv_lora_rank and qk_rope_head_dim")
        if self.local_layers and self.sliding_window is None:
            raise ValueError("local_layers need a sliding_window")
        if self.local_layers + self.linear_attention_layers > self.layers:
            raise ValueError("local and linear-attention layers cannot exceed layers")
        if self.linear_attention_layers and self.state_bytes_per_request is None:
            raise ValueError("linear_attention_layers need state_bytes_per_request")
        for score, source in ((self.mmlu_5shot, self.mmlu_source),
                              (self.mmlu_pro, self.mmlu_pro_source)):
            if score is not None and not source.strip():
                raise ValueError("a quality score needs its source")
        return self


class PrecisionQuality(Row):
    """A published evaluation of a model served at a lower precision than 16-bit."""

    model_id: str
    precision: Precision
    mmlu_5shot: float = Field(ge=0, le=100)
    mmlu_5shot_16bit: float = Field(ge=0, le=100, description="the same evaluation at 16-bit")
    method: str = Field(min_length=1)

    @property
    def key(self) -> tuple[str, str]:
        return (self.model_id, self.precision)


class ApiModel(Row):
    """A hosted model sold per token."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    provider: str
    input_usd_per_million_tokens: float = Field(ge=0)
    output_usd_per_million_tokens: float = Field(ge=0)
    cached_input_usd_per_million_tokens: float | None = Field(
        default=None, ge=0, description="input tokens served from the prompt cache, USD per 1M; "
                                        "None = not published (never 0)")
    batch_discount: float | None = Field(
        default=None, gt=0, lt=1, description="share off every token price on the Batch API "
                                              "(0.5 = half price); None = no batch offer")
    retired: bool = False
    retires_on: dt.date | None = Field(default=None, description="retirement date (past if retired)")
    mmlu_5shot: float | None = Field(default=None, ge=0, le=100)
    mmlu_source: str = ""
    mmlu_pro: float | None = Field(default=None, ge=0, le=100)
    mmlu_pro_source: str = ""

    @model_validator(mode="after")
    def _check_quality_source(self) -> ApiModel:
        if self.mmlu_5shot is not None and not self.mmlu_source.strip():
            raise ValueError("mmlu_5shot needs mmlu_source")
        return self


class ApiPtu(Row):
    """A hosted model's provisioned-throughput sizing (Microsoft's PTU tables): tokens per
    minute one PTU carries and the Global deployment's minimum and step, in PTUs."""

    model_id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    input_tpm_per_ptu: float = Field(gt=0, description="input tokens per minute per PTU")
    output_to_input_ratio: float = Field(gt=0, description="input tokens one output token counts as")
    global_min_ptu: int | None = Field(default=None, ge=1, description="None = not published")
    global_increment_ptu: int | None = Field(default=None, ge=1, description="None = not published")
    price_id: str | None = Field(default=None, description="row of api_ptu_prices.csv with the "
                                                            "hourly rate; None = no rate found")


class ApiPtuPrice(Row):
    """A price per PTU, USD per ``unit`` (PTU-hour, PTU-month, PTU-year)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    provider: str
    deployment: Literal["global", "data_zone", "regional"]
    term: Literal["hourly", "reservation_1_month", "reservation_1_year"]
    usd_per_ptu: float = Field(gt=0)
    unit: Literal["PTU-hour", "PTU-month", "PTU-year"]


class GpuSpec(Row):
    """An accelerator's datasheet figures. TFLOPS are dense (no 2:4 sparsity)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    vendor: str
    mem_gb: float = Field(gt=0, description="device memory as marketed, GB (10^9 bytes)")
    mem_exposed_mib: float | None = Field(
        default=None, gt=0, description="memory the driver exposes, MiB (nvidia-smi / engine logs)")
    mem_bandwidth_gb_per_s: float = Field(gt=0)
    fp16_tflops: float | None = Field(default=None, gt=0)
    fp8_tflops: float | None = Field(default=None, gt=0)
    fp4_tflops: float | None = Field(default=None, gt=0, description="dense FP4 (Blackwell)")
    int8_tops: float | None = Field(default=None, gt=0)
    tdp_w: float | None = Field(default=None, gt=0)
    idle_w: float | None = Field(default=None, gt=0)
    native_precisions: tuple[Precision, ...]
    compute_capability: float | None = Field(default=None, gt=0, description="CUDA sm (NVIDIA)")
    interconnect: Literal["nvlink", "pcie", "xgmi", "unified"] | None = Field(
        default=None, description="how GPUs of one node talk for tensor parallelism")
    interconnect_gb_per_s: float | None = Field(
        default=None, gt=0, description="per-GPU link bandwidth, GB/s, one direction")

    @field_validator("native_precisions", mode="before")
    @classmethod
    def _split_precisions(cls, value: object) -> object:
        return _split_list(value)


class AzureSku(Row):
    """An Azure GPU VM size usable as an AKS node pool."""

    id: str = Field(pattern=r"^Standard_[A-Za-z0-9_]+$")
    series: str
    gpu_id: str
    gpu_count: int = Field(gt=0)
    vcpus: int = Field(gt=0)
    ram_gb: float = Field(gt=0)
    retired: bool = False


class LocalHardware(Row):
    """An on-premises or edge machine bought outright."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    name: str
    gpu_id: str
    gpu_count: int = Field(gt=0)
    purchase_usd: float | None = Field(default=None, gt=0)
    host_power_w: float = Field(ge=0, description="power of everything but the GPUs, W")


class OnPremCost(Row):
    """A default rate for owning hardware (support share of capex, colocation per kW-month)."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    value: float = Field(ge=0)
    unit: str = Field(min_length=1)


class Region(Row):
    """Energy facts for a region (Azure region, or where local hardware runs)."""

    id: str = Field(pattern=r"^[a-z0-9]+$")
    name: str
    pue: float = Field(ge=1.0)
    pue_source: str = Field(min_length=1)
    grid_gco2_per_kwh: float = Field(ge=0)
    grid_source: str = Field(min_length=1)
    electricity_usd_per_kwh: float | None = Field(default=None, gt=0)
    electricity_source: str = ""


class GpuPowerRow(Row):
    """Measured power of one GPU, W: at idle (``state`` idle) or serving at a batch (``state``
    busy, ``batch`` = concurrent sequences). ``runs`` = measured runs the figure summarises."""

    gpu_id: str
    state: Literal["idle", "busy"]
    batch: int | None = Field(default=None, ge=1)
    power_w: float = Field(gt=0)
    runs: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _batch_matches_state(self) -> GpuPowerRow:
        if (self.state == "busy") != (self.batch is not None):
            raise ValueError("a busy row needs a batch; an idle row has none")
        return self


@dataclass(frozen=True)
class GpuPower:
    """One GPU's measured power: idle W (None = not measured) and busy W by batch, with sources."""

    gpu_id: str
    idle_w: float | None
    idle_source: str
    busy_w_by_batch: tuple[tuple[int, float], ...]
    busy_source: str


class GridCarbon(Row):
    """Location-based average carbon intensity of the grid a region draws from, one year."""

    region: str = Field(pattern=r"^[a-z0-9]+$")
    year: int = Field(ge=2000, le=2100)
    gco2_per_kwh: float = Field(ge=0)
    zone: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.region, self.year)


class DatacenterWater(Row):
    """Water a region's datacenters use per kWh of IT energy (WUE, L/kWh), as the operator states it."""

    region: str = Field(pattern=r"^[a-z0-9]+$")
    wue_l_per_kwh: float = Field(ge=0)
    scope: str = Field(min_length=1, description="what the figure covers (region, macro-region)")
    year: int = Field(ge=2000, le=2100)


class EmbodiedFactor(Row):
    """Manufacturing emissions of one piece of hardware, kg CO2e, written off over its life."""

    id: str = Field(pattern=r"^[a-z0-9_\-]+$")
    kg_co2e: float = Field(gt=0)
    lifetime_years: float = Field(gt=0)


PriceStatus = Literal["quoted", "estimated", "missing"]


def _check_price_status(status: str, price: float | None) -> None:
    """``missing`` means no price (never 0); any other status needs one."""
    if status == "missing" and price is not None:
        raise ValueError("a missing price must have an empty price_per_hour")
    if status != "missing" and price is None:
        raise ValueError(f"a {status} price needs price_per_hour")


class PriceRow(Row):
    """One hourly Linux price of one VM size in one region under one plan.

    ``status`` says what the number is: ``quoted`` (a retail price read from the API or a copy of it),
    ``estimated`` (derived, e.g. from a documented discount; ``notes`` says how), or ``missing``
    (no confirmed price: ``price_per_hour`` is empty and the engine flags it, never uses 0).
    """

    sku: str = Field(pattern=r"^Standard_[A-Za-z0-9_]+$")
    region: str = Field(pattern=r"^[a-z0-9]+$")
    plan: PricingPlan
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    price_per_hour: float | None = Field(default=None, gt=0)
    status: PriceStatus
    effective_start_date: dt.date | None = None
    meter_id: str = ""

    @model_validator(mode="after")
    def _price_matches_status(self) -> PriceRow:
        _check_price_status(self.status, self.price_per_hour)
        return self

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.sku, self.region, self.plan)


class PlatformPrice(Row):
    """An AKS price that is not a GPU node: cluster management tiers, system-pool VMs.

    ``region`` is ``*`` for prices that are the same everywhere. A price of 0 is a real price
    (the Free tier), not an unknown; unknown is ``status = missing`` with an empty price.
    """

    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    region: str = Field(pattern=r"^([a-z0-9]+|\*)$")
    description: str
    price_per_hour: float | None = Field(default=None, ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    status: PriceStatus

    @model_validator(mode="after")
    def _price_matches_status(self) -> PlatformPrice:
        _check_price_status(self.status, self.price_per_hour)
        return self

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.region)


R = TypeVar("R", bound=Row)


def _blank_to_none(row: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in row.items() if k is not None and v not in ("", None)}


MAX_TABLE_BYTES = 256 * 1024 * 1024  # the largest shipped table (the price snapshot) is a few MB


def load_rows(path: Path, row_model: type[R]) -> list[R]:
    """Read a CSV table and validate each row; raises DataError naming file, row and field."""
    if not path.exists() and not path.is_symlink():
        raise DataError(f"{path.name}: file not found")
    content = read_capped(path, MAX_TABLE_BYTES, "table", DataError)
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8"), newline=""))
        raw_rows = list(reader)
        header = reader.fieldnames or []
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path.name}: unreadable CSV ({exc})") from exc
    unknown = [name for name in header if name not in row_model.model_fields]
    if unknown:
        raise DataError(f"{path.name}: unknown column(s) {', '.join(unknown)}")
    rows: list[R] = []
    for number, raw in enumerate(raw_rows, start=2):  # row 1 is the header
        if None in raw:
            raise DataError(f"{path.name} row {number}: more cells than columns")
        try:
            rows.append(row_model.model_validate(_blank_to_none(raw)))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(row)"
            raise DataError(f"{path.name} row {number}, field {field}: {first['msg']}") from exc
    return rows


def _index(rows: Iterable[R], path_name: str, key: str = "id") -> dict[str, R]:
    out: dict[str, R] = {}
    for row in rows:
        value = getattr(row, key)
        if value in out:
            raise DataError(f"{path_name}: duplicate id {value!r}")
        out[value] = row
    return out


@dataclass(frozen=True)
class Catalog:
    """All reference tables, validated and cross-checked. Build with :func:`load_catalog`."""

    models: dict[str, ModelSpec]
    api_models: dict[str, ApiModel]
    gpus: dict[str, GpuSpec]
    skus: dict[str, AzureSku]
    local_hardware: dict[str, LocalHardware]
    regions: dict[str, Region]
    onprem_costs: dict[str, OnPremCost]
    prices: tuple[PriceRow, ...]
    platform_prices: tuple[PlatformPrice, ...]
    data_dir: Path
    quality_by_precision: dict[tuple[str, str], PrecisionQuality] = field(default_factory=dict)
    gpu_power: dict[str, GpuPower] = field(default_factory=dict)
    grid_carbon: dict[str, GridCarbon] = field(default_factory=dict)  # region -> newest year
    embodied: dict[str, EmbodiedFactor] = field(default_factory=dict)
    water: dict[str, DatacenterWater] = field(default_factory=dict)
    api_ptu: dict[str, ApiPtu] = field(default_factory=dict)  # model id -> PTU sizing
    api_ptu_prices: dict[str, ApiPtuPrice] = field(default_factory=dict)

    @cached_property
    def price_index(self) -> dict[tuple[str, str, str], PriceRow]:
        return {row.key: row for row in self.prices}

    @cached_property
    def prices_currency(self) -> str:
        """The price snapshot's currency (ISO code): the one its rows are in, USD for an empty
        snapshot. A snapshot never mixes currencies (the refresh refuses to); should one do so,
        the most common currency is taken and the other rows resolve as missing."""
        counts: dict[str, int] = {}
        for row in self.prices:
            counts[row.currency] = counts.get(row.currency, 0) + 1
        return max(sorted(counts), key=counts.__getitem__) if counts else "USD"

    @cached_property
    def prices_as_of(self) -> dt.date | None:
        """Date of the oldest price in the snapshot: every price is at least this recent.
        (Rows flagged missing carry no price and are not counted.)"""
        dates = [row.as_of for row in self.prices if row.status != "missing"]
        return min(dates) if dates else None

    @cached_property
    def prices_newest(self) -> dt.date | None:
        """Date of the newest price in the snapshot."""
        dates = [row.as_of for row in self.prices if row.status != "missing"]
        return max(dates) if dates else None

    def price(self, sku: str, region: str, plan: str) -> PriceRow | None:
        return self.price_index.get((sku, region, plan))

    @cached_property
    def platform_index(self) -> dict[tuple[str, str], PlatformPrice]:
        return {row.key: row for row in self.platform_prices}

    @cached_property
    def sku_region_index(self) -> dict[str, list[str]]:
        regions: dict[str, set[str]] = {}
        for row in self.prices:
            regions.setdefault(row.sku, set()).add(row.region)
        return {sku: sorted(found) for sku, found in regions.items()}

    def platform_price(self, price_id: str, region: str) -> PlatformPrice | None:
        """A platform price for the region, else its region-independent (``*``) row."""
        by_key = self.platform_index
        return by_key.get((price_id, region)) or by_key.get((price_id, "*"))

    def sku_regions(self, sku: str) -> list[str]:
        """Regions where the snapshot has any row (priced or flagged missing) for this SKU."""
        return list(self.sku_region_index.get(sku, []))


TABLES: dict[str, tuple[str, type[Row]]] = {
    "models": ("models.csv", ModelSpec),
    "api_models": ("api_models.csv", ApiModel),
    "gpus": ("gpus.csv", GpuSpec),
    "skus": ("azure_skus.csv", AzureSku),
    "local_hardware": ("local_hardware.csv", LocalHardware),
    "regions": ("regions.csv", Region),
    "onprem_costs": ("onprem_costs.csv", OnPremCost),
}
PRICES_FILE = Path("prices") / "azure_retail_prices.csv"
PLATFORM_PRICES_FILE = "azure_platform_prices.csv"
QUALITY_FILE = "quality_by_precision.csv"
GPU_POWER_FILE = "gpu_power.csv"
GRID_CARBON_FILE = "grid_carbon.csv"
EMBODIED_FILE = "embodied_carbon.csv"
WATER_FILE = "datacenter_water.csv"
API_PTU_FILE = "api_ptu.csv"
API_PTU_PRICES_FILE = "api_ptu_prices.csv"


def gpu_power_of(rows: Iterable[GpuPowerRow]) -> dict[str, GpuPower]:
    """Group power rows by GPU: one idle figure at most, busy figures sorted by batch."""
    idle: dict[str, GpuPowerRow] = {}
    busy: dict[str, dict[int, GpuPowerRow]] = {}
    for row in rows:
        if row.state == "idle":
            if row.gpu_id in idle:
                raise DataError(f"{GPU_POWER_FILE}: two idle rows for {row.gpu_id!r}")
            idle[row.gpu_id] = row
        else:
            by_batch = busy.setdefault(row.gpu_id, {})
            if row.batch in by_batch:
                raise DataError(f"{GPU_POWER_FILE}: two busy rows for {row.gpu_id!r} at batch "
                                f"{row.batch}")
            by_batch[row.batch] = row  # type: ignore[index]
    out = {}
    for gpu_id in sorted(set(idle) | set(busy)):
        points = sorted(busy.get(gpu_id, {}).items())
        out[gpu_id] = GpuPower(
            gpu_id, idle[gpu_id].power_w if gpu_id in idle else None,
            idle[gpu_id].source if gpu_id in idle else "",
            tuple((b, r.power_w) for b, r in points),
            points[0][1].source if points else "")
    return out


def newest_grid(rows: Iterable[GridCarbon]) -> dict[str, GridCarbon]:
    """The newest year's row per region (duplicate region-years refused)."""
    seen: set[tuple[str, int]] = set()
    out: dict[str, GridCarbon] = {}
    for row in rows:
        if row.key in seen:
            raise DataError(f"{GRID_CARBON_FILE}: duplicate (region, year) {row.key}")
        seen.add(row.key)
        if row.region not in out or row.year > out[row.region].year:
            out[row.region] = row
    return out


def load_catalog(data_dir: Path | None = None, prices_path: Path | None = None) -> Catalog:
    """Load and cross-check every table. Raises DataError on the first problem found."""
    data_dir = data_dir or default_data_dir()
    tables = {
        name: _index(load_rows(data_dir / file, model), file)
        for name, (file, model) in TABLES.items()
    }
    for name, (file, _model) in TABLES.items():
        if not tables[name]:
            raise DataError(f"{file}: no rows (the planner needs at least one)")
    prices_file = prices_path or data_dir / PRICES_FILE
    prices = load_rows(prices_file, PriceRow)
    seen: set[tuple[str, str, str]] = set()
    for row in prices:
        if row.key in seen:
            raise DataError(f"{prices_file.name}: duplicate price {row.key}")
        seen.add(row.key)
    platform = load_rows(data_dir / PLATFORM_PRICES_FILE, PlatformPrice)
    keys = [row.key for row in platform]
    if len(keys) != len(set(keys)):
        raise DataError(f"{PLATFORM_PRICES_FILE}: duplicate (id, region)")
    quality: dict[tuple[str, str], PrecisionQuality] = {}
    for row in load_rows(data_dir / QUALITY_FILE, PrecisionQuality):
        if row.key in quality:
            raise DataError(f"{QUALITY_FILE}: duplicate (model_id, precision) {row.key}")
        quality[row.key] = row
    gpu_power = gpu_power_of(load_rows(data_dir / GPU_POWER_FILE, GpuPowerRow))
    grid = newest_grid(load_rows(data_dir / GRID_CARBON_FILE, GridCarbon))
    embodied = _index(load_rows(data_dir / EMBODIED_FILE, EmbodiedFactor), EMBODIED_FILE)
    water = _index(load_rows(data_dir / WATER_FILE, DatacenterWater), WATER_FILE, key="region")
    api_ptu = _index(load_rows(data_dir / API_PTU_FILE, ApiPtu), API_PTU_FILE, key="model_id")
    api_ptu_prices = _index(load_rows(data_dir / API_PTU_PRICES_FILE, ApiPtuPrice),
                            API_PTU_PRICES_FILE)
    catalog = Catalog(prices=tuple(prices), platform_prices=tuple(platform),  # type: ignore[arg-type]
                      data_dir=data_dir, quality_by_precision=quality, gpu_power=gpu_power,
                      grid_carbon=grid, embodied=embodied, water=water, api_ptu=api_ptu,
                      api_ptu_prices=api_ptu_prices, **tables)
    _cross_check(catalog, prices_file.name)
    return catalog


def _cross_check(catalog: Catalog, prices_name: str) -> None:
    for sku in catalog.skus.values():
        if sku.gpu_id not in catalog.gpus:
            raise DataError(f"azure_skus.csv: {sku.id} names unknown gpu_id {sku.gpu_id!r}")
    for hw in catalog.local_hardware.values():
        if hw.gpu_id not in catalog.gpus:
            raise DataError(f"local_hardware.csv: {hw.id} names unknown gpu_id {hw.gpu_id!r}")
    clash = set(catalog.models) & set(catalog.api_models)
    if clash:
        raise DataError(f"model ids used by both models.csv and api_models.csv: {sorted(clash)}")
    for ptu in catalog.api_ptu.values():
        if ptu.model_id not in catalog.api_models:
            raise DataError(f"{API_PTU_FILE}: unknown model_id {ptu.model_id!r}")
        if ptu.price_id is not None and ptu.price_id not in catalog.api_ptu_prices:
            raise DataError(f"{API_PTU_FILE}: {ptu.model_id} names unknown price_id "
                            f"{ptu.price_id!r}")
    for gpu_id in catalog.gpu_power:
        if gpu_id not in catalog.gpus:
            raise DataError(f"{GPU_POWER_FILE}: unknown gpu_id {gpu_id!r}")
    for region in catalog.grid_carbon:
        if region not in catalog.regions:
            raise DataError(f"{GRID_CARBON_FILE}: unknown region {region!r}")
    for region in catalog.water:
        if region not in catalog.regions:
            raise DataError(f"{WATER_FILE}: unknown region {region!r}")
    for model_id, _ in catalog.quality_by_precision:
        if model_id not in catalog.models:
            raise DataError(f"{QUALITY_FILE}: unknown model_id {model_id!r}")
    for row in catalog.prices:
        if row.sku not in catalog.skus:
            raise DataError(f"{prices_name}: price for unknown SKU {row.sku!r}")
