"""Tidy CSV export of a planned scenario: one table, one row per cost line per option.

A leading block of ``#`` comment lines records the scenario, the price snapshot's dates and how
to read the amounts; ``pandas.read_csv(path, comment="#")`` skips it and reads one table. The
columns say what the row costs (option, model, where it runs, category = the cost line's kind),
how it was worked out (quantity, unit, unit price, currency) and what it comes to (monthly and
12-month amounts rounded to cents, price status and source). Totals per option are a pivot away:
sum "Monthly amount (USD)" by "Option". The option's monthly cost range (low, high) is repeated
on each of its rows. A blank amount is unknown, never zero.

Every text cell is quoted (so a ``#`` inside a label is data, not a comment) and neutralised
against formula injection (see planner.io.render.spreadsheet_safe). The amounts come from
planner.pricing (:func:`~planner.pricing.money.cents`, :func:`~planner.pricing.projection.
line_year_usd`); this module does no arithmetic of its own.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from planner.io.render import spreadsheet_safe
from planner.io.wording import (
    COST_KIND_TEXT,
    EXCLUDED_TEXT,
    NOT_APPLICABLE,
    PRICE_STATUS_TEXT,
    fit_text,
)
from planner.pipeline.plan import DeploymentPlan, PlanResult
from planner.pricing.money import cents
from planner.pricing.projection import MONTHS, line_year_usd
from planner.targets import TARGET_TITLES

COLUMNS = [
    "Option", "Model", "Target kind", "VM size or machine", "Region", "Plan", "Category",
    "Cost line", "Quantity (per month)", "Unit", "Unit price (USD per unit)", "Currency",
    "Monthly amount (USD)", f"{MONTHS}-month amount (USD)", "Status", "Price date", "Source",
    "Option monthly low (USD)", "Option monthly high (USD)",
]
MONTHLY_COLUMN = "Monthly amount (USD)"
YEAR_COLUMN = f"{MONTHS}-month amount (USD)"
OPTION_COLUMN = "Option"
RANGE_LOW_COLUMN = "Option monthly low (USD)"  # the option's range, repeated on each of its rows
RANGE_HIGH_COLUMN = "Option monthly high (USD)"
SIGNIFICANT_DIGITS = 6  # quantities and unit prices: enough to recompute a cent on any line


def result_currency(result: PlanResult) -> str:
    """The currency the plan's amounts are in (the price snapshot's; USD when nothing is priced)."""
    return next((line.currency for plan in result.deployments for line in plan.cost_lines),
                "USD")


def in_currency(header: str, currency: str) -> str:
    """A header naming USD, relabelled for amounts in ``currency``."""
    return header.replace("(USD", f"({currency}")


def significant(value: float | None, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """``value`` to ``digits`` significant digits for a file (None stays None)."""
    return None if value is None else float(f"{value:.{digits}g}")


def placement_cells(plan: DeploymentPlan) -> list[str]:
    """Target kind, VM size or machine, region and plan of an option, in words."""
    where = plan.placement
    return [TARGET_TITLES.get(plan.target_kind, plan.target_kind),
            (where.node if where and where.node else NOT_APPLICABLE),
            (where.region if where and where.region else NOT_APPLICABLE),
            (where.plan if where else NOT_APPLICABLE)]


def range_cells(plan: DeploymentPlan) -> list[float | None]:
    """The option's monthly cost range (low, high) in USD, rounded to cents; blank (None) when
    the option has no complete total."""
    low, high = plan.monthly_cost_range_usd or (None, None)
    return [cents(low), cents(high)]


def cost_line_rows(plan: DeploymentPlan) -> Iterator[list[Any]]:
    """One row per cost line of an option; one row saying why when it has none (does not fit).
    Each row ends with the option's monthly cost range (the same on all of the option's rows:
    read it per option, never sum it)."""
    head = [plan.label, plan.model_name, *placement_cells(plan)]
    tail = range_cells(plan)
    if not plan.cost_lines:
        yield [*head, NOT_APPLICABLE, "no cost lines", None, "", None, "", None, None,
               fit_text(plan), "", "", *tail]
        return
    for line, year in zip(plan.cost_lines, line_year_usd(plan), strict=True):
        yield [*head, COST_KIND_TEXT[line.kind], line.name, significant(line.quantity), line.unit,
               significant(line.unit_price_usd), line.currency, cents(line.amount_usd),
               cents(year), PRICE_STATUS_TEXT[line.status],
               str(line.price_as_of) if line.price_as_of else "", line.source, *tail]


def one_line(text: str) -> str:
    """Text for a comment line: no line breaks (a break would end the comment)."""
    return " ".join(str(text).split())


def comment_lines(result: PlanResult, share_link: str | None = None) -> list[str]:
    """The leading ``#`` block: scenario, price dates, cheapest option and how to read the file."""
    oldest, newest = result.oldest_price_date, result.newest_price_date
    prices = ("no priced rows in the snapshot" if oldest is None else
              f"oldest price dated {oldest}, newest {newest}")
    lines = [
        f"planner comparison: {one_line(result.scenario.name)}",
        f"Price snapshot: {prices}",
        f"Cheapest that fits, is fully priced and meets the SLOs: "
        f"{one_line(result.cheapest_label or 'none')}",
        "One row per cost line per option. Monthly = one month of 730 hours; "
        f"{MONTHS}-month = the next {MONTHS} months (node lines follow the growth plan). Amounts "
        "are rounded to cents; a blank amount is unknown (never zero), so that option has no "
        "complete total. Total per option: sum the monthly amounts by Option. The two 'Option "
        "monthly' columns repeat the option's monthly cost range (low to high: the throughput "
        "model's 80 % interval) on each of its rows: read them once per option, never sum them.",
        EXCLUDED_TEXT,
    ]
    if share_link:
        lines.append(f"Share link: {one_line(share_link)}")
    lines.append("Scenario (JSON): " + json.dumps(result.scenario.model_dump(mode="json"),
                                                  separators=(",", ":")))
    return [f"# {line}" for line in lines]


def plan_csv(result: PlanResult, share_link: str | None = None) -> str:
    """The comparison as tidy CSV text: a ``#`` comment block, then one table."""
    out = io.StringIO()
    for line in comment_lines(result, share_link):
        out.write(line + "\n")
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    currency = result_currency(result)
    writer.writerow([in_currency(c, currency) for c in COLUMNS])
    for plan in result.deployments:
        for row in cost_line_rows(plan):
            writer.writerow(["" if v is None else spreadsheet_safe(v) for v in row])
    return out.getvalue()
