"""Rewrite the busy rows of data/gpu_power.csv from data/benchmarks/measured_energy.csv.

Each busy row is the median per-GPU power of the published runs on that GPU whose batch falls in
the row's band (see planner/physics/power_fit.py). Idle rows are kept as they are (they are
read from their own sources). Run from the repository root: python scripts/derive_gpu_power.py
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from planner.physics.power_fit import (  # noqa: E402
    TABLE_ENGINE,
    busy_power_medians,
    load_energy_points,
)

TABLE = ROOT / "data" / "gpu_power.csv"
COLUMNS = ["gpu_id", "state", "batch", "power_w", "runs", "source", "as_of", "notes",
           "unconfirmed"]


def main() -> int:
    points = load_energy_points()
    with TABLE.open(newline="", encoding="utf-8") as handle:
        kept = [row for row in csv.DictReader(handle) if row["state"] != "busy"]
    as_of = max(p.as_of for p in points if p.engine == TABLE_ENGINE).isoformat()
    rows = list(kept)
    for gpu, bands in busy_power_medians(points).items():
        models = sorted({p.model for p in points if p.gpu == gpu and p.engine == TABLE_ENGINE})
        for band, watts, runs in bands:
            rows.append({
                "gpu_id": gpu, "state": "busy", "batch": band, "power_w": f"{watts:.1f}",
                "runs": runs,
                "source": ("median of the runs on this GPU in data/benchmarks/measured_energy.csv "
                           "(The ML.ENERGY Leaderboard v3.0, ml.energy/leaderboard; vLLM, GPU "
                           "power via NVML) whose batch is nearest this band"),
                "as_of": as_of,
                "notes": (f"derived by scripts/derive_gpu_power.py from {runs} run(s) of "
                          f"{len(models)} model(s) ({'; '.join(models)}); mean power per GPU "
                          "over each run (prefill and decode of the benchmark's traffic)"),
                "unconfirmed": "",
            })
    with TABLE.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{TABLE.name}: {len(kept)} idle row(s) kept, {len(rows) - len(kept)} busy row(s) written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
