"""``python -m planner validate`` and ``python -m planner calibrate``: how close the throughput
model is to measured points, and the refit of its engine factors.

``validate [--data FILE] [--profiles FILE] [--format table|json]`` predicts every row of a
measurement CSV (default: the published points in ``data/benchmarks/measured_throughput.csv``;
any CSV with the same columns works, e.g. your own measurements) and prints per-point predicted vs
measured, then the summary: median absolute percentage error, share of points within +-25 % and
+-50 %, per engine, per batch regime (batch 1 vs large batch), the worst points, and every row that
could not be predicted with the reason. Errors in the JSON output are fractions (0.12 = 12 %).

``calibrate [--data FILE] [--out FILE] [--as-of DATE]`` refits the engine factors
(planner/physics/calibration.py: bounded least squares on log error, deterministic), cross-validates them
(leave one source out) and writes ``data/benchmarks/engine_profiles.json``, which the planner reads
through :func:`planner.physics.throughput.load_profiles` and the dashboard through
:func:`planner.physics.throughput.throughput_accuracy`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from planner.errors import DataError

TABLE_COLUMNS = ["line", "model", "gpu", "gpus", "tp", "prec", "engine", "batch", "in", "out",
                 "metric", "measured", "predicted", "error", "detail"]


def _table_row(rec: dict[str, Any]) -> dict[str, Any]:
    """A compact row of the per-point table; ``detail`` says how the row was mapped, or why it
    could not be predicted."""
    predicted = rec["predicted"] is not None
    return {
        "line": rec["line"], "model": rec["model"], "gpu": rec["gpu"], "gpus": rec["gpu_count"],
        "tp": rec["tp"], "prec": rec["precision"], "engine": rec["engine"],
        "batch": rec["batch"] if rec["batch"] is not None else "max",
        "in": rec["input_tokens"], "out": rec["output_tokens"], "metric": rec["metric"],
        "measured": rec["measured"],
        "predicted": float(f"{rec['predicted']:.4g}") if predicted else "-",
        "error": f"{rec['error_pct']:+.1f} %" if predicted else "-",
        "detail": rec["note"] if predicted else rec["status"].upper().split(":", 1)[0]
        + ":" + rec["status"].split(":", 1)[1],
    }


def _iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {value!r}") from exc


def _load_profiles(path: Path | None) -> dict:
    from planner.physics.throughput import CALIBRATION_FILE, load_profiles

    target = path or CALIBRATION_FILE
    if path is not None and not path.is_file():
        raise DataError(f"--profiles: {path}: file not found")
    return load_profiles(target)


def validation_report(data: Path | None = None, profiles_path: Path | None = None,
                      worst: int = 5) -> dict[str, Any]:
    """The ``validate`` result: summary figures plus one record per row."""
    from planner.catalog import load_catalog
    from planner.physics.calibration import MEASUREMENTS_FILE, load_measurements, predict, summarize
    from planner.physics.throughput import CALIBRATION_FILE, throughput_accuracy

    path = data or MEASUREMENTS_FILE
    measurements = load_measurements(path)
    predictions = predict(measurements, load_catalog(), _load_profiles(profiles_path))
    report: dict[str, Any] = {"data": str(path), **summarize(predictions, worst=worst)}
    shipped = throughput_accuracy(profiles_path or CALIBRATION_FILE)
    if shipped:
        report["calibration"] = {k: shipped.get(k) for k in (
            "median_ape", "within_25", "within_50", "n", "cv_median_ape", "cv_within_25",
            "cv_within_50", "cv_method", "as_of")}
    report["points"] = [p.record() for p in predictions]
    return report


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _stats_line(label: str, stats: dict[str, Any]) -> str:
    return (f"{label:<22} n={stats['n']:<3}  median |error| {_pct(stats['median_ape']):>8}  "
            f"within +-25 % {_pct(stats['within_25']):>8}  within +-50 % "
            f"{_pct(stats['within_50']):>8}")


def render_table(report: dict[str, Any]) -> str:
    from planner.io.render import to_table

    rows = [_table_row(rec) for rec in report["points"]]
    lines = [to_table(rows, TABLE_COLUMNS, max_width=400).rstrip("\n"), ""]
    lines.append(f"data: {report['data']}")
    lines.append(f"{report['n_rows']} rows, {report['n']} predicted, "
                 f"{report['n_not_predictable']} not predictable (listed above with the reason)")
    lines.append(_stats_line("all predicted points", report))
    for engine, stats in report["per_engine"].items():
        lines.append(_stats_line(f"engine {engine}", stats))
    for regime, stats in report["per_regime"].items():
        lines.append(_stats_line(f"regime {regime}", stats))
    cal = report.get("calibration")
    if cal and cal.get("cv_median_ape") is not None:
        lines.append(f"calibration ({cal.get('as_of')}): cross-validated ({cal.get('cv_method')}) "
                     f"median |error| {_pct(cal['cv_median_ape'])}, within +-25 % "
                     f"{_pct(cal.get('cv_within_25'))}")
    if report["worst"]:
        lines.append("worst points:")
        for w in report["worst"]:
            lines.append(f"  line {w['line']}: {w['point']}: measured {w['measured']:g}, "
                         f"predicted {w['predicted']:.4g} ({w['error_pct']:+.0f} %)")
    if report["not_predictable"]:
        lines.append("not predictable:")
        for reason, count in report["not_predictable"].items():
            lines.append(f"  {count} x {reason}")
    return "\n".join(lines) + "\n"


def cmd_validate(args: argparse.Namespace) -> int:
    if args.worst < 0:
        raise DataError("--worst must be >= 0")
    report = validation_report(args.data, args.profiles, args.worst)
    if args.format == "json":
        from planner.io.render import to_json

        sys.stdout.write(to_json(report) + "\n")
    else:
        sys.stdout.write(render_table(report))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from planner.catalog import load_catalog
    from planner.physics.calibration import MEASUREMENTS_FILE, calibrate, write_calibration
    from planner.physics.throughput import CALIBRATION_FILE

    data: Path = args.data or MEASUREMENTS_FILE
    out: Path = args.out or CALIBRATION_FILE
    from planner.io.files import output_target

    output_target(out, "--out")  # a directory or device is refused before the fit
    try:
        content = calibrate(load_catalog(), data, as_of=args.as_of)
    except (ValueError, FloatingPointError, OverflowError) as exc:  # the fit itself failed
        raise DataError(f"{data}: cannot calibrate on these measurements: {exc}") from None
    write_calibration(content, out)
    v = content["validation"]
    print(f"wrote {out}")
    for name, profile in content["profiles"].items():
        factors = ", ".join(f"{k}={profile[k]}" for k in (
            "bandwidth_efficiency", "quantized_bandwidth_efficiency", "compute_efficiency",
            "prefill_efficiency", "step_overhead_ms", "tp_overhead_per_doubling"))
        print(f"  {name}: {factors}")
    print(f"fit: n={v['n']} median |error| {_pct(v['median_ape'])}, within +-25 % "
          f"{_pct(v['within_25'])}, within +-50 % {_pct(v['within_50'])}")
    print(f"cross-validated ({v['cv_method']}): median |error| {_pct(v['cv_median_ape'])}, "
          f"within +-25 % {_pct(v['cv_within_25'])}, within +-50 % {_pct(v['cv_within_50'])}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``validate`` and ``calibrate`` commands."""
    p = sub.add_parser("validate", help="compare the throughput model with measured points",
                       description="Predict every measured point and report the model's error.")
    p.add_argument("--data", type=Path, default=None,
                   help="CSV in the columns of data/benchmarks/measured_throughput.csv "
                        "(default: the shipped published points)")
    p.add_argument("--profiles", type=Path, default=None,
                   help="engine-profiles JSON (default: data/benchmarks/engine_profiles.json)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--worst", type=int, default=5, help="how many worst points to list")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("calibrate", help="refit the engine efficiency factors to measured points",
                       description="Fit the engine profiles (bounded least squares on log "
                                   "error), cross-validate, and write the calibration JSON.")
    p.add_argument("--data", type=Path, default=None,
                   help="measurement CSV (default: data/benchmarks/measured_throughput.csv)")
    p.add_argument("--out", type=Path, default=None,
                   help="output JSON (default: data/benchmarks/engine_profiles.json)")
    p.add_argument("--as-of", type=_iso_date, default=None,
                   help="date recorded in the file (default: today)")
    p.set_defaults(handler=cmd_calibrate)
