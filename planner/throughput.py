"""Roofline throughput model: tokens/s of one replica by parameters, precision, batch and context.

Decode: each step reads the weights (all experts a batch touches, for MoE) and the batch's KV cache,
and computes 2 x active parameters FLOPs per token plus attention; the step takes the longer of the
memory time and the compute time, slowed by tensor-parallel communication, plus a fixed scheduling
overhead. Prefill is compute-bound (at least one read of the weights). With continuous batching a
replica interleaves prefills with decode steps, so the time per output token a user sees (TPOT)
includes their share of other requests' prefills.

Efficiency factors live in :class:`EngineProfile`, one per serving engine. Their values are fitted
to published measurements by ``python -m planner validate`` (see planner/calibration.py);
every factor is physical (a share of a datasheet peak, a per-step overhead), never a per-point fudge.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from planner.catalog import GpuSpec, ModelSpec
from planner.memory import MemoryBreakdown, kv_cache_bytes_per_token, weight_bytes
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


# Priors before calibration: decode kernels typically reach 60-85 % of HBM bandwidth, GEMMs
# 50-80 % of tensor peak. planner/calibration.py replaces these with fitted values at import
# time when data/benchmarks/engine_profiles.json exists.
DEFAULT_PROFILES: dict[str, EngineProfile] = {
    "vllm": EngineProfile("vllm", 0.70, 0.50, 0.55, 3.0, 0.10, 256,
                          "prior; max_num_seqs default 256 (vLLM engine arguments)"),
    "tensorrt-llm": EngineProfile("tensorrt-llm", 0.80, 0.60, 0.65, 1.5, 0.08, 256,
                                  "prior"),
    "llama.cpp": EngineProfile("llama.cpp", 0.65, 0.30, 0.35, 2.0, 0.15, 16,
                               "prior; parallel slots are few in practice"),
}


CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "data" / "benchmarks" / "engine_profiles.json"


def load_profiles(path: Path = CALIBRATION_FILE) -> dict[str, EngineProfile]:
    """Engine profiles fitted by calibration (``profiles`` key of the JSON file), falling back to
    the priors for any engine the file does not cover or when the file is absent."""
    profiles = dict(DEFAULT_PROFILES)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return profiles
    for name, fields in data.get("profiles", {}).items():
        base = asdict(profiles[name]) if name in profiles else {}
        profiles[name] = EngineProfile(**{**base, **fields, "name": name})
    return profiles


def throughput_accuracy(path: Path = CALIBRATION_FILE) -> dict | None:
    """The calibrated model's error against published measurements (``validation`` key:
    median_ape, within_25, within_50, n, cv_median_ape, per_engine), or None if uncalibrated."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("validation")
    except FileNotFoundError:
        return None


def peak_tflops(gpu: GpuSpec, precision: str) -> float | None:
    """Dense tensor TFLOPS used for ``precision``: fp8 on fp8 hardware, otherwise 16-bit
    (int8/int4 weight-only quantisation dequantises and computes in 16-bit)."""
    if precision == "fp8" and gpu.fp8_tflops:
        return gpu.fp8_tflops
    return gpu.fp16_tflops


def moe_weight_bytes_read(model: ModelSpec, precision: str, tokens_in_step: float) -> float:
    """Weight bytes one step reads for ``tokens_in_step`` tokens (whole model, before TP split).

    Dense: all weights. MoE: shared weights plus the experts the step's tokens touch; with k of E
    experts chosen per token, the expected share of experts touched by n tokens is
    1 - (1 - k/E)^n (uniform routing).
    """
    total = weight_bytes(model.params_b, precision)
    if model.experts <= 1:
        return total
    e, k = model.experts, model.experts_per_token
    expert_params_b = (model.params_b - model.active_params_b) / (e - k)
    shared_params_b = model.params_b - e * expert_params_b
    touched = e * (1 - (1 - k / e) ** tokens_in_step)
    return weight_bytes(shared_params_b + touched * expert_params_b, precision)


