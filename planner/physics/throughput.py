"""Roofline throughput model: tokens/s of one replica by parameters, precision, batch and context.

Decode: each step runs the weight GEMMs, which take the longer of reading the weights (all experts a
batch touches, for MoE; not an untied input embedding table, whose rows are gathered) and computing
2 x active parameters FLOPs per token, then the attention
kernels, which read the batch's KV cache (or compute its FLOPs, if longer); the two add. The step is
slowed by tensor-parallel communication and pays a fixed scheduling overhead. Prefill is
compute-bound (at least one read of the weights). With continuous batching a replica interleaves
prefills with decode steps, so the time per output token a user sees (TPOT) includes their share of
other requests' prefills; the prefills of concurrent requests are batched, so they share one read
of the weights.

Efficiency factors live in :class:`EngineProfile`, one per serving engine. Their values are fitted
to published measurements by ``python -m planner calibrate`` (see planner/physics/calibration.py; checked by
``python -m planner validate``); every factor is physical (a share of a datasheet peak, a per-step
overhead), never a per-point fudge.

Every engine step (a decode step or a prefill pass) pays a fixed cost: a per-step overhead and a
per-layer one (kernel launches), so a request alone in the engine still costs more than its bytes.
Tensor-parallel all-reduces run at the engine's share of each GPU's own link (NVLink or PCIe).
Time to first token has two readings: ``ttft_s`` (one request arriving into a running batch) and
``burst_ttft_s`` (B requests submitted at once wait for the whole batch's prefill).

Known limits of the structure: a GPU without a
published tensor peak (Apple) can be predicted only without a prompt (decode taken as
memory-bound); MoE routing is taken as uniform. The history of structural changes made during
calibration is recorded in ``data/benchmarks/README.md``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from planner.catalog import GpuSpec, ModelSpec
from planner.errors import CannotEstimateError, DataError
from planner.physics.memory import MemoryBreakdown
from planner.physics.quantities import (
    attention_flops_per_token,
    experts_touched_of,
    kv_cache_bytes,
    kv_splits_over_tp,
    weight_read_split,
)
from planner.registry import ENGINES, FP4_PRECISIONS, WEIGHT_ONLY_PRECISIONS
from planner.units import GB


@dataclass(frozen=True)
class EngineProfile:
    """Named efficiency factors of one serving engine."""

    name: str
    bandwidth_efficiency: float  # share of peak memory bandwidth reached by decode reads
    compute_efficiency: float  # share of peak tensor FLOPS reached by decode GEMMs
    prefill_efficiency: float  # share of peak tensor FLOPS reached by prefill
    step_overhead_ms: float  # per decode step: scheduling, sampling, kernel launches
    tp_overhead_per_doubling: float  # slowdown of a step per doubling of tensor parallelism
    max_batch: int  # default cap on concurrent sequences (vLLM max_num_seqs = 256)
    source: str = ""
    # share of peak memory bandwidth reached reading int8/int4 weight-only formats, which are
    # dequantised on the fly (None = bandwidth_efficiency)
    quantized_bandwidth_efficiency: float | None = None
    # tensor-parallel all-reduces (2 per layer, of 16-bit activations): effective bus bandwidth of
    # the ring (each GPU moves 2 (tp - 1) / tp of the data) and fixed latency of one all-reduce;
    # None = no separate communication term
    allreduce_gb_per_s: float | None = None
    allreduce_latency_us: float = 0.0
    # share of the GPU's own link bandwidth (gpus.csv interconnect_gb_per_s: NVLink or PCIe, one
    # direction) the all-reduce ring reaches; when set it replaces allreduce_gb_per_s on GPUs
    # whose link is known, so NVLink 4, NVLink 5 and PCIe parts each get their own bandwidth
    allreduce_link_efficiency: float | None = None
    # per engine step and layer: kernel launches and synchronisation that do not shrink with the
    # bytes read (a deep model pays more fixed time per step than a shallow one), microseconds
    layer_overhead_us: float = 0.0
    # engine version the factors describe (the publications' versions, see the profile source)
    version: str = ""

    def weight_bandwidth_efficiency(self, weight_only: bool) -> float:
        """Share of peak bandwidth at which weights are read (``weight_only``: stored narrow and
        dequantised on the fly)."""
        if weight_only and self.quantized_bandwidth_efficiency is not None:
            return self.quantized_bandwidth_efficiency
        return self.bandwidth_efficiency


# Priors before calibration: decode kernels typically reach 60-85 % of HBM bandwidth, GEMMs
# 50-80 % of tensor peak. They are the starting point of the fit and stay in use for the factors
# an engine's data cannot identify; load_profiles() replaces the fitted ones with the values in
# data/benchmarks/engine_profiles.json (``python -m planner calibrate``).
DEFAULT_PROFILES: dict[str, EngineProfile] = {
    "vllm": EngineProfile("vllm", 0.70, 0.50, 0.55, 3.0, 0.0, ENGINES["vllm"].default_max_batch,
                          "prior; max_num_seqs default 256 (vLLM engine arguments)",
                          allreduce_gb_per_s=200.0, allreduce_latency_us=10.0,
                          allreduce_link_efficiency=0.5,
                          version="0.6.3 (QwenLM speed benchmark); not stated by the RTX 4090 blog"),
    "tensorrt-llm": EngineProfile("tensorrt-llm", 0.80, 0.60, 0.65, 1.5, 0.0,
                                  ENGINES["tensorrt-llm"].default_max_batch, "prior",
                                  allreduce_gb_per_s=200.0, allreduce_latency_us=10.0,
                                  allreduce_link_efficiency=0.5,
                                  version="0.9.0, 0.13.0, 0.17 (C++ engines) and 0.20 (PyTorch "
                                          "backend) performance tables"),
    "llama.cpp": EngineProfile("llama.cpp", 0.65, 0.30, 0.35, 2.0, 0.15,
                               ENGINES["llama.cpp"].default_max_batch,
                               "prior; parallel slots are few in practice",
                               quantized_bandwidth_efficiency=0.50,
                               version="2024 builds (llama-bench in PR #4766 and the "
                                       "GPU-Benchmarks-on-LLM-Inference README)"),
}
assert set(DEFAULT_PROFILES) == {e.default_profile for e in ENGINES.values()}


# KV-cache dtype each engine runs by default for a weight precision (engine profile fact; what is
# not listed is 16-bit). TensorRT-LLM: "If you specify FP8 quantization, the KV cache will
# automatically be set to FP8 as well" (perf-overview.md); NVIDIA's FP4 checkpoints are read the
# same way (unconfirmed). vLLM (kv_cache_dtype "auto" = the model's dtype) and llama.cpp (f16
# cache type) keep a 16-bit cache unless told otherwise.
DEFAULT_KV_DTYPE: dict[str, dict[str, str]] = {
    "tensorrt-llm": {"fp8": "fp8", "nvfp4": "fp8"},
    "vllm": {},
    "llama.cpp": {},
}


def default_kv_dtype(engine: str, precision: str) -> str:
    """The KV-cache dtype ``engine`` uses by default with ``precision`` weights."""
    base = ENGINES[engine].default_profile if engine in ENGINES else engine
    return DEFAULT_KV_DTYPE.get(base, {}).get(precision, "fp16")


CALIBRATION_FILE = Path(__file__).resolve().parents[2] / "data" / "benchmarks" / "engine_profiles.json"


# what a profiles file may set, and the physical range of each (an efficiency is a share of a
# peak; overheads and latencies are non-negative and bounded)
PROFILE_FIELD_RANGES: dict[str, tuple[float, float]] = {
    "bandwidth_efficiency": (1e-3, 1.0), "compute_efficiency": (1e-3, 1.0),
    "prefill_efficiency": (1e-3, 1.0), "quantized_bandwidth_efficiency": (1e-3, 1.0),
    "allreduce_link_efficiency": (1e-3, 1.0), "step_overhead_ms": (0.0, 10_000.0),
    "tp_overhead_per_doubling": (0.0, 10.0), "allreduce_gb_per_s": (1e-3, 1e6),
    "allreduce_latency_us": (0.0, 1e6), "max_batch": (1, 1_000_000),
    "layer_overhead_us": (0.0, 1e6),
}
OPTIONAL_PROFILE_FIELDS = ("quantized_bandwidth_efficiency", "allreduce_gb_per_s",
                           "allreduce_link_efficiency")
MAX_PROFILES_BYTES = 16 * 1024 * 1024


def _read_profiles_json(path: Path) -> dict | None:
    """The parsed profiles file, None if absent; DataError naming the file otherwise."""
    from planner.io.files import read_capped

    if not path.exists() and not path.is_symlink():
        return None
    raw = read_capped(path, MAX_PROFILES_BYTES, "engine profiles", DataError)
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise DataError(f"{path.name}: not an engine-profiles file: nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path.name}: not valid JSON ({str(exc)[:120]})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path.name}: not an engine-profiles file (not a JSON object)")
    return data


def _profile_fields(path: Path, name: str, fields: object) -> dict:
    """A profile's fields, each checked against PROFILE_FIELD_RANGES."""
    if not isinstance(fields, dict):
        raise DataError(f"{path.name}: profile {name!r} is not an object")
    out: dict = {}
    for key, value in fields.items():
        where = f"{path.name}: profile {name!r} field {key!r}"
        if key in ("source", "version", "name"):
            if not isinstance(value, str):
                raise DataError(f"{where}: must be text")
            out[key] = value
            continue
        if key not in PROFILE_FIELD_RANGES:
            raise DataError(f"{where}: unknown field")
        if value is None and key in OPTIONAL_PROFILE_FIELDS:
            out[key] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not math.isfinite(value):
            raise DataError(f"{where}: must be a finite number, got {str(value)[:40]!r}")
        low, high = PROFILE_FIELD_RANGES[key]
        if not low <= value <= high or (key == "max_batch" and not float(value).is_integer()):
            raise DataError(f"{where}: {value!r} is outside {low:g}-{high:g}")
        out[key] = int(value) if key == "max_batch" else float(value)
    return out


