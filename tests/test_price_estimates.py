"""Estimated reservation and savings-plan prices: derived from quoted ratios, labelled, never
replacing a quoted price; and the shipped snapshot's coverage (issue 14's targets)."""

from __future__ import annotations

import datetime as dt

import pytest

from planner.catalog import PriceRow, load_catalog
from planner.pricing.azure_api.estimate import (
    NO_SAVINGS_PLAN_SERIES,
    SAVINGS_3Y_OVER_1Y,
    estimated_commitment_rows,
    with_estimates,
)
from planner.pricing.azure_api.snapshot import plan_coverage
from planner.pricing.resolver import PriceResolver, vm_key

D1, D2 = dt.date(2026, 6, 18), dt.date(2026, 9, 27)
SERIES = {"Standard_A1": "S1", "Standard_B1": "S2", "Standard_C1": "S3", "Standard_H1": "ND-H100-v5"}


def row(sku: str, region: str, plan: str, price: float | None, status: str = "quoted",
        as_of: dt.date = D1) -> PriceRow:
    return PriceRow(sku=sku, region=region, plan=plan, currency="USD", price_per_hour=price,
                    status=status, source="test", as_of=as_of)


def by_key(rows: list[PriceRow]) -> dict[tuple[str, str, str], PriceRow]:
    return {r.key: r for r in rows}


def test_own_series_ratio_then_median_of_series() -> None:
    rows = [row("Standard_A1", "eastus", "payg", 10.0), row("Standard_A1", "westeurope", "payg", 12.0),
            row("Standard_A1", "eastus", "reserved-1y", 6.4, as_of=D2),
            row("Standard_B1", "eastus", "payg", 4.0),
            row("Standard_B1", "eastus", "reserved-1y", 2.0, as_of=D2),
            row("Standard_C1", "eastus", "payg", 2.0)]
    out = by_key(estimated_commitment_rows(rows, SERIES))
    # own series S1: 12.0 x (6.4 / 10.0) = 7.68
    a = out[("Standard_A1", "westeurope", "reserved-1y")]
    assert a.price_per_hour == pytest.approx(7.68, rel=1e-9)
    assert a.status == "estimated" and "price_per_hour" in a.unconfirmed
    assert "series S1" in a.source and "12 USD/h x 0.6400" in a.source
    assert a.as_of == D1  # the older of the payg row (D1) and the ratio's quoted row (D2)
    # S3 has no quoted reservation: median of the series medians (0.64, 0.5) = 0.57 -> 2.0 x 0.57
    c = out[("Standard_C1", "eastus", "reserved-1y")]
    assert c.price_per_hour == pytest.approx(1.14, rel=1e-9)
    assert "median of 2 GPU series' medians" in c.source
    # quoted rows are never re-estimated
    assert ("Standard_A1", "eastus", "reserved-1y") not in out
    # no quoted ratio for reserved-3y anywhere: nothing estimated for it
    assert not any(k[2] == "reserved-3y" for k in out)


def test_savings_3y_from_savings_1y_and_no_savings_for_nd_series() -> None:
    assert "ND-H100-v5" in NO_SAVINGS_PLAN_SERIES
    rows = [row("Standard_A1", "westeurope", "payg", 4.775),
            row("Standard_A1", "westeurope", "savings-1y", 3.97471),
            row("Standard_A1", "eastus", "payg", 3.673),
            row("Standard_H1", "eastus", "payg", 98.32)]
    out = by_key(estimated_commitment_rows(rows, SERIES))
    # quoted 1-year savings plan x 0.1032142 / 0.154471 (D4ds_v5 eastus, live API 2026-08)
    assert abs(SAVINGS_3Y_OVER_1Y - 0.66818) < 1e-5
    assert out[("Standard_A1", "westeurope", "savings-3y")].price_per_hour == pytest.approx(
        3.97471 * 0.1032142 / 0.154471, rel=1e-6)
    # eastus 1-year estimated from the series ratio 3.97471 / 4.775 = 0.8324, then the 3-year
    one = out[("Standard_A1", "eastus", "savings-1y")]
    assert one.price_per_hour == pytest.approx(3.673 * 3.97471 / 4.775, rel=1e-6)
    assert "itself estimated" in out[("Standard_A1", "eastus", "savings-3y")].source
    assert not any(k[0] == "Standard_H1" for k in out)


def test_with_estimates_replaces_missing_keeps_quoted_and_is_idempotent() -> None:
    rows = [row("Standard_A1", "eastus", "payg", 10.0),
            row("Standard_A1", "eastus", "reserved-1y", 6.4),
            row("Standard_A1", "westus", "payg", 11.0),
            row("Standard_A1", "westus", "reserved-1y", None, status="missing")]
    once = with_estimates(rows, SERIES)
    keys = [r.key for r in once]
    assert len(keys) == len(set(keys))
    west = by_key(once)[("Standard_A1", "westus", "reserved-1y")]
    assert west.status == "estimated" and west.price_per_hour == pytest.approx(7.04)
    assert by_key(once)[("Standard_A1", "eastus", "reserved-1y")].status == "quoted"
    assert with_estimates(once, SERIES) == once


def test_shipped_snapshot_meets_the_coverage_targets() -> None:
    catalog = load_catalog()
    cov = plan_coverage(list(catalog.prices))
    assert cov["payg"]["share"] >= 0.90
    assert cov["reserved-1y"]["share"] >= 0.75 and cov["reserved-3y"]["share"] >= 0.75
    assert cov["savings-1y"]["priced"] > 0 and cov["savings-3y"]["priced"] > 0
    for r in catalog.prices:
        if r.status == "estimated":
            assert r.source.startswith("estimated: ") and "price_per_hour" in r.unconfirmed


def test_shipped_estimate_is_pinned_and_resolves_as_estimated() -> None:
    # Quoted eastus reservations (Retail Prices API copy, 2026-09-27): ND96amsr_A100_v4 1 Year
    # 183722 / 8760 = 20.972831 vs payg 32.77 (0.63999); ND96isr_H100_v5 551221 / 8760 = 62.924772
    # vs 98.32 (0.64000); ND96isr_H200_v5 eastus2 407526 / 8760 = 46.521233 vs 84.8 (0.54860).
    # NC A100 v4 has none of its own: the median 0.63999 x its payg 3.673 = 2.35071 USD/h.
    resolver = PriceResolver(load_catalog())
    price = resolver.resolve(vm_key("Standard_NC24ads_A100_v4", "eastus", "reserved-1y"))
    assert price.status == "estimated"
    assert price.value == pytest.approx(3.673 * (183722.0 / 8760) / 32.77, rel=1e-5)
    quoted = resolver.resolve(vm_key("Standard_ND96isr_H100_v5", "eastus", "reserved-3y"))
    assert quoted.status == "quoted" and quoted.value == pytest.approx(1134310.0 / 26280, rel=1e-6)
