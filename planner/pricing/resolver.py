"""Price resolution: one stage turns a :class:`PriceKey` into a price with status and source.

Order: a scenario override (the user's quote or tariff) > the catalog (price snapshot, platform
prices, hardware and region tables, API price list) > missing. A missing price says why
(``missing_reason``) and is never 0. The plan, the fine-tuning estimate and the advisor all use
this resolver, so the same key always costs the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from planner.catalog import Catalog

PriceKind = Literal["vm", "platform", "hardware_purchase", "electricity", "api_input",
                    "api_cached_input", "api_output", "api_ptu", "onprem_rate"]
ApiDirection = Literal["input", "cached_input", "output"]
API_BATCH_PLAN = "batch"  # an API key's plan when the tokens go through the provider's Batch API
PriceStatus = Literal["quoted", "estimated", "input", "missing"]
MissingReason = Literal["no_row", "flagged_missing", "other_currency", "not_in_catalog",
                        "usage_unknown", "not_published"]
CURRENCY = "USD"
"""Currency of every catalog price but the VM snapshot's (hardware, electricity, platform, API and
on-premises rates are USD tables). A plan is priced in the snapshot's currency; a USD catalog price
under a snapshot in another currency is missing (``other_currency``), never converted silently."""


@dataclass(frozen=True)
class PriceKey:
    """Which price a cost component needs: a VM size in a region under a plan, a platform fee, a
    machine's purchase price, a region's electricity tariff, an API's token price, a rate for
    owning hardware (colocation per kW-month, staff per hour)."""

    kind: PriceKind
    item: str
    region: str = ""
    plan: str = ""

    def text(self) -> str:
        """The key as people and exports read it, e.g. ``Standard_NC24ads_A100_v4/eastus/payg``."""
        if self.kind == "onprem_rate":
            return self.item
        suffix = {"hardware_purchase": "purchase_usd", "electricity": "electricity",
                  "api_input": "input", "api_cached_input": "cached_input",
                  "api_output": "output", "api_ptu": "ptu"}.get(self.kind)
        parts = ([self.item, self.region, self.plan] if suffix is None
                 else [self.item, suffix, self.plan])
        return "/".join(p for p in parts if p)


def vm_key(sku: str, region: str, plan: str) -> PriceKey:
    return PriceKey("vm", sku, region, plan)


def platform_key(price_id: str, region: str) -> PriceKey:
    return PriceKey("platform", price_id, region)


def hardware_key(hardware_id: str) -> PriceKey:
    return PriceKey("hardware_purchase", hardware_id)


def electricity_key(region: str) -> PriceKey:
    return PriceKey("electricity", region)


def onprem_rate_key(rate_id: str) -> PriceKey:
    """A rate for owning hardware: ``colocation_usd_per_kw_month`` or ``staff_usd_per_hour``."""
    return PriceKey("onprem_rate", rate_id)


def api_key(api_id: str, direction: ApiDirection, batch: bool = False) -> PriceKey:
    """An API's token price: list price, or the Batch API's (``batch``), per 1M tokens."""
    return PriceKey(f"api_{direction}", api_id,  # type: ignore[arg-type]
                    plan=API_BATCH_PLAN if batch else "")


def api_ptu_key(api_id: str) -> PriceKey:
    """A hosted model's provisioned-throughput rate, USD per PTU-hour (Global, hourly)."""
    return PriceKey("api_ptu", api_id, plan="hourly")


@dataclass(frozen=True)
class ResolvedPrice:
    """A price in ``currency`` per the key's unit (None = missing, with ``missing_reason``)."""

    value: float | None
    status: PriceStatus
    source: str = ""
    currency: str = CURRENCY
    note: str = ""
    missing_reason: MissingReason | None = None
    as_of: dt.date | None = None  # the date of the reference row the price comes from


def _missing(reason: MissingReason, source: str = "", note: str = "",
             currency: str = CURRENCY) -> ResolvedPrice:
    return ResolvedPrice(None, "missing", source, currency, note, reason)


