"""Money: cost components, priced cost lines, totals and unit costs. All money arithmetic is here.

Domain code (the target modules) describes what is consumed as :class:`CostComponent` rows: a
stable name, a kind, a period, a quantity in a stated unit and the :class:`PriceKey` of the price
it needs, never the price itself. :func:`price_components` asks one resolver for each price and
:func:`cost_line` is the one place a quantity is multiplied by a price. A line whose price or
quantity is unknown has ``amount_usd = None`` and ``status = "missing"``: totals then say they are
incomplete instead of treating the line as 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from planner.pricing.resolver import MissingReason, PriceKey, PriceResolver, PriceStatus
from planner.units import HOURS_PER_MONTH, TOKENS_PER_MILLION

CostKind = Literal["gpu_nodes", "hardware", "support", "hosting", "electricity", "staff",
                   "cluster", "system_nodes", "input_tokens", "cached_input_tokens",
                   "output_tokens", "provisioned_throughput", "training"]
COST_KINDS: tuple[CostKind, ...] = ("gpu_nodes", "hardware", "support", "hosting", "electricity",
                                    "staff", "cluster", "system_nodes", "input_tokens",
                                    "cached_input_tokens", "output_tokens", "provisioned_throughput",
                                    "training")
Period = Literal["month", "once"]


@dataclass(frozen=True)
class CostComponent:
    """Something consumed, before it is priced.

    ``quantity`` is in ``unit`` per ``period`` (None = the usage is unknown); the resolved price
    is per ``price_key``'s own unit and ``price_scale`` converts it to a price per ``unit`` (e.g.
    a machine's purchase price x 1 / (years x 8,760) = its price per machine-hour)."""

    name: str
    kind: CostKind
    period: Period
    quantity: float | None
    unit: str
    price_key: PriceKey
    price_scale: float = 1.0


class CostLine(BaseModel):
    """One named cost: quantity x unit price, per period (a month, or once)."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: CostKind
    period: Period
    quantity: float | None
    unit: str  # what one unit of quantity is, e.g. "node-hour", "1M output tokens"
    unit_price_usd: float | None
    amount_usd: float | None
    currency: str = "USD"
    status: PriceStatus
    price_key: str  # which price was looked up, e.g. "Standard_NC24ads_A100_v4/eastus/payg"
    source: str = ""
    note: str = ""
    missing_reason: MissingReason | None = None
    price_as_of: dt.date | None = None  # date of the reference row priced (None: typed or missing)


def cost_line(component: CostComponent, resolver: PriceResolver) -> CostLine:
    """Price one component: the amount is quantity x unit price, or None if either is unknown."""
    price = resolver.resolve(component.price_key)
    unit_price = None if price.value is None else price.value * component.price_scale
    known = unit_price is not None and component.quantity is not None
    reason = price.missing_reason if unit_price is None else (
        None if component.quantity is not None else "usage_unknown")
    return CostLine(
        name=component.name, kind=component.kind, period=component.period,
        quantity=component.quantity, unit=component.unit, unit_price_usd=unit_price,
        amount_usd=component.quantity * unit_price if known else None,  # type: ignore[operator]
        currency=price.currency, status=price.status if known else "missing",
        price_key=component.price_key.text(), source=price.source, note=price.note,
        missing_reason=reason, price_as_of=price.as_of)


def price_components(components: Iterable[CostComponent], resolver: PriceResolver) -> list[CostLine]:
    """Every component priced by the one resolver."""
    return [cost_line(c, resolver) for c in components]


def total_usd(lines: Sequence[CostLine]) -> float | None:
    """Sum of the lines, or None if any line's amount is unknown."""
    if any(line.amount_usd is None for line in lines):
        return None
    return sum(line.amount_usd for line in lines)  # type: ignore[misc]


def total_of(amounts_usd: Sequence[float] | None) -> float | None:
    """Sum of amounts (e.g. the months of a year), None when unknown."""
    return None if amounts_usd is None else float(sum(amounts_usd))


def unit_price_of(lines: Sequence[CostLine], kind: CostKind) -> float | None:
    """The unit price (USD per the line's unit) of the first line of ``kind``, None if none."""
    return next((line.unit_price_usd for line in lines if line.kind == kind), None)


def known_usd(lines: Sequence[CostLine]) -> float:
    """Sum of the lines whose amount is known (a lower bound when some are missing)."""
    return sum(line.amount_usd for line in lines if line.amount_usd is not None)


def known_usd_by_kind(lines: Sequence[CostLine]) -> dict[CostKind, float]:
    """Known amount per cost kind (lines without a price count 0 here: for stacking charts that
    mark the missing ones), in COST_KINDS order."""
    return {kind: known_usd([line for line in lines if line.kind == kind])
            for kind in COST_KINDS if any(line.kind == kind for line in lines)}


def usd_by_kind(lines: Sequence[CostLine]) -> dict[CostKind, float | None]:
    """Monthly amount (USD) per cost kind, in COST_KINDS order; None for a kind with a line
    whose price is missing (a table shows unknown, never a partial sum)."""
    return {kind: total_usd([line for line in lines if line.kind == kind])
            for kind in COST_KINDS if any(line.kind == kind for line in lines)}


