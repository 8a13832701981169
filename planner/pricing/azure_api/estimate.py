"""Estimated commitment prices: reservations and savings plans derived from quoted ratios.

The public copies of the Retail Prices API carry pay-as-you-go prices almost everywhere but
reservation and savings-plan prices only for a few sizes and regions. Where a commitment price is
not quoted, :func:`estimated_commitment_rows` derives one as the size's own pay-as-you-go price in
that region times a ratio read from quoted rows of the snapshot itself:

- the VM series' own ratio (median of its quoted rows: commitment price / pay-as-you-go price in
  the same region), or, for a series with no quoted row,
- the median of the per-series ratios of the series that have one.

No savings plan is estimated for the series in :data:`NO_SAVINGS_PLAN_SERIES` (the API lists none).

A 3-year savings plan is not quoted for any GPU size in the public material found; it is the
(quoted or estimated) 1-year savings-plan price times :data:`SAVINGS_3Y_OVER_1Y`, the ratio of
the 3-year to the 1-year savings-plan rate of a size read from the live API (secondary, a
general-purpose size). Every derived row is ``estimated``, names its derivation in ``source`` and
``notes``, lists ``price_per_hour`` in ``unconfirmed`` and carries the older ``as_of`` of the
prices it rests on. A quoted row is never replaced; a ``missing`` row for the same key is.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from planner.catalog import PriceRow

COMMITMENT_PLANS: tuple[str, ...] = ("reserved-1y", "reserved-3y", "savings-1y")
"""Plans estimated from a quoted ratio to pay-as-you-go (savings-3y is derived from savings-1y)."""

NO_SAVINGS_PLAN_SERIES: frozenset[str] = frozenset({"ND-H100-v5", "ND-H200-v5", "ND-MI300X-v5"})
"""Series whose pay-as-you-go meters in the raw API snapshot of andy-diericks/azure-pricing-radar
(westeurope, northeurope, francecentral, swedencentral; 2026-08-22) carry no ``savingsPlan`` at all
while their NC/NV siblings do: no savings plan is estimated for them (docs/research/azure_prices.md,
source A)."""

SAVINGS_3Y_OVER_1Y = 0.1032142 / 0.154471
"""3-year / 1-year savings-plan rate of Standard_D4ds_v5 in eastus (0.1032142 and 0.154471 USD/h,
"verified directly against the live API", 2026-08; public code file, code-corpus id 66577264250).
No GPU 3-year savings-plan rate was found; this general-purpose ratio (0.668) is the estimate."""
SAVINGS_3Y_SOURCE = ("Standard_D4ds_v5 eastus savings plan 3 Years 0.1032142 / 1 Year 0.154471 "
                     "USD/h (Retail Prices API as read in a public code file, 2026-08; "
                     "code-corpus id 66577264250)")
SAVINGS_3Y_AS_OF = dt.date(2026, 8, 1)


@dataclass(frozen=True)
class PlanRatio:
    """A commitment plan's price as a share of pay-as-you-go, with what it was read from."""

    ratio: float
    basis: str  # e.g. "series NDm_A100_v4 median of 1 quoted row(s): Standard_ND96amsr_A100_v4/eastus 0.6400"
    as_of: dt.date


def quoted_ratios(rows: Sequence[PriceRow], plan: str,
                  series_of: Mapping[str, str]) -> dict[str, list[tuple[PriceRow, float]]]:
    """Per series: the quoted rows of ``plan`` and their price / pay-as-you-go price (same size
    and region), for the rows whose pay-as-you-go price is quoted too."""
    payg = {(r.sku, r.region): r for r in rows
            if r.plan == "payg" and r.status == "quoted" and r.price_per_hour}
    out: dict[str, list[tuple[PriceRow, float]]] = {}
    for row in rows:
        base = payg.get((row.sku, row.region))
        if row.plan != plan or row.status != "quoted" or not row.price_per_hour or base is None:
            continue
        out.setdefault(series_of.get(row.sku, row.sku), []).append(
            (row, row.price_per_hour / base.price_per_hour))  # type: ignore[operator]
    return out


