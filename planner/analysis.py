"""What-if analyses over a scenario: cost vs traffic, break-even traffic, sensitivity.

All of them re-run the one pipeline (:func:`planner.plan.plan_scenario`) on modified scenarios;
none has arithmetic of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.catalog import Catalog
from planner.plan import plan_scenario
from planner.scenario import AzureTarget, Scenario
from planner.throughput import EngineProfile, load_profiles


def with_traffic(scenario: Scenario, requests_per_day: float) -> Scenario:
    """The same scenario at another traffic level."""
    workload = scenario.workload.model_copy(update={"requests_per_day": requests_per_day})
    return scenario.model_copy(update={"workload": workload})


def traffic_grid(low: float = 1e3, high: float = 1e8, points: int = 31) -> list[float]:
    """Log-spaced requests/day."""
    return [float(x) for x in np.geomspace(low, high, points)]


def cost_vs_traffic(scenario: Scenario, catalog: Catalog, grid: list[float],
                    profiles: dict[str, EngineProfile] | None = None
                    ) -> dict[str, list[float | None]]:
    """Monthly cost (USD) of every deployment at each traffic level; None where unknown, where
    the deployment does not fit or misses its SLOs."""
    profiles = profiles or load_profiles()
    out: dict[str, list[float | None]] = {d.label: [] for d in scenario.deployments}
    for rpd in grid:
        result = plan_scenario(with_traffic(scenario, rpd), catalog, profiles)
        for plan in result.deployments:
            ok = plan.fits and (plan.throughput is None or plan.throughput.meets_slo)
            out[plan.label].append(plan.monthly_cost_usd if ok else None)
    return out


@dataclass(frozen=True)
class BreakEven:
    """Traffic at which ``cheaper_above`` becomes cheaper than ``cheaper_below``."""

    requests_per_day: float
    cheaper_below: str
    cheaper_above: str
    monthly_cost_usd: float


def _cost(scenario: Scenario, label: str, rpd: float, catalog: Catalog,
          profiles: dict[str, EngineProfile]) -> float | None:
    dep = next(d for d in scenario.deployments if d.label == label)
    single = with_traffic(scenario.model_copy(update={"deployments": (dep,)}), rpd)
    plan = plan_scenario(single, catalog, profiles).deployments[0]
    ok = plan.fits and (plan.throughput is None or plan.throughput.meets_slo)
    return plan.monthly_cost_usd if ok else None


def break_even(scenario: Scenario, label_a: str, label_b: str, catalog: Catalog,
               low: float = 1e2, high: float = 1e9, points: int = 57,
               profiles: dict[str, EngineProfile] | None = None,
               rel_tol: float = 0.005) -> list[BreakEven]:
    """Every traffic level (requests/day) in [low, high] where the cheaper of two deployments
    changes. Self-hosted costs are steps (whole nodes), so there can be several; each is
    located by bisection on a log scale to ``rel_tol``."""
    profiles = profiles or load_profiles()
    labels = {d.label for d in scenario.deployments}
    for label in (label_a, label_b):
        if label not in labels:
            raise ValueError(f"no deployment labelled {label!r}")

    def diff(rpd: float) -> float | None:
        a = _cost(scenario, label_a, rpd, catalog, profiles)
        b = _cost(scenario, label_b, rpd, catalog, profiles)
        return None if a is None or b is None else a - b

    grid = traffic_grid(low, high, points)
    values = [diff(x) for x in grid]
    found: list[BreakEven] = []
    for i in range(len(grid) - 1):
        x0, d0, x1, d1 = grid[i], values[i], grid[i + 1], values[i + 1]
        if d0 is None or d1 is None or (d0 < 0) == (d1 < 0) or d0 == 0:
            continue
        lo, hi, dlo = x0, x1, d0
        while hi / lo > 1 + rel_tol:
            mid = math.sqrt(lo * hi)
            dm = diff(mid)
            if dm is None:
                break
            if (dm < 0) == (dlo < 0):
                lo, dlo = mid, dm
            else:
                hi = mid
        below, above = (label_a, label_b) if d0 < 0 else (label_b, label_a)
        cost = _cost(scenario, above, hi, catalog, profiles)
        found.append(BreakEven(hi, below, above, cost if cost is not None else math.nan))
    return found


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
        if self.cost_low_usd is None or self.cost_high_usd is None:
            return 0.0
        return abs(self.cost_high_usd - self.cost_low_usd)


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
        plan = plan_scenario(s, catalog, profiles).deployments[0]
        ok = plan.fits and (plan.throughput is None or plan.throughput.meets_slo)
        return plan.monthly_cost_usd if ok else None

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
    if isinstance(dep.target, AzureTarget):
        plan_costs = {}
        for plan_name in ("payg", "spot", "reserved-1y", "reserved-3y"):
            if catalog.price(dep.target.vm_sku, dep.target.region, plan_name) is None:
                continue
            changed = dep.model_copy(update={"target": dep.target.model_copy(
                update={"pricing": plan_name})})
            cost = cost_with(deployment=changed)
            if cost is not None:
                plan_costs[plan_name] = cost
        if len(plan_costs) >= 2:
            cheap = min(plan_costs, key=plan_costs.__getitem__)
            dear = max(plan_costs, key=plan_costs.__getitem__)
            out.append(Sensitivity("pricing plan", cheap, dear, plan_costs[cheap],
                                   plan_costs[dear], base))
    return sorted(out, key=lambda s: s.swing_usd, reverse=True)