def attention_flops_per_token(model: ModelSpec, context_tokens: float) -> float:
    """Attention score and value FLOPs for one token attending to ``context_tokens``:
    4 x layers x heads x head_dim x context (QK^T and AV, 2 FLOPs per multiply-add)."""
    return 4 * model.layers * model.attention_heads * model.head_dim * context_tokens


def tp_slowdown(profile: EngineProfile, tp: int) -> float:
    """Factor >= 1 by which tensor-parallel communication lengthens a step."""
    return 1 + profile.tp_overhead_per_doubling * math.log2(tp)


@dataclass(frozen=True)
class ThroughputCurve:
    """Per-batch figures of one replica (arrays indexed by batch - 1), times in seconds."""

    batch: np.ndarray
    decode_step_s: np.ndarray
    prefill_s: float
    output_tokens: int
    input_tokens: int

    @property
    def tpot_s(self) -> np.ndarray:
        """Time per output token a user sees: a decode step plus their share of the prefills
        interleaved into the batch (B requests' prefills spread over ``output_tokens`` steps)."""
        return self.decode_step_s + self.batch * self.prefill_s / self.output_tokens

    @property
    def ttft_s(self) -> np.ndarray:
        """Time to first token: the request's prefill plus waiting for the running step."""
        return self.prefill_s + self.decode_step_s

    @property
    def output_tokens_per_s(self) -> np.ndarray:
        """End-to-end output tokens/s of the replica serving B concurrent requests, prefill
        included (the figure serving benchmarks publish)."""
        return self.batch / self.tpot_s

    @property
    def decode_tokens_per_s(self) -> np.ndarray:
        """Aggregate decode tokens/s of the replica at batch B, prefill excluded."""
        return self.batch / self.decode_step_s

    @property
    def requests_per_s(self) -> np.ndarray:
        """Completed requests per second of the replica at batch B, fully loaded."""
        return self.output_tokens_per_s / self.output_tokens


def throughput_curve(model: ModelSpec, gpu: GpuSpec, precision: str, tp: int,
                     profile: EngineProfile, input_tokens: int, output_tokens: int,
                     max_batch: int, kv_dtype: str = "fp16") -> ThroughputCurve:
    """Decode step time for every batch 1..max_batch and the prefill time of one request."""
    peak = peak_tflops(gpu, precision)
    if peak is None:
        raise ValueError(f"{gpu.name} has no published tensor FLOPS for {precision}")
    flops_per_s = peak * 1e12
    bytes_per_s = gpu.mem_bandwidth_gb_per_s * GB
    slow = tp_slowdown(profile, tp)
    batch = np.arange(1, max(1, max_batch) + 1, dtype=float)

    # decode: average context over the output is input + output / 2
    ctx = input_tokens + output_tokens / 2
    kv_bytes = batch * ctx * kv_cache_bytes_per_token(model, kv_dtype)
    weights = np.array([moe_weight_bytes_read(model, precision, b) for b in batch]) \
        if model.experts > 1 else weight_bytes(model.params_b, precision)
    mem_s = (weights + kv_bytes) / tp / (bytes_per_s * profile.bandwidth_efficiency)
    flops = batch * (2 * model.active_params_b * 1e9 + attention_flops_per_token(model, ctx))
    compute_s = flops / tp / (flops_per_s * profile.compute_efficiency)
    step_s = np.maximum(mem_s, compute_s) * slow + profile.step_overhead_ms / 1000

    # prefill of one request: causal attention sums context 1..L, about L^2 / 2 token-pairs
    prefill_flops = (2 * model.active_params_b * 1e9 * input_tokens
                     + attention_flops_per_token(model, input_tokens / 2) * input_tokens)
    prefill_compute = prefill_flops / tp / (flops_per_s * profile.prefill_efficiency)
    prefill_mem = moe_weight_bytes_read(model, precision, input_tokens) / tp / (
        bytes_per_s * profile.bandwidth_efficiency)
    prefill_s = max(prefill_compute, prefill_mem) * slow
    return ThroughputCurve(batch, step_s, prefill_s, output_tokens, input_tokens)


