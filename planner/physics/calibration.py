"""Calibration of the throughput model against published measurements.

``data/benchmarks/measured_throughput.csv`` holds published, measured points (see its README).
This module maps every row to the model (:func:`predict`), summarises the error
(:func:`summarize`), fits the engines' efficiency factors (:func:`fit_profiles`) and
cross-validates the fit (:func:`cross_validate`). ``python -m planner calibrate`` writes the
result to ``data/benchmarks/engine_profiles.json``; ``python -m planner validate`` prints it.

Mapping a row to the model
--------------------------
* Memory: the row's TP and a served length of input + output tokens (benchmarks set the max model
  length to their lengths), :func:`planner.physics.memory.memory_breakdown` with the engine's own
  reservation (vLLM a share of the card, TensorRT-LLM a share of the memory the weights leave
  free, llama.cpp the card less a small reserve). KV cache: the engine profile's default for the
  weight precision (:func:`planner.physics.throughput.default_kv_dtype`: FP8 for TensorRT-LLM
  FP8/FP4 builds; perf-overview: "If you specify FP8 quantization, the KV cache will
  automatically be set to FP8 as well"), 16-bit otherwise.
* ``ttft_ms`` at a batch > 1 is a static batch submitted at once: the whole batch's prefill
  (:attr:`planner.physics.throughput.ThroughputCurve.burst_ttft_s`).
* Batch: the row's batch (at most what the KV cache holds: beyond it the engine queues the rest);
  when empty ("max load", the saturated regime) the largest batch whose KV
  cache fits, capped by the engine's concurrency limit in that benchmark (:data:`MAX_LOAD_BATCH`).
* ``output_tokens_per_s_total``: the replica's end-to-end output tokens/s (prefill included) x
  ``gpu_count / tp``. That is the number of data-parallel replicas when ``gpu_count > tp`` and the
  per-GPU figure when ``tp > gpu_count`` (TensorRT-LLM v0.9 reports out tok/s per GPU).
  llama.cpp spreads a model over several GPUs by layers (pipeline): one replica whose memory is
  the GPUs' sum, decoding at batch 1 one GPU after another, i.e. at one GPU's bandwidth.
* ``output_tokens_per_s_per_user`` = 1000 / TPOT; ``tpot_ms``; ``ttft_ms``;
  ``prefill_tokens_per_s`` = input tokens / prefill time of one request.
* Lengths not stated: a batch-1 decode speed (llama.cpp ``mean TG``) is predicted as decode only at
  :data:`NOMINAL_DECODE_LENGTHS` (at batch 1 the KV reads of 512 tokens are < 3 % of the weight
  reads of every such row); any other metric cannot be predicted without lengths.
* A row the model cannot predict (unknown id, TP or precision or lengths not stated, no compute
  peak for a prefill, does not fit memory) is listed with the reason and left out of the summary.

Rows the shipped data cannot predict: the three llama.cpp prompt-processing rows on Apple M2 Ultra
(Apple publishes no tensor FLOPS) and the nine MLPerf rows (variable-length dataset: no lengths;
no TP layout; the Mixtral rows also no precision).

Fit
---
Bounded least squares (``scipy.optimize.least_squares``, trust-region reflective) on
r_i = ln(predicted_i / measured_i): each engine's factors (:data:`FITTED_FACTORS`) are fitted to
that engine's predictable rows, less :data:`EXCLUDED_FROM_FIT` (rows the model's structure cannot
describe, with the reason; still predicted and reported). Factors an engine's data cannot identify
keep their prior (:data:`planner.physics.throughput.DEFAULT_PROFILES`) or take another engine's fitted value
(:data:`SHARED_FACTORS`). Bounds (:data:`BOUNDS`) keep every factor physical. The fit starts from
the priors and involves no randomness, so ``python -m planner calibrate`` is deterministic; the
k-fold split uses a fixed seed.

Cross-validation (:func:`cross_validate`): leave one source out (:func:`source_group`: each
publication held out in turn and predicted from a refit on the others) and k-fold; see
benchmarks/crossval_throughput.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from planner.catalog import PRECISIONS, Catalog, GpuSpec, ModelSpec
from planner.errors import CannotEstimateError, DataError
from planner.physics.memory import memory_breakdown, tp_divides_heads
from planner.physics.throughput import (
    CALIBRATION_FILE,
    DEFAULT_PROFILES,
    INTERVAL_LEVEL,
    INTERVAL_MIN_POINTS,
    INTERVAL_QUANTILE_SPAN,
    EngineProfile,
    default_kv_dtype,
    estimate_at_batch,
    gpu_vendor,
    memory_cap,
    output_range_factors,
    peak_tflops,
    profile_for,
    profile_key,
    regime_cells,
    throughput_curve,
)

MEASUREMENTS_FILE = CALIBRATION_FILE.parent / "measured_throughput.csv"

REQUIRED_COLUMNS = ("model", "gpu", "gpu_count", "tp", "precision", "engine", "batch",
                    "input_tokens", "output_tokens", "metric", "value")
OPTIONAL_COLUMNS = ("source", "as_of", "notes")
METRICS = ("output_tokens_per_s_total", "output_tokens_per_s_per_user", "tpot_ms", "ttft_ms",
           "prefill_tokens_per_s")

# Concurrency of "max load" rows (batch empty). TensorRT-LLM's trtllm-bench reports
# "Max Runtime Batch Size: 4096" (perf-overview.md, v0.12/v0.13 example output); vLLM's default
# max_num_seqs is 256 (vLLM engine arguments); llama.cpp serves few parallel slots.
MAX_LOAD_BATCH: dict[str, int] = {"tensorrt-llm": 4096, "vllm": 256, "llama.cpp": 16}

# Largest batch the model evaluates (its curves are arrays over 1..batch).
MAX_BATCH = 16384

# Lengths assumed for a batch-1 decode speed whose source does not give them (llama-bench tg512).
NOMINAL_DECODE_LENGTHS = (0, 512)

FACTOR_NAMES = ("bandwidth_efficiency", "quantized_bandwidth_efficiency", "compute_efficiency",
                "prefill_efficiency", "step_overhead_ms", "tp_overhead_per_doubling",
                "allreduce_gb_per_s", "allreduce_latency_us", "allreduce_link_efficiency",
                "layer_overhead_us")
BOUNDS: dict[str, tuple[float, float]] = {
    "bandwidth_efficiency": (0.05, 1.0),
    "quantized_bandwidth_efficiency": (0.05, 1.0),
    "compute_efficiency": (0.05, 1.0),
    "prefill_efficiency": (0.05, 1.0),
    "step_overhead_ms": (0.0, 20.0),
    "tp_overhead_per_doubling": (0.0, 1.0),
    "allreduce_gb_per_s": (10.0, 900.0),
    # a small all-reduce over NVLink takes microseconds to tens of microseconds; without this
    # bound the max-load rows alone trade the per-step overhead for an all-reduce latency of 90 us+
    "allreduce_latency_us": (0.0, 50.0),
    "allreduce_link_efficiency": (0.05, 1.0),
    "layer_overhead_us": (0.0, 200.0),
}
# Which factors each engine's data can identify; the others keep their prior.
# * tensorrt-llm: batch 1 to max load, TP 1-8, 16-bit and FP8 (no int8/int4 rows).
# * llama.cpp: batch 1 and TP 1 only (decode never reaches the compute bound, no TP), F16/Q8/Q4.
# * vllm: batch-1 rows of Qwen2.5 1.5B-72B (28-80 layers, TP 1-4, BF16/GPTQ/AWQ) and a batch
#   4-48 sweep of one 7B model: the bandwidth, prefill and fixed-cost factors. The fixed cost is
#   fitted per step and per layer: the Qwen rows span 28 to 80 layers, which separates the two
#   (a 7B-only set could not; vLLM then took TensorRT-LLM's per-layer cost, and with it the
#   bandwidth factor sat at its bound of 1.0). 16-bit and GPTQ/AWQ rows do not separate a
#   quantised-read efficiency from the overhead, so it stays equal to the 16-bit one.
FITTED_FACTORS: dict[str, tuple[str, ...]] = {
    "tensorrt-llm": ("bandwidth_efficiency", "compute_efficiency", "prefill_efficiency",
                     "step_overhead_ms", "allreduce_link_efficiency", "allreduce_latency_us",
                     "layer_overhead_us"),
    "vllm": ("bandwidth_efficiency", "prefill_efficiency", "step_overhead_ms",
             "layer_overhead_us"),
    # vLLM on AMD GPUs (ROCm kernels, RCCL) is another software stack: its own profile
    # (planner.physics.throughput.profile_key), fitted on MI300X rows from batch 1 to 256. Its
    # rows are of one model (126 layers), so its fixed cost is fitted as a per-layer cost only
    # (a per-step one could not be told apart); taking TensorRT-LLM's per-layer cost (155 us x
    # 126 layers = 19.5 ms of a 27.8 ms measured batch-1 step) left the batch-1 rows 16 % low
    # with the bandwidth factor at 1.0 and the per-step overhead at 0. Its per-step overhead is
    # the NVIDIA vLLM profile's it starts from. With one model on one GPU its batch-1 rows
    # cannot separate the bandwidth factor from the fixed cost either (both are constant over
    # batch 1-16): the least-squares optimum puts bandwidth at its bound of 1.0 (an interior
    # solution, 0.65 with a 10 ms per-step cost, fits them 0.004 worse in rms log error).
    "vllm@rocm": ("bandwidth_efficiency", "compute_efficiency", "prefill_efficiency",
                  "layer_overhead_us"),
    "llama.cpp": ("bandwidth_efficiency", "quantized_bandwidth_efficiency", "prefill_efficiency",
                  "step_overhead_ms", "layer_overhead_us"),
}

# Factors an engine without data of its own takes from another engine's fit (applied before the
# receiving engine is fitted, so its own factors are fitted around them): vLLM's tensor-parallel
# rows (Qwen2.5-72B at TP 2 and 4, batch 1) are too few to fit a link share and latency; its
# all-reduces run over the same NVLink with NCCL/custom all-reduce kernels as TensorRT-LLM's, so
# it uses TensorRT-LLM's fitted all-reduce link share and latency.
SHARED_FACTORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "vllm": ("tensorrt-llm", ("allreduce_link_efficiency", "allreduce_latency_us")),
    "vllm@rocm": ("tensorrt-llm", ("allreduce_link_efficiency", "allreduce_latency_us")),
}


# Tensor parallelism over PCIe (L40S) is no longer left out of the fit: the all-reduce bandwidth
# is the engine's share of each GPU's own link (gpus.csv interconnect_gb_per_s), one factor for
# NVLink 4, NVLink 5 and PCIe alike, which took the L40S TP4 row from +62 % (an absolute
# bandwidth capped at the link) to within the model's usual error.

# Rows predicted and reported but left out of the fit: (test, reason).
EXCLUDED_FROM_FIT: list[tuple[Callable[[Measurement], bool], str]] = [
    (lambda m: (m.model == "qwen2.5-72b" and m.engine == "vllm" and m.precision == "int4"
                and m.tp == 1 and m.batch == 1),
     "Qwen2.5-72B GPTQ-Int4 on one A100 (QwenLM speed benchmark, 16.47 tok/s): the same page's "
     "2-GPU AWQ run (same settings) is 2.7x faster, a more than linear gain from a second GPU "
     "that no bandwidth or overhead term gives (a kernel path the model does not describe)"),
]


@dataclass(frozen=True)
class Measurement:
    """One published point (a CSV row)."""

    line: int  # line in the CSV file (header = 1)
    model: str
    gpu: str
    gpu_count: int
    tp: int | None
    precision: str | None
    engine: str
    batch: int | None
    input_tokens: int | None
    output_tokens: int | None
    metric: str
    value: float
    source: str = ""
    as_of: str = ""
    notes: str = ""

    @property
    def regime(self) -> str:
        """``batch1`` (one request at a time) or ``large_batch`` (given batch > 1 or max load)."""
        return "batch1" if self.batch == 1 else "large_batch"

    def label(self) -> str:
        lengths = (f"{self.input_tokens}/{self.output_tokens}"
                   if self.input_tokens is not None and self.output_tokens is not None else "?/?")
        return (f"{self.model} {self.gpu}x{self.gpu_count} tp{self.tp or '?'} "
                f"{self.precision or '?'} {self.engine} b{self.batch or 'max'} {lengths} "
                f"{self.metric}")


MAX_MEASUREMENT_BYTES = 64 * 1024 * 1024
# a published throughput (tokens/s) or latency (ms) is never below 1e-3 or above 1e9
MIN_MEASURED_VALUE, MAX_MEASURED_VALUE = 1e-3, 1e9


def _cell_int(text: str, column: str, where: str, minimum: int) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise DataError(f"{where}: column {column!r}: {text!r} is not a number") from None
    if not number.is_integer() or number < minimum:
        raise DataError(f"{where}: column {column!r}: {text!r} must be a whole number "
                        f">= {minimum}")
    return int(number)


def load_measurements(path: Path = MEASUREMENTS_FILE) -> list[Measurement]:
    """Rows of a measurement CSV (columns of ``measured_throughput.csv``; ``source``, ``as_of``,
    ``notes`` optional). Raises :class:`DataError` naming the file, line and column of any
    malformed cell."""
    from planner.io.files import read_capped

    if not Path(path).exists():
        raise DataError(f"{path}: file not found")
    try:
        text = read_capped(Path(path), MAX_MEASUREMENT_BYTES, "measurements",
                           DataError).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: cannot read: not UTF-8 text ({exc.reason})") from None
    try:
        return _measurement_rows(path, list(csv.DictReader(text.splitlines())))
    except csv.Error as exc:
        raise DataError(f"{path}: unreadable CSV ({exc})") from None


def _measurement_rows(path: Path, raw_rows: list[dict]) -> list[Measurement]:
    header = [h.strip() for h in (raw_rows[0].keys() if raw_rows else []) if h is not None]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; expected "
                        f"{', '.join(REQUIRED_COLUMNS)} (+ optional {', '.join(OPTIONAL_COLUMNS)})")
    rows: list[Measurement] = []
    for i, raw in enumerate(raw_rows, start=2):
        where = f"{path} line {i}"
        if None in raw:
            raise DataError(f"{where}: more cells than columns")
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        for col in ("model", "gpu", "engine", "metric", "value"):
            if not row[col]:
                raise DataError(f"{where}: column {col!r} is empty")
        if row["metric"] not in METRICS:
            raise DataError(f"{where}: column 'metric': {row['metric']!r} is not one of "
                            f"{', '.join(METRICS)}")
        try:
            value = float(row["value"])
        except ValueError:
            raise DataError(f"{where}: column 'value': {row['value']!r} is not a number") from None
        if not math.isfinite(value) or not MIN_MEASURED_VALUE <= value <= MAX_MEASURED_VALUE:
            raise DataError(f"{where}: column 'value': must be a number from "
                            f"{MIN_MEASURED_VALUE:g} to {MAX_MEASURED_VALUE:g} (tokens/s or ms)")
        precision = row["precision"].lower() or None
        if precision is not None and precision not in PRECISIONS:
            raise DataError(f"{where}: column 'precision': {row['precision']!r} is not one of "
                            f"{', '.join(PRECISIONS)}")
        gpu_count = _cell_int(row["gpu_count"], "gpu_count", where, 1)
        if gpu_count is None:
            raise DataError(f"{where}: column 'gpu_count' is empty")
        rows.append(Measurement(
            line=i, model=row["model"], gpu=row["gpu"], gpu_count=gpu_count,
            tp=_cell_int(row["tp"], "tp", where, 1), precision=precision, engine=row["engine"],
            batch=_cell_int(row["batch"], "batch", where, 1),
            input_tokens=_cell_int(row["input_tokens"], "input_tokens", where, 0),
            output_tokens=_cell_int(row["output_tokens"], "output_tokens", where, 0),
            metric=row["metric"], value=value, source=row.get("source", ""),
            as_of=row.get("as_of", ""), notes=row.get("notes", "")))
    if not rows:
        raise DataError(f"{path}: no data rows")
    return rows


@dataclass(frozen=True)
class Setup:
    """A row mapped to the model's inputs (independent of the engine's factors)."""

    model: ModelSpec
    gpu: GpuSpec
    precision: str
    tp: int
    kv_dtype: str
    input_tokens: int
    output_tokens: int
    batch: int
    scale: float  # multiplies the replica's output tokens/s (replicas or per-GPU share)
    note: str


def setup_for(m: Measurement, catalog: Catalog) -> Setup | str:
    """The model inputs for a row, or why it cannot be predicted."""
    problems: list[str] = []
    model = catalog.models.get(m.model)
    gpu = catalog.gpus.get(m.gpu)
    if model is None:
        problems.append(f"model {m.model!r} not in the catalog")
    if gpu is None:
        problems.append(f"GPU {m.gpu!r} not in the catalog")
    if m.engine not in DEFAULT_PROFILES:
        problems.append(f"engine {m.engine!r} has no profile")
    if m.precision is None:
        problems.append("precision not stated")
    if m.tp is None:
        problems.append("tensor-parallel degree not stated")
    notes: list[str] = []
    lengths_missing = m.input_tokens is None or m.output_tokens is None
    if lengths_missing:
        if m.batch == 1 and m.metric == "output_tokens_per_s_total":
            inp, out = NOMINAL_DECODE_LENGTHS
            notes.append(f"lengths not stated: decode at {inp}/{out} tokens")
        else:
            problems.append("input/output lengths not stated")
            inp, out = 0, 1
    else:
        inp, out = int(m.input_tokens or 0), int(m.output_tokens or 0)
    if m.metric in ("ttft_ms", "prefill_tokens_per_s") and inp == 0 and not lengths_missing:
        problems.append(f"{m.metric} needs input_tokens > 0")
    if m.metric != "prefill_tokens_per_s" and out == 0 and not lengths_missing:
        problems.append(f"{m.metric} needs output_tokens > 0")
    if problems or model is None or gpu is None or m.precision is None or m.tp is None:
        return "; ".join(problems)
    out = max(out, 1)
    if not tp_divides_heads(model, m.tp):
        return (f"tp={m.tp} does not divide {model.attention_heads} attention heads and "
                f"{model.kv_heads} KV heads")
    if m.batch is not None and m.batch > MAX_BATCH:
        return f"batch {m.batch} above the model's range (<= {MAX_BATCH})"
    if peak_tflops(gpu, m.precision) is None and inp > 0:
        return f"no compute peak: {gpu.name} has no published tensor FLOPS, so prefill is unknown"
    kv_dtype = default_kv_dtype(m.engine, m.precision)
    pipeline = m.engine == "llama.cpp" and m.gpu_count > m.tp
    pooled = {"mem_gb": gpu.mem_gb * m.gpu_count, "mem_exposed_mib": (
        gpu.mem_exposed_mib * m.gpu_count if gpu.mem_exposed_mib is not None else None)}
    mem_gpu = gpu.model_copy(update=pooled) if pipeline else gpu
    if pipeline:
        notes.append(f"layer split over {m.gpu_count} GPUs: pooled memory, one GPU's bandwidth")
    mem = memory_breakdown(model, mem_gpu, m.precision, m.tp, kv_dtype, inp + out, m.engine)
    if not mem.fits:
        return (f"does not fit memory in the planner's model at tp={m.tp} "
                f"({mem.weights_gb:.1f} GB weights per GPU of {mem.usable_gb:.1f} GB usable)")
    cap = memory_cap(mem, inp, out)
    if m.batch is not None:
        # more requests than the KV cache holds: the engine runs what is resident and queues the
        # rest, so the achieved figures are those of the resident batch
        batch = min(m.batch, max(cap, 1))
        if m.batch > cap:
            notes.append(f"batch {m.batch} exceeds the planner's memory cap {cap}: predicted at "
                         f"the resident batch {batch}")
    else:
        engine_cap = MAX_LOAD_BATCH[m.engine]
        batch = max(1, min(cap, engine_cap))
        notes.append(f"max load: batch {batch} ("
                     f"{'KV-cache memory' if cap < engine_cap else 'engine cap'})")
    scale = 1.0
    if m.metric == "output_tokens_per_s_total" and not pipeline:
        scale = m.gpu_count / m.tp
        if scale > 1:
            notes.append(f"{m.gpu_count // m.tp} data-parallel replicas")
        elif scale < 1:
            notes.append(f"per-GPU figure of a tp={m.tp} replica")
    return Setup(model, gpu, m.precision, m.tp, kv_dtype, inp, out, batch, scale, "; ".join(notes))


def predict_value(s: Setup, metric: str, profile: EngineProfile) -> float:
    """The model's figure for ``metric`` under ``s`` with the engine factors of ``profile``."""
    curve = throughput_curve(s.model, s.gpu, s.precision, s.tp, profile, s.input_tokens,
                             s.output_tokens, s.batch, s.kv_dtype)
    est = estimate_at_batch(curve, s.batch)
    if metric == "output_tokens_per_s_total":
        return est.output_tokens_per_s * s.scale
    if metric == "output_tokens_per_s_per_user":
        return 1000 / est.tpot_ms
    if metric == "tpot_ms":
        return est.tpot_ms
    if metric == "ttft_ms":
        # a batch > 1 in a TTFT row is a static batch submitted at once (benchmark harnesses):
        # its first tokens wait for the whole batch's prefill
        return est.burst_ttft_ms if s.batch > 1 else est.ttft_ms
    if metric == "prefill_tokens_per_s":
        return est.prefill_tokens_per_s
    raise ValueError(f"unknown metric {metric!r}")


