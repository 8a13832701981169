"""Page parsing and item normalisation (pure): response bodies -> items -> PriceRow objects.

Only Linux retail VM prices are kept, as hourly prices (currency units per hour of one VM), one row
per (sku, region, plan).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from planner.catalog import PRICING_PLANS, PriceRow, PricingPlan
from planner.pricing.azure_api.errors import PriceApiResponseError, one_line, short_url

HOURS_PER_TERM: dict[str, int] = {"1 Year": 8760, "3 Years": 26280}
"""Hours in a reservation / savings-plan term (365 and 3 x 365 days)."""
RESERVED_PLAN: dict[str, PricingPlan] = {"1 Year": "reserved-1y", "3 Years": "reserved-3y"}
SAVINGS_PLAN: dict[str, PricingPlan] = {"1 Year": "savings-1y", "3 Years": "savings-3y"}

_HOURS_UNIT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+hours?\s*$", re.IGNORECASE)
# A billing unit of hours is a whole number of hours (the API writes 1, 10, 100 Hours); anything
# else (e.g. '0.0000001 Hours') would turn a price into an absurd hourly one.
MAX_HOURS_PER_UNIT = 10_000
# Plausible hourly price of a GPU VM in any currency the API serves (USD ~0.1-300; JPY/KRW/INR
# up to ~1,500x that): outside this band an item is refused as implausible, never written.
MIN_HOURLY_PRICE = 1e-3
MAX_HOURLY_PRICE = 1e6


@dataclass(frozen=True)
class Page:
    """One parsed response page."""

    url: str
    items: list[dict[str, Any]]
    next_page_link: str | None
    billing_currency: str | None


def parse_page(url: str, body: bytes) -> Page:
    """Parse one response body into a :class:`Page`; raise PriceApiResponseError if malformed."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PriceApiResponseError(
            f"response is not valid JSON ({one_line(str(exc), 80)}) from {short_url(url)}"
        ) from exc
    except RecursionError as exc:
        raise PriceApiResponseError(f"response is nested too deeply from {short_url(url)}") \
            from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise PriceApiResponseError(
            f"response has an unreadable value ({one_line(str(exc), 80)}) from {short_url(url)}"
        ) from exc
    if not isinstance(data, dict):
        raise PriceApiResponseError(f"response is not a JSON object from {short_url(url)}")
    if "Items" not in data:
        raise PriceApiResponseError(f"response has no 'Items' from {short_url(url)}")
    items = data["Items"]
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise PriceApiResponseError(f"'Items' is not a list of objects in {short_url(url)}")
    link = data.get("NextPageLink")
    if link is not None and not isinstance(link, str):
        raise PriceApiResponseError(f"'NextPageLink' is not a string or null in {short_url(url)}")
    count = data.get("Count")
    if isinstance(count, int) and not isinstance(count, bool) and count != len(items):
        raise PriceApiResponseError(
            f"'Count' is {count} but 'Items' holds {len(items)} entries in {short_url(url)}"
        )
    currency = data.get("BillingCurrency")
    return Page(
        url=url,
        items=items,
        next_page_link=link or None,
        billing_currency=currency if isinstance(currency, str) else None,
    )