def per_million(amount_usd: float | None, tokens: float) -> float | None:
    """USD per 1M tokens when ``amount_usd`` buys ``tokens`` tokens (None if unknown or no tokens)."""
    if amount_usd is None or tokens <= 0:
        return None
    return amount_usd / tokens * TOKENS_PER_MILLION


def per_thousand(amount_usd: float | None, count: float) -> float | None:
    """USD per 1,000 of ``count`` things (requests) bought by ``amount_usd``."""
    if amount_usd is None or count <= 0:
        return None
    return amount_usd / count * 1000


def used_share(amount_usd: float | None, utilization: float) -> float | None:
    """The part of ``amount_usd`` that pays for capacity in use (utilisation 0-1)."""
    return None if amount_usd is None else amount_usd * utilization


def idle_share(amount_usd: float | None, utilization: float) -> float | None:
    """The part of ``amount_usd`` that pays for idle capacity (utilisation 0-1)."""
    return None if amount_usd is None else amount_usd * (1 - utilization)


def difference(amount_usd: float | None, baseline_usd: float | None) -> float | None:
    """``amount_usd - baseline_usd``, None if either is unknown."""
    if amount_usd is None or baseline_usd is None:
        return None
    return amount_usd - baseline_usd


def cents(amount: float | None) -> float | None:
    """An amount rounded to the cent (2 decimals, half to even as Python rounds); None stays
    None. For exports: totals are always summed from unrounded amounts."""
    return None if amount is None else round(amount, 2)


def monthly_from_hourly(price_usd_per_hour: float) -> float:
    """A month (730 h) of an hourly price; works on numbers and arrays alike."""
    return price_usd_per_hour * HOURS_PER_MONTH


def node_cost_terms(lines_without_nodes: Sequence[CostLine], lines_one_node: Sequence[CostLine],
                    lines_one_base_node: Sequence[CostLine]) -> tuple[float, float, float]:
    """(fixed USD, USD per node, USD more per node kept on a base pool) of a target whose cost
    lines grow linearly with its nodes, from its lines priced at 0 nodes, at 1 node and at 1
    node that is a base node (a spot option's regular pool; the same as 1 node elsewhere);
    NaN for all three when a line is unknown."""
    fixed, one, base = (total_usd(lines_without_nodes), total_usd(lines_one_node),
                        total_usd(lines_one_base_node))
    if fixed is None or one is None or base is None:
        return math.nan, math.nan, math.nan
    return fixed, one - fixed, base - one


def node_hour_cost_terms(lines_no_hours: Sequence[CostLine], lines_one_hour: Sequence[CostLine],
                         lines_one_base_node: Sequence[CostLine]) -> tuple[float, float, float]:
    """(fixed USD, USD per node-hour, USD a month per base node) of a target under a scaling
    policy that follows the traffic, from its lines priced at 0 node-hours, at 1 node-hour and
    at 0 node-hours with 1 base node (a pool billed every hour: spot's regular base, a
    commitment's floor; 0 where the target has none); NaN for all three when a line is
    unknown."""
    fixed, hour, base = (total_usd(lines_no_hours), total_usd(lines_one_hour),
                         total_usd(lines_one_base_node))
    if fixed is None or hour is None or base is None:
        return math.nan, math.nan, math.nan
    return fixed, hour - fixed, base - fixed


def usd_at_node_hours(fixed_usd: np.ndarray, per_node_hour_usd: np.ndarray,
                      node_hours: np.ndarray, base_node_usd: np.ndarray,
                      base_nodes: np.ndarray) -> np.ndarray:
    """Cost (USD) of a month holding ``node_hours`` node-hours, ``base_nodes`` of the nodes on a
    base pool billed every hour (:func:`node_hour_cost_terms`), the node-hours above the base's
    at ``per_node_hour_usd`` (NaN stays NaN)."""
    base_hours = np.where(base_node_usd > 0, base_nodes * HOURS_PER_MONTH, 0.0)
    return (fixed_usd + base_node_usd * base_nodes
            + per_node_hour_usd * np.maximum(0.0, node_hours - base_hours))


def usd_committed(fixed_usd: np.ndarray, per_node_hour_usd: np.ndarray,
                  burst_node_hours: np.ndarray, base_node_usd: np.ndarray,
                  committed_nodes: np.ndarray) -> np.ndarray:
    """Cost (USD) of a month with ``committed_nodes`` nodes billed every hour (``base_node_usd``
    each, :func:`node_hour_cost_terms`) and ``burst_node_hours`` held above them at
    ``per_node_hour_usd`` (a commitment plan under autoscaling; NaN stays NaN)."""
    return fixed_usd + base_node_usd * committed_nodes + per_node_hour_usd * burst_node_hours


def usd_at_nodes(fixed_usd: np.ndarray, per_node_usd: np.ndarray, nodes: np.ndarray,
                 per_base_node_usd: np.ndarray, base_nodes: np.ndarray) -> np.ndarray:
    """Cost (USD) of ``nodes`` nodes, ``base_nodes`` of them on a base pool, of targets with
    :func:`node_cost_terms` (NaN stays NaN)."""
    return fixed_usd + per_node_usd * nodes + per_base_node_usd * base_nodes
