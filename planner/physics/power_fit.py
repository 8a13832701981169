"""Measured GPU energy points and the busy-power table derived from them.

``data/benchmarks/measured_energy.csv`` holds published runs that report GPU power beside output
throughput (The ML.ENERGY Leaderboard v3.0: vLLM on H100 and B200, batch 8 to saturated; and the 2023
leaderboard's batch-1 PyTorch runs on an A100). The busy
rows of ``data/gpu_power.csv`` are the median per-GPU power of those runs in each batch band
(``scripts/derive_gpu_power.py`` writes them); ``benchmarks/energy_check.py`` checks J/token
against every point, holding each model's runs out of the table it is predicted from.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable
from pathlib import Path

from pydantic import Field

from planner.catalog import Row, load_rows

MEASURED_ENERGY_FILE = (Path(__file__).resolve().parents[2] / "data" / "benchmarks"
                        / "measured_energy.csv")

ENERGY_CHECK_FILE = MEASURED_ENERGY_FILE.with_name("energy_check.json")

# Batch bands of the busy-power table: powers of two from 1 to 1024. A run is put in the band
# nearest its batch on a log scale.
SMALLEST_BAND_LOG2 = 0
LARGEST_BAND_LOG2 = 10
# The table describes serving with this engine; runs of other engines (the 2023 batch-1 PyTorch
# runs) are checked against it but do not shape it.
TABLE_ENGINE = "vllm"


class MeasuredEnergy(Row):
    """One published run: GPU power (summed over its GPUs) beside output throughput."""

    model: str
    gpu: str
    gpu_count: int = Field(ge=1)
    tp: int = Field(ge=1)
    precision: str
    engine: str
    batch: int = Field(ge=1, description="concurrent sequences the engine was allowed")
    avg_batch: float | None = Field(default=None, gt=0)
    output_tokens: float = Field(gt=0, description="mean output tokens per request")
    power_w_total: float = Field(gt=0)
    output_tokens_per_s: float = Field(gt=0)
    joules_per_output_token: float = Field(gt=0)
    workload: str = ""

    @property
    def power_w_per_gpu(self) -> float:
        return self.power_w_total / self.gpu_count


def load_energy_points(path: Path = MEASURED_ENERGY_FILE) -> list[MeasuredEnergy]:
    return load_rows(path, MeasuredEnergy)


def batch_band(batch: int) -> int:
    """The power-of-two band (1..1024) nearest ``batch`` on a log scale."""
    exponent = round(math.log2(max(batch, 1)))
    return 2 ** min(max(exponent, SMALLEST_BAND_LOG2), LARGEST_BAND_LOG2)


def busy_power_medians(points: Iterable[MeasuredEnergy]
                       ) -> dict[str, list[tuple[int, float, int]]]:
    """Per GPU: (band, median per-GPU power W, runs) for every band with at least one
    :data:`TABLE_ENGINE` run."""
    groups: dict[tuple[str, int], list[float]] = {}
    for p in points:
        if p.engine != TABLE_ENGINE:
            continue
        groups.setdefault((p.gpu, batch_band(p.batch)), []).append(p.power_w_per_gpu)
    out: dict[str, list[tuple[int, float, int]]] = {}
    for (gpu, band), watts in sorted(groups.items()):
        out.setdefault(gpu, []).append((band, statistics.median(watts), len(watts)))
    return out


def energy_check_figure(path: Path = ENERGY_CHECK_FILE) -> dict | None:
    """The energy check's recorded result (benchmarks/energy_check.py --write), None if absent."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
