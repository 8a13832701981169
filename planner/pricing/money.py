"""Cost lines: the one place where a price is multiplied by a quantity.

A line names the price it used (``price_key``) and where that price came from. A line whose price
is unknown has ``monthly_usd = None`` and ``status = "missing"``: totals then say they are
incomplete instead of treating the line as 0.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

LineStatus = Literal["quoted", "estimated", "missing", "assumed"]


class CostLine(BaseModel):
    """One named monthly cost: quantity x unit price."""

    model_config = ConfigDict(frozen=True)

    name: str
    quantity: float
    unit: str  # what one unit of quantity is, e.g. "node-hour", "1M output tokens"
    unit_price_usd: float | None
    monthly_usd: float | None
    status: LineStatus
    price_key: str  # which price was looked up, e.g. "Standard_NC24ads_A100_v4/eastus/payg"
    source: str = ""
    note: str = ""


def cost_line(name: str, quantity: float, unit: str, unit_price_usd: float | None,
              status: LineStatus, price_key: str, source: str = "", note: str = "") -> CostLine:
    """Build a cost line; the monthly amount is quantity x unit price, or None if the price is
    unknown."""
    if unit_price_usd is None:
        status = "missing"
    monthly = None if unit_price_usd is None else quantity * unit_price_usd
    return CostLine(name=name, quantity=quantity, unit=unit, unit_price_usd=unit_price_usd,
                    monthly_usd=monthly, status=status, price_key=price_key, source=source,
                    note=note)


def total_usd(lines: list[CostLine]) -> float | None:
    """Sum of the lines, or None if any line's price is missing."""
    if any(line.monthly_usd is None for line in lines):
        return None
    return sum(line.monthly_usd for line in lines)  # type: ignore[misc]


def known_usd(lines: list[CostLine]) -> float:
    """Sum of the lines whose price is known (a lower bound when some are missing)."""
    return sum(line.monthly_usd for line in lines if line.monthly_usd is not None)
