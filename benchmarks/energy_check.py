"""Energy per output token: the planner against every published measurement it holds.

Points: ``data/benchmarks/measured_energy.csv`` (The ML.ENERGY Leaderboard v3.0: vLLM on H100
SXM and B200, batch 8 to saturated, GPU power beside output throughput; sources in each row).

Two figures are printed:

1. **Energy room** (the figure the Methodology page quotes): the planner's GPU power at the run's
   batch times the run's GPU count, over the run's measured throughput, against the measured
   J/token. Each model's runs are predicted from a busy-power table built *without* that model
   (leave-one-model-out), so no point predicts itself. The shipped table (all models) is also
   scored, as the training error.
2. **End to end**: the same power over the planner's own throughput estimate at that batch
   (runs with more GPUs than their tensor-parallel degree, i.e. expert parallel, are skipped: the
   planner's replica has TP GPUs)
   (decode only: the published data does not give the runs' prompt lengths, so prefill is left
   out and the planner's throughput is an upper bound, its J/token a lower bound). This mixes the
   throughput model's error into the energy figure and is reported for information.

Run from the repository root: ``python benchmarks/energy_check.py [--worst N] [--write]``;
``--write`` records the quoted figure in ``data/benchmarks/energy_check.json`` (the Methodology page
reads it; a test checks it still matches the data).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dataclasses import replace

from planner.catalog import Catalog, GpuPower, load_catalog
from planner.errors import PlannerError
from planner.physics.energy import busy_power_w
from planner.physics.power_fit import (
    ENERGY_CHECK_FILE,
    MeasuredEnergy,
    busy_power_medians,
    load_energy_points,
)
from planner.pipeline.estimate import estimate_throughput

TARGET_MEDIAN_APE = 0.20


def catalog_without(points: list[MeasuredEnergy], model: str, catalog: Catalog) -> Catalog:
    """The catalog with its busy-power table rebuilt from every point but ``model``'s."""
    medians = busy_power_medians([p for p in points if p.model != model])
    table = {gpu: replace(power, busy_w_by_batch=()) for gpu, power in catalog.gpu_power.items()}
    for gpu, bands in medians.items():
        base = table.get(gpu) or GpuPower(gpu, None, "", (), "")
        table[gpu] = replace(base, busy_w_by_batch=tuple((b, w) for b, w, _ in bands),
                             busy_source="leave-one-model-out table")
    return replace(catalog, gpu_power=table)


def leave_one_model_out(points: list[MeasuredEnergy],
                        catalog: Catalog) -> list[tuple[MeasuredEnergy, float]]:
    """(point, predicted J/token) with the busy-power table rebuilt without the point's model
    (a GPU left with no curve borrows the reference GPU's share of TDP, as in the plan)."""
    out = []
    for model in sorted({p.model for p in points}):
        held_out = catalog_without(points, model, catalog)
        for p in (p for p in points if p.model == model):
            busy = busy_power_w(held_out.gpus[p.gpu], p.batch, held_out)
            if busy is not None:
                out.append((p, busy.watts * p.gpu_count / p.output_tokens_per_s))
    return out


def with_table(points: list[MeasuredEnergy], catalog) -> list[tuple[MeasuredEnergy, float]]:
    out = []
    for p in points:
        busy = busy_power_w(catalog.gpus[p.gpu], p.batch, catalog)
        if busy is not None:
            out.append((p, busy.watts * p.gpu_count / p.output_tokens_per_s))
    return out


def end_to_end(points: list[MeasuredEnergy], catalog) -> tuple[list[tuple[MeasuredEnergy, float]],
                                                                 int]:
    out, skipped = [], 0
    for p in points:
        if p.gpu_count != p.tp:  # expert-parallel runs: the planner's replica is TP GPUs only
            skipped += 1
            continue
        busy = busy_power_w(catalog.gpus[p.gpu], p.batch, catalog)
        try:
            est = estimate_throughput(catalog, model_id=p.model, gpu_id=p.gpu,
                                      precision=p.precision, tp=p.tp, batch=p.batch,
                                      input_tokens=0, output_tokens=max(1, round(p.output_tokens)))
        except PlannerError:
            skipped += 1
            continue
        tokens_per_s = est.get("output_tokens_per_s")
        if busy is None or not tokens_per_s:
            skipped += 1
            continue
        out.append((p, busy.watts * p.gpu_count / tokens_per_s))
    return out, skipped


def ape(p: MeasuredEnergy, predicted: float) -> float:
    return abs(predicted / p.joules_per_output_token - 1)


