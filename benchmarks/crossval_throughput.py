"""Cross-validated accuracy of the calibrated throughput model.

The figures ``python -m planner validate`` prints are the fit's training error: the engine factors
were fitted to the same points. This script refits without the points it predicts:

* leave-one-source-out: each publication (``source`` column, see
  :func:`planner.physics.calibration.source_group`) is held out in turn, the factors are refitted on the
  other publications and the held-out points are predicted. An engine with no points left keeps
  its priors. This is the figure to quote: it asks how the model does on a publication it has not
  seen (another engine version, benchmark harness or hardware generation).
* 5-fold: rows shuffled (seed 0) into five folds, each held out in turn.

Run from the repository root: ``python benchmarks/crossval_throughput.py [--data FILE]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner.catalog import load_catalog
from planner.physics.calibration import (
    MEASUREMENTS_FILE,
    cross_validate,
    fit_profiles,
    interval_coverage,
    kfold_groups,
    load_measurements,
    predict,
    source_group,
    summarize,
)


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{100 * value:5.1f}%"


def _line(label: str, stats: dict) -> str:
    return (f"{label:<44} n={stats['n']:<3} median APE {_pct(stats['median_ape'])}   "
            f"within 25% {_pct(stats['within_25'])}   within 50% {_pct(stats['within_50'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=MEASUREMENTS_FILE)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)

    catalog = load_catalog()
    measurements = load_measurements(args.data)
    fitted, _ = fit_profiles(measurements, catalog)
    runs = {
        "training (fit on all points)": predict(measurements, catalog, fitted),
        "leave-one-source-out CV": cross_validate(measurements, catalog, source_group),
        f"{args.folds}-fold CV (seed 0)": cross_validate(
            measurements, catalog, kfold_groups(measurements, args.folds, seed=0)),
    }
    summaries = {name: summarize(preds) for name, preds in runs.items()}

    print(f"data: {args.data} ({len(measurements)} rows)\n")
    for name, s in summaries.items():
        print(_line(name, s))
    for key, values in (("per_engine", None), ("per_regime", None)):
        print(f"\n{key.replace('_', ' ')}:")
        groups = sorted({g for s in summaries.values() for g in s[key]}) if values is None else values
        for g in groups:
            for name, s in summaries.items():
                stats = s[key].get(g)
                if stats and stats["n"]:
                    print(_line(f"  {g}: {name.split(' (')[0]}", stats))

    print("\nleave-one-source-out, per held-out source:")
    loso = runs["leave-one-source-out CV"]
    for g in sorted({source_group(m) for m in measurements}):
        held = [p for p in loso if source_group(p.measurement) == g]
        s = summarize(held)
        label = g if len(g) <= 42 else "..." + g[-39:]
        print(_line(f"  {label}", s) + (f"  ({s['n_not_predictable']} not predictable)"
                                        if s["n_not_predictable"] else ""))

    cov = interval_coverage(loso, catalog)
    print("\n80 % interval of output tokens/s, coverage under leave-one-publication-out "
          "(target 75-85 %; interval built without the held-out publication's residuals):")

    def _cov(label: str, c: dict) -> str:
        if not c["n"]:
            return f"  {label:<42} n=0"
        return (f"  {label:<42} n={c['n']:<3} coverage {_pct(c['coverage'])}   "
                f"median width high/low {c['median_width']:.2f}x")

    print(_cov("all", cov))
    for key in ("per_engine", "per_regime"):
        for g, c in cov[key].items():
            print(_cov(g, c))
    print("  by publication (each predicted, and its interval built, without it):")
    for (engine, g), c in cov["per_publication"].items():
        label = f"{engine}: {g if len(engine) + len(g) <= 40 else '...' + g[-(37 - len(engine)):]}"
        print(_cov(label, c))
    overall = summaries["leave-one-source-out CV"]
    ok = (overall["median_ape"] <= 0.15 and overall["within_25"] >= 0.75
          and cov["coverage"] is not None and 0.75 <= cov["coverage"] <= 0.85)
    print(f"\ntargets (LOPO median <= 15 %, >= 75 % within 25 %, coverage 75-85 %): "
          f"{'met' if ok else 'NOT met'}")
    outside = [f"{e} {_pct(c['coverage']).strip()}" for e, c in cov["per_engine"].items()
               if c["coverage"] is not None and not 0.70 <= c["coverage"] <= 0.90]
    print("every engine's coverage within 70-90 %: "
          + ("met" if not outside else f"NOT met ({', '.join(outside)})"))

    print("\nworst held-out points (leave-one-source-out):")
    for w in summaries["leave-one-source-out CV"]["worst"]:
        print(f"  line {w['line']}: {w['point']}: measured {w['measured']:g}, "
              f"predicted {w['predicted']:.4g} ({w['error_pct']:+.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