@dataclass(frozen=True)
class BatchChoice:
    """The batch a replica runs at and why."""

    batch: int
    reason: str  # which bound stopped it: memory, TPOT SLO, TTFT SLO, engine cap
    meets_slo: bool
    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    output_tokens_per_s: float
    requests_per_s: float
    tpot_ms: float
    ttft_ms: float
    decode_step_ms: float


def choose_batch(curve: ThroughputCurve, memory_max_batch: int, engine_max_batch: int,
                 ttft_slo_ms: float, tpot_slo_ms: float) -> BatchChoice:
    """Largest batch that fits memory and meets both SLOs (TPOT and TTFT grow with batch).

    If even batch 1 misses an SLO, batch 1 is used and ``meets_slo`` is False.
    """
    cap = min(memory_max_batch, engine_max_batch, len(curve.batch))
    tpot_ms = curve.tpot_s[:cap] * 1000
    ttft_ms = curve.ttft_s[:cap] * 1000
    ok = (tpot_ms <= tpot_slo_ms) & (ttft_ms <= ttft_slo_ms)
    if cap >= 1 and ok[0]:
        # SLO checks are monotone in batch: the first failure ends the feasible range
        failing = np.flatnonzero(~ok)
        b = int(failing[0]) if failing.size else cap
        if failing.size:
            which = "TPOT SLO" if tpot_ms[b] > tpot_slo_ms else "TTFT SLO"
            reason = f"{which} ({tpot_ms[b]:.0f} ms TPOT / {ttft_ms[b]:.0f} ms TTFT at batch {b + 1})"
        elif cap == memory_max_batch:
            reason = "KV-cache memory"
        else:
            reason = "engine's max concurrent sequences"
        meets = True
    else:
        b, meets = 1, False
        reason = (f"SLO unmet even at batch 1 (TPOT {tpot_ms[0]:.0f} ms vs {tpot_slo_ms:.0f}, "
                  f"TTFT {ttft_ms[0]:.0f} ms vs {ttft_slo_ms:.0f})")
    i = b - 1
    return BatchChoice(
        batch=b,
        reason=reason,
        meets_slo=meets,
        prefill_tokens_per_s=curve.input_tokens / curve.prefill_s,
        decode_tokens_per_s=float(curve.decode_tokens_per_s[i]),
        output_tokens_per_s=float(curve.output_tokens_per_s[i]),
        requests_per_s=float(curve.requests_per_s[i]),
        tpot_ms=float(curve.tpot_s[i] * 1000),
        ttft_ms=float(curve.ttft_s[i] * 1000),
        decode_step_ms=float(curve.decode_step_s[i] * 1000),
    )


def estimate_at_batch(curve: ThroughputCurve, batch: int) -> BatchChoice:
    """Figures at a given batch (no SLO search)."""
    i = min(max(batch, 1), len(curve.batch)) - 1
    return BatchChoice(
        batch=i + 1, reason="batch given", meets_slo=True,
        prefill_tokens_per_s=curve.input_tokens / curve.prefill_s,
        decode_tokens_per_s=float(curve.decode_tokens_per_s[i]),
        output_tokens_per_s=float(curve.output_tokens_per_s[i]),
        requests_per_s=float(curve.requests_per_s[i]),
        tpot_ms=float(curve.tpot_s[i] * 1000),
        ttft_ms=float(curve.ttft_s[i] * 1000),
        decode_step_ms=float(curve.decode_step_s[i] * 1000),
    )


def memory_cap(mem: MemoryBreakdown, input_tokens: int, output_tokens: int) -> int:
    """Concurrent requests of this workload whose KV cache fits beside the weights."""
    return mem.max_batch(input_tokens + output_tokens)
