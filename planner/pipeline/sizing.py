"""Sizing: peak demand -> replicas -> GPUs -> nodes, how that grows month by month, and the one
sizing step the plan and the advisor share (:func:`size_replicas`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from planner.catalog import GpuSpec, ModelSpec
from planner.errors import CannotEstimateError, TooManyReplicasError
from planner.physics.memory import MemoryBreakdown
from planner.physics.throughput import (
    BatchChoice,
    EngineProfile,
    ThroughputCurve,
    choose_batch,
    memory_cap,
    throughput_curve,
)
from planner.pipeline.traffic import peak_factor
from planner.scenario import Workload
from planner.units import SECONDS_PER_DAY

MAX_REPLICAS = 100_000  # more replicas than any one deployment runs: sized no further (a bound)


def average_requests_per_s(requests_per_day: float) -> float:
    """Mean request rate, requests/s."""
    return requests_per_day / SECONDS_PER_DAY


def peak_requests_per_s(requests_per_day: float, peak_to_average: float) -> float:
    """Request rate the deployment must absorb at its busiest, requests/s."""
    return average_requests_per_s(requests_per_day) * peak_to_average


def raw_replicas(peak_rps: float, replica_rps: float, target_utilization: float) -> float:
    """Replicas (fractional) so that peak load uses ``target_utilization`` of each."""
    if replica_rps <= 0:
        raise CannotEstimateError("replica capacity must be positive")
    return peak_rps / (replica_rps * target_utilization)


def replicas_needed(peak_rps: float, replica_rps: float, target_utilization: float,
                    min_replicas: int) -> int:
    """Whole replicas so that peak load uses at most ``target_utilization`` of each, never below
    ``min_replicas``. ``replica_rps`` is one replica's capacity in requests/s. Raises
    TooManyReplicasError above :data:`MAX_REPLICAS` (so every count derived from it is bounded)."""
    raw = raw_replicas(peak_rps, replica_rps, target_utilization)
    if not raw <= MAX_REPLICAS:  # also catches inf and nan
        raise TooManyReplicasError(raw, MAX_REPLICAS)
    needed = math.ceil(raw - 1e-9)
    return max(min_replicas, needed)


def raw_replicas_of(peak_rps: float, replica_rps: np.ndarray,
                    target_utilization: float) -> np.ndarray:
    """:func:`raw_replicas` for an array of replica capacities (requests/s, all positive)."""
    return peak_rps / (np.asarray(replica_rps) * target_utilization)


def replicas_needed_of(raw: np.ndarray, min_replicas: int) -> np.ndarray:
    """:func:`replicas_needed` from :func:`raw_replicas_of` (callers rule out ``raw`` above
    :data:`MAX_REPLICAS` first, as the scalar function raises there)."""
    return np.maximum(min_replicas, np.ceil(np.minimum(raw, MAX_REPLICAS) - 1e-9)).astype(np.int64)


def nodes_needed_of(replicas: np.ndarray, gpus_per_node: np.ndarray, tp: np.ndarray) -> np.ndarray:
    """:func:`nodes_needed` for arrays (every ``tp`` within its node)."""
    per_node = gpus_per_node // tp
    return np.ceil(replicas / per_node).astype(np.int64)  # exact: small whole numbers


def replicas_per_node(gpus_per_node: int, tp: int) -> int:
    """Replicas of ``tp`` GPUs each that one node holds."""
    return gpus_per_node // tp


def nodes_needed(replicas: int, gpus_per_node: int, tp: int) -> int:
    """Whole nodes (VMs or machines) to host the replicas."""
    per_node = replicas_per_node(gpus_per_node, tp)
    if per_node < 1:
        raise CannotEstimateError(f"a replica needs {tp} GPUs but a node has {gpus_per_node}")
    return math.ceil(replicas / per_node)


def monthly_traffic(requests_per_day: float, monthly_growth: float, months: int = 12) -> list[float]:
    """Requests/day in each of the next ``months`` months (month 0 = now), compounding growth."""
    return [requests_per_day * (1 + monthly_growth) ** m for m in range(months)]


def utilization(requests_per_day: float, replicas: int, replica_rps: float) -> float:
    """Average share (0-1) of the replicas' capacity the day's mean traffic uses."""
    return min(1.0, average_requests_per_s(requests_per_day) / (replicas * replica_rps))


def headroom_requests_per_day(replica_slots: int, replica_rps: float, workload: Workload) -> float:
    """Daily traffic ``replica_slots`` replicas absorb at the target utilisation and peak factor."""
    return (replica_slots * replica_rps * workload.target_utilization / peak_factor(workload)
            * SECONDS_PER_DAY)


class Sizing(BaseModel):
    """The arithmetic from traffic to nodes, as the plan did it."""

    model_config = ConfigDict(frozen=True)

    average_requests_per_s: float
    peak_requests_per_s: float
    replica_requests_per_s: float
    raw_replicas: float
    replicas: int
    replicas_per_node: int
    gpus: int
    nodes: int
    utilization: float
    spare_replica_slots: int
    idle_gpus: int
    headroom_requests_per_day: float


class BatchCurve(BaseModel):
    """One replica's figures at every batch up to the memory/engine cap (what Capacity draws)."""

    model_config = ConfigDict(frozen=True)

    batch: list[int]
    tpot_ms: list[float]
    ttft_ms: list[float]
    output_tokens_per_s: list[float]
    memory_max_batch: int
    engine_max_batch: int


