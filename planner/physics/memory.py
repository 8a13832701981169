"""Memory per GPU: weights, KV cache, runtime overhead, communication buffers; fit and max batch.

Buckets are kept separate because each has its own error (the lesson of KAITO's and llm-d's
published memory models: weights within ~1 %, KV pool within ~0.3 % when kept apart).
All sizes are in bytes unless the name says GB (10^9 bytes) or GiB (2^30 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from planner.catalog import GpuSpec, ModelSpec
from planner.physics.quantities import (
    kv_cache_bytes,
    kv_cache_bytes_per_token,
    kv_splits_over_tp,
    model_weight_bytes,
)
from planner.registry import TP_DEGREES
from planner.units import GB, GIB

# KAITO's SKU calculation (kaito-project/kaito presets/workspace/generator/model-sku-calculation.md,
# measured on vLLM v0.10.1): activations <= 1.7 GiB per GPU, non-PyTorch (CUDA context etc.)
# <= 0.6 GiB per GPU, weights in memory ~= 1.02 x file size.
ACTIVATION_GIB_PER_GPU = 1.7
NON_TORCH_GIB_PER_GPU = 0.6
WEIGHT_LOAD_FACTOR = 1.02
# NCCL buffers when tensor-parallel (TP >= 2): about 2 GiB per GPU (llm-d planner memory notes,
# as summarised in our reference material). An estimate.
NCCL_GIB_PER_GPU_TP = 2.0
# vLLM's default gpu_memory_utilization is 0.9: the share of device memory the server may use.
USABLE_MEMORY_FRACTION = 0.90
MIB = 2**20


@dataclass(frozen=True)
class MemoryReservation:
    """How an engine reserves device memory (all engines' defaults; see :data:`RESERVATIONS`).

    ``device_fraction``: share of the memory the card exposes the server may use (vLLM's
    gpu_memory_utilization); ``free_fraction``: share of what is left after weights and runtime
    buffers that becomes KV cache (TensorRT-LLM's kv_cache_free_gpu_mem_fraction);
    ``runtime_gib``: activations, CUDA context and compute buffers per GPU."""

    device_fraction: float
    free_fraction: float
    runtime_gib: float
    source: str


RESERVATIONS: dict[str, MemoryReservation] = {
    # vLLM: gpu_memory_utilization 0.9 of the device's memory (GiB the driver exposes); KAITO's
    # measured activations and non-PyTorch memory (above)
    "vllm": MemoryReservation(USABLE_MEMORY_FRACTION, 1.0,
                              ACTIVATION_GIB_PER_GPU + NON_TORCH_GIB_PER_GPU,
                              "vLLM engine arguments (gpu_memory_utilization default 0.9); KAITO"),
    # TensorRT-LLM: the KV cache takes kv_cache_free_gpu_mem_fraction (default 0.9) of the memory
    # free after the weights and runtime buffers are loaded (TensorRT-LLM perf-overview.md:
    # "higher KV cache percentage by setting --kv_cache_free_gpu_mem_fraction 0.95 ... than the
    # default setting of 0.90"); runtime buffers taken as vLLM's (estimate)
    "tensorrt-llm": MemoryReservation(1.0, 0.90,
                                      ACTIVATION_GIB_PER_GPU + NON_TORCH_GIB_PER_GPU,
                                      "TensorRT-LLM perf-overview.md (kv_cache_free_gpu_mem_fraction "
                                      "0.90 default); runtime buffers estimated as vLLM's"),
    # llama.cpp allocates the weights, the KV cache of its context (n_ctx) and a compute buffer,
    # with no utilisation cap: the whole device less the CUDA context (KAITO's non-PyTorch figure)
    # and a compute buffer (estimate: the same 0.6 GiB again)
    "llama.cpp": MemoryReservation(1.0, 1.0, 2 * NON_TORCH_GIB_PER_GPU,
                                   "llama.cpp allocates weights + KV for n_ctx + compute buffer; "
                                   "reserve estimated"),
}


def reservation_for(engine: str | None) -> MemoryReservation:
    """The engine's memory reservation (vLLM's when the engine is not given or not listed)."""
    return RESERVATIONS.get(engine or "vllm", RESERVATIONS["vllm"])


def device_memory_gb(gpu: GpuSpec) -> float:
    """Memory the GPU exposes to the server, GB (10^9 bytes): the driver's figure in MiB where the
    catalog has it (an "80 GB" part exposes 79,647-81,920 MiB), else the marketed size."""
    if gpu.mem_exposed_mib is not None:
        return gpu.mem_exposed_mib * MIB / GB
    return gpu.mem_gb



def weights_gb(model: ModelSpec, precision: str) -> float:
    """Weights of the whole model in GB (10^9 bytes), before the load factor."""
    return model_weight_bytes(model, precision) / GB


def tp_divides_heads(model: ModelSpec, tp: int) -> bool:
    """Tensor parallelism splits attention heads: ``tp`` must divide query and KV heads."""
    return model.attention_heads % tp == 0 and model.kv_heads % tp == 0


@dataclass(frozen=True)
class MemoryBreakdown:
    """Per-GPU memory at a tensor-parallel degree, in GB (10^9 bytes)."""

    tp: int
    gpu_mem_gb: float
    usable_gb: float
    weights_gb: float
    runtime_overhead_gb: float
    comm_buffers_gb: float
    kv_budget_gb: float
    kv_bytes_per_token_per_gpu: float  # one more token of a long context (global layers)
    context_tokens: int
    full_context_kv_gb: float
    model: ModelSpec
    kv_dtype: str
    kv_shards: int  # GPUs the KV cache is split over: TP for KV heads, 1 for an MLA latent

    @property
    def fits(self) -> bool:
        """Weights, overheads and the KV cache of one full-context request fit."""
        return self.kv_budget_gb >= self.full_context_kv_gb

    def request_kv_bytes_per_gpu(self, tokens_per_request: float) -> float:
        """KV cache one request of ``tokens_per_request`` tokens holds on each GPU, bytes."""
        return float(kv_cache_bytes(self.model, tokens_per_request, self.kv_dtype)) / self.kv_shards

    def max_batch(self, tokens_per_request: int) -> int:
        """Concurrent requests of ``tokens_per_request`` tokens whose KV cache fits."""
        return int(max_batch_of(self.kv_budget_gb,
                                self.request_kv_bytes_per_gpu(tokens_per_request)))


Num = float | np.ndarray  # a number, or an array of one number per configuration


def weights_gb_per_gpu(weight_bytes: Num, tp: Num) -> Num:
    """Weights one GPU of a TP group holds in memory, GB: the file size x the load factor / TP."""
    return weight_bytes * WEIGHT_LOAD_FACTOR / tp / GB


def runtime_overhead_gb(runtime_gib: Num) -> Num:
    """Activations, CUDA context and compute buffers per GPU, GB (the engine reserves
    ``runtime_gib`` GiB: :data:`RESERVATIONS`)."""
    return runtime_gib * GIB / GB


def comm_buffers_gb(tp: Num) -> Num:
    """NCCL buffers per GPU, GB (only when tensor-parallel)."""
    return np.where(np.asarray(tp) > 1, NCCL_GIB_PER_GPU_TP * GIB / GB, 0.0)


def usable_memory_gb(device_gb: Num, device_fraction: Num) -> Num:
    """Share of device memory the server may use, GB."""
    return device_gb * device_fraction


def kv_shards_of(kv_splits: Num, tp: Num) -> Num:
    """GPUs the KV cache is split over: TP for KV heads, 1 for an MLA latent."""
    return np.where(kv_splits, tp, 1)


def kv_budget_gb_of(usable_gb: Num, weights_gb: Num, tp: Num, runtime_gib: Num,
                    free_fraction: Num) -> Num:
    """Memory per GPU the KV cache gets, GB: ``free_fraction`` of what is left after the
    weights, runtime buffers and NCCL buffers."""
    return (usable_gb - weights_gb - runtime_overhead_gb(runtime_gib)
            - comm_buffers_gb(tp)) * free_fraction


def max_batch_of(kv_budget_gb: Num, request_kv_bytes_per_gpu: Num) -> Num:
    """Concurrent requests whose KV cache (``request_kv_bytes_per_gpu`` each) fits the budget;
    0 when nothing is left."""
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.floor_divide(kv_budget_gb * GB, request_kv_bytes_per_gpu)
    return np.where(np.asarray(kv_budget_gb) > 0, n, 0)


def memory_breakdown(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int,
                     kv_dtype: str = "fp16", context_tokens: int | None = None,
                     engine: str | None = None) -> MemoryBreakdown:
    """Memory per GPU when the model is split over ``tp`` GPUs, as ``engine`` reserves it
    (:data:`RESERVATIONS`; vLLM's when not given)."""
    ctx = context_tokens or model.max_context_tokens
    device = device_memory_gb(gpu)
    reserve = reservation_for(engine)
    usable = usable_memory_gb(device, reserve.device_fraction)
    w = weights_gb_per_gpu(model_weight_bytes(model, precision), tp)
    shards = int(kv_shards_of(kv_splits_over_tp(model), tp))
    return MemoryBreakdown(
        tp=tp,
        gpu_mem_gb=device,
        usable_gb=usable,
        weights_gb=w,
        runtime_overhead_gb=runtime_overhead_gb(reserve.runtime_gib),
        comm_buffers_gb=float(comm_buffers_gb(tp)),
        kv_budget_gb=float(kv_budget_gb_of(usable, w, tp, reserve.runtime_gib,
                                           reserve.free_fraction)),
        kv_bytes_per_token_per_gpu=kv_cache_bytes_per_token(model, kv_dtype) / shards,
        context_tokens=ctx,
        full_context_kv_gb=float(kv_cache_bytes(model, ctx, kv_dtype)) / shards / GB,
        model=model,
        kv_dtype=kv_dtype,
        kv_shards=shards,
    )


TpProblem = Literal["exceeds_node", "heads_not_divisible", "memory"]


class TpAttempt(BaseModel):
    """Why one tensor-parallel degree does not fit, with the numbers (GB per GPU)."""

    model_config = ConfigDict(frozen=True)

    tp: int
    problem: TpProblem
    need_gb: float | None = None
    usable_gb: float | None = None
    weights_gb: float | None = None
    kv_gb: float | None = None
    context_tokens: int | None = None


@dataclass(frozen=True)
class FitResult:
    """The smallest tensor-parallel degree that fits, or every degree tried and why it failed."""

    memory: MemoryBreakdown | None
    attempts: tuple[TpAttempt, ...] = ()
    shorter_context_may_fit: bool = False

    @property
    def fits(self) -> bool:
        return self.memory is not None


def fitting_tps(model: ModelSpec, gpu: GpuSpec, precision: str, max_gpus: int,
                kv_dtype: str = "fp16", context_tokens: int | None = None,
                engine: str | None = None) -> list[MemoryBreakdown]:
    """Every tensor-parallel degree within ``max_gpus`` that divides the heads and fits."""
    out = []
    for t in TP_DEGREES:
        if t <= max_gpus and tp_divides_heads(model, t):
            mem = memory_breakdown(model, gpu, precision, t, kv_dtype, context_tokens, engine)
            if mem.fits:
                out.append(mem)
    return out


def smallest_fitting_tp(model: ModelSpec, gpu: GpuSpec, precision: str, max_gpus: int,
                        kv_dtype: str = "fp16", context_tokens: int | None = None,
                        tp: int | None = None, engine: str | None = None) -> FitResult:
    """Smallest TP in :data:`TP_DEGREES` within ``max_gpus`` that fits; or the explicit ``tp``."""
    candidates = [tp] if tp else [t for t in TP_DEGREES if t <= max_gpus]
    tried: list[TpAttempt] = []
    for t in candidates:
        if t > max_gpus:
            return FitResult(None, (TpAttempt(tp=t, problem="exceeds_node"),))
        if not tp_divides_heads(model, t):
            tried.append(TpAttempt(tp=t, problem="heads_not_divisible"))
            continue
        mem = memory_breakdown(model, gpu, precision, t, kv_dtype, context_tokens, engine)
        if mem.fits:
            return FitResult(mem)
        need = mem.weights_gb + mem.runtime_overhead_gb + mem.comm_buffers_gb + mem.full_context_kv_gb
        tried.append(TpAttempt(tp=t, problem="memory", need_gb=need, usable_gb=mem.usable_gb,
                               weights_gb=mem.weights_gb, kv_gb=mem.full_context_kv_gb,
                               context_tokens=mem.context_tokens))
    hint = context_tokens is None and model.max_context_tokens > 8192
    return FitResult(None, tuple(tried), hint)