@dataclass(frozen=True)
class Prediction:
    """A row with the model's figure, or the reason it has none."""

    measurement: Measurement
    predicted: float | None
    reason: str = ""  # why not predictable ("" if predicted)
    note: str = ""  # how the row was mapped
    excluded: str = ""  # why the fit left it out ("" if used)

    @property
    def ape(self) -> float | None:
        """Absolute percentage error as a fraction (0.1 = 10 %)."""
        if self.predicted is None:
            return None
        return abs(self.predicted - self.measurement.value) / self.measurement.value

    @property
    def log_error(self) -> float | None:
        if self.predicted is None:
            return None
        return math.log(self.predicted / self.measurement.value)

    def record(self) -> dict[str, Any]:
        m = self.measurement
        ape = self.ape
        return {
            "line": m.line, "model": m.model, "gpu": m.gpu, "gpu_count": m.gpu_count, "tp": m.tp,
            "precision": m.precision, "engine": m.engine, "batch": m.batch,
            "input_tokens": m.input_tokens, "output_tokens": m.output_tokens,
            "metric": m.metric, "regime": m.regime, "measured": m.value,
            "predicted": None if self.predicted is None else round(self.predicted, 4),
            "error_pct": None if self.predicted is None
            else round(100 * (self.predicted / m.value - 1), 1),
            "ape": None if ape is None else round(ape, 4),
            "status": "predicted" if self.predicted is not None
            else f"not predictable: {self.reason}",
            "note": "; ".join(x for x in (self.note, f"excluded from fit: {self.excluded}"
                                          if self.excluded else "") if x),
            "source": m.source,
        }