class _SavingsRate(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    retailPrice: float
    term: str


class RetailItem(BaseModel):
    """The fields of one API item the planner uses (others are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    currencyCode: str
    retailPrice: float
    armRegionName: str
    armSkuName: str
    effectiveStartDate: dt.datetime
    effectiveEndDate: dt.datetime | None = None
    meterId: str
    meterName: str
    productName: str
    skuName: str
    unitOfMeasure: str
    type: str
    reservationTerm: str | None = None
    tierMinimumUnits: float = 0.0
    isPrimaryMeterRegion: bool = True
    savingsPlan: list[_SavingsRate] | None = None


@dataclass(frozen=True)
class DuplicateChoice:
    """Several meters priced the same (sku, region, plan); ``kept`` won, ``dropped`` lost."""

    key: tuple[str, str, str]
    kept: PriceRow
    dropped: tuple[PriceRow, ...]


@dataclass(frozen=True)
class NormalizedPrices:
    """Result of :func:`normalize_items`: one row per key, plus what was set aside and why."""

    rows: tuple[PriceRow, ...]
    duplicates: tuple[DuplicateChoice, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)


def hours_per_unit(unit_of_measure: str) -> float | None:
    """Hours in one billing unit: ``'1 Hour'`` -> 1, ``'10 Hours'`` -> 10; None if not hours."""
    match = _HOURS_UNIT_RE.match(unit_of_measure)
    if not match:
        return None
    hours = float(match.group(1))
    return hours if hours.is_integer() and 1 <= hours <= MAX_HOURS_PER_UNIT else None


def _ends_with(item: RetailItem, suffix: str) -> bool:
    return item.skuName.strip().endswith(suffix) or item.meterName.strip().endswith(suffix)


def exclusion_reason(item: RetailItem) -> str | None:
    """Why an item is not a retail Linux VM price, or None if it is one.

    Windows (productName ends " Windows"), Cloud Services products, Dev/Test meters and
    Low Priority meters are excluded.
    """
    product = item.productName.strip()
    if item.type.strip() == "DevTestConsumption":
        return "Dev/Test meter"
    if product.endswith(" Windows"):
        return "Windows meter"
    if "Cloud Services" in product:
        return "Cloud Services meter"
    if _ends_with(item, " Low Priority"):
        return "Low Priority meter"
    return None


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1e-4 else repr(value)


def item_rows(
    item: RetailItem, *, as_of: dt.date, source: str
) -> tuple[list[PriceRow], str | None]:
    """Hourly Linux price rows for one API item, or ([], reason) if the item yields none.

    Consumption -> ``payg`` or ``spot`` (skuName/meterName ending " Spot") at
    ``retailPrice / hours-per-unit``; its ``savingsPlan`` rates -> ``savings-1y``/``savings-3y``
    (already hourly). Reservation -> ``reserved-1y``/``reserved-3y`` at
    ``retailPrice / 8760`` or ``/ 26280``: the API gives the whole-term price even though the
    unit says "1 Hour".
    """
    reason = exclusion_reason(item)
    if reason:
        return [], reason
    if item.tierMinimumUnits > 0:
        return [], "tiered price (tierMinimumUnits > 0)"
    if item.effectiveEndDate is not None and item.effectiveEndDate.date() < as_of:
        return [], "expired (effectiveEndDate in the past)"
    if item.effectiveStartDate.date() > as_of:
        return [], "not yet effective (effectiveStartDate in the future)"
    currency = item.currencyCode.strip()
    base = {
        "sku": item.armSkuName.strip(),
        "region": item.armRegionName.strip(),
        "currency": currency,
        "status": "quoted",
        "effective_start_date": item.effectiveStartDate.date(),
        "meter_id": item.meterId.strip(),
        "source": source,
        "as_of": as_of,
    }
    kind = item.type.strip()
    if kind == "Reservation":
        term = (item.reservationTerm or "").strip()
        if term not in RESERVED_PLAN:
            return [], f"unknown reservation term {term!r}"
        if item.retailPrice <= 0:
            return [], "zero or negative price"
        hours = HOURS_PER_TERM[term]
        note = (
            f"{term} reservation: retailPrice {_fmt(item.retailPrice)} {currency} is the "
            f"whole-term price; hourly = {_fmt(item.retailPrice)} / {hours} h"
        )
        row = PriceRow(
            **base, plan=RESERVED_PLAN[term], price_per_hour=item.retailPrice / hours, notes=note
        )
        return _plausible([row])
    if kind != "Consumption":
        return [], f"price type {kind!r}"
    unit_hours = hours_per_unit(item.unitOfMeasure)
    if unit_hours is None:
        return [], f"unit of measure {item.unitOfMeasure!r} is not hours"
    per_unit_note = (
        "" if unit_hours == 1 else f"retailPrice is per {item.unitOfMeasure.strip()}; divided by "
        f"{_fmt(unit_hours)}"
    )
    spot = _ends_with(item, " Spot")
    rows: list[PriceRow] = []
    if item.retailPrice > 0:
        rows.append(
            PriceRow(
                **base,
                plan="spot" if spot else "payg",
                price_per_hour=item.retailPrice / unit_hours,
                notes=per_unit_note,
            )
        )
    if not spot:
        for rate in item.savingsPlan or ():
            term = rate.term.strip()
            if term not in SAVINGS_PLAN or rate.retailPrice <= 0:
                continue
            note = f"{term} savings plan: hourly rate from savingsPlan of meter {item.meterId}"
            if per_unit_note:
                note += f"; {per_unit_note}"
            rows.append(
                PriceRow(
                    **base,
                    plan=SAVINGS_PLAN[term],
                    price_per_hour=rate.retailPrice / unit_hours,
                    notes=note,
                )
            )
    if not rows:
        return [], "zero or negative price"
    return _plausible(rows)


def _plausible(rows: list[PriceRow]) -> tuple[list[PriceRow], str | None]:
    """The rows if every hourly price is inside the plausible band, else none and why."""
    for row in rows:
        if not MIN_HOURLY_PRICE <= (row.price_per_hour or 0.0) <= MAX_HOURLY_PRICE:
            return [], (f"implausible hourly price {_fmt(row.price_per_hour or 0.0)} "
                        f"{row.currency} (outside {MIN_HOURLY_PRICE:g}-{MAX_HOURLY_PRICE:g})")
    return rows, None


def _preference(row: PriceRow, primary: bool) -> tuple[dt.date, bool, str]:
    return (row.effective_start_date or dt.date.min, primary, row.meter_id)


def normalize_items(
    items: Iterable[Mapping[str, Any]],
    *,
    known_skus: Iterable[str],
    as_of: dt.date,
    source: str,
    regions: Iterable[str] | None = None,
    currency: str | None = None,
) -> NormalizedPrices:
    """Turn raw API items into one validated :class:`PriceRow` per (sku, region, plan).

    Keeps only SKUs in ``known_skus`` (and regions in ``regions`` when given). Duplicates for one
    key are resolved deterministically: latest ``effectiveStartDate``, then primary meter region,
    then highest ``meterId``; each is reported in ``duplicates``. Raises PriceApiResponseError for a
    malformed item, or one in another currency than ``currency`` when given.
    """
    sku_set = set(known_skus)
    region_set = set(regions) if regions is not None else None
    skipped: Counter[str] = Counter()
    candidates: dict[tuple[str, str, str], list[tuple[PriceRow, bool]]] = {}
    for index, raw in enumerate(items):
        try:
            item = RetailItem.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(item)"
            meter = raw.get("meterId") if isinstance(raw, Mapping) else None
            raise PriceApiResponseError(
                f"malformed item #{index} (meterId {meter!r}): {where}: {first['msg']}"
            ) from exc
        if item.armSkuName.strip() not in sku_set:
            skipped["SKU not in the catalog"] += 1
            continue
        if region_set is not None and item.armRegionName.strip() not in region_set:
            skipped["region not requested"] += 1
            continue
        if currency is not None and item.currencyCode.strip() != currency:
            raise PriceApiResponseError(
                f"item {item.meterId} is priced in {item.currencyCode!r}, not {currency!r}"
            )
        try:
            rows, reason = item_rows(item, as_of=as_of, source=source)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise PriceApiResponseError(
                f"item {item.meterId} gives an invalid price row: "
                f"{'.'.join(str(p) for p in first['loc']) or '(row)'}: {first['msg']}"
            ) from exc
        if reason:
            skipped[reason] += 1
        for row in rows:
            candidates.setdefault(row.key, []).append((row, item.isPrimaryMeterRegion))
    chosen: list[PriceRow] = []
    duplicates: list[DuplicateChoice] = []
    for key in sorted(candidates, key=key_order):
        ranked = sorted(candidates[key], key=lambda pair: _preference(*pair), reverse=True)
        chosen.append(ranked[0][0])
        if len(ranked) > 1:
            duplicates.append(
                DuplicateChoice(key=key, kept=ranked[0][0], dropped=tuple(r for r, _ in ranked[1:]))
            )
    return NormalizedPrices(rows=tuple(chosen), duplicates=tuple(duplicates), skipped=dict(skipped))


def key_order(key: tuple[str, str, str]) -> tuple[str, str, int]:
    """Sort key of a (sku, region, plan) key: SKU, region, then the plan's place in PRICING_PLANS."""
    sku, region, plan = key
    return sku, region, PRICING_PLANS.index(plan)  # type: ignore[arg-type]
