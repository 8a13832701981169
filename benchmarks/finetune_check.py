"""Fine-tuning estimator against published runs: predicted vs reported, and the median error.

    python benchmarks/finetune_check.py [--mfu 0.35]

Each run in data/finetune_runs.csv is predicted with the formulas of planner.pipeline.finetune (6 N T or
4 N T FLOPs at the given MFU of the GPU's dense 16-bit peak; memory buckets per GPU) and compared
with what its source reports. Errors are predicted / reported - 1; "implied MFU" is the MFU at
which the formula would match the reported time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner.catalog import load_catalog
from planner.pipeline.finetune import (
    DEFAULT_MFU,
    LOW_MFU,
    check_runs,
    fitted_finetune_mfu,
    implied_finetune_mfus,
    lora_speedup_check,
    median_abs_error,
)


def pct(value: float | None) -> str:
    return "" if value is None else f"{value:+.0%}"


def num(value: float | None) -> str:
    return "" if value is None else f"{value:,.4g}"


def report(mfu: float) -> list[str]:
    catalog = load_catalog()
    checks = check_runs(catalog, mfu=mfu)
    lines = [f"MFU {mfu:.0%}",
             f"{'run':28} {'kind':11} {'method':6} {'pred GPU-h':>12} {'reported':>12} "
             f"{'error':>7} {'impl. MFU':>9} {'pred GB':>8} {'rep. GB':>8} {'error':>7} fits"]
    for c in checks:
        fits = "" if c.reported_fits is None else (
            f"pred {'yes' if c.predicted_fits else 'no'} / reported "
            f"{'yes' if c.reported_fits else 'no'}")
        lines.append(
            f"{c.id:28} {c.kind:11} {c.method:6} {num(c.predicted_gpu_hours):>12} "
            f"{num(c.reported_gpu_hours):>12} {pct(c.time_error):>7} "
            f"{'' if c.implied_mfu is None else f'{c.implied_mfu:.1%}':>9} "
            f"{num(c.predicted_mem_gb):>8} {num(c.reported_mem_gb):>8} {pct(c.mem_error):>7} "
            f"{fits} {c.note}".rstrip())
    for kind in ("pretraining", "fine-tuning"):
        errors = [c.time_error for c in checks if c.kind == kind]
        med = median_abs_error(errors)
        lines.append(f"median |error| of time, {kind}: "
                     f"{'n/a' if med is None else f'{med:.0%}'} over "
                     f"{sum(e is not None for e in errors)} runs")
    all_time = median_abs_error([c.time_error for c in checks])
    lines.append(f"median |error| of time, all runs: {all_time:.0%}")
    mem = median_abs_error([c.mem_error for c in checks])
    lines.append(f"median |error| of peak memory: {'n/a' if mem is None else f'{mem:.0%}'}")
    return lines


def leave_one_run_out(mfu: float) -> list[str]:
    """The shipped fitted fine-tuning MFU checked leave-one-run-out: each fine-tuning run's time is
    predicted at planner.pipeline.finetune.fitted_finetune_mfu over the other runs only (the
    run's method's median, else all methods pooled), so the error is implied_i / fitted - 1."""
    catalog = load_catalog()
    runs = [c for c in check_runs(catalog, mfu=mfu)
            if c.kind == "fine-tuning" and c.implied_mfu is not None]
    lines = ["leave-one-run-out, the fitted default fine-tuning MFU (fitted_finetune_mfu) "
             "refitted without the run checked:"]
    errors = []
    for c in runs:
        others = implied_finetune_mfus(catalog, exclude=c.id)
        same = [m for method, m in others if method == c.method]
        fitted = fitted_finetune_mfu(c.method, others)
        if fitted is None:
            continue
        err = c.implied_mfu / fitted - 1
        errors.append(err)
        pool = len(same) or len(others)
        lines.append(f"  {c.id:28} {c.method:6} implied MFU {c.implied_mfu:.1%}, fitted on "
                     f"{pool} other {'same-method ' if same else ''}run(s) {fitted:.1%}: "
                     f"time error {err:+.0%}")
    med = median_abs_error(errors)
    fixed = median_abs_error([c.time_error for c in runs])
    lines.append(f"  median |error| of time, leave-one-run-out with the fitted default: "
                 f"{'n/a' if med is None else f'{med:.0%}'} over {len(errors)} runs "
                 f"(at the fixed {mfu:.0%} MFU: {'n/a' if fixed is None else f'{fixed:.0%}'})")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mfu", type=float, default=DEFAULT_MFU)
    args = parser.parse_args()
    for line in report(args.mfu):
        print(line)
    if args.mfu != LOW_MFU:
        print()
        for line in report(LOW_MFU)[-4:]:
            print(f"(at low MFU) {line}")
    print()
    for line in leave_one_run_out(args.mfu):
        print(line)
    implied, measured = lora_speedup_check()
    print(f"\nLoRA speed-up over full fine-tuning: 4NT formula {implied:.2f}x, LoRA paper "
          f"(GPT-3 175B, V100) {measured:.2f}x -> formula error {implied / measured - 1:+.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