def exclusion_reason(m: Measurement) -> str:
    """Why the fit leaves ``m`` out ("" if it does not)."""
    for test, why in EXCLUDED_FROM_FIT:
        if test(m):
            return why
    return ""


def predict(measurements: Iterable[Measurement], catalog: Catalog,
            profiles: dict[str, EngineProfile]) -> list[Prediction]:
    """The model's figure for every row (or the reason there is none), in input order."""
    out: list[Prediction] = []
    for m in measurements:
        s = setup_for(m, catalog)
        if isinstance(s, str):
            out.append(Prediction(m, None, reason=s))
            continue
        profile = profile_for({**DEFAULT_PROFILES, **profiles}, m.engine, s.gpu)
        try:
            value = predict_value(s, m.metric, profile)
        except (ValueError, CannotEstimateError) as exc:
            out.append(Prediction(m, None, reason=str(exc)))
            continue
        out.append(Prediction(m, value, note=s.note, excluded=exclusion_reason(m)))
    return out


# ---------------------------------------------------------------------------------------------
# summary


def error_stats(apes: Sequence[float]) -> dict[str, Any]:
    """median_ape, within_25, within_50 (fractions) and n of absolute percentage errors."""
    a = np.asarray(apes, dtype=float)
    if a.size == 0:
        return {"median_ape": None, "within_25": None, "within_50": None, "n": 0}
    return {
        "median_ape": round(float(np.median(a)), 4),
        "within_25": round(float(np.mean(a <= 0.25)), 4),
        "within_50": round(float(np.mean(a <= 0.50)), 4),
        "n": int(a.size),
    }


