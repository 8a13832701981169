"""Findings: what the planner noticed about an option, as data (a closed code and its values).

Rooms hand findings to each other and to the edges; words for people are made at the edge
(:mod:`planner.io.wording`), never parsed back. Each code declares its severity and the values it
carries, so a finding is checked when it is made and every code can be worded (a test asserts it).

``status`` says what the finding rests on, Boavizta-style: ``input`` (the user's scenario),
``default`` (a planner assumption), ``catalog`` (a reference table) or ``estimate`` (derived).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["info", "warning", "critical"]
FindingStatus = Literal["input", "default", "catalog", "estimate"]
Value = str | int | float | None


class FindingCode(StrEnum):
    """Every kind of finding the planner makes."""

    CONTEXT_CAPPED = "context_capped"
    REQUEST_EXCEEDS_CONTEXT = "request_exceeds_context"
    DOES_NOT_FIT = "does_not_fit"
    THROUGHPUT_UNKNOWN = "throughput_unknown"
    TOO_MANY_REPLICAS = "too_many_replicas"
    GROWTH_BEYOND_BOUND = "growth_beyond_bound"
    LARGER_TP_CHOSEN = "larger_tp_chosen"
    SLO_UNMET = "slo_unmet"
    SPARE_REPLICA_SLOTS = "spare_replica_slots"
    SPOT_EVICTION = "spot_eviction"
    PRICE_MISSING = "price_missing"
    PRICE_ESTIMATED = "price_estimated"
    ENERGY_NO_TDP = "energy_no_tdp"
    ENERGY_NO_PUE = "energy_no_pue"
    IDLE_POWER_ESTIMATED = "idle_power_estimated"
    CO2_NO_GRID = "co2_no_grid"
    API_ENERGY_UNPUBLISHED = "api_energy_unpublished"
    API_BATCH_TURNAROUND = "api_batch_turnaround"
    SKU_RETIRED = "sku_retired"
    SEQUENCE_EXCEEDS_CONTEXT = "sequence_exceeds_context"
    MULTI_NODE_TRAINING = "multi_node_training"
    QLORA_VENDOR_UNCONFIRMED = "qlora_vendor_unconfirmed"
    NO_TRAINING_PEAK = "no_training_peak"
    QUALITY_NOT_MEASURED = "quality_not_measured"
    MODEL_RETIRED = "model_retired"
    BUSY_POWER_ESTIMATED = "busy_power_estimated"
    GRID_FROM_REGION_TABLE = "grid_from_region_table"
    SCALING_CEILING_REACHED = "scaling_ceiling_reached"
    SCALING_LEAD_TIME = "scaling_lead_time"


@dataclass(frozen=True)
class CodeSpec:
    """What a code means for the reader (severity) and which values it must carry."""

    severity: Severity
    values: tuple[str, ...]


C = FindingCode
CODES: dict[FindingCode, CodeSpec] = {
    C.CONTEXT_CAPPED: CodeSpec("warning", ("requested_tokens", "maximum_tokens", "model")),
    C.REQUEST_EXCEEDS_CONTEXT: CodeSpec("critical", ("request_tokens", "context_tokens")),
    C.DOES_NOT_FIT: CodeSpec("critical", ("model", "gpu", "precision")),
    C.THROUGHPUT_UNKNOWN: CodeSpec("critical", ("gpu", "precision")),
    C.TOO_MANY_REPLICAS: CodeSpec("critical", ("replicas", "limit")),
    C.GROWTH_BEYOND_BOUND: CodeSpec("warning", ("month", "replicas", "limit")),
    C.LARGER_TP_CHOSEN: CodeSpec("info", ("smallest_tp", "tp", "nodes", "meets_slo")),
    C.SLO_UNMET: CodeSpec("critical", ("tpot_ms", "tpot_slo_ms", "ttft_ms", "ttft_slo_ms")),
    C.SPARE_REPLICA_SLOTS: CodeSpec("info", ("spare_slots", "nodes", "idle_gpus",
                                             "headroom_requests_per_day", "node_word")),
    C.SPOT_EVICTION: CodeSpec("warning", ()),
    C.PRICE_MISSING: CodeSpec("critical", ("line", "price_key", "reason")),
    C.PRICE_ESTIMATED: CodeSpec("warning", ("line", "price_key")),
    C.ENERGY_NO_TDP: CodeSpec("warning", ("gpu",)),
    C.ENERGY_NO_PUE: CodeSpec("warning", ("region",)),
    C.IDLE_POWER_ESTIMATED: CodeSpec("info", ("gpu", "idle_w")),
    C.CO2_NO_GRID: CodeSpec("warning", ("region",)),
    C.BUSY_POWER_ESTIMATED: CodeSpec("info", ("gpu", "reference_gpu", "busy_w")),
    C.GRID_FROM_REGION_TABLE: CodeSpec("info", ("region",)),
    C.API_ENERGY_UNPUBLISHED: CodeSpec("info", ()),
    C.API_BATCH_TURNAROUND: CodeSpec("info", ("hours",)),
    C.SKU_RETIRED: CodeSpec("warning", ("sku",)),
    C.SEQUENCE_EXCEEDS_CONTEXT: CodeSpec("warning", ("sequence_tokens", "context_tokens", "model")),
    C.MULTI_NODE_TRAINING: CodeSpec("info", ("units",)),
    C.QLORA_VENDOR_UNCONFIRMED: CodeSpec("warning", ("gpu",)),
    C.NO_TRAINING_PEAK: CodeSpec("critical", ("gpu",)),
    C.MODEL_RETIRED: CodeSpec("critical", ("model", "retired_on")),
    C.QUALITY_NOT_MEASURED: CodeSpec("info", ("model", "precision", "mmlu_5shot_16bit")),
    C.SCALING_CEILING_REACHED: CodeSpec("warning", ("hours", "max_nodes")),
    C.SCALING_LEAD_TIME: CodeSpec("info", ("policy", "lead_time_minutes", "node_hours_per_month",
                                           "average_utilization")),
}


class Finding(BaseModel):
    """One thing the planner noticed, with the values it speaks of and what it rests on."""

    model_config = ConfigDict(frozen=True)

    code: FindingCode
    severity: Severity
    values: dict[str, Value] = Field(default_factory=dict)
    status: FindingStatus = "estimate"
    source: str = ""


def finding(code: FindingCode, *, status: FindingStatus = "estimate", source: str = "",
            **values: Value) -> Finding:
    """A finding of ``code`` carrying exactly the values its spec names."""
    spec = CODES[code]
    if set(values) != set(spec.values):
        raise TypeError(f"finding {code} takes values {spec.values}, got {tuple(values)}")
    return Finding(code=code, severity=spec.severity, values=values, status=status, source=source)