def load_profiles(path: Path | None = None) -> dict[str, EngineProfile]:
    """Engine profiles fitted by calibration (``profiles`` key of the JSON file), falling back to
    the priors for any engine the file does not cover or when the file is absent. A file that is
    not a profiles file (bad JSON, no ``profiles`` object, a field out of its range in
    :data:`PROFILE_FIELD_RANGES`, a string or ``true`` for a number) raises DataError naming the
    file, profile and field."""
    path = Path(path or CALIBRATION_FILE)
    profiles = dict(DEFAULT_PROFILES)
    data = _read_profiles_json(path)
    if data is None:
        return profiles
    entries = data.get("profiles")
    if not isinstance(entries, dict) or not entries:
        raise DataError(f"{Path(path).name}: no 'profiles' object with at least one engine")
    for name, fields in entries.items():
        checked = _profile_fields(Path(path), str(name), fields)
        prior = profiles.get(name) or profiles.get(name.split("@", 1)[0])
        base = asdict(prior) if prior is not None else {}
        merged = {**base, **checked, "name": name}
        missing = [f for f in ("bandwidth_efficiency", "compute_efficiency", "prefill_efficiency",
                               "step_overhead_ms", "tp_overhead_per_doubling", "max_batch")
                   if f not in merged]
        if missing:
            raise DataError(f"{Path(path).name}: profile {name!r} lacks {', '.join(missing)}")
        profiles[name] = EngineProfile(**merged)
    return profiles