def plan_ratios(rows: Sequence[PriceRow], plan: str,
                series_of: Mapping[str, str]) -> tuple[dict[str, PlanRatio], PlanRatio | None]:
    """Each series' median ratio for ``plan`` and the fallback (median of the series medians)."""
    by_series = quoted_ratios(rows, plan, series_of)
    ratios: dict[str, PlanRatio] = {}
    for series, pairs in sorted(by_series.items()):
        shown = "; ".join(f"{r.sku}/{r.region} {x:.4f}" for r, x in pairs[:3])
        more = f" (+{len(pairs) - 3} more)" if len(pairs) > 3 else ""
        ratios[series] = PlanRatio(statistics.median(x for _, x in pairs),
                                   f"series {series} median of {len(pairs)} quoted row(s): "
                                   f"{shown}{more}", min(r.as_of for r, _ in pairs))
    if not ratios:
        return ratios, None
    medians = [r.ratio for r in ratios.values()]
    fallback = PlanRatio(statistics.median(medians),
                         f"median of {len(medians)} GPU series' medians ("
                         + "; ".join(f"{s} {r.ratio:.4f}" for s, r in ratios.items()) + ")",
                         min(r.as_of for r in ratios.values()))
    return ratios, fallback


def _estimated_row(sku: str, region: str, plan: str, base: PriceRow, ratio: PlanRatio,
                   what: str) -> PriceRow:
    return PriceRow(
        sku=sku, region=region, plan=plan, currency=base.currency,  # type: ignore[arg-type]
        price_per_hour=round(base.price_per_hour * ratio.ratio, 6),  # type: ignore[operator]
        status="estimated",
        source=(f"estimated: {what} {base.price_per_hour:g} {base.currency}/h x {ratio.ratio:.4f} "
                f"({ratio.basis})"),
        as_of=min(base.as_of, ratio.as_of),
        notes=("derived, not a published price: the size's own price in this region times the "
               "ratio named in source; refresh from the Retail Prices API to replace it"),
        unconfirmed=("price_per_hour",))


def estimated_commitment_rows(rows: Sequence[PriceRow],
                              series_of: Mapping[str, str]) -> list[PriceRow]:
    """Estimated reserved-1y/3y and savings-1y/3y rows for every (size, region) with a priced
    pay-as-you-go row and no quoted row under that plan. ``series_of`` maps a VM size to its
    series (sizes not in it are their own series)."""
    priced = {r.key for r in rows if r.status == "quoted"}
    payg = {(r.sku, r.region): r for r in rows if r.plan == "payg" and r.price_per_hour}
    out: list[PriceRow] = []
    savings_1y: dict[tuple[str, str], PriceRow] = {
        (r.sku, r.region): r for r in rows if r.plan == "savings-1y" and r.status == "quoted"}
    for plan in COMMITMENT_PLANS:
        by_series, fallback = plan_ratios(rows, plan, series_of)
        if fallback is None:
            continue
        for (sku, region), base in sorted(payg.items()):
            if (sku, region, plan) in priced or (
                    plan == "savings-1y" and series_of.get(sku) in NO_SAVINGS_PLAN_SERIES):
                continue
            ratio = by_series.get(series_of.get(sku, sku), fallback)
            row = _estimated_row(sku, region, plan, base, ratio, "pay-as-you-go")
            out.append(row)
            if plan == "savings-1y":
                savings_1y[(sku, region)] = row
    ratio_3y = PlanRatio(SAVINGS_3Y_OVER_1Y, SAVINGS_3Y_SOURCE, SAVINGS_3Y_AS_OF)
    for (sku, region), base in sorted(savings_1y.items()):
        if (sku, region, "savings-3y") not in priced:
            what = "1-year savings plan" + (" (itself estimated)" if base.status == "estimated"
                                            else "")
            out.append(_estimated_row(sku, region, "savings-3y", base, ratio_3y, what))
    return out


def with_estimates(rows: Sequence[PriceRow], series_of: Mapping[str, str]) -> list[PriceRow]:
    """The snapshot's rows with old estimates dropped, fresh ones added (replacing ``missing``
    rows of the same key), sorted by size, region and plan order of appearance."""
    kept = [r for r in rows if r.status != "estimated"]
    fresh = {r.key: r for r in estimated_commitment_rows(kept, series_of)}
    merged = [fresh.pop(r.key, r) for r in kept]
    merged.extend(fresh.values())
    return sorted(merged, key=lambda r: (r.sku, r.region, r.plan))