def summarize(predictions: Sequence[Prediction], worst: int = 5) -> dict[str, Any]:
    """Error summary over the predictable rows: overall, per engine, per batch regime, worst
    points; rows that cannot be predicted are counted with their reasons."""
    done = [p for p in predictions if p.predicted is not None]
    summary: dict[str, Any] = error_stats([p.ape for p in done])  # type: ignore[misc]
    summary["n_rows"] = len(predictions)
    summary["n_not_predictable"] = len(predictions) - len(done)
    summary["per_engine"] = {
        engine: error_stats([p.ape for p in done if p.measurement.engine == engine])  # type: ignore[misc]
        for engine in sorted({p.measurement.engine for p in done})
    }
    summary["per_regime"] = {
        regime: error_stats([p.ape for p in done if p.measurement.regime == regime])  # type: ignore[misc]
        for regime in ("batch1", "large_batch")
    }
    ranked = sorted(done, key=lambda p: -(p.ape or 0.0))
    summary["worst"] = [
        {"line": p.measurement.line, "point": p.measurement.label(),
         "measured": p.measurement.value, "predicted": round(p.predicted or 0.0, 4),
         "error_pct": round(100 * ((p.predicted or 0.0) / p.measurement.value - 1), 1)}
        for p in ranked[:worst]
    ]
    reasons: dict[str, int] = {}
    for p in predictions:
        if p.predicted is None:
            reasons[p.reason] = reasons.get(p.reason, 0) + 1
    summary["not_predictable"] = reasons
    return summary