def profile_key(engine: str, gpu: GpuSpec) -> str:
    """The profile an engine uses on a GPU: the same engine on AMD GPUs runs another software
    stack (ROCm/HIP kernels, RCCL) with its own efficiency, so it has its own profile
    ``<engine>@rocm`` when calibration data exists for it."""
    base = ENGINES[engine].default_profile if engine in ENGINES else engine
    return f"{base}@rocm" if gpu.vendor.strip().upper().startswith("AMD") else base


def profile_for(profiles: dict[str, EngineProfile], engine: str, gpu: GpuSpec) -> EngineProfile:
    """The engine's profile for this GPU's software stack, else the engine's own profile."""
    base = ENGINES[engine].default_profile if engine in ENGINES else engine
    return profiles.get(profile_key(engine, gpu)) or profiles[base]


def throughput_accuracy(path: Path = CALIBRATION_FILE) -> dict | None:
    """The calibrated model's error against published measurements (``validation`` key:
    median_ape, within_25, within_50, n, cv_median_ape, per_engine {engine: {median_ape, n}},
    per_regime {batch1, large_batch}, as_of), or None if uncalibrated. Errors are fractions
    (median_ape 0.12 = 12 %; within_25 0.85 = 85 % of points within +-25 %)."""
    data = _read_profiles_json(Path(path))
    validation = data.get("validation") if data is not None else None
    return validation if isinstance(validation, dict) else None


def peak_tflops(gpu: GpuSpec, precision: str) -> float | None:
    """Dense tensor TFLOPS used for ``precision``: fp8 on fp8 hardware, FP4 formats on hardware
    that runs them natively (Blackwell), otherwise 16-bit (weight-only formats dequantise and
    compute in 16-bit)."""
    if precision == "fp8" and gpu.fp8_tflops:
        return gpu.fp8_tflops
    if precision in FP4_PRECISIONS and precision in gpu.native_precisions and gpu.fp4_tflops:
        return gpu.fp4_tflops
    return gpu.fp16_tflops


def weight_only_on(gpu: GpuSpec, precision: str) -> bool:
    """Whether ``precision`` weights are dequantised to 16-bit on this GPU (not run natively)."""
    return precision in WEIGHT_ONLY_PRECISIONS or (
        precision in FP4_PRECISIONS and precision not in gpu.native_precisions)


def tp_slowdown(profile: EngineProfile, tp: int) -> float:
    """Factor >= 1 by which tensor-parallel overhead lengthens a step's compute and reads (1 when
    ``tp_overhead_per_doubling`` is 0; the all-reduce time itself is :func:`allreduce_cost`)."""
    return float(slowdown_of(profile.tp_overhead_per_doubling, tp))


def slowdown_of(tp_overhead_per_doubling: Num, tp: Num) -> Num:
    """:func:`tp_slowdown` from numbers (floats or arrays of one value per configuration)."""
    return 1 + tp_overhead_per_doubling * np.log2(tp)


ALLREDUCE_BYTES_PER_VALUE = 2  # activations are all-reduced in 16-bit, FP8 engines included


def allreduce_gb_per_s(profile: EngineProfile, gpu: GpuSpec) -> float | None:
    """Bus bandwidth of the TP ring, GB/s: the engine's share of the GPU's own link
    (``allreduce_link_efficiency`` x interconnect_gb_per_s, one direction; PCIe-only parts such as
    L40S are far below NVLink); on a GPU whose link is not in the catalog, the engine's absolute
    figure ``allreduce_gb_per_s``, never above the link where known."""
    if profile.allreduce_link_efficiency is not None and gpu.interconnect_gb_per_s:
        return profile.allreduce_link_efficiency * gpu.interconnect_gb_per_s
    fitted = profile.allreduce_gb_per_s
    if fitted is None or gpu.interconnect_gb_per_s is None:
        return fitted
    return min(fitted, gpu.interconnect_gb_per_s)


