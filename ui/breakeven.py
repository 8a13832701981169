"""Cost against traffic and break-even traffic, worded for the dashboard.

The sweep and the search for crossings are :mod:`planner.analyses.whatif` (one implementation, pure);
this module only picks the dashboard's traffic grid, groups the results per pair of deployments
and turns them into sentences. The engine call is passed in as a cost function, which
``ui.cached`` backs with its cached planner call.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from planner import api as analysis
from planner.api import BreakEven, CostFn, Scenario, is_self_hosted, with_traffic
from ui.format import compact, escape_md, md_usd

GRID_MIN_RPD = 1e3
GRID_MAX_RPD = 1e8
GRID_POINTS = 25

at_traffic = with_traffic  # the scenario with only its traffic changed


def traffic_grid(lo: float = GRID_MIN_RPD, hi: float = GRID_MAX_RPD,
                 points: int = GRID_POINTS) -> list[float]:
    """The dashboard's log-spaced requests/day (1k to 100M, 25 levels)."""
    return analysis.traffic_grid(lo, hi, points)


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
    costs = analysis.cost_vs_traffic(scenario, grid=grid, cost_fn=cost_fn)
    api = [d.label for d in scenario.deployments if not is_self_hosted(d.target)]
    hosted = [d.label for d in scenario.deployments if is_self_hosted(d.target)]
    return Sweep(grid, costs, api, hosted)


def _rpd_text(rpd: float) -> str:
    return f"{compact(rpd)} requests/day"


def _span(grid: list[float]) -> str:
    return f"{_rpd_text(grid[0])} to {_rpd_text(grid[-1])}"


def summarise_pair(scenario: Scenario, data: Sweep, cost_fn: CostFn, self_hosted: str,
                   api: str) -> PairSummary:
    """Crossings of one pair and a sentence saying what they mean for a reader."""
    s_costs, a_costs = data.costs[self_hosted], data.costs[api]
    known = [(s, a) for s, a in zip(s_costs, a_costs, strict=True) if s is not None and a is not None]
    if not known:
        why = "price missing or does not fit" if all(s is None for s in s_costs) else "no price"
        return PairSummary(self_hosted, api, f"{self_hosted} vs {api}: no break-even ({why}).", [])
    points = analysis.break_even(scenario, self_hosted, api, cost_fn=cost_fn,
                                 grid=data.requests_per_day, costs=data.costs)
    crossings = [Crossing(self_hosted, api, p.requests_per_day, p.monthly_cost_usd,
                          self_hosted_cheaper_above=p.cheaper_above == self_hosted)
                 for p in points]
    if not crossings:
        cheaper = self_hosted if known[0][0] < known[0][1] else api
        other = api if cheaper == self_hosted else self_hosted
        return PairSummary(self_hosted, api,
                           f"{cheaper} is cheaper than {other} at every traffic level tried "
                           f"from {_span(data.requests_per_day)}: no break-even in that range.", [])
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


# ---------------------------------------------------------------- Advisor: every pair, in words


@dataclass(frozen=True)
class PairBreakEven:
    """Break-evens of two deployments of a scenario over the dashboard's traffic grid.

    ``kind`` is 'vs_api' (``first`` self-hosted, ``second`` an API) or 'hosted' (two self-hosted
    deployments of different models)."""

    kind: str
    first: str
    second: str
    grid: list[float]
    costs: dict[str, list[float | None]]  # monthly USD of both on the grid, None = unusable
    points: list[BreakEven]


def pairs_to_compare(scenario: Scenario) -> list[tuple[str, str, str]]:
    """(kind, first, second) for every pair worth a break-even: each self-hosted deployment
    against each API, and each two self-hosted deployments of different models."""
    hosted = [d for d in scenario.deployments if is_self_hosted(d.target)]
    apis = [d for d in scenario.deployments if not is_self_hosted(d.target)]
    pairs = [("vs_api", h.label, a.label) for h in hosted for a in apis]
    pairs += [("hosted", x.label, y.label) for x, y in itertools.combinations(hosted, 2)
              if x.model != y.model]
    return pairs


def pair_break_even(scenario: Scenario, kind: str, first: str, second: str, cost_fn: CostFn,
                    grid: list[float] | None = None) -> PairBreakEven:
    """The two deployments' costs on the grid and every traffic where the cheaper one changes."""
    grid = grid or traffic_grid()
    pair = scenario.model_copy(update={"deployments": tuple(
        d for d in scenario.deployments if d.label in (first, second))})
    costs = analysis.cost_vs_traffic(pair, grid=grid, cost_fn=cost_fn)
    points = analysis.break_even(pair, first, second, cost_fn=cost_fn, grid=grid, costs=costs)
    return PairBreakEven(kind, first, second, grid, costs, points)


def _b(label: str) -> str:
    return f"**{escape_md(label)}**"


def pair_text(p: PairBreakEven) -> str:
    """The pair's break-even in one Markdown sentence:

    'self-hosting **SLM** beats **API** above ≈ 9.14k requests/day (\\$2,919/month there).'
    '**Llama 8B** beats **Llama 70B** on cost per token above ≈ …' — at equal traffic the
    cheaper per month is the cheaper per token, so the monthly break-even is the per-token one.
    """
    both = [(a, b) for a, b in zip(p.costs[p.first], p.costs[p.second], strict=True)
            if a is not None and b is not None]
    if not both:
        unknown = [lbl for lbl in (p.first, p.second) if all(c is None for c in p.costs[lbl])]
        who = " and ".join(_b(u) for u in unknown) or "they"
        verb = "has" if len(unknown) == 1 else "have"
        return (f"{_b(p.first)} vs {_b(p.second)}: no break-even — {who} {verb} no usable cost "
                f"in this traffic range (does not fit, misses the SLOs or a price is missing).")
    per_token = " on cost per token" if p.kind == "hosted" else ""
    if not p.points:
        winner, loser = (p.first, p.second) if both[0][0] < both[0][1] else (p.second, p.first)
        return (f"{_b(winner)} is cheaper{per_token} than {_b(loser)} at every traffic from "
                f"{_span(p.grid)}: no break-even in that range.")
    head, last = p.points[0], p.points[-1]
    if p.kind == "vs_api":
        wins = [x for x in p.points if x.cheaper_above == p.first]
        if wins and last.cheaper_above == p.first:
            text = (f"self-hosting {_b(p.first)} beats {_b(p.second)} above "
                    f"≈ {_rpd_text(wins[0].requests_per_day)}{_at(wins[0])}")
        elif wins:
            return (f"self-hosting {_b(p.first)} beats {_b(p.second)} only between "
                    f"≈ {_rpd_text(wins[0].requests_per_day)} and "
                    f"≈ {_rpd_text(last.requests_per_day)}.")
        else:
            return (f"self-hosting {_b(p.first)} beats {_b(p.second)} below "
                    f"≈ {_rpd_text(last.requests_per_day)}{_at(last)}; above it "
                    f"{_b(p.second)} is cheaper.")
    else:
        text = (f"{_b(head.cheaper_above)} beats {_b(head.cheaper_below)}{per_token} above "
                f"≈ {_rpd_text(head.requests_per_day)}{_at(head)}")
    if len(p.points) > 1:
        text += (f"; whole-node steps make them swap again up to "
                 f"≈ {_rpd_text(last.requests_per_day)}")
    return text + "."


def _at(point: BreakEven) -> str:
    cost = point.monthly_cost_usd
    return "" if math.isnan(cost) else f" (both ≈ {md_usd(cost)}/month there)"