# ---------------------------------------------------------------------------------------------
# fit


def _factor(profile: EngineProfile, name: str) -> float:
    value = getattr(profile, name)
    if value is None and name == "quantized_bandwidth_efficiency":
        return profile.bandwidth_efficiency
    if value is None and name == "allreduce_gb_per_s":
        return 200.0  # a start value only: engines fitting it have a prior
    if value is None and name == "allreduce_link_efficiency":
        return 0.5
    return float(value)


def fixed_cost_split_identifiable(rows: Sequence[tuple[Measurement, Setup]],
                                  names: Sequence[str]) -> bool:
    """Whether an engine's rows can separate a per-layer from a per-step fixed cost (both in
    ``names``): only rows of models of at least two depths (layer counts) can. True when the
    engine does not fit both."""
    if not {"layer_overhead_us", "step_overhead_ms"} <= set(names):
        return True
    return len({s.model.layers for _, s in rows}) >= 2


FIT_METHOD = ("bounded least squares (scipy.optimize.least_squares, trust-region reflective) on "
              "r = ln(predicted / measured), each engine's factors fitted to that engine's "
              "points, started at the priors (planner.physics.throughput.DEFAULT_PROFILES)")


def fit_profiles(measurements: Sequence[Measurement], catalog: Catalog,
                 priors: dict[str, EngineProfile] | None = None,
                 ) -> tuple[dict[str, EngineProfile], dict[str, Any]]:
    """Fit the factors of :data:`FITTED_FACTORS` by bounded least squares on ln(pred/measured).

    Each engine is fitted on its own predictable rows not in :data:`EXCLUDED_FROM_FIT`; an engine
    without rows keeps its priors. Returns the profiles and a description of the fit."""
    from scipy.optimize import least_squares

    profiles = dict(priors or DEFAULT_PROFILES)
    used: dict[str, list[tuple[Measurement, Setup]]] = {}
    for m in measurements:
        s = setup_for(m, catalog)
        if isinstance(s, Setup) and not exclusion_reason(m):
            key = profile_key(m.engine, s.gpu)
            if key in FITTED_FACTORS:
                used.setdefault(key, []).append((m, s))
    per_engine: dict[str, Any] = {}
    for engine in sorted(used):
        rows, names = used[engine], FITTED_FACTORS[engine]
        base = profiles.get(engine) or replace(profiles[engine.split("@", 1)[0]], name=engine)
        donor, shared = SHARED_FACTORS.get(engine, ("", ()))
        if not fixed_cost_split_identifiable(rows, names) and donor in per_engine:
            # one depth of model: a per-layer cost cannot be told from a per-step one, so the
            # per-layer cost is the donor's and only the per-step overhead is fitted
            names = tuple(f for f in names if f != "layer_overhead_us")
            shared = (*shared, "layer_overhead_us")
        if donor in per_engine:  # donors sort before their receivers: fit with their values
            base = replace(base, **{f: getattr(profiles[donor], f) for f in shared})
        lo = np.array([BOUNDS[f][0] for f in names])
        hi = np.array([BOUNDS[f][1] for f in names])
        x0 = np.clip([_factor(base, f) for f in names], lo, hi)

        def residuals(x: np.ndarray, rows: list = rows, names: tuple = names,
                      base: EngineProfile = base) -> np.ndarray:
            profile = replace(base, **dict(zip(names, map(float, x), strict=True)))
            return np.array([math.log(predict_value(s, m.metric, profile) / m.value)
                             for m, s in rows])

        result = least_squares(residuals, x0, bounds=(lo, hi), method="trf", x_scale="jac",
                               diff_step=1e-4, xtol=1e-12, ftol=1e-12, gtol=1e-12,
                               max_nfev=5000)
        profiles[engine] = replace(base, **dict(zip(names, map(float, result.x), strict=True)))
        at_bound = [f for f, v in zip(names, result.x, strict=True)
                    if min(abs(v - BOUNDS[f][0]), abs(v - BOUNDS[f][1])) < 1e-6]
        per_engine[engine] = {
            "n_points": len(rows),
            "fitted_factors": list(names),
            "prior_factors": [f for f in FACTOR_NAMES if f not in names
                              and not (donor in per_engine and f in shared)],
            "factors_at_bound": at_bound,
            "rms_log_error": round(float(np.sqrt(np.mean(result.fun ** 2))), 6),
            "converged": bool(result.success),
        }
        if donor in per_engine and shared:
            per_engine[engine]["shared_factors"] = {f: donor for f in shared}
    for engine, (donor, names) in SHARED_FACTORS.items():
        if donor in per_engine and engine in profiles:
            profiles[engine] = replace(profiles[engine],
                                       **{f: getattr(profiles[donor], f) for f in names})
            if engine in per_engine:
                per_engine[engine].setdefault("shared_factors", {f: donor for f in names})
                per_engine[engine]["prior_factors"] = [
                    f for f in per_engine[engine]["prior_factors"] if f not in names]
    info = {
        "method": FIT_METHOD,
        "n_points": sum(len(r) for r in used.values()),
        "n_excluded": sum(1 for m in measurements if exclusion_reason(m)),
        "bounds": {k: list(v) for k, v in BOUNDS.items()},
        "per_engine": per_engine,
    }
    return profiles, info