def check_summary(pairs: list[tuple[MeasuredEnergy, float]]) -> dict:
    """The quoted figure and what it covers, as recorded in data/benchmarks/energy_check.json."""
    errors = [ape(p, pred) for p, pred in pairs]
    by_gpu = {gpu: round(statistics.median([ape(p, pred) for p, pred in pairs if p.gpu == gpu]), 4)
              for gpu in sorted({p.gpu for p, _ in pairs})}
    return {
        "method": "leave-one-model-out: planner GPU power at the run's batch x GPUs / measured "
                  "output tokens/s, against the measured J per output token",
        "median_abs_error": round(statistics.median(errors), 4),
        "median_abs_error_by_gpu": by_gpu,
        "points": len(pairs), "models": len({p.model for p, _ in pairs}),
        "batch_min": min(p.batch for p, _ in pairs), "batch_max": max(p.batch for p, _ in pairs),
        "source": "benchmarks/energy_check.py over data/benchmarks/measured_energy.csv "
                  "(The ML.ENERGY Leaderboard v3.0)",
    }


def _summary(label: str, pairs: list[tuple[MeasuredEnergy, float]]) -> float:
    errors = [ape(p, pred) for p, pred in pairs]
    median = statistics.median(errors)
    within = sum(e <= 0.25 for e in errors) / len(errors)
    gpus = sorted({p.gpu for p, _ in pairs})
    batches = sorted({p.batch for p, _ in pairs})
    print(f"{label:<46} n={len(pairs):<4} median abs error {100 * median:5.1f}%   "
          f"within 25% {100 * within:5.1f}%   GPUs {', '.join(gpus)}; batch {batches[0]}-"
          f"{batches[-1]}")
    for gpu in gpus:
        sub = [ape(p, pred) for p, pred in pairs if p.gpu == gpu]
        print(f"    {gpu:<42} n={len(sub):<4} median abs error {100 * statistics.median(sub):5.1f}%")
    return median


def _worst(pairs: list[tuple[MeasuredEnergy, float]], n: int) -> None:
    print(f"  worst {n}:")
    for p, pred in sorted(pairs, key=lambda pair: -ape(*pair))[:n]:
        print(f"    {p.model:<18} {p.gpu:<9} x{p.gpu_count} tp{p.tp} {p.precision:<5} batch "
              f"{p.batch:<5} measured {p.joules_per_output_token:7.4f} J/tok, predicted "
              f"{pred:7.4f} ({100 * (pred / p.joules_per_output_token - 1):+5.0f}%)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worst", type=int, default=8)
    parser.add_argument("--write", action="store_true",
                        help="record the quoted figure in data/benchmarks/energy_check.json")
    args = parser.parse_args(argv)
    catalog = load_catalog()
    points = load_energy_points()
    print(f"{len(points)} published points, {len({p.model for p in points})} models, "
          f"{len({p.gpu for p in points})} GPUs\n")
    print("1. Energy room: planner GPU power at the run's batch over the run's measured throughput")
    lomo = leave_one_model_out(points, catalog)
    median = _summary("leave-one-model-out (the quoted figure)", lomo)
    _worst(lomo, args.worst)
    _summary("shipped table (training error)", with_table(points, catalog))
    print("\n2. End to end: planner GPU power over the planner's decode throughput at that batch")
    pairs, skipped = end_to_end(points, catalog)
    if pairs:
        _summary("end to end (information)", pairs)
        for lo, hi in ((1, 64), (64, 512), (512, 1 << 20)):
            ratios = [pred / p.joules_per_output_token for p, pred in pairs if lo <= p.batch < hi]
            if ratios:
                print(f"    batch {lo}-{min(hi - 1, 99999):<5} n={len(ratios):<4} median predicted/"
                      f"measured {statistics.median(ratios):.2f}")
        _worst(pairs, args.worst)
    print(f"    ({skipped} point(s) skipped: expert-parallel runs, or the throughput model cannot "
          "estimate them)")
    if args.write:
        record = {**check_summary(lomo), "as_of": dt.date.today().isoformat()}
        ENERGY_CHECK_FILE.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {ENERGY_CHECK_FILE.name}")
    verdict = "meets" if median <= TARGET_MEDIAN_APE else "misses"
    print(f"\nEnergy-room median abs error {100 * median:.1f}% {verdict} the "
          f"{100 * TARGET_MEDIAN_APE:.0f}% target over {len(lomo)} points.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
