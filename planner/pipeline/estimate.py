"""One replica's memory fit and throughput, outside any scenario (the ``throughput`` command)."""

from __future__ import annotations

from typing import Any

from planner.catalog import Catalog
from planner.errors import CannotEstimateError, ScenarioError
from planner.physics.memory import smallest_fitting_tp, weights_gb
from planner.physics.quantities import kv_cache_bytes_per_token
from planner.physics.throughput import (
    EngineProfile,
    default_kv_dtype,
    estimate_at_batch,
    load_intervals,
    load_profiles,
    memory_cap,
    output_tokens_per_s_range,
    profile_for,
    throughput_curve,
)
from planner.registry import ENGINE_IDS, TP_DEGREES
from planner.scenario import gpu_runs_precision

MAX_GPUS_FOR_TP = max(TP_DEGREES)


def estimate_throughput(catalog: Catalog, *, model_id: str, gpu_id: str, precision: str,
                        tp: int | None = None, batch: int | None = None,
                        input_tokens: int = 800, output_tokens: int = 200, engine: str = "vllm",
                        kv_cache_dtype: str | None = None, context_tokens: int | None = None,
                        profiles: dict[str, EngineProfile] | None = None,
                        intervals: dict | None = None) -> dict[str, Any]:
    """Memory and throughput of one replica. ``batch`` None = the largest that fits memory
    (capped by the engine); a ``batch`` above what the KV cache holds runs at the resident batch
    (the engine queues the rest: ``requested_batch`` says what was asked). ``kv_cache_dtype``
    None = the engine's default for the precision. ``output_tokens_per_s_range`` is the
    calibrated 80 % interval (None when uncalibrated); ``burst_ttft_ms`` the mean time to first
    token of ``batch`` requests submitted at once. Raises ScenarioError for unknown ids or
    impossible inputs."""
    model = catalog.models.get(model_id)
    if model is None:
        raise ScenarioError(f"--model: unknown model {model_id!r}")
    gpu = catalog.gpus.get(gpu_id)
    if gpu is None:
        raise ScenarioError(f"--gpu: unknown GPU {gpu_id!r}")
    if not gpu_runs_precision(gpu.native_precisions, precision):
        raise ScenarioError(f"--precision: {gpu.name} cannot run {precision}")
    if tp is not None and tp not in TP_DEGREES:
        raise ScenarioError(f"--tp: must be one of {', '.join(map(str, TP_DEGREES))}")
    if batch is not None and not 1 <= batch <= 4096:
        raise ScenarioError("--batch: must be between 1 and 4096")
    if input_tokens < 0 or output_tokens < 1:
        raise ScenarioError("--input-tokens must be >= 0 and --output-tokens >= 1")
    profiles = profiles or load_profiles()
    if engine not in ENGINE_IDS:
        raise ScenarioError(f"--engine: unknown engine {engine!r}")
    profile = profile_for(profiles, engine, gpu)
    kv_cache_dtype = kv_cache_dtype or default_kv_dtype(engine, precision)

    out: dict[str, Any] = {
        "model": model.id, "gpu": gpu.id, "precision": precision, "engine": engine,
        "weights_gb": round(weights_gb(model, precision), 4),
        "kv_cache_bytes_per_token": kv_cache_bytes_per_token(model, kv_cache_dtype),
        "input_tokens": input_tokens, "output_tokens": output_tokens,
        "kv_cache_dtype": kv_cache_dtype,
    }
    fit = smallest_fitting_tp(model, gpu, precision, MAX_GPUS_FOR_TP, kv_cache_dtype,
                              context_tokens, tp, engine)
    out["fits"] = fit.fits
    out["fit_tried"] = [a.model_dump() for a in fit.attempts]
    if fit.memory is None:
        out.update(tp=tp, max_batch=0, batch=None, prefill_tokens_per_s=None,
                   decode_tokens_per_s=None, output_tokens_per_s=None,
                   output_tokens_per_s_range=None, tpot_ms=None, ttft_ms=None,
                   burst_ttft_ms=None)
        return out
    mem = fit.memory
    request_tokens = input_tokens + output_tokens
    context = min(context_tokens or model.max_context_tokens, model.max_context_tokens)
    if request_tokens > context:
        raise ScenarioError(f"a request of {request_tokens:,} tokens exceeds the {context:,}-token "
                            f"context of {model.name}")
    cap = memory_cap(mem, input_tokens, output_tokens)
    if cap < 1:
        raise ScenarioError(f"one request of {request_tokens:,} tokens does not fit the KV cache "
                            f"left on {gpu.name} at tensor parallel {mem.tp}")
    # more concurrent requests than the KV cache holds: the engine runs what is resident and
    # queues the rest, so the figures are those of the resident batch
    resident = max(1, min(cap, profile.max_batch))
    chosen = min(batch, max(cap, 1)) if batch is not None else resident
    try:
        curve = throughput_curve(model, gpu, precision, mem.tp, profile, input_tokens,
                                 output_tokens, chosen, kv_cache_dtype)
    except CannotEstimateError as exc:  # e.g. no published compute peak: no prefill estimate
        raise ScenarioError(f"{exc} (use --input-tokens 0 for decode only)") from exc
    est = estimate_at_batch(curve, chosen)
    span = output_tokens_per_s_range(intervals if intervals is not None else load_intervals(),
                                     engine, gpu, est.batch, mem.tp, est.output_tokens_per_s)
    out.update(
        tp=mem.tp, max_batch=cap, batch=est.batch,
        requested_batch=batch, batch_fits_memory=batch is None or batch <= cap,
        prefill_tokens_per_s=est.prefill_tokens_per_s if input_tokens else None,
        decode_tokens_per_s=est.decode_tokens_per_s,
        output_tokens_per_s=est.output_tokens_per_s,
        output_tokens_per_s_range=list(span) if span is not None else None,
        per_user_tokens_per_s=1000 / est.tpot_ms,
        tpot_ms=est.tpot_ms, ttft_ms=est.ttft_ms, burst_ttft_ms=est.burst_ttft_ms,
        decode_step_ms=est.decode_step_ms,
    )
    return out
