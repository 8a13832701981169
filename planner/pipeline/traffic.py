"""Traffic over the day: a workload's 24-hour shape and the request rate to size each hour for.

A shape is 24 relative values, hour 0-23 in the workload's local time (``utc_offset_hours``);
only the ratios matter. Its **peak factor** is the busiest hour over the day's mean. The
workload's ``peak_to_average`` keeps its meaning (the busiest moment vs the day's mean): when it
is above the shape's peak factor, the excess is a burst within each hour that the hourly shape
does not show, applied to every hour. So a flat shape (peak factor 1) sizes every hour for
``peak_to_average`` x the mean, which is what the planner did before shapes existed, and the
busiest hour of any shape is sized for ``max(peak_to_average, shape peak factor)`` x the mean.

The preset shapes are **stated assumptions** (round numbers describing a pattern), not
measurements: replace them with an hourly CSV of your own traffic (``custom``).
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache

import numpy as np

from planner.errors import ScenarioError
from planner.registry import TrafficShape
from planner.scenario import Workload
from planner.units import SECONDS_PER_DAY

HOURS_PER_DAY = 24

# Stated assumptions (local time, hour 0 = midnight). Business hours: one office time zone,
# full load 09:00-17:00, shoulders at 08:00 and 17:00-19:00, a tenth overnight.
_BUSINESS = (0.1,) * 7 + (0.3, 0.7) + (1.0,) * 8 + (0.8, 0.4, 0.2) + (0.1,) * 4
# Consumer app: low overnight, steady daytime, the peak 19:00-22:00.
_CONSUMER = ((0.5, 0.3) + (0.15,) * 4 + (0.2, 0.35) + (0.5,) * 4 + (0.6,) * 2 + (0.55,) * 4
             + (0.75,) + (1.0,) * 3 + (0.85, 0.65))
# Follow the sun: three business-hours regions 8 hours apart (e.g. Americas, Europe, Asia).
_FOLLOW = tuple(float(sum(_BUSINESS[(h + k * 8) % 24] for k in range(3))) for h in range(24))

PRESET_SHAPES: dict[TrafficShape, tuple[float, ...]] = {
    "flat": (1.0,) * HOURS_PER_DAY,
    "business-hours": _BUSINESS,
    "consumer-evening": _CONSUMER,
    "follow-the-sun": _FOLLOW,
}
assert all(len(v) == HOURS_PER_DAY for v in PRESET_SHAPES.values())
SHAPE_SOURCE = ("stated assumption (planner/pipeline/traffic.py), not a measurement; use an "
                "hourly CSV of your own traffic for a measured shape")


def local_shape(workload: Workload) -> tuple[float, ...]:
    """The workload's 24 relative hourly values in its local time."""
    if workload.traffic_shape == "custom":
        return tuple(workload.hourly_requests or ())
    return PRESET_SHAPES[workload.traffic_shape]


@lru_cache(maxsize=256)
def _utc_weights(local: tuple[float, ...], utc_offset_hours: int) -> np.ndarray:
    """24 UTC-hour weights (mean 1) of a local-time shape; read-only (cached, a plan asks often)."""
    utc = np.roll(np.asarray(local, dtype=float), -utc_offset_hours)  # UTC u = local u + offset
    weights = utc / utc.mean()
    weights.flags.writeable = False
    return weights


def hourly_weights(workload: Workload) -> np.ndarray:
    """Each UTC hour's traffic over the day's mean (24 values, mean 1; a read-only array)."""
    return _utc_weights(local_shape(workload), workload.utc_offset_hours)


def shape_peak_factor(workload: Workload) -> float:
    """The shape's busiest hour over the day's mean (1 for a flat shape)."""
    return _peak_of(local_shape(workload), workload.utc_offset_hours)


@lru_cache(maxsize=256)
def _peak_of(local: tuple[float, ...], utc_offset_hours: int) -> float:
    return float(_utc_weights(local, utc_offset_hours).max())


def peak_factor(workload: Workload) -> float:
    """The busiest moment over the day's mean that the busiest hour is sized for:
    ``max(peak_to_average, shape peak factor)``."""
    return max(workload.peak_to_average, shape_peak_factor(workload))


def burst_factor(workload: Workload) -> float:
    """The within-hour peak over the hour's mean (>= 1) applied to every hour."""
    return peak_factor(workload) / shape_peak_factor(workload)


def hourly_peak_requests_per_s(workload: Workload) -> np.ndarray:
    """The request rate each UTC hour must absorb at its busiest, requests/s (24 values)."""
    mean = workload.requests_per_day / SECONDS_PER_DAY
    return mean * hourly_weights(workload) * burst_factor(workload)


MAX_CSV_BYTES = 20_000


def hourly_requests_from_csv(text: str) -> tuple[float, ...]:
    """24 hourly request counts from CSV text: rows ``hour,requests`` for hours 0-23 (a header
    row is allowed). Raises ScenarioError with one line naming the problem."""
    if len(text) > MAX_CSV_BYTES:
        raise ScenarioError(f"the hourly CSV is larger than {MAX_CSV_BYTES:,} characters")
    values: dict[int, float] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells):
            continue
        if len(cells) < 2:
            raise ScenarioError(f"hourly CSV line {number}: expected 'hour,requests'")
        try:
            hour, count = int(float(cells[0])), float(cells[1])
        except ValueError:
            if number == 1:
                continue  # a header row
            raise ScenarioError(f"hourly CSV line {number}: '{cells[0][:20]},{cells[1][:20]}' "
                                "is not an hour and a number") from None
        if not 0 <= hour < HOURS_PER_DAY or not np.isfinite(count) or count < 0:
            raise ScenarioError(f"hourly CSV line {number}: hour must be 0-23 and requests a "
                                "number >= 0")
        if hour in values:
            raise ScenarioError(f"hourly CSV line {number}: hour {hour} appears twice")
        values[hour] = count
    missing = [h for h in range(HOURS_PER_DAY) if h not in values]
    if missing:
        raise ScenarioError(f"hourly CSV: no value for hour(s) {', '.join(map(str, missing[:6]))}"
                            f"{'…' if len(missing) > 6 else ''} (24 rows, hours 0-23, needed)")
    if sum(values.values()) <= 0:
        raise ScenarioError("hourly CSV: every hour has 0 requests")
    return tuple(values[h] for h in range(HOURS_PER_DAY))