def allreduce_cost(model: ModelSpec, profile: EngineProfile, tp: int,
                   gpu: GpuSpec) -> tuple[float, float]:
    """(seconds per step, seconds per token in the step) of tensor-parallel communication: two
    all-reduces per layer of hidden_size 16-bit values per token, a ring moving 2 (tp - 1) / tp of
    them through each GPU at :func:`allreduce_gb_per_s`, plus ``allreduce_latency_us`` each."""
    bandwidth = allreduce_gb_per_s(profile, gpu)
    latency, per_token = allreduce_terms(model.layers, model.hidden_size, tp,
                                         math.nan if bandwidth is None else bandwidth,
                                         profile.allreduce_latency_us)
    return float(latency), float(per_token)


def allreduce_terms(layers: Num, hidden_size: Num, tp: Num, bandwidth_gb_per_s: Num,
                    latency_us: Num) -> tuple[Num, Num]:
    """:func:`allreduce_cost` from numbers: (s per step, s per token); 0 where ``tp`` is 1 or the
    bandwidth is unknown (NaN). Floats or arrays of one value per configuration."""
    active = (np.asarray(tp) > 1) & np.isfinite(bandwidth_gb_per_s)
    n = 2 * np.asarray(layers, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_token = (n * hidden_size * ALLREDUCE_BYTES_PER_VALUE * 2 * (tp - 1) / tp
                     / (bandwidth_gb_per_s * GB))
    return np.where(active, n * latency_us * 1e-6, 0.0), np.where(active, per_token, 0.0)


Num = float | np.ndarray  # a number, or an array of one number per configuration


@dataclass(frozen=True)
class StepTerms:
    """The coefficients of one replica's step-time model (seconds, bytes), for one configuration
    (floats) or many (arrays of one value per configuration, broadcast against the batch). The
    scalar curve (:func:`throughput_curve`) and the advisor's vectorised evaluation both compute
    their times from these through :func:`decode_step_s` and :func:`batched_prefill_s`."""

    fixed_weight_bytes: Num  # weights every step reads whatever the batch (whole model)
    expert_weight_bytes: Num  # one routed expert (all layers); 0 for a dense model
    experts: Num  # routed experts per layer (1 = dense)
    experts_per_token: Num
    weight_read_s_per_byte: Num  # per GPU of the TP group
    gemm_compute_s_per_token: Num  # 2 x active parameters FLOPs of one token, per GPU
    attention_s_per_sequence: Num  # one sequence's attention kernels at the mean decode context
    slowdown: Num  # tensor-parallel slowdown of compute and reads (>= 1)
    step_overhead_s: Num  # fixed cost of any engine step: per-step plus per-layer overhead
    comm_latency_s: Num  # all-reduce latency per step
    comm_s_per_token: Num  # all-reduce time per token in the step
    prefill_compute_s: Num  # one request's prefill FLOPs, per GPU
    input_tokens: Num
    output_tokens: Num


def step_terms(*, fixed_weight_bytes: Num, expert_weight_bytes: Num, experts: Num,
               experts_per_token: Num, active_params_b: Num, kv_bytes_per_sequence: Num,
               attention_flops_per_sequence: Num, prefill_attention_flops: Num, layers: Num,
               hidden_size: Num, kv_splits: Num, tp: Num, flops_per_s: Num,
               attention_flops_per_s: Num, bytes_per_s: Num,
               kv_bandwidth_efficiency: Num, weight_bandwidth_efficiency: Num,
               compute_efficiency: Num, prefill_efficiency: Num, step_overhead_ms: Num,
               layer_overhead_us: Num, tp_overhead_per_doubling: Num, allreduce_gb_per_s: Num,
               allreduce_latency_us: Num,
               input_tokens: Num, output_tokens: Num) -> StepTerms:
    """The step-time coefficients from the model's, GPU's and engine's numbers (floats or arrays
    of one value per configuration; ``flops_per_s`` (the weights' precision) and
    ``attention_flops_per_s`` (the KV cache's) may be inf where no peak is published, then decode
    is memory-bound; ``allreduce_gb_per_s`` NaN = no communication term)."""
    # an MLA latent is held whole on every GPU; KV heads are split over the TP group
    kv_read_s_per_byte = 1 / np.where(kv_splits, tp, 1) / (bytes_per_s * kv_bandwidth_efficiency)
    weight_read_s_per_byte = 1 / tp / (bytes_per_s * weight_bandwidth_efficiency)
    # attention kernels read the sequence's KV cache (or compute its FLOPs, if longer)
    attention = np.maximum(kv_bytes_per_sequence * kv_read_s_per_byte,
                           attention_flops_per_sequence / tp
                           / (attention_flops_per_s * compute_efficiency))
    comm_latency_s, comm_s_per_token = allreduce_terms(layers, hidden_size, tp,
                                                       allreduce_gb_per_s, allreduce_latency_us)
    # prefill of one request: causal attention sums context 1..L, about L^2 / 2 token-pairs;
    # the GEMMs run at the weights' precision, attention at the KV cache's
    prefill_compute_s = (2 * active_params_b * 1e9 * input_tokens / flops_per_s
                         + prefill_attention_flops / attention_flops_per_s) / tp / prefill_efficiency
    return StepTerms(
        fixed_weight_bytes=fixed_weight_bytes, expert_weight_bytes=expert_weight_bytes,
        experts=experts, experts_per_token=experts_per_token,
        weight_read_s_per_byte=weight_read_s_per_byte,
        gemm_compute_s_per_token=2 * active_params_b * 1e9 / tp / (flops_per_s * compute_efficiency),
        attention_s_per_sequence=attention,
        slowdown=slowdown_of(tp_overhead_per_doubling, tp),
        # fixed cost of one engine step (a decode step or a prefill pass): scheduling, sampling
        # and the per-layer kernel launches
        step_overhead_s=step_overhead_ms / 1000 + layers * layer_overhead_us * 1e-6,
        comm_latency_s=comm_latency_s,
        comm_s_per_token=comm_s_per_token,
        prefill_compute_s=prefill_compute_s,
        input_tokens=input_tokens, output_tokens=output_tokens)


def step_weight_bytes(t: StepTerms, tokens_in_step: Num) -> Num:
    """Weight bytes a step over ``tokens_in_step`` tokens reads (whole model, before TP split):
    the fixed weights plus every expert the tokens touch (:func:`experts_touched_of`)."""
    return t.fixed_weight_bytes + t.expert_weight_bytes * experts_touched_of(
        t.experts, t.experts_per_token, tokens_in_step)


def decode_step_s(t: StepTerms, batch: Num) -> Num:
    """One decode step at ``batch`` sequences, seconds: the weight GEMMs take the longer of
    reading the weights and computing 2 x active params per token; attention kernels run between
    them, so their time adds; then TP slowdown, the fixed overhead and the all-reduces."""
    gemm_s = np.maximum(step_weight_bytes(t, batch) * t.weight_read_s_per_byte,
                        batch * t.gemm_compute_s_per_token)
    return ((gemm_s + batch * t.attention_s_per_sequence) * t.slowdown + t.step_overhead_s
            + t.comm_latency_s + batch * t.comm_s_per_token)


def prefill_alone_s(t: StepTerms) -> Num:
    """Prefill of one request on its own, seconds (compute-bound, at least one read of the
    weights, and the fixed cost of an engine step); 0 without a prompt (e.g. llama-bench tg)."""
    alone = (np.maximum(t.prefill_compute_s,
                        step_weight_bytes(t, t.input_tokens) * t.weight_read_s_per_byte)
             * t.slowdown + t.step_overhead_s + t.comm_latency_s
             + t.input_tokens * t.comm_s_per_token)
    return np.where(np.asarray(t.input_tokens) > 0, alone, 0.0)


def batched_prefill_s(t: StepTerms, batch: Num) -> Num:
    """A request's prefill time when the prefills of ``batch`` concurrent requests are batched
    (chunked prefill / in-flight batching): one read of the weights serves them all, so its
    share is 1 / batch; seconds, 0 without a prompt."""
    with np.errstate(invalid="ignore"):
        shared = (step_weight_bytes(t, batch * t.input_tokens) * t.weight_read_s_per_byte / batch)
        out = (np.maximum(t.prefill_compute_s, shared) * t.slowdown
               + (t.step_overhead_s + t.comm_latency_s) / batch
               + t.input_tokens * t.comm_s_per_token)
    return np.where(np.asarray(t.input_tokens) > 0, out, 0.0)


def tpot_s_of(decode_step: Num, prefill_per_request: Num, batch: Num, output_tokens: Num) -> Num:
    """Time per output token a user sees: a decode step plus their share of the prefills
    interleaved into the batch (B requests' prefills spread over ``output_tokens`` steps)."""
    return decode_step + batch * prefill_per_request / output_tokens


def ttft_s_of(prefill_alone: Num, decode_step: Num, batch: Num) -> Num:
    """Time to first token of one request arriving into a running batch of ``batch``: its
    prefill plus waiting for the running decode step; at batch 1 nothing else runs, so its
    prefill alone."""
    return prefill_alone + np.where(np.asarray(batch) > 1, decode_step, 0.0)


@dataclass(frozen=True)
class ThroughputCurve:
    """Per-batch figures of one replica (arrays indexed by batch - 1), times in seconds."""

    batch: np.ndarray
    decode_step_s: np.ndarray
    prefill_s: float
    output_tokens: int
    input_tokens: int
    # per-request prefill time when the prefills of B concurrent requests are batched together
    # (weights read once per batch of prefills); None = prefill_s at every batch
    batched_prefill_s: np.ndarray | None = None

    @cached_property
    def tpot_s(self) -> np.ndarray:
        """Time per output token a user sees (:func:`tpot_s_of`)."""
        prefill = self.prefill_s if self.batched_prefill_s is None else self.batched_prefill_s
        return tpot_s_of(self.decode_step_s, prefill, self.batch, self.output_tokens)

    @cached_property
    def ttft_s(self) -> np.ndarray:
        """Time to first token (:func:`ttft_s_of`)."""
        return ttft_s_of(self.prefill_s, self.decode_step_s, self.batch)

    @cached_property
    def burst_ttft_s(self) -> np.ndarray:
        """Mean time to first token when B requests are submitted at once (a static batch, as
        benchmark harnesses such as ``benchmark_latency.py`` or trtllm-bench's static mode run):
        every request's first token waits for the whole batch's prefill, one pass over all B
        prompts (at batch 1 it is one request's prefill, without a running step to wait for)."""
        prefill = (np.full_like(self.batch, self.prefill_s) if self.batched_prefill_s is None
                   else self.batched_prefill_s)
        return self.batch * prefill

    @cached_property
    def output_tokens_per_s(self) -> np.ndarray:
        """End-to-end output tokens/s of the replica serving B concurrent requests, prefill
        included (the figure serving benchmarks publish)."""
        return self.batch / self.tpot_s

    @cached_property
    def decode_tokens_per_s(self) -> np.ndarray:
        """Aggregate decode tokens/s of the replica at batch B, prefill excluded."""
        return self.batch / self.decode_step_s

    @cached_property
    def requests_per_s(self) -> np.ndarray:
        """Completed requests per second of the replica at batch B, fully loaded."""
        return self.output_tokens_per_s / self.output_tokens


def model_step_numbers(model: ModelSpec, precision: str, kv_dtype: str, input_tokens: int,
                       output_tokens: int) -> dict[str, float]:
    """The model's numbers :func:`step_terms` needs at a precision, KV dtype and request shape
    (one home for both the scalar curve and the vectorised evaluation, which calls the three
    parts at their own granularity)."""
    return {**model_weight_numbers(model, precision),
            **model_kv_numbers(model, kv_dtype, input_tokens, output_tokens),
            **model_shape_numbers(model, input_tokens, output_tokens)}


def decode_context_tokens(input_tokens: float, output_tokens: float) -> float:
    """Average context over a request's decode: input + output / 2."""
    return input_tokens + output_tokens / 2


def model_weight_numbers(model: ModelSpec, precision: str) -> dict[str, float]:
    """Weight bytes a step reads, split as :func:`weight_read_split` does."""
    fixed, per_expert = weight_read_split(model, precision)
    return {"fixed_weight_bytes": fixed, "expert_weight_bytes": per_expert}


def model_kv_numbers(model: ModelSpec, kv_dtype: str, input_tokens: int,
                     output_tokens: int) -> dict[str, float]:
    """One sequence's KV cache at the mean decode context, bytes (whole model)."""
    ctx = decode_context_tokens(input_tokens, output_tokens)
    return {"kv_bytes_per_sequence": float(kv_cache_bytes(model, ctx, kv_dtype))}


def model_shape_numbers(model: ModelSpec, input_tokens: int,
                        output_tokens: int) -> dict[str, float]:
    """The model's shape and attention FLOPs at the request shape (no precision involved)."""
    ctx = decode_context_tokens(input_tokens, output_tokens)
    return {
        "experts": float(model.experts), "experts_per_token": float(model.experts_per_token),
        "active_params_b": model.active_params_b,
        "attention_flops_per_sequence": float(attention_flops_per_token(model, ctx)),
        "prefill_attention_flops": float(attention_flops_per_token(model, input_tokens / 2))
        * input_tokens,
        "layers": float(model.layers), "hidden_size": float(model.hidden_size),
        "kv_splits": float(kv_splits_over_tp(model)),
    }


def gpu_step_numbers(gpu: GpuSpec, precision: str, profile: EngineProfile) -> dict[str, float]:
    """The GPU's and engine's numbers :func:`step_terms` needs at a precision (``flops_per_s``
    inf where the GPU publishes no tensor peak; ``allreduce_gb_per_s`` NaN = no term)."""
    peak = peak_tflops(gpu, precision)
    bandwidth = allreduce_gb_per_s(profile, gpu)
    return {
        "flops_per_s": peak * 1e12 if peak is not None else math.inf,
        "bytes_per_s": gpu.mem_bandwidth_gb_per_s * GB,
        "kv_bandwidth_efficiency": profile.bandwidth_efficiency,
        "weight_bandwidth_efficiency": profile.weight_bandwidth_efficiency(
            weight_only_on(gpu, precision)),
        "compute_efficiency": profile.compute_efficiency,
        "prefill_efficiency": profile.prefill_efficiency,
        "step_overhead_ms": profile.step_overhead_ms,
        "layer_overhead_us": profile.layer_overhead_us,
        "tp_overhead_per_doubling": profile.tp_overhead_per_doubling,
        "allreduce_gb_per_s": math.nan if bandwidth is None else bandwidth,
        "allreduce_latency_us": profile.allreduce_latency_us,
    }


def gpu_attention_numbers(gpu: GpuSpec, kv_dtype: str) -> dict[str, float]:
    """Attention runs at the KV cache's precision (FP8 attention kernels with an FP8 cache,
    16-bit otherwise), not at the weights' (FP4 or int4 weights do not make attention FP4):
    the tensor peak it uses, FLOP/s (inf where none is published)."""
    peak = peak_tflops(gpu, "fp8" if kv_dtype == "fp8" else "fp16")
    return {"attention_flops_per_s": peak * 1e12 if peak is not None else math.inf}


def throughput_curve(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int,
                     profile: EngineProfile, input_tokens: int, output_tokens: int,
                     max_batch: int, kv_dtype: str = "fp16") -> ThroughputCurve:
    """Decode step time for every batch 1..max_batch and the prefill time of one request."""
    if peak_tflops(gpu, precision) is None and input_tokens > 0:
        raise CannotEstimateError(f"{gpu.name} has no published tensor FLOPS for {precision}: "
                                  "prefill time cannot be estimated")
    terms = step_terms(**model_step_numbers(model, precision, kv_dtype, input_tokens,
                                            output_tokens),
                       **gpu_step_numbers(gpu, precision, profile),
                       **gpu_attention_numbers(gpu, kv_dtype), tp=tp,
                       input_tokens=input_tokens, output_tokens=output_tokens)
    batch = np.arange(1, max(1, max_batch) + 1, dtype=float)
    return ThroughputCurve(batch, decode_step_s(terms, batch), float(prefill_alone_s(terms)),
                           output_tokens, input_tokens, batched_prefill_s(terms, batch))


BatchLimit = Literal["memory", "tpot_slo", "ttft_slo", "engine_cap", "unmet", "given"]


class BatchChoice(BaseModel):
    """The batch a replica runs at, what stopped it growing (``limit``) and its figures there.

    ``limit``: ``memory`` (one more request's KV cache would not fit), ``tpot_slo`` / ``ttft_slo``
    (one more would break that SLO; ``next_tpot_ms`` / ``next_ttft_ms`` are the figures at
    ``batch + 1``), ``engine_cap`` (the engine's maximum concurrent sequences), ``unmet`` (even
    batch 1 misses an SLO: the figures are batch 1's) or ``given`` (the batch was asked for)."""

    model_config = ConfigDict(frozen=True)

    batch: int
    limit: BatchLimit
    meets_slo: bool
    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    output_tokens_per_s: float
    requests_per_s: float
    tpot_ms: float
    ttft_ms: float
    decode_step_ms: float
    burst_ttft_ms: float = 0.0  # mean TTFT of ``batch`` requests submitted together
    next_tpot_ms: float | None = None
    next_ttft_ms: float | None = None


def choose_batch(curve: ThroughputCurve, memory_max_batch: int, engine_max_batch: int,
                 ttft_slo_ms: float, tpot_slo_ms: float) -> BatchChoice:
    """Largest batch that fits memory and meets both SLOs (TPOT and TTFT grow with batch).

    If even batch 1 misses an SLO, batch 1 is used and ``meets_slo`` is False.
    """
    cap = min(memory_max_batch, engine_max_batch, len(curve.batch))
    tpot_ms = curve.tpot_s[:cap] * 1000
    ttft_ms = curve.ttft_s[:cap] * 1000
    ok = (tpot_ms <= tpot_slo_ms) & (ttft_ms <= ttft_slo_ms)
    if not (cap >= 1 and ok[0]):
        return _choice_at(curve, 1, "unmet", False)
    # SLO checks are monotone in batch: the first failure ends the feasible range
    failing = np.flatnonzero(~ok)
    if failing.size:
        b = int(failing[0])
        limit: BatchLimit = "tpot_slo" if tpot_ms[b] > tpot_slo_ms else "ttft_slo"
        return _choice_at(curve, b, limit, True, float(tpot_ms[b]), float(ttft_ms[b]))
    return _choice_at(curve, cap, "memory" if cap == memory_max_batch else "engine_cap", True)


def _choice_at(curve: ThroughputCurve, batch: int, limit: BatchLimit, meets_slo: bool,
               next_tpot_ms: float | None = None, next_ttft_ms: float | None = None) -> BatchChoice:
    """The curve's figures at ``batch`` (1-based); built without re-validation (every field is a
    number the model computed), since the advisor makes thousands."""
    i = batch - 1
    return BatchChoice.model_construct(
        batch=batch,
        limit=limit,
        meets_slo=meets_slo,
        prefill_tokens_per_s=_prefill_rate(curve),
        decode_tokens_per_s=float(curve.decode_tokens_per_s[i]),
        output_tokens_per_s=float(curve.output_tokens_per_s[i]),
        requests_per_s=float(curve.requests_per_s[i]),
        tpot_ms=float(curve.tpot_s[i] * 1000),
        ttft_ms=float(curve.ttft_s[i] * 1000),
        decode_step_ms=float(curve.decode_step_s[i] * 1000),
        burst_ttft_ms=float(curve.burst_ttft_s[i] * 1000),
        next_tpot_ms=next_tpot_ms,
        next_ttft_ms=next_ttft_ms,
    )


def _prefill_rate(curve: ThroughputCurve) -> float:
    """Prompt tokens/s of one request's prefill; 0.0 when there is no prompt."""
    return curve.input_tokens / curve.prefill_s if curve.prefill_s > 0 else 0.0


def estimate_at_batch(curve: ThroughputCurve, batch: int) -> BatchChoice:
    """Figures at a given batch (no SLO search)."""
    return _choice_at(curve, min(max(batch, 1), len(curve.batch)), "given", True)


def memory_cap(mem: MemoryBreakdown, input_tokens: int, output_tokens: int) -> int:
    """Concurrent requests of this workload whose KV cache fits beside the weights."""
    return mem.max_batch(input_tokens + output_tokens)


# ---------------------------------------------------------------------------------------------
# calibrated uncertainty: an 80 % interval of output tokens/s from held-out residuals by regime

INTERVAL_LEVEL = 0.80  # share of unseen measurements the range is meant to cover
# The range spans the 5th-95th percentiles of held-out measured / predicted ratios in a regime
# cell, each publication in the cell weighing the same (planner.physics.calibration.interval_cells).
# Hierarchy: a cell with fewer than INTERVAL_MIN_POINTS ratios is not trusted alone; its range is
# the union of its own percentiles and those of the first coarser cell (regime_cells order) that
# has INTERVAL_MIN_POINTS, so a thin cell is never narrower than its parent and keeps its own
# spread where that is wider (llama.cpp's 20 batch-1 points, most from one publication, spread
# wider than the vLLM and TensorRT-LLM ratios of the pooled cells). Span and minimum were read off
# a small grid (spans 80-95 %, minima 5-40; benchmarks/crossval_throughput.py prints the result):
# a held-out publication's ratios spread wider than the other publications' held-out ratios, so
# an 80 % span covers only ~75 % of unseen publications' points. These two are the only tuned
# numbers of the interval.
INTERVAL_QUANTILE_SPAN = 0.90
INTERVAL_MIN_POINTS = 30  # held-out ratios a regime cell needs before its range is used alone


def gpu_vendor(gpu: GpuSpec) -> str:
    """The GPU vendor as a lower-case word (``nvidia``, ``amd``, ``apple``)."""
    return (gpu.vendor.strip().split() or ["unknown"])[0].lower()


def regime_cells(engine: str, vendor: str, batch: int | None, tp: int) -> tuple[str, ...]:
    """The regime cells of a configuration, most specific first: engine x GPU vendor, batch 1
    vs loaded (``batch`` None = max load), TP 1 vs > 1; then coarser cells down to ``all``."""
    load = "batch1" if batch == 1 else "loaded"
    par = "tp1" if tp <= 1 else "tp>1"
    return (f"{engine}@{vendor}|{load}|{par}", f"{engine}@{vendor}|{load}", f"{engine}|{load}|{par}",
            f"{engine}|{load}", f"{load}|{par}", load, "all")


def output_range_factors(intervals: dict | None, engine: str, vendor: str, batch: int | None,
                         tp: int) -> tuple[float, float] | None:
    """(low, high) multipliers of predicted output tokens/s spanning the central
    :data:`INTERVAL_LEVEL` of measured / predicted ratios held out from the fit. The most specific
    regime cell (:func:`regime_cells`) holding any ratios is used alone when it has at least
    ``min_points`` of them (N, :data:`INTERVAL_MIN_POINTS` = 30 in the shipped file); with fewer,
    the range is the union of its span and that of the first coarser cell with ``min_points`` (the
    lower low and the higher high). None when uncalibrated or when no cell has ``min_points``."""
    if not intervals:
        return None
    cells = intervals.get("cells", {})
    need = intervals.get("min_points", INTERVAL_MIN_POINTS)
    chain = [cells[key] for key in regime_cells(engine, vendor, batch, tp)
             if cells.get(key, {}).get("n", 0) > 0]
    parent = next((cell for cell in chain if cell["n"] >= need), None)
    if parent is None:
        return None
    own = chain[0]
    return (min(float(own["low"]), float(parent["low"])),
            max(float(own["high"]), float(parent["high"])))


def load_intervals(path: Path = CALIBRATION_FILE) -> dict | None:
    """The ``interval`` key of the calibration file (regime cells of held-out ratios), or None.
    Read once per path (the shipped file does not change while the planner runs)."""
    return _read_intervals(str(path))


@lru_cache(maxsize=8)
def _read_intervals(path: str) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")).get("interval")
    except FileNotFoundError:
        return None


def output_tokens_per_s_range(intervals: dict | None, engine: str, gpu: GpuSpec,
                              batch: int | None, tp: int,
                              output_tokens_per_s: float) -> tuple[float, float] | None:
    """[low, high] output tokens/s: the calibrated 80 % interval around a prediction of
    ``engine`` on ``gpu`` at ``batch`` and ``tp`` (None when uncalibrated)."""
    factors = output_range_factors(intervals, engine, gpu_vendor(gpu), batch, tp)
    if factors is None:
        return None
    return output_tokens_per_s * factors[0], output_tokens_per_s * factors[1]
