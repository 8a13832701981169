"""The memory fit and the throughput curve over many configurations at once.

A configuration is one (model, GPU, precision, KV dtype, tensor-parallel degree). The advisor
evaluates thousands of them per search, so here each quantity is an array with one value per
configuration. Nothing is re-derived: the per-model and per-GPU numbers come from the same
functions the scalar path uses (:func:`planner.physics.throughput.model_step_numbers`,
:func:`~planner.physics.throughput.gpu_step_numbers`, :mod:`planner.physics.quantities`), and the
times and memory budgets from the same broadcastable formulas
(:func:`~planner.physics.throughput.step_terms`, :func:`~planner.physics.throughput.decode_step_s`,
:func:`~planner.physics.memory.kv_budget_gb_of`, ...), so the two cannot drift apart;
``tests/test_arrays.py`` compares them on random configurations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.physics.memory import (
    MemoryReservation,
    kv_budget_gb_of,
    kv_shards_of,
    max_batch_of,
    usable_memory_gb,
    weights_gb_per_gpu,
)
from planner.physics.throughput import (
    StepTerms,
    batched_prefill_s,
    decode_step_s,
    prefill_alone_s,
    step_terms,
    tpot_s_of,
    ttft_s_of,
)
from planner.units import GB


@dataclass(frozen=True)
class MemoryArrays:
    """Per-configuration memory fit (GB per GPU) and the batch memory allows."""

    kv_budget_gb: np.ndarray
    full_context_kv_gb: np.ndarray
    fits: np.ndarray  # bool: weights, overheads and one full-context request fit
    max_batch: np.ndarray  # int: concurrent requests of the workload's size whose KV fits


def memory_arrays(device_gb: np.ndarray, weight_bytes: np.ndarray, tp: np.ndarray,
                  kv_splits: np.ndarray, full_context_kv_bytes: np.ndarray,
                  request_kv_bytes: np.ndarray, reserve: MemoryReservation) -> MemoryArrays:
    """:func:`planner.physics.memory.memory_breakdown`'s fit and ``max_batch`` for arrays of
    configurations: ``weight_bytes`` the whole model's at its precision, ``*_kv_bytes`` one
    request's whole-model KV cache at the served context and at the workload's request size,
    ``reserve`` the engine's memory reservation."""
    usable = usable_memory_gb(device_gb, reserve.device_fraction)
    budget = kv_budget_gb_of(usable, weights_gb_per_gpu(weight_bytes, tp), tp,
                             reserve.runtime_gib, reserve.free_fraction)
    shards = kv_shards_of(kv_splits, tp)
    full = full_context_kv_bytes / shards / GB
    return MemoryArrays(budget, full, budget >= full,
                        max_batch_of(budget, request_kv_bytes / shards).astype(np.int64))


def step_terms_arrays(numbers: dict[str, np.ndarray], tp: np.ndarray, input_tokens: int,
                      output_tokens: int) -> StepTerms:
    """:class:`StepTerms` with one value per configuration, from the gathered per-model and
    per-GPU numbers (the keys of ``model_step_numbers`` and ``gpu_step_numbers``)."""
    return step_terms(**numbers, tp=tp, input_tokens=input_tokens, output_tokens=output_tokens)


@dataclass(frozen=True)
class SloBatch:
    """Per configuration: the largest batch meeting both SLOs (0 = even batch 1 misses) and the
    replica's figures there (batch 1's where it misses)."""

    batch: np.ndarray
    meets_slo: np.ndarray
    tpot_ms: np.ndarray
    ttft_ms: np.ndarray
    requests_per_s: np.ndarray


def _ok(t: StepTerms, batch: np.ndarray, ttft_slo_ms: float, tpot_slo_ms: float) -> np.ndarray:
    step = decode_step_s(t, batch)
    tpot_ms = tpot_s_of(step, batched_prefill_s(t, batch), batch, t.output_tokens) * 1000
    ttft_ms = ttft_s_of(prefill_alone_s(t), step, batch) * 1000
    return (tpot_ms <= tpot_slo_ms) & (ttft_ms <= ttft_slo_ms)


def slo_batch(t: StepTerms, memory_max_batch: np.ndarray, engine_max_batch: np.ndarray,
              ttft_slo_ms: float, tpot_slo_ms: float) -> SloBatch:
    """:func:`planner.physics.throughput.choose_batch` for arrays of configurations.

    TPOT and TTFT grow with the batch, so the largest batch within the cap that meets both SLOs
    is found by bisection (about 9 evaluations of every configuration instead of 256)."""
    cap = np.minimum(memory_max_batch, engine_max_batch).astype(np.int64)
    lo = np.zeros_like(cap)  # largest batch known to meet the SLOs (0 = none yet)
    hi = cap.copy()  # largest batch that may
    while True:
        open_ = lo < hi
        if not open_.any():
            break
        mid = (lo + hi + 1) // 2
        ok = _ok(t, np.maximum(mid, 1).astype(float), ttft_slo_ms, tpot_slo_ms) & open_
        lo = np.where(ok, mid, lo)
        hi = np.where(ok | ~open_, hi, mid - 1)
    meets = lo >= 1
    at = np.maximum(lo, 1).astype(float)
    step = decode_step_s(t, at)
    tpot_s = tpot_s_of(step, batched_prefill_s(t, at), at, t.output_tokens)
    ttft_s = ttft_s_of(prefill_alone_s(t), step, at)
    requests_per_s = at / tpot_s / t.output_tokens
    return SloBatch(lo, meets, tpot_s * 1000, ttft_s * 1000, requests_per_s)