# ---------------------------------------------------------------------------------------------
# cross-validation


def source_group(m: Measurement) -> str:
    """The publication a row comes from, so that one document's rows are held out together: the
    ``source`` text before any parenthesised comment; for a GitHub URL, its ``owner/repo``."""
    text = m.source.split(" (", 1)[0].strip()
    url = re.match(r"https?://github\.com/([^/\s]+/[^/\s]+)", text)
    if url:
        return url.group(1)
    return text or f"line {m.line}"


def cross_validate(measurements: Sequence[Measurement], catalog: Catalog,
                   group: Callable[[Measurement], str] = source_group,
                   priors: dict[str, EngineProfile] | None = None) -> list[Prediction]:
    """Held-out predictions: for each group, refit on the other groups and predict the group.

    An engine with no data left in training keeps its priors."""
    groups = sorted({group(m) for m in measurements})
    held: dict[int, Prediction] = {}
    for g in groups:
        train = [m for m in measurements if group(m) != g]
        test = [m for m in measurements if group(m) == g]
        fitted, _ = fit_profiles(train, catalog, priors)
        for p in predict(test, catalog, fitted):
            held[id(p.measurement)] = p
    return [held[id(m)] for m in measurements]


KFOLD_K = 5

# Engine versions of profiles that have no prior of their own (the data's versions).
PROFILE_VERSIONS = {"vllm@rocm": "not stated (Oracle OCI MI300X blog, 2024-10-10)"}