def batch_curve_of(curve: ThroughputCurve, memory_max_batch: int,
                   engine_max_batch: int) -> BatchCurve:
    # built without re-validation: every value is a number the model computed
    return BatchCurve.model_construct(batch=curve.batch.astype(int).tolist(),
                      tpot_ms=(curve.tpot_s * 1000).tolist(),
                      ttft_ms=(curve.ttft_s * 1000).tolist(),
                      output_tokens_per_s=np.asarray(curve.output_tokens_per_s).tolist(),
                      memory_max_batch=memory_max_batch, engine_max_batch=engine_max_batch)


@dataclass(frozen=True)
class Sized:
    """One tensor-parallel option sized for the workload."""

    mem: MemoryBreakdown
    choice: BatchChoice
    curve: ThroughputCurve
    memory_max_batch: int
    replicas: int
    nodes: int


def replica_capacity(mem: MemoryBreakdown, model: ModelSpec, gpu: GpuSpec, precision: str,
                     kv_dtype: str, workload: Workload, profile: EngineProfile
                     ) -> tuple[int, ThroughputCurve, BatchChoice]:
    """What one replica of a TP option can do, whatever the traffic: its memory cap on the
    batch (requests), its throughput curve and the batch it runs at under the SLOs (whose
    ``requests_per_s`` is one replica's capacity). Raises CannotEstimateError if throughput
    cannot be estimated."""
    cap = memory_cap(mem, workload.input_tokens, workload.output_tokens)
    curve = throughput_curve(model, gpu, precision, mem.tp, profile, workload.input_tokens,
                             workload.output_tokens, min(cap, profile.max_batch), kv_dtype)
    choice = choose_batch(curve, cap, profile.max_batch, workload.ttft_slo_ms,
                          workload.tpot_slo_ms)
    return cap, curve, choice


def size_replicas(mem: MemoryBreakdown, model: ModelSpec, gpu: GpuSpec, precision: str,
                  kv_dtype: str, workload: Workload, profile: EngineProfile,
                  gpus_per_node: int) -> Sized:
    """Batch, replicas and nodes of one TP option for the workload (the one sizing step the
    planner and the advisor share). Raises CannotEstimateError if throughput cannot be
    estimated."""
    cap, curve, choice = replica_capacity(mem, model, gpu, precision, kv_dtype, workload,
                                          profile)
    peak = peak_requests_per_s(workload.requests_per_day, peak_factor(workload))
    replicas = replicas_needed(peak, choice.requests_per_s, workload.target_utilization,
                               workload.min_replicas)
    return Sized(mem, choice, curve, cap, replicas, nodes_needed(replicas, gpus_per_node, mem.tp))


def sizing_of(sized: Sized, workload: Workload, gpus_per_node: int) -> Sizing:
    """The working of a sized option, for people and pages."""
    rps = sized.choice.requests_per_s
    tp = sized.mem.tp
    per_node = replicas_per_node(gpus_per_node, tp)
    peak = peak_requests_per_s(workload.requests_per_day, peak_factor(workload))
    slots = sized.nodes * per_node
    return Sizing(
        average_requests_per_s=average_requests_per_s(workload.requests_per_day),
        peak_requests_per_s=peak, replica_requests_per_s=rps,
        raw_replicas=raw_replicas(peak, rps, workload.target_utilization),
        replicas=sized.replicas, replicas_per_node=per_node, gpus=sized.replicas * tp,
        nodes=sized.nodes, utilization=utilization(workload.requests_per_day, sized.replicas, rps),
        spare_replica_slots=slots - sized.replicas,
        idle_gpus=sized.nodes * gpus_per_node - sized.replicas * tp,
        headroom_requests_per_day=headroom_requests_per_day(slots, rps, workload))