@dataclass
class PriceResolver:
    """Resolves keys against the catalog, with scenario overrides first. Results are memoised,
    so resolving the same key for many options costs one lookup."""

    catalog: Catalog
    overrides: Mapping[PriceKey, float] = field(default_factory=dict)
    _memo: dict[PriceKey, ResolvedPrice] = field(default_factory=dict, repr=False)

    def with_overrides(self, overrides: Mapping[PriceKey, float]) -> PriceResolver:
        """The same catalog with these overrides on top (self when they add nothing, so a key
        resolved once stays memoised when the plan and its cost builder both apply them)."""
        if all(self.overrides.get(key) == value for key, value in overrides.items()):
            return self
        return PriceResolver(self.catalog, {**self.overrides, **overrides})

    def resolve(self, key: PriceKey) -> ResolvedPrice:
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._resolve(key)
        return hit

    @property
    def currency(self) -> str:
        """The currency every resolved price is in: the price snapshot's."""
        return self.catalog.prices_currency

    def _resolve(self, key: PriceKey) -> ResolvedPrice:
        currency = self.currency
        if key in self.overrides:  # the user's figure, read in the plan's currency
            return ResolvedPrice(self.overrides[key], "input", "scenario input", currency)
        price = _FROM_CATALOG[key.kind](self.catalog, key)
        if key.kind == "vm" or price.value is None or currency == CURRENCY:
            return price
        return _missing("other_currency", price.source,
                        f"catalog price is in {CURRENCY}, the price snapshot in {currency}",
                        currency)


def _vm(catalog: Catalog, key: PriceKey) -> ResolvedPrice:
    row = catalog.price(key.item, key.region, key.plan)
    if row is None:
        return _missing("no_row")
    if row.status == "missing":
        return _missing("flagged_missing", row.source, row.notes)
    if row.currency != catalog.prices_currency:
        return _missing("other_currency", row.source, f"snapshot price is in {row.currency}",
                        catalog.prices_currency)
    return ResolvedPrice(row.price_per_hour, row.status, row.source, row.currency,
                         as_of=row.as_of)


def _platform(catalog: Catalog, key: PriceKey) -> ResolvedPrice:
    row = catalog.platform_price(key.item, key.region)
    if row is None:
        return _missing("not_in_catalog")
    if row.price_per_hour is None:
        return _missing("flagged_missing", row.source, row.notes)
    return ResolvedPrice(row.price_per_hour, row.status, row.source, as_of=row.as_of)


def _hardware(catalog: Catalog, key: PriceKey) -> ResolvedPrice:
    hw = catalog.local_hardware.get(key.item)
    if hw is None or hw.purchase_usd is None:
        return _missing("not_in_catalog", hw.source if hw else "")
    status: PriceStatus = "estimated" if "purchase_usd" in hw.unconfirmed else "quoted"
    return ResolvedPrice(hw.purchase_usd, status, hw.source, as_of=hw.as_of)


def _electricity(catalog: Catalog, key: PriceKey) -> ResolvedPrice:
    region = catalog.regions.get(key.item)
    if region is None or region.electricity_usd_per_kwh is None:
        return _missing("not_in_catalog")
    status: PriceStatus = ("estimated" if "electricity_usd_per_kwh" in region.unconfirmed
                           else "quoted")
    return ResolvedPrice(region.electricity_usd_per_kwh, status, region.electricity_source,
                         as_of=region.as_of)


def _onprem_rate(catalog: Catalog, key: PriceKey) -> ResolvedPrice:
    row = catalog.onprem_costs.get(key.item)
    if row is None:
        return _missing("not_in_catalog")
    status: PriceStatus = "estimated" if "value" in row.unconfirmed else "quoted"
    return ResolvedPrice(row.value, status, row.source)


def _api(catalog: Catalog, key: PriceKey) -> ResolvedPrice:
    api = catalog.api_models.get(key.item)
    if api is None:
        return _missing("not_in_catalog")
    value = {"api_input": api.input_usd_per_million_tokens,
             "api_cached_input": api.cached_input_usd_per_million_tokens,
             "api_output": api.output_usd_per_million_tokens}[key.kind]
    if value is None:  # e.g. no cached-input price published: missing, never 0
        return _missing("not_published", api.source)
    if key.plan == API_BATCH_PLAN:
        if api.batch_discount is None:
            return _missing("not_published", api.source)
        value = value * (1 - api.batch_discount)  # the Batch API's share off every token price
    return ResolvedPrice(value, "quoted", api.source, as_of=api.as_of)


def _api_ptu(catalog: Catalog, key: PriceKey) -> ResolvedPrice:
    ptu = catalog.api_ptu.get(key.item)
    if ptu is None:
        return _missing("not_in_catalog")
    price = catalog.api_ptu_prices.get(ptu.price_id) if ptu.price_id else None
    if price is None:
        return _missing("not_published", ptu.source)
    status: PriceStatus = "estimated" if "usd_per_ptu" in price.unconfirmed else "quoted"
    return ResolvedPrice(price.usd_per_ptu, status, price.source, as_of=price.as_of,
                         note="unconfirmed: " + price.source if status == "estimated" else "")


_FROM_CATALOG = {"api_ptu": _api_ptu, "vm": _vm, "platform": _platform, "hardware_purchase": _hardware,
                 "electricity": _electricity, "api_input": _api, "api_cached_input": _api,
                 "api_output": _api,
                 "onprem_rate": _onprem_rate}
