"""The snapshot's currency: VM prices resolve in it, USD catalog prices under another currency are
flagged (never converted silently), and the dashboard's money formatting names the currency."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from planner.catalog import DATA_DIR, PRICES_FILE, load_catalog
from planner.pricing.resolver import PriceResolver, electricity_key, vm_key
from ui import format as fmt


def eur_snapshot(tmp_path: Path) -> Path:
    """A copy of the shipped snapshot relabelled EUR (the refresh's --currency EUR writes such)."""
    out = tmp_path / "prices.csv"
    with (DATA_DIR / PRICES_FILE).open(newline="") as src:
        rows = list(csv.DictReader(src))
    with out.open("w", newline="") as dst:
        writer = csv.DictWriter(dst, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows([{**r, "currency": "EUR"} for r in rows])
    return out


def test_shipped_snapshot_is_usd() -> None:
    assert load_catalog().prices_currency == "USD"


def test_a_eur_snapshot_prices_vms_in_eur_and_flags_usd_tables(tmp_path: Path) -> None:
    catalog = load_catalog(prices_path=eur_snapshot(tmp_path))
    resolver = PriceResolver(catalog)
    assert catalog.prices_currency == "EUR" and resolver.currency == "EUR"
    vm = resolver.resolve(vm_key("Standard_NC24ads_A100_v4", "eastus", "payg"))
    assert vm.value == pytest.approx(3.673) and vm.currency == "EUR" and vm.status == "quoted"
    power = resolver.resolve(electricity_key("eastus"))  # a USD table: not summed with EUR
    assert power.value is None and power.missing_reason == "other_currency"
    assert "USD" in power.note and power.currency == "EUR"
    typed = resolver.with_overrides({electricity_key("eastus"): 0.3}).resolve(
        electricity_key("eastus"))
    assert typed.value == 0.3 and typed.currency == "EUR" and typed.status == "input"


def test_money_formatting_names_a_non_usd_currency() -> None:
    try:
        assert fmt.usd(5601.2) == "$5,601" and fmt.money_fmt("dollar") == "dollar"
        fmt.set_currency("EUR")
        assert fmt.usd(5601.2) == "EUR\u00a05,601" and fmt.usd(0.0123) == "EUR\u00a00.0123"
        assert fmt.cur("Monthly cost (USD)") == "Monthly cost (EUR)"
        assert fmt.money_fmt("$%.3f") == "EUR %.3f"
        assert fmt.tick_fmt("$,.0f") == {"tickformat": ",.0f", "tickprefix": "EUR "}
    finally:
        fmt.set_currency("USD")
