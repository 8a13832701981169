"""What-if analyses over a scenario: cost vs traffic, break-even traffic, sensitivity.

All of them re-run the one pipeline (:func:`planner.pipeline.plan.plan_scenario`) on modified scenarios;
none has arithmetic of its own. Cost against traffic and break-even take an optional cost function
``cost_fn(scenario, requests_per_day) -> {label: monthly USD or None}`` so a caller can put a
cache in front of the pipeline (the dashboard does); by default the pipeline is called directly and
only usable costs count (:func:`usable_cost`). :class:`CurveCosts` is such a function that costs
deployments with a :class:`~planner.analyses.curves.TrafficCurve` (their cost follows their
nodes) from the curve, a whole grid at once, and plans only the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from planner.analyses.curves import TrafficCurve, traffic_curve
from planner.catalog import Catalog
from planner.physics.throughput import EngineProfile, load_profiles
from planner.pipeline.plan import DeploymentPlan, plan_scenario
from planner.pricing.money import difference
from planner.pricing.resolver import PriceResolver
from planner.registry import PLAN_NAMES
from planner.scenario import Scenario, check_against_catalog
from planner.targets import module_for

# (scenario, requests/day) -> {deployment label: monthly USD, None where unknown}
CostFn = Callable[[Scenario, float], dict[str, float | None]]

BREAK_EVEN_REL_TOL = 1e-4  # bisection stops when the bracket is narrower than 0.01 % of traffic
MAX_BISECTION_STEPS = 60


def with_traffic(scenario: Scenario, requests_per_day: float) -> Scenario:
    """The same scenario at another traffic level."""
    workload = scenario.workload.model_copy(update={"requests_per_day": requests_per_day})
    return scenario.model_copy(update={"workload": workload})


def traffic_grid(low: float = 1e3, high: float = 1e8, points: int = 31) -> list[float]:
    """Log-spaced requests/day."""
    return [float(x) for x in np.geomspace(low, high, points)]


def usable_cost(plan: DeploymentPlan) -> float | None:
    """Monthly cost (USD) of a deployment that fits, meets its SLOs and is fully priced, else
    None: an option that cannot serve the workload has no cost to compare."""
    return plan.monthly_cost_usd if plan.meets_slo else None


def engine_cost_fn(catalog: Catalog, profiles: dict[str, EngineProfile] | None = None) -> CostFn:
    """The pipeline as a cost function: usable monthly cost (USD) of every deployment."""
    profiles = profiles or load_profiles()

    def cost(scenario: Scenario, requests_per_day: float) -> dict[str, float | None]:
        result = plan_scenario(with_traffic(scenario, requests_per_day), catalog, profiles)
        return {p.label: usable_cost(p) for p in result.deployments}

    return cost


def traffic_curves(scenario: Scenario, catalog: Catalog,
                   profiles: dict[str, EngineProfile] | None = None) -> dict[str, TrafficCurve]:
    """The cost curve of every deployment whose cost follows its nodes (by label; the others,
    hosted APIs, own machines and autoscaling options, are absent). Raises ScenarioError if the
    scenario names unknown data."""
    check_against_catalog(scenario, catalog)
    profiles = profiles or load_profiles()
    resolver = PriceResolver(catalog)
    curves = {d.label: traffic_curve(d, scenario.workload, catalog, profiles, resolver)
              for d in scenario.deployments}
    return {label: c for label, c in curves.items() if c is not None}


def curve_costs(curve: TrafficCurve, grid: Sequence[float], usable: bool = True
                ) -> list[float | None]:
    """The curve's monthly cost (USD) at each traffic level (requests/day); None where the plan
    has none or, with ``usable``, where it misses its SLOs (as :func:`usable_cost`)."""
    cost, meets = curve.monthly_cost_usd(list(grid))
    return [None if math.isnan(c) or (usable and not m) else float(c)
            for c, m in zip(cost.tolist(), meets.tolist(), strict=True)]


class CurveCosts:
    """A cost function that costs the deployments with a curve from it and asks ``rest`` (the
    plan, or a cached plan) for the others, on a scenario holding only those. ``usable``: the
    curves count only costs that meet the SLOs (say what ``rest`` does)."""

    def __init__(self, curves: Mapping[str, TrafficCurve], rest: CostFn, usable: bool = True):
        self.curves, self.rest, self.usable = dict(curves), rest, usable

    def _others(self, scenario: Scenario) -> Scenario:
        return scenario.model_copy(update={"deployments": tuple(
            d for d in scenario.deployments if d.label not in self.curves)})

    def __call__(self, scenario: Scenario, requests_per_day: float) -> dict[str, float | None]:
        return {label: values[0] for label, values in
                self.on_grid(scenario, [requests_per_day]).items()}

    def on_grid(self, scenario: Scenario, grid: Sequence[float]) -> dict[str, list[float | None]]:
        """Monthly cost (USD) of every deployment at each traffic level of ``grid``."""
        others = self._others(scenario)
        planned: dict[str, list[float | None]] = {d.label: [] for d in others.deployments}
        if others.deployments:
            for rpd in grid:
                costs = self.rest(others, rpd)
                for label, values in planned.items():
                    values.append(costs.get(label))
        return {d.label: (curve_costs(self.curves[d.label], grid, self.usable)
                          if d.label in self.curves else planned[d.label])
                for d in scenario.deployments}


def _cost_fn(catalog: Catalog | None, profiles: dict[str, EngineProfile] | None,
             cost_fn: CostFn | None) -> CostFn:
    if cost_fn is not None:
        return cost_fn
    if catalog is None:
        raise ValueError("pass a catalog or a cost_fn")
    return engine_cost_fn(catalog, profiles)


def cost_vs_traffic(scenario: Scenario, catalog: Catalog | None = None,
                    grid: list[float] | None = None,
                    profiles: dict[str, EngineProfile] | None = None, *,
                    cost_fn: CostFn | None = None) -> dict[str, list[float | None]]:
    """Monthly cost (USD) of every deployment at each traffic level of ``grid`` (requests/day,
    default :func:`traffic_grid`); None where unknown, where the deployment does not fit or
    misses its SLOs (or wherever ``cost_fn`` says None)."""
    fn = _cost_fn(catalog, profiles, cost_fn)
    grid = traffic_grid() if grid is None else grid
    if isinstance(fn, CurveCosts):
        return fn.on_grid(scenario, grid)
    out: dict[str, list[float | None]] = {d.label: [] for d in scenario.deployments}
    for rpd in grid:
        costs = fn(scenario, rpd)
        for label, values in out.items():
            values.append(costs.get(label))
    return out


@dataclass(frozen=True)
class BreakEven:
    """Traffic (requests/day) at which ``cheaper_above`` becomes cheaper than ``cheaper_below``,
    and the monthly cost (USD) of ``cheaper_above`` there (NaN if unknown)."""

    requests_per_day: float
    cheaper_below: str
    cheaper_above: str
    monthly_cost_usd: float


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def break_even(scenario: Scenario, label_a: str, label_b: str, catalog: Catalog | None = None,
               low: float = 1e2, high: float = 1e9, points: int = 57,
               profiles: dict[str, EngineProfile] | None = None,
               rel_tol: float = BREAK_EVEN_REL_TOL, *, cost_fn: CostFn | None = None,
               grid: list[float] | None = None,
               costs: dict[str, list[float | None]] | None = None) -> list[BreakEven]:
    """Every traffic level (requests/day) on the grid's range where the cheaper of two
    deployments changes, in order of traffic.

    Self-hosted costs are steps (whole nodes) and API costs straight lines, so there can be
    several. Each change is bracketed between two grid points (``grid``, default ``points``
    log-spaced levels from ``low`` to ``high``) and located by bisection on a log scale until the
    bracket is narrower than ``rel_tol``; the middle of the last bracket is reported. ``costs``
    may hold both deployments' costs on ``grid`` already (from :func:`cost_vs_traffic`), saving
    the grid's runs. The bisection runs the two deployments alone (their plans do not depend on
    the others)."""
    labels = [d.label for d in scenario.deployments]
    for label in (label_a, label_b):
        if label not in labels:
            raise ValueError(f"no deployment labelled {label!r}")
    fn = _cost_fn(catalog, profiles, cost_fn)
    grid = traffic_grid(low, high, points) if grid is None else grid
    pair = scenario.model_copy(update={"deployments": tuple(
        d for d in scenario.deployments if d.label in (label_a, label_b))})

    def pair_costs(rpd: float) -> tuple[float | None, float | None]:
        at = fn(pair, rpd)
        return at.get(label_a), at.get(label_b)

    if costs is None:
        costs = cost_vs_traffic(pair, grid=grid, cost_fn=fn)
    diffs = [None if a is None or b is None else a - b
             for a, b in zip(costs[label_a], costs[label_b], strict=True)]
    found: list[BreakEven] = []
    last: tuple[float, int] | None = None  # last grid traffic where one was strictly cheaper
    for x, d in zip(grid, diffs, strict=True):
        if d is None:
            last = None  # unknown in between: no claim about where they cross
            continue
        if d == 0:
            continue
        if last is not None and _sign(d) != last[1]:
            found.append(_bisect(last[0], x, last[1], pair_costs, label_a, label_b, rel_tol))
        last = (x, _sign(d))
    return found


def _bisect(lo: float, hi: float, sign_lo: int,
            pair_costs: Callable[[float], tuple[float | None, float | None]],
            label_a: str, label_b: str, rel_tol: float) -> BreakEven:
    """Narrow [lo, hi] (requests/day) around the change of sign of cost(a) - cost(b)."""
    for _ in range(MAX_BISECTION_STEPS):
        if hi / lo <= 1 + rel_tol:
            break
        mid = math.sqrt(lo * hi)
        a, b = pair_costs(mid)
        if a is None or b is None:
            break
        s = _sign(a - b)
        if s == 0:
            lo = hi = mid
            break
        if s == sign_lo:
            lo = mid
        else:
            hi = mid
    rpd = math.sqrt(lo * hi)
    # below the change the cheaper one is a when cost(a) - cost(b) < 0
    below, above = (label_a, label_b) if sign_lo < 0 else (label_b, label_a)
    a, b = pair_costs(rpd)
    cost_above, cost_below = (b, a) if above == label_b else (a, b)
    cost = cost_above if cost_above is not None else cost_below
    return BreakEven(rpd, below, above, cost if cost is not None else math.nan)


@dataclass(frozen=True)
class Sensitivity:
    """Monthly cost when one input moves to a low and a high value, others held."""

    input: str
    low_label: str
    high_label: str
    cost_low_usd: float | None
    cost_high_usd: float | None
    base_cost_usd: float | None

    @property
    def swing_usd(self) -> float:
        """Spread between the two costs (0 when either is unknown)."""
        swing = difference(self.cost_high_usd, self.cost_low_usd)
        return 0.0 if swing is None else abs(swing)


def sensitivity(scenario: Scenario, label: str, catalog: Catalog,
                profiles: dict[str, EngineProfile] | None = None) -> list[Sensitivity]:
    """Which inputs move one deployment's monthly cost most (tornado data, largest first)."""
    profiles = profiles or load_profiles()
    dep = next((d for d in scenario.deployments if d.label == label), None)
    if dep is None:
        raise ValueError(f"no deployment labelled {label!r}")
    single = scenario.model_copy(update={"deployments": (dep,)})
    w = scenario.workload

    def cost_with(workload_update: dict | None = None, deployment=None) -> float | None:
        s = single
        if workload_update:
            s = s.model_copy(update={"workload": w.model_copy(update=workload_update)})
        if deployment is not None:
            s = s.model_copy(update={"deployments": (deployment,)})
        return usable_cost(plan_scenario(s, catalog, profiles).deployments[0])

    base = cost_with()
    cases: list[tuple[str, str, str, dict, dict]] = [
        ("traffic (requests/day)", "÷2", "×2",
         {"requests_per_day": w.requests_per_day / 2}, {"requests_per_day": w.requests_per_day * 2}),
        ("input tokens", "÷2", "×2", {"input_tokens": max(1, w.input_tokens // 2)},
         {"input_tokens": w.input_tokens * 2}),
        ("output tokens", "÷2", "×2", {"output_tokens": max(1, w.output_tokens // 2)},
         {"output_tokens": w.output_tokens * 2}),
        ("peak-to-average", "×2/3", "×1.5", {"peak_to_average": max(1.0, w.peak_to_average / 1.5)},
         {"peak_to_average": w.peak_to_average * 1.5}),
        ("target utilisation", "0.6", "0.95", {"target_utilization": 0.6},
         {"target_utilization": 0.95}),
    ]
    out = [Sensitivity(name, lo_label, hi_label, cost_with(lo), cost_with(hi), base)
           for name, lo_label, hi_label, lo, hi in cases]
    plan_costs = {}
    for variant in module_for(dep.target).pricing_variants(dep.target, catalog):
        cost = cost_with(deployment=dep.model_copy(update={"target": variant}))
        if cost is not None:
            plan_costs[PLAN_NAMES[variant.pricing]] = cost
    if len(plan_costs) >= 2:
        cheap = min(plan_costs, key=plan_costs.__getitem__)
        dear = max(plan_costs, key=plan_costs.__getitem__)
        out.append(Sensitivity("pricing plan", cheap, dear, plan_costs[cheap],
                               plan_costs[dear], base))
    return sorted(out, key=lambda s: s.swing_usd, reverse=True)