def kfold_groups(measurements: Sequence[Measurement], k: int = KFOLD_K,
                 seed: int = 0) -> Callable[[Measurement], str]:
    """A grouping into ``k`` folds of shuffled rows (deterministic for a seed)."""
    order = np.random.default_rng(seed).permutation(len(measurements))
    fold = {measurements[i].line: f"fold {j % k}" for j, i in enumerate(order)}
    return lambda m: fold[m.line]


# ---------------------------------------------------------------------------------------------
# calibrated interval


INTERVAL_METRICS = ("output_tokens_per_s_total",)
INTERVAL_METHOD = (
    "ratios measured / predicted of output tokens/s, each predicted by a fit that left its "
    "publication out; per regime cell (engine x GPU vendor, batch 1 vs loaded, TP 1 vs > 1) the "
    "5th and 95th percentiles, each publication in a cell weighing the same in total; a cell with "
    "fewer than min_points ratios spans the union of its own percentiles and those of the first "
    "coarser cell with min_points (quantile_span 0.90 and min_points 30, read off a small grid so "
    "that the leave-one-publication-out coverage is 75-85 %)")


def _regime_of(m: Measurement, catalog: Catalog) -> tuple[str, ...]:
    gpu = catalog.gpus.get(m.gpu)
    vendor = gpu_vendor(gpu) if gpu is not None else "unknown"
    return regime_cells(m.engine, vendor, m.batch, m.tp or 1)


def _ratio_rows(held_out: Sequence[Prediction]) -> list[Prediction]:
    return [p for p in held_out if p.predicted is not None and p.predicted > 0
            and p.measurement.metric in INTERVAL_METRICS]


