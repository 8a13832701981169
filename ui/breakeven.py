"""Cost against traffic, and where self-hosting and an API cost the same.

The engine is run on a log-spaced grid of requests/day (everything else in the scenario fixed).
Self-hosted cost is a staircase (whole nodes) and API cost a straight line, so a crossing is
bracketed on the grid and then narrowed by bisection on the log of traffic. Pure functions: the
engine call is passed in, and ``ui.data`` caches the results.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from planner.scenario import ApiTarget, Scenario
from ui.format import compact

GRID_MIN_RPD = 1e3
GRID_MAX_RPD = 1e8
GRID_POINTS = 25
BISECTION_STEPS = 14  # grid step is x1.6; 14 halvings of its log leave < 0.01 % error

# (scenario, requests/day) -> {label: monthly USD or None}
CostFn = Callable[[Scenario, float], dict[str, float | None]]


def traffic_grid(lo: float = GRID_MIN_RPD, hi: float = GRID_MAX_RPD,
                 points: int = GRID_POINTS) -> list[float]:
    return [float(x) for x in np.logspace(math.log10(lo), math.log10(hi), points)]


def at_traffic(scenario: Scenario, requests_per_day: float) -> Scenario:
    """The scenario with only its traffic changed."""
    workload = scenario.workload.model_copy(update={"requests_per_day": requests_per_day})
    return scenario.model_copy(update={"workload": workload})


@dataclass(frozen=True)
class Sweep:
    """Monthly cost of each deployment at each grid traffic (None = unknown there)."""

    requests_per_day: list[float]
    costs: dict[str, list[float | None]]
    api_labels: list[str]
    self_hosted_labels: list[str]


@dataclass(frozen=True)
class Crossing:
    """Traffic at which a self-hosted deployment and an API deployment cost the same."""

    self_hosted: str
    api: str
    requests_per_day: float
    monthly_usd: float
    self_hosted_cheaper_above: bool  # True: self-hosting wins from here on up


@dataclass(frozen=True)
class PairSummary:
    """What the crossings of one self-hosted/API pair mean, in one sentence."""

    self_hosted: str
    api: str
    text: str
    crossings: list[Crossing]


def sweep(scenario: Scenario, cost_fn: CostFn, grid: list[float] | None = None) -> Sweep:
    grid = grid or traffic_grid()
    labels = [d.label for d in scenario.deployments]
    costs: dict[str, list[float | None]] = {label: [] for label in labels}
    for rpd in grid:
        at = cost_fn(scenario, rpd)
        for label in labels:
            costs[label].append(at.get(label))
    api = [d.label for d in scenario.deployments if isinstance(d.target, ApiTarget)]
    hosted = [d.label for d in scenario.deployments if not isinstance(d.target, ApiTarget)]
    return Sweep(grid, costs, api, hosted)


def _pair_cost(scenario: Scenario, cost_fn: CostFn, labels: tuple[str, str],
               rpd: float) -> tuple[float | None, float | None]:
    pair = tuple(d for d in scenario.deployments if d.label in labels)
    costs = cost_fn(at_traffic(scenario.model_copy(update={"deployments": pair}), rpd), rpd)
    return costs.get(labels[0]), costs.get(labels[1])


def find_crossings(scenario: Scenario, data: Sweep, cost_fn: CostFn,
                   self_hosted: str, api: str) -> list[Crossing]:
    """Every traffic on the grid's range where the cheaper of the two changes."""
    xs, s_costs, a_costs = data.requests_per_day, data.costs[self_hosted], data.costs[api]
    out: list[Crossing] = []
    for i in range(len(xs) - 1):
        s0, a0, s1, a1 = s_costs[i], a_costs[i], s_costs[i + 1], a_costs[i + 1]
        if None in (s0, a0, s1, a1):
            continue
        d0, d1 = s0 - a0, s1 - a1  # type: ignore[operator]
        if (d0 > 0) == (d1 > 0):
            continue
        lo, hi = math.log(xs[i]), math.log(xs[i + 1])
        for _ in range(BISECTION_STEPS):
            mid = (lo + hi) / 2
            s, a = _pair_cost(scenario, cost_fn, (self_hosted, api), math.exp(mid))
            if s is None or a is None:
                break
            if (s - a > 0) == (d0 > 0):
                lo = mid
            else:
                hi = mid
        rpd = math.exp((lo + hi) / 2)
        _, a_at = _pair_cost(scenario, cost_fn, (self_hosted, api), rpd)
        out.append(Crossing(self_hosted, api, rpd, a_at if a_at is not None else a0,  # type: ignore[arg-type]
                            self_hosted_cheaper_above=d0 > 0))
    return out


def _rpd_text(rpd: float) -> str:
    return f"{compact(rpd)} requests/day"


def summarise_pair(scenario: Scenario, data: Sweep, cost_fn: CostFn, self_hosted: str,
                   api: str) -> PairSummary:
    """Crossings of one pair and a sentence saying what they mean for a reader."""
    s_costs, a_costs = data.costs[self_hosted], data.costs[api]
    span = f"{_rpd_text(data.requests_per_day[0])} to {_rpd_text(data.requests_per_day[-1])}"
    known = [(s, a) for s, a in zip(s_costs, a_costs, strict=True) if s is not None and a is not None]
    if not known:
        why = "price missing or does not fit" if all(s is None for s in s_costs) else "no price"
        return PairSummary(self_hosted, api, f"{self_hosted} vs {api}: no break-even ({why}).", [])
    crossings = find_crossings(scenario, data, cost_fn, self_hosted, api)
    if not crossings:
        cheaper = self_hosted if known[0][0] < known[0][1] else api
        other = api if cheaper == self_hosted else self_hosted
        return PairSummary(self_hosted, api,
                           f"{cheaper} is cheaper than {other} at every traffic level tried "
                           f"from {span}: no break-even in that range.", [])
    wins = [c for c in crossings if c.self_hosted_cheaper_above]
    last = crossings[-1]
    if wins and last.self_hosted_cheaper_above:
        first = wins[0]
        text = (f"{self_hosted} becomes cheaper than {api} above ≈ {_rpd_text(first.requests_per_day)}")
        if len(crossings) > 1:
            text += (f" (whole-node steps make them swap again up to "
                     f"≈ {_rpd_text(last.requests_per_day)})")
        text += "."
    elif wins:
        text = (f"{self_hosted} is cheaper than {api} only between ≈ "
                f"{_rpd_text(wins[0].requests_per_day)} and ≈ {_rpd_text(last.requests_per_day)}.")
    else:
        text = (f"{self_hosted} is cheaper than {api} below ≈ {_rpd_text(last.requests_per_day)}; "
                f"above it {api} is cheaper.")
    return PairSummary(self_hosted, api, text, crossings)


def summarise(scenario: Scenario, data: Sweep, cost_fn: CostFn) -> list[PairSummary]:
    return [summarise_pair(scenario, data, cost_fn, s, a)
            for s in data.self_hosted_labels for a in data.api_labels]
