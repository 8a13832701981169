"""A year of costs: a one-off fine-tune beside a deployment's serving cost month by month."""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.findings import FindingCode
from planner.pipeline.finetune import FinetuneEstimate
from planner.pipeline.plan import DeploymentPlan
from planner.pricing.money import CostKind

MONTHS = 12
# cost kinds whose quantity follows the node (machine) count: they follow the growth plan's nodes
NODE_KINDS: frozenset[CostKind] = frozenset({"gpu_nodes", "hardware"})


@dataclass(frozen=True)
class YearCost:
    """A one-off fine-tune beside a deployment's serving cost over the next 12 months (USD).

    ``None`` means unknown (a price is missing), never zero."""

    finetune_usd: float | None
    finetune_low_mfu_usd: float | None
    monthly_usd: float | None
    serving_by_month_usd: list[float] | None
    basis: str
    missing: list[str] = field(default_factory=list)

    @property
    def serving_year_usd(self) -> float | None:
        return sum(self.serving_by_month_usd) if self.serving_by_month_usd is not None else None

    @property
    def total_usd(self) -> float | None:
        if self.finetune_usd is None or self.serving_year_usd is None:
            return None
        return self.finetune_usd + self.serving_year_usd

    @property
    def total_low_mfu_usd(self) -> float | None:
        if self.finetune_low_mfu_usd is None or self.serving_year_usd is None:
            return None
        return self.finetune_low_mfu_usd + self.serving_year_usd


def growth_beyond_bound(plan: DeploymentPlan) -> bool:
    """Whether the plan's growth needs more replicas than are sized within the year (its
    ``nodes_by_month`` stops early)."""
    return any(f.code == FindingCode.GROWTH_BEYOND_BOUND for f in plan.findings)


def serving_by_month(plan: DeploymentPlan, months: int = MONTHS) -> tuple[list[float] | None, str]:
    """Serving cost in each of the next ``months`` months, and how it was worked out.

    Flat traffic: today's monthly cost every month. With growth: the node (machine) cost lines
    follow the plan's ``nodes_by_month``; the other lines (AKS cluster, system pool, electricity)
    stay at today's level. None if today's cost is unknown.
    """
    monthly = plan.monthly_cost_usd
    if monthly is None:
        return None, "serving cost unknown"
    if growth_beyond_bound(plan):
        return None, "the growth needs more replicas than the planner sizes within the year"
    by_month = plan.nodes_by_month[:months]
    if not by_month or not plan.nodes or all(n == plan.nodes for n in by_month):
        return [monthly] * months, f"{months} × today's monthly cost (the same node count all year)"
    per_node = sum(line.amount_usd or 0.0 for line in plan.cost_lines
                   if line.kind in NODE_KINDS) / plan.nodes
    fixed = monthly - per_node * plan.nodes
    by_month = by_month + [by_month[-1]] * (months - len(by_month))
    costs = [fixed + per_node * nodes for nodes in by_month]
    return costs, (f"the growth plan's nodes month by month ({by_month[0]} → {by_month[-1]} "
                   "nodes); cluster, system-pool and electricity lines held at today's level")


def line_year_usd(plan: DeploymentPlan, months: int = MONTHS) -> list[float | None]:
    """Each cost line's amount over the next ``months`` months (USD), in ``plan.cost_lines``
    order, worked out as :func:`serving_by_month` does: node (machine) lines follow the growth
    plan's ``nodes_by_month``, other monthly lines are ``months`` x today's amount, a one-off
    line counts once. None where the line's amount is unknown. When every line is known the
    lines add up to :func:`serving_by_month`'s year."""
    if growth_beyond_bound(plan):
        return [None if line.period == "month" and line.kind in NODE_KINDS else
                line.amount_usd if line.period == "once" or line.amount_usd is None else
                line.amount_usd * months for line in plan.cost_lines]
    by_month = plan.nodes_by_month[:months]
    grows = bool(by_month) and bool(plan.nodes) and any(n != plan.nodes for n in by_month)
    if grows:
        by_month = by_month + [by_month[-1]] * (months - len(by_month))
    out: list[float | None] = []
    for line in plan.cost_lines:
        if line.amount_usd is None:
            out.append(None)
        elif line.period == "once":
            out.append(line.amount_usd)
        elif grows and line.kind in NODE_KINDS:
            out.append(line.amount_usd / plan.nodes * sum(by_month))  # type: ignore[operator]
        else:
            out.append(line.amount_usd * months)
    return out


def year_cost(plan: DeploymentPlan, estimate: FinetuneEstimate | None) -> YearCost:
    """Fine-tune once + serve for 12 months, with every missing price named."""
    months, basis = serving_by_month(plan)
    missing = []
    if estimate is not None and estimate.cost_usd is None:
        missing += [f"fine-tuning: {line.name}" for line in estimate.cost_lines
                    if line.amount_usd is None] or ["fine-tuning: time unknown"]
    if not plan.fits:
        missing.append(f"serving: {plan.label} does not fit")
    elif plan.monthly_cost_usd is None:
        missing += [f"serving: {line.name}" for line in plan.cost_lines if line.amount_usd is None]
    return YearCost(
        finetune_usd=estimate.cost_usd if estimate is not None else None,
        finetune_low_mfu_usd=estimate.cost_usd_at_low_mfu if estimate is not None else None,
        monthly_usd=plan.monthly_cost_usd, serving_by_month_usd=months, basis=basis,
        missing=missing)