def weighted_quantile(values: Sequence[float], weights: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values`` with ``weights``: each value sits at the midpoint of
    its share of the cumulative weight, linear in between (unweighted, this is the Hazen rule)."""
    order = np.argsort(values, kind="stable")
    v = np.asarray(values, dtype=float)[order]
    w = np.asarray(weights, dtype=float)[order]
    at = (np.cumsum(w) - w / 2) / w.sum()
    return float(np.interp(q, at, v))


def interval_cells(held_out: Sequence[Prediction], catalog: Catalog,
                   level: float = INTERVAL_QUANTILE_SPAN,
                   group: Callable[[Measurement], str] = source_group) -> dict[str, dict[str, float]]:
    """Per regime cell: low and high multipliers (the (1 - level) / 2 and (1 + level) / 2
    weighted quantiles of measured / predicted over ``held_out`` predictions), their count n and
    the number of publications they come from. Each publication weighs the same in a cell (its
    points share a weight of 1): leave-one-publication-out holds out publications, so the spread
    a new one meets is the spread across publications, not across the points of the largest."""
    ratios: dict[str, list[tuple[float, str]]] = {}
    for p in _ratio_rows(held_out):
        ratio = p.measurement.value / float(p.predicted or 1.0)
        for key in _regime_of(p.measurement, catalog):
            ratios.setdefault(key, []).append((ratio, group(p.measurement)))
    q = ((1 - level) / 2, (1 + level) / 2)
    cells = {}
    for key, rows in sorted(ratios.items()):
        count = Counter(g for _, g in rows)
        values = [r for r, _ in rows]
        weights = [1.0 / count[g] for _, g in rows]
        cells[key] = {"low": round(weighted_quantile(values, weights, q[0]), 6),
                      "high": round(weighted_quantile(values, weights, q[1]), 6),
                      "n": len(rows), "publications": len(count)}
    return cells


def interval_coverage(held_out: Sequence[Prediction], catalog: Catalog,
                      group: Callable[[Measurement], str] = source_group,
                      level: float = INTERVAL_QUANTILE_SPAN,
                      min_points: int = INTERVAL_MIN_POINTS) -> dict[str, Any]:
    """Share of held-out output tokens/s points inside their interval when the interval is built
    without their own publication's residuals (overall, per engine, per batch regime and per
    (engine, publication)), with the median width high / low."""
    rows = _ratio_rows(held_out)
    inside: list[tuple[Prediction, bool, float]] = []
    for g in sorted({group(p.measurement) for p in rows}):
        cells = interval_cells([p for p in rows if group(p.measurement) != g], catalog, level,
                               group)
        table = {"cells": cells, "min_points": min_points}
        for p in rows:
            if group(p.measurement) != g:
                continue
            m = p.measurement
            gpu = catalog.gpus[m.gpu]
            f = output_range_factors(table, m.engine, gpu_vendor(gpu), m.batch, m.tp or 1)
            if f is None:
                continue
            ratio = m.value / float(p.predicted or 1.0)
            inside.append((p, f[0] <= ratio <= f[1], f[1] / f[0]))

    def share(items: list[tuple[Prediction, bool, float]]) -> dict[str, Any]:
        if not items:
            return {"coverage": None, "median_width": None, "n": 0}
        return {"coverage": round(float(np.mean([ok for _, ok, _ in items])), 4),
                "median_width": round(float(np.median([w for _, _, w in items])), 4),
                "n": len(items)}

    out = share(inside)
    out["per_engine"] = {e: share([x for x in inside if x[0].measurement.engine == e])
                         for e in sorted({x[0].measurement.engine for x in inside})}
    out["per_regime"] = {r: share([x for x in inside if x[0].measurement.regime == r])
                         for r in ("batch1", "large_batch")}
    out["per_publication"] = {
        (e, g): share([x for x in inside if (x[0].measurement.engine, group(x[0].measurement))
                       == (e, g)])
        for e, g in sorted({(x[0].measurement.engine, group(x[0].measurement)) for x in inside})}
    return out


# ---------------------------------------------------------------------------------------------
# the calibration file


def calibrate(catalog: Catalog, path: Path = MEASUREMENTS_FILE,
              as_of: dt.date | None = None) -> dict[str, Any]:
    """Fit, validate and cross-validate; the content of ``engine_profiles.json``."""
    measurements = load_measurements(path)
    fitted, info = fit_profiles(measurements, catalog)
    summary = summarize(predict(measurements, catalog, fitted))
    held_out = cross_validate(measurements, catalog)
    cv = summarize(held_out)
    coverage = interval_coverage(held_out, catalog)
    kfold = summarize(cross_validate(measurements, catalog, kfold_groups(measurements, KFOLD_K)))
    validation = {
        "median_ape": summary["median_ape"],
        "within_25": summary["within_25"],
        "within_50": summary["within_50"],
        "n": summary["n"],
        "cv_median_ape": cv["median_ape"],
        "cv_within_25": cv["within_25"],
        "cv_within_50": cv["within_50"],
        "cv_method": "leave-one-source-out (each publication held out in turn, refit on the rest)",
        "cv_kfold": {"k": KFOLD_K, "seed": 0, "median_ape": kfold["median_ape"],
                     "within_25": kfold["within_25"], "within_50": kfold["within_50"]},
        "per_engine": {e: {"median_ape": v["median_ape"], "n": v["n"]}
                       for e, v in summary["per_engine"].items()},
        "per_regime": {r: {"median_ape": v["median_ape"], "within_25": v["within_25"], "n": v["n"]}
                       for r, v in summary["per_regime"].items()},
        "n_not_predictable": summary["n_not_predictable"],
        "units": "median_ape and within_* are fractions (0.15 = 15 %)",
        "as_of": (as_of or dt.date.today()).isoformat(),
    }
    profiles = {}
    for name in sorted(fitted):
        p = asdict(fitted[name])
        p.pop("name")
        p["version"] = PROFILE_VERSIONS.get(name, p["version"])
        for f in FACTOR_NAMES:
            if p[f] is not None:
                p[f] = round(p[f], 6)
        fit = info["per_engine"].get(name)
        shared = fit.get("shared_factors", {}) if fit else {}
        p["source"] = (f"fitted to {fit['n_points']} published points "
                       f"({', '.join(fit['fitted_factors'])})"
                       + "".join(f"; {f} from {d}'s fit" for f, d in shared.items())
                       + "; other factors are priors"
                       if fit else "prior (no calibration data)")
        profiles[name] = p
    return {
        "generated_by": "python -m planner calibrate",
        "data": str(path.name),
        "fit": {**info, "as_of": validation["as_of"]},
        "profiles": profiles,
        "validation": validation,
        "interval": {
            "level": INTERVAL_LEVEL,
            "quantile_span": INTERVAL_QUANTILE_SPAN,
            "min_points": INTERVAL_MIN_POINTS,
            "metric": "output tokens/s; range = prediction x [low, high]",
            "method": INTERVAL_METHOD,
            "cells": interval_cells(held_out, catalog),
            "coverage_leave_one_publication_out": {
                **{k: coverage[k] for k in ("coverage", "median_width", "n")},
                "per_engine": coverage["per_engine"], "per_regime": coverage["per_regime"]},
            "as_of": validation["as_of"],
        },
    }


def write_calibration(content: dict[str, Any], path: Path = CALIBRATION_FILE) -> None:
    """Write the calibration JSON atomically (only ever over a regular file; the old file is
    untouched on failure): :func:`planner.io.files.write_atomic`."""
    from planner.io.files import write_atomic

    write_atomic(path, json.dumps(content, indent=2, sort_keys=False) + "\n", what="--out")
