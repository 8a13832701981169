"""Azure Retail Prices API client and the price-snapshot refresh.

This is the only module of the planner that talks HTTP (it is the only one importing ``requests``).
Its layers, from the wire up:

1. query building (:func:`build_filter`, :func:`build_queries`): typed inputs -> OData
   ``$filter`` URLs for ``https://prices.azure.com/api/retail/prices?api-version=2023-01-01-preview``;
2. :class:`RetailPricesClient`: follows ``NextPageLink`` with timeouts, retries and paging guards;
3. :func:`normalize_items` (pure): raw API items -> :class:`~planner.catalog.PriceRow` objects
   (Linux only, hourly prices, one row per (sku, region, plan));
4. :func:`merge_snapshot` (pure): old snapshot rows + refreshed rows -> new rows and the diff;
5. snapshot I/O (:func:`read_snapshot`, :func:`write_snapshot_atomic`, :func:`snapshot_status`);
6. :func:`refresh_snapshot`: all of the above, with a progress callback, returning
   :class:`RefreshReport`. A failure anywhere writes nothing.

Units: every ``price_per_hour`` is currency units per hour of one VM; timeouts and delays are
seconds; URL lengths are characters.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import hashlib
import io
import json
import math
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import requests
from pydantic import BaseModel, ConfigDict, ValidationError

from planner.catalog import (
    DATA_DIR,
    PRICES_FILE,
    PRICING_PLANS,
    TABLES,
    AzureSku,
    PriceRow,
    PricingPlan,
    load_rows,
)
from planner.errors import DataError, PlannerError, PriceApiError

DEFAULT_BASE_URL = "https://prices.azure.com/api/retail/prices"
API_VERSION = "2023-01-01-preview"
SERVICE_NAME = "Virtual Machines"
SKUS_FILE = TABLES["skus"][0]

HOURS_PER_TERM: dict[str, int] = {"1 Year": 8760, "3 Years": 26280}
"""Hours in a reservation / savings-plan term (365 and 3 x 365 days)."""
RESERVED_PLAN: dict[str, PricingPlan] = {"1 Year": "reserved-1y", "3 Years": "reserved-3y"}
SAVINGS_PLAN: dict[str, PricingPlan] = {"1 Year": "savings-1y", "3 Years": "savings-3y"}

PriceType = Literal["Consumption", "Reservation", "DevTestConsumption"]
PLANS_BY_PRICE_TYPE: dict[PriceType | None, tuple[PricingPlan, ...]] = {
    None: PRICING_PLANS,
    "Consumption": ("payg", "spot", "savings-1y", "savings-3y"),
    "Reservation": ("reserved-1y", "reserved-3y"),
    "DevTestConsumption": (),
}

MOVE_THRESHOLD = 0.05
"""A price change larger than this fraction of the old price is reported as a move."""
MAX_URL_LENGTH = 2000
"""Longest first-page URL we build, characters (well under common 8 KiB server limits)."""
MAX_SKUS_PER_QUERY = 10
"""Most ``armSkuName`` terms in one ``or`` group (public clients report errors above ~15)."""

_REGION_RE = re.compile(r"^[a-z0-9]+$")
_SKU_RE = re.compile(r"^Standard_[A-Za-z0-9_]+$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_HOURS_UNIT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s+hours?\s*$", re.IGNORECASE)

Sleep = Callable[[float], None]
Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------------------------
# Errors


class PriceQueryError(PriceApiError):
    """The request could not be built from the inputs (bad region, SKU, currency or URL)."""


class PriceApiHttpError(PriceApiError):
    """The API answered with an HTTP error status (after retries for 429 and 5xx)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class PriceApiConnectionError(PriceApiError):
    """The API could not be reached or the response was cut (after retries)."""


class PriceApiResponseError(PriceApiError):
    """A response body was not the documented JSON envelope, or an item was malformed."""


class PriceApiPagingError(PriceApiError):
    """``NextPageLink`` was unsafe: another host, a page already fetched, or too many pages."""


class EmptyPriceResultError(PriceApiError):
    """The API returned nothing usable; the snapshot is left as it was."""


class SnapshotWriteError(PlannerError):
    """The snapshot could not be written safely (nothing was replaced)."""


def _one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace so an error message stays on one line, at most ``limit`` chars."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def short_url(url: str) -> str:
    """A page URL for messages: host, path and ``$skip`` (the filter is long and known)."""
    parts = urlsplit(url)
    skip = dict(parse_qsl(parts.query)).get("$skip")
    where = f"{parts.netloc}{parts.path}"
    return _one_line(f"{where} ($skip={skip})" if skip else where, 160)


# --------------------------------------------------------------------------------------------
# Query building


def odata_quote(value: str) -> str:
    """An OData string literal: single quotes around, embedded quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def validate_region(region: str) -> str:
    """Return ``region`` if it is an ARM region name (lower-case letters/digits), else raise."""
    if not _REGION_RE.match(region):
        raise PriceQueryError(f"invalid region {region!r} (expected an ARM name like 'eastus')")
    return region


def validate_sku(sku: str) -> str:
    """Return ``sku`` if it is an ARM VM size name (``Standard_...``), else raise."""
    if not _SKU_RE.match(sku):
        raise PriceQueryError(
            f"invalid SKU {sku!r} (expected an ARM size like 'Standard_NC24ads_A100_v4')"
        )
    return sku


def validate_currency(currency: str) -> str:
    """Return ``currency`` if it is a three-letter upper-case ISO 4217 code, else raise."""
    if not _CURRENCY_RE.match(currency):
        raise PriceQueryError(f"invalid currency {currency!r} (expected e.g. 'USD')")
    return currency


def validate_base_url(base_url: str) -> str:
    """Return the API endpoint URL without a trailing slash; it must be http(s) without a query."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PriceQueryError(f"invalid base URL {base_url!r} (expected http(s)://host/path)")
    if parts.query or parts.fragment:
        raise PriceQueryError(f"base URL must not carry a query or fragment: {base_url!r}")
    return base_url.rstrip("/")


def build_filter(
    region: str,
    skus: Sequence[str],
    price_type: PriceType | None = None,
    service_name: str = SERVICE_NAME,
) -> str:
    """OData ``$filter`` for one region and a group of SKUs (``or``-ed), optionally one price type.

    Filter values are case-sensitive in api-version 2023-01-01-preview, so names are passed as is.
    """
    if not skus:
        raise PriceQueryError("at least one SKU is needed to build a price query")
    validate_region(region)
    sku_terms = [f"armSkuName eq {odata_quote(validate_sku(sku))}" for sku in skus]
    sku_clause = sku_terms[0] if len(sku_terms) == 1 else "(" + " or ".join(sku_terms) + ")"
    clauses = [
        f"serviceName eq {odata_quote(service_name)}",
        f"armRegionName eq {odata_quote(region)}",
        sku_clause,
    ]
    if price_type is not None:
        clauses.append(f"priceType eq {odata_quote(price_type)}")
    return " and ".join(clauses)


def build_query_url(base_url: str, currency: str, odata_filter: str) -> str:
    """First-page URL: ``api-version``, quoted ``currencyCode`` and the percent-encoded filter."""
    return (
        f"{validate_base_url(base_url)}?api-version={API_VERSION}"
        f"&currencyCode={quote(odata_quote(validate_currency(currency)), safe='')}"
        f"&$filter={quote(odata_filter, safe='()')}"
    )


@dataclass(frozen=True)
class PriceQuery:
    """One first-page request: a region and the SKUs its filter names."""

    region: str
    skus: tuple[str, ...]
    url: str


def build_queries(
    base_url: str,
    currency: str,
    regions: Sequence[str],
    skus: Sequence[str],
    price_type: PriceType | None = None,
    max_url_length: int = MAX_URL_LENGTH,
    max_skus_per_query: int = MAX_SKUS_PER_QUERY,
) -> list[PriceQuery]:
    """Split (regions x SKUs) into first-page queries, each URL at most ``max_url_length`` chars.

    SKUs are grouped greedily in the given order; every (region, SKU) pair appears exactly once.
    """
    if max_skus_per_query < 1:
        raise PriceQueryError("max_skus_per_query must be at least 1")
    queries: list[PriceQuery] = []
    for region in regions:
        group: list[str] = []
        for sku in skus:
            candidate = [*group, sku]
            url = build_query_url(base_url, currency, build_filter(region, candidate, price_type))
            if len(candidate) <= max_skus_per_query and len(url) <= max_url_length:
                group = candidate
                continue
            if not group:
                raise PriceQueryError(
                    f"a query for {sku} in {region} alone is longer than {max_url_length} chars"
                )
            queries.append(_query(base_url, currency, region, group, price_type))
            group = [sku]
            if len(_query(base_url, currency, region, group, price_type).url) > max_url_length:
                raise PriceQueryError(
                    f"a query for {sku} in {region} alone is longer than {max_url_length} chars"
                )
        if group:
            queries.append(_query(base_url, currency, region, group, price_type))
    return queries


def _query(
    base_url: str, currency: str, region: str, skus: Sequence[str], price_type: PriceType | None
) -> PriceQuery:
    url = build_query_url(base_url, currency, build_filter(region, skus, price_type))
    return PriceQuery(region=region, skus=tuple(skus), url=url)


# --------------------------------------------------------------------------------------------
# URL helpers for paging guards


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, lower-case host, port) with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        port = 443 if scheme == "https" else 80
    return scheme, (parts.hostname or "").lower(), port


def same_origin(url: str, base_url: str) -> bool:
    """True if ``url`` has the scheme, host and (default-filled) port of ``base_url``.

    ``https://prices.azure.com:443/...`` (as the API writes NextPageLink) matches
    ``https://prices.azure.com/...``.
    """
    return _origin(url) == _origin(base_url)


def page_identity(url: str) -> tuple[tuple[str, str, int], str, tuple[tuple[str, str], ...]]:
    """A canonical form of a page URL: origin, path and the sorted, decoded query pairs."""
    parts = urlsplit(url)
    pairs = tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return _origin(url), parts.path.rstrip("/") or "/", pairs


# --------------------------------------------------------------------------------------------
# Retry timing


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait per a ``Retry-After`` header (delta-seconds or HTTP-date); None if unusable.

    A date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def retry_delay(attempt: int, retry_after: float | None, backoff_base: float, cap: float) -> float:
    """Seconds to sleep before retry number ``attempt`` (0-based).

    ``Retry-After`` wins when given; otherwise exponential backoff ``backoff_base * 2**attempt``.
    Either is capped at ``cap`` seconds.
    """
    delay = retry_after if retry_after is not None else backoff_base * (2**attempt)
    return min(max(0.0, delay), cap)


# --------------------------------------------------------------------------------------------
# Client


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
            f"response is not valid JSON ({_one_line(str(exc), 80)}) from {short_url(url)}"
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


class RetailPricesClient:
    """HTTP client for the Azure Retail Prices API.

    ``timeout`` applies to connecting and to each read, seconds. 429 and 5xx answers, connection
    errors, timeouts and cut bodies are retried ``max_retries`` times, sleeping per
    :func:`retry_delay` (``Retry-After`` honoured, capped at ``max_backoff`` seconds); anything else
    raises a :class:`PriceApiError` subclass. ``sleep`` is injectable so tests never wait.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff_base: float = 1.0,
        max_backoff: float = 60.0,
        max_pages: int = 500,
        sleep: Sleep = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        if not (timeout > 0 and math.isfinite(timeout)):
            raise PriceQueryError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if max_retries < 0 or max_pages < 1:
            raise PriceQueryError("max_retries must be >= 0 and max_pages >= 1")
        self.base_url = validate_base_url(base_url)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self.max_pages = max_pages
        self.sleep = sleep
        if session is None:
            session = requests.Session()
            session.headers.update(
                {"Accept": "application/json", "User-Agent": "planner-price-refresh/0.1"}
            )
        self._session = session

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def __enter__(self) -> RetailPricesClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_page(self, url: str) -> Page:
        """GET one page, retrying transient failures; returns the parsed page."""
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response = self._session.get(url, timeout=self.timeout, allow_redirects=False)
                body = response.content
            except requests.Timeout as exc:
                problem = f"timed out after {self.timeout:g} s"
                cause: Exception = exc
            except requests.RequestException as exc:
                problem = f"connection failed ({type(exc).__name__}: {_one_line(str(exc), 120)})"
                cause = exc
            else:
                status = response.status_code
                if status == 200:
                    return parse_page(url, body)
                if status != 429 and status < 500:
                    detail = _one_line(body.decode("utf-8", "replace"), 120)
                    where = response.headers.get("Location") if 300 <= status < 400 else None
                    raise PriceApiHttpError(
                        f"HTTP {status} from {short_url(url)}"
                        + (f" (redirect to {where} refused)" if where else "")
                        + (f": {detail}" if detail and not where else ""),
                        status,
                    )
                problem = f"HTTP {status}"
                cause = PriceApiHttpError(f"HTTP {status} from {short_url(url)}", status)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if attempt >= self.max_retries:
                message = f"{problem} from {short_url(url)} (gave up after {attempt + 1} attempts)"
                if isinstance(cause, PriceApiHttpError):
                    raise PriceApiHttpError(message, cause.status) from cause
                raise PriceApiConnectionError(message) from cause
            self.sleep(retry_delay(attempt, retry_after, self.backoff_base, self.max_backoff))
            attempt += 1

    def iter_pages(self, url: str) -> Iterator[Page]:
        """Yield the page at ``url`` and every page its ``NextPageLink`` chain leads to.

        Refuses (PriceApiPagingError) a link to another origin than the base URL, a link back to a
        page already fetched, and more than ``max_pages`` pages.
        """
        if not same_origin(url, self.base_url):
            raise PriceApiPagingError(f"refusing to fetch {short_url(url)}: not on {self.base_url}")
        seen = {page_identity(url)}
        contents: dict[str, int] = {}
        fetched = 0
        while True:
            page = self.get_page(url)
            fetched += 1
            if page.items:
                digest = hashlib.sha256(json.dumps(page.items, sort_keys=True).encode()).hexdigest()
                if digest in contents:
                    raise PriceApiPagingError(
                        f"page {fetched} ({short_url(url)}) repeats the items of page "
                        f"{contents[digest]}: the paging is broken; refresh again later")
                contents[digest] = fetched
            yield page
            if page.next_page_link is None:
                return
            next_url = urljoin(url, page.next_page_link)
            if not same_origin(next_url, self.base_url):
                raise PriceApiPagingError(
                    f"NextPageLink {_one_line(next_url, 120)} is not on {self.base_url}; refused"
                )
            identity = page_identity(next_url)
            if identity in seen:
                raise PriceApiPagingError(
                    f"NextPageLink loops back to a page already fetched: {short_url(next_url)}"
                )
            if fetched >= self.max_pages:
                raise PriceApiPagingError(
                    f"more than {self.max_pages} pages; stopped at {short_url(url)}"
                )
            seen.add(identity)
            url = next_url

    def fetch_items(self, url: str, on_page: Callable[[Page], None] | None = None) -> list[dict]:
        """All items of the chain starting at ``url``; ``on_page`` is called after each page."""
        items: list[dict] = []
        for page in self.iter_pages(url):
            items.extend(page.items)
            if on_page is not None:
                on_page(page)
        return items


# --------------------------------------------------------------------------------------------
# Normalisation (pure)


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
    return hours if hours > 0 else None


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
        return [row], None
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
    for key in sorted(candidates, key=_key_order):
        ranked = sorted(candidates[key], key=lambda pair: _preference(*pair), reverse=True)
        chosen.append(ranked[0][0])
        if len(ranked) > 1:
            duplicates.append(
                DuplicateChoice(key=key, kept=ranked[0][0], dropped=tuple(r for r, _ in ranked[1:]))
            )
    return NormalizedPrices(rows=tuple(chosen), duplicates=tuple(duplicates), skipped=dict(skipped))


def _key_order(key: tuple[str, str, str]) -> tuple[str, str, int]:
    sku, region, plan = key
    return sku, region, PRICING_PLANS.index(plan)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Merge and diff (pure)


@dataclass(frozen=True)
class PriceMove:
    """A refreshed key whose hourly price moved by more than the threshold."""

    old: PriceRow
    new: PriceRow

    @property
    def change(self) -> float:
        """Relative change, fraction of the old price (+0.05 = 5 % dearer)."""
        return (self.new.price_per_hour or 0.0) / (self.old.price_per_hour or 1.0) - 1.0


@dataclass(frozen=True)
class MergeResult:
    """New snapshot content plus the diff against the old one.

    ``entries`` keeps the old file's order: a ``dict`` entry is an untouched old CSV row (written
    back verbatim), a :class:`PriceRow` is a refreshed or new row.
    """

    entries: tuple[PriceRow | dict[str, str], ...]
    added: tuple[PriceRow, ...]
    removed: tuple[PriceRow, ...]
    moved: tuple[PriceMove, ...]
    filled: tuple[PriceRow, ...]
    updated: int
    kept: int


def merge_snapshot(
    old_rows: Sequence[PriceRow],
    old_raw: Sequence[dict[str, str]],
    new_rows: Iterable[PriceRow],
    scope: set[tuple[str, str]],
    plans: Iterable[str],
    move_threshold: float = MOVE_THRESHOLD,
) -> MergeResult:
    """Merge refreshed rows into the old snapshot.

    ``scope`` holds the (sku, region) pairs the refresh covered and ``plans`` the plans it could
    produce. Old rows outside the scope are kept verbatim. Inside it, a returned key replaces the
    old row; a key the API no longer returns is removed if it was ``quoted`` and kept if it was
    ``missing`` or ``estimated`` (those never came from the API).
    """
    plan_set = set(plans)
    fresh = {row.key: row for row in new_rows}
    entries: list[PriceRow | dict[str, str]] = []
    removed: list[PriceRow] = []
    moved: list[PriceMove] = []
    filled: list[PriceRow] = []
    updated = kept = 0
    for old, raw in zip(old_rows, old_raw, strict=True):
        in_scope = (old.sku, old.region) in scope and old.plan in plan_set
        new = fresh.pop(old.key, None) if in_scope else None
        if new is None:
            if in_scope and old.status == "quoted":
                removed.append(old)
            else:
                entries.append(raw)
                kept += 1
            continue
        entries.append(new)
        updated += 1
        if old.price_per_hour is None:
            filled.append(new)
        elif new.price_per_hour is not None:
            move = PriceMove(old=old, new=new)
            if abs(move.change) > move_threshold:
                moved.append(move)
    added = [fresh[key] for key in sorted(fresh, key=_key_order)]
    entries.extend(added)
    return MergeResult(
        entries=tuple(entries),
        added=tuple(added),
        removed=tuple(removed),
        moved=tuple(moved),
        filled=tuple(filled),
        updated=updated,
        kept=kept,
    )


# --------------------------------------------------------------------------------------------
# Snapshot I/O


DEFAULT_COLUMNS: tuple[str, ...] = tuple(PriceRow.model_fields)


@dataclass(frozen=True)
class Snapshot:
    """A price snapshot as read from disk (or an empty one if the file does not exist)."""

    path: Path
    exists: bool
    content: bytes
    header: tuple[str, ...]
    rows: tuple[PriceRow, ...]
    raw: tuple[dict[str, str], ...]
    newline: str


def read_snapshot(path: Path) -> Snapshot:
    """Read and validate a snapshot CSV; a missing file gives an empty snapshot.

    Raises DataError (from :func:`planner.catalog.load_rows`) for an invalid file or duplicate keys.
    """
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return Snapshot(path, False, b"", DEFAULT_COLUMNS, (), (), "\n")
    rows = load_rows(path, PriceRow)
    text = content.decode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    raw = [dict(row) for row in reader]
    header = tuple(reader.fieldnames or DEFAULT_COLUMNS)
    seen: set[tuple[str, str, str]] = set()
    for row in rows:
        if row.key in seen:
            raise DataError(f"{path.name}: duplicate price {row.key}")
        seen.add(row.key)
    newline = "\r\n" if "\r\n" in text else "\n"
    return Snapshot(path, True, content, header, tuple(rows), tuple(raw), newline)


def row_to_csv(row: PriceRow) -> dict[str, str]:
    """A PriceRow as CSV cells: empty for None, ISO dates, ``;``-joined lists, exact floats."""
    cells: dict[str, str] = {}
    for name in PriceRow.model_fields:
        value = getattr(row, name)
        if value is None:
            cells[name] = ""
        elif isinstance(value, float):
            cells[name] = repr(value)
        elif isinstance(value, dt.date):
            cells[name] = value.isoformat()
        elif isinstance(value, tuple):
            cells[name] = ";".join(value)
        else:
            cells[name] = str(value)
    return cells


def snapshot_columns(
    header: Sequence[str], rows: Iterable[PriceRow]
) -> tuple[list[str], list[str]]:
    """The CSV header to write: the old one, plus PriceRow fields it lacks that rows fill in.

    Returns (columns, added_columns).
    """
    columns = list(header)
    added: list[str] = []
    cells = [row_to_csv(row) for row in rows]
    for name in PriceRow.model_fields:
        if name not in columns and any(c[name] for c in cells):
            columns.append(name)
            added.append(name)
    return columns, added


def render_snapshot(
    columns: Sequence[str], entries: Iterable[PriceRow | dict[str, str]], newline: str = "\n"
) -> str:
    """The CSV text of a snapshot."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(
        buffer, fieldnames=list(columns), restval="", extrasaction="ignore", lineterminator=newline
    )
    writer.writeheader()
    for entry in entries:
        writer.writerow(row_to_csv(entry) if isinstance(entry, PriceRow) else entry)
    return buffer.getvalue()


def write_snapshot_atomic(
    path: Path, text: str, expected_old: bytes | None = None, *, expect_absent: bool = False
) -> None:
    """Write ``text`` to ``path`` atomically: temp file in the same folder, fsync, os.replace.

    The temp file is validated with ``load_rows(PriceRow)`` before it replaces anything. If
    ``expected_old`` is given and ``path`` no longer holds those bytes, or ``expect_absent`` and
    ``path`` now exists (someone else wrote it meanwhile), nothing is replaced. The old file's
    permission bits are kept (0o644 for a new file).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        load_rows(tmp, PriceRow)
        try:
            current: bytes | None = path.read_bytes()
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            current, mode = None, 0o644
        if (expected_old is not None and current != expected_old) or (
            expect_absent and current is not None
        ):
            raise SnapshotWriteError(f"{path} changed while refreshing; nothing written")
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Persist a rename on POSIX; a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class SnapshotStatus:
    """Summary of a snapshot for ``prices status`` and the dashboard."""

    path: Path
    rows: int
    by_status: Mapping[str, int]
    regions: tuple[str, ...]
    newest_as_of: dt.date | None
    age_days: int | None
    oldest_price_as_of: dt.date | None
    """Oldest ``as_of`` among rows that carry a price (quoted or estimated)."""
    oldest_price_age_days: int | None


def snapshot_status(path: Path, today: dt.date | None = None) -> SnapshotStatus:
    """Row count, status counts, regions, newest ``as_of`` and its age in days (vs ``today``).

    ``newest_as_of`` covers every row (as :attr:`Catalog.prices_as_of` does); since ``missing`` rows
    carry the date they were searched for, the oldest priced row is reported too.
    Raises DataError if the file is missing or invalid.
    """
    rows = load_rows(path, PriceRow)
    newest = max((row.as_of for row in rows), default=None)
    oldest_price = min((row.as_of for row in rows if row.price_per_hour is not None), default=None)
    today = today or dt.date.today()
    return SnapshotStatus(
        path=path,
        rows=len(rows),
        by_status=dict(Counter(row.status for row in rows)),
        regions=tuple(sorted({row.region for row in rows})),
        newest_as_of=newest,
        age_days=(today - newest).days if newest else None,
        oldest_price_as_of=oldest_price,
        oldest_price_age_days=(today - oldest_price).days if oldest_price else None,
    )


def snapshot_age_days(path: Path, today: dt.date | None = None) -> int | None:
    """Days from the snapshot's newest ``as_of`` to ``today``; None for a snapshot with no rows."""
    return snapshot_status(path, today).age_days


# --------------------------------------------------------------------------------------------
# Refresh


@dataclass(frozen=True)
class RefreshReport:
    """What a refresh fetched, decided and (unless ``dry_run``) wrote."""

    out_path: Path
    written: bool
    as_of: dt.date
    currency: str
    regions: tuple[str, ...]
    skus: tuple[str, ...]
    queries: int
    pages: int
    items: int
    rows_refreshed: int
    rows_written: int
    added: tuple[PriceRow, ...]
    removed: tuple[PriceRow, ...]
    moved: tuple[PriceMove, ...]
    filled: tuple[PriceRow, ...]
    updated: int
    kept: int
    duplicates: tuple[DuplicateChoice, ...]
    skipped: Mapping[str, int]
    warnings: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """True if any key was added, removed, filled or moved beyond the threshold."""
        return bool(self.added or self.removed or self.moved or self.filled)


def load_sku_ids(skus_path: Path) -> list[str]:
    """SKU ids of the catalog's ``azure_skus.csv`` (validated), in file order."""
    return [sku.id for sku in load_rows(skus_path, AzureSku)]


def _resolve_skus(requested: Sequence[str] | None, known: Sequence[str]) -> tuple[str, ...]:
    if requested is None:
        return tuple(sorted(set(known)))
    unknown = sorted(set(requested) - set(known))
    if unknown:
        raise PriceQueryError(f"SKU(s) not in {SKUS_FILE}: {', '.join(unknown)}")
    if not requested:
        raise PriceQueryError("no SKUs to refresh")
    return tuple(sorted(set(requested)))


def _resolve_regions(requested: Sequence[str] | None, old: Snapshot) -> tuple[str, ...]:
    if requested is None:
        regions = {row.region for row in old.rows}
        if not regions:
            raise PriceQueryError(
                f"no regions to refresh: {old.path} is missing or empty; pass regions explicitly"
            )
        return tuple(sorted(regions))
    if not requested:
        raise PriceQueryError("no regions to refresh")
    return tuple(sorted({validate_region(region) for region in requested}))


def source_label(base_url: str) -> str:
    """The ``source`` cell of refreshed rows."""
    return f"Azure Retail Prices API {validate_base_url(base_url)}?api-version={API_VERSION}"


def refresh_snapshot(
    regions: Sequence[str] | None = None,
    currency: str = "USD",
    base_url: str = DEFAULT_BASE_URL,
    out_path: Path | None = None,
    progress: Progress | None = None,
    *,
    skus: Sequence[str] | None = None,
    skus_path: Path | None = None,
    price_type: PriceType | None = None,
    timeout: float = 30.0,
    max_retries: int = 4,
    max_pages: int = 500,
    today: dt.date | None = None,
    sleep: Sleep = time.sleep,
    client: RetailPricesClient | None = None,
    dry_run: bool = False,
) -> RefreshReport:
    """Fetch current prices and merge them into the snapshot at ``out_path``.

    Defaults: ``out_path`` = the shipped snapshot, ``regions`` = those already in it, ``skus`` =
    every SKU of ``skus_path`` (the catalog's azure_skus.csv). ``progress(pages, items)`` is called
    after each page with running totals; an exception raised there cancels the refresh. Any error
    (HTTP, paging, malformed data, an empty result, a concurrent change of the file) raises a
    PlannerError before anything is written: the old file stays byte-identical. ``dry_run``
    computes the report without writing.
    """
    out = out_path or DATA_DIR / PRICES_FILE
    as_of = today or dt.date.today()
    validate_currency(currency)
    base_url = validate_base_url(base_url)
    plans = PLANS_BY_PRICE_TYPE[price_type]
    if not plans:
        raise PriceQueryError(f"price type {price_type!r} yields no retail Linux prices")
    old = read_snapshot(out)
    other_currencies = sorted({row.currency for row in old.rows} - {currency})
    if other_currencies:
        raise PriceQueryError(
            f"{out.name} holds {', '.join(other_currencies)} prices; refusing to mix in {currency} "
            "(write to a new file instead)"
        )
    region_list = _resolve_regions(regions, old)
    sku_list = _resolve_skus(skus, load_sku_ids(skus_path or DATA_DIR / SKUS_FILE))
    queries = build_queries(base_url, currency, region_list, sku_list, price_type)

    pages = items_seen = 0
    all_items: list[dict] = []
    scope: set[tuple[str, str]] = set()
    warnings: list[str] = []

    def on_page(page: Page) -> None:
        nonlocal pages, items_seen
        pages += 1
        items_seen += len(page.items)
        if page.billing_currency and page.billing_currency != currency:
            raise PriceApiResponseError(
                f"page is billed in {page.billing_currency}, not {currency}: {short_url(page.url)}"
            )
        if progress is not None:
            progress(pages, items_seen)

    own_client = client is None
    api = client or RetailPricesClient(
        base_url, timeout=timeout, max_retries=max_retries, max_pages=max_pages, sleep=sleep
    )
    try:
        for query in queries:
            try:
                items = api.fetch_items(query.url, on_page)
            except PriceApiError as exc:
                exc.args = (f"{query.region}: {exc}",)  # keep the type (and status), add context
                raise
            all_items.extend(items)
            if items:
                scope.update((sku, query.region) for sku in query.skus)
            else:
                warnings.append(
                    f"{query.region}: no items for {', '.join(query.skus)}; their rows were kept"
                )
    finally:
        if own_client:
            api.close()
    if not all_items:
        raise EmptyPriceResultError(
            f"the API returned no items for {', '.join(region_list)}; snapshot left unchanged"
        )
    normalized = normalize_items(
        all_items,
        known_skus=sku_list,
        as_of=as_of,
        source=source_label(base_url),
        regions=region_list,
        currency=currency,
    )
    if not normalized.rows:
        raise EmptyPriceResultError(
            f"the API returned {len(all_items)} items but no Linux VM price for the requested "
            "SKUs; snapshot left unchanged"
        )
    merged = merge_snapshot(old.rows, old.raw, normalized.rows, scope, plans)
    fresh_rows = [entry for entry in merged.entries if isinstance(entry, PriceRow)]
    columns, added_columns = snapshot_columns(old.header, fresh_rows)
    if added_columns and old.exists:
        warnings.append(f"added column(s) {', '.join(added_columns)} to {out.name}")
    text = render_snapshot(columns, merged.entries, old.newline)
    if not dry_run:
        expected = old.content if old.exists else None
        write_snapshot_atomic(out, text, expected_old=expected, expect_absent=not old.exists)
    return RefreshReport(
        out_path=out,
        written=not dry_run,
        as_of=as_of,
        currency=currency,
        regions=region_list,
        skus=sku_list,
        queries=len(queries),
        pages=pages,
        items=len(all_items),
        rows_refreshed=len(normalized.rows),
        rows_written=len(merged.entries),
        added=merged.added,
        removed=merged.removed,
        moved=merged.moved,
        filled=merged.filled,
        updated=merged.updated,
        kept=merged.kept,
        duplicates=normalized.duplicates,
        skipped=normalized.skipped,
        warnings=tuple(warnings),
    )


def _price(row: PriceRow) -> str:
    return "missing" if row.price_per_hour is None else f"{row.price_per_hour:.6g} {row.currency}/h"


def _key_text(row: PriceRow) -> str:
    return f"{row.sku} {row.region} {row.plan}"


def report_lines(report: RefreshReport) -> list[str]:
    """Human-readable summary of a refresh, one change per line (for the CLI's stdout)."""
    lines = [
        f"fetched {report.pages} page(s), {report.items} item(s) from {report.queries} "
        f"query(ies): {report.rows_refreshed} price row(s) for {len(report.skus)} SKU(s) in "
        f"{', '.join(report.regions)}"
    ]
    lines += [f"new: {_key_text(row)} {_price(row)}" for row in report.added]
    lines += [f"filled: {_key_text(row)} {_price(row)} (was missing)" for row in report.filled]
    lines += [f"removed: {_key_text(row)} (was {_price(row)})" for row in report.removed]
    lines += [
        f"price: {_key_text(m.new)} {m.old.price_per_hour:.6g} -> {m.new.price_per_hour:.6g} "
        f"{m.new.currency}/h ({m.change * 100:+.1f}%)"
        for m in report.moved
    ]
    for dup in report.duplicates:
        dropped = ", ".join(f"{r.meter_id} ({_price(r)})" for r in dup.dropped)
        lines.append(
            f"duplicate: {' '.join(dup.key)} kept meter {dup.kept.meter_id} ({_price(dup.kept)}, "
            f"effective {dup.kept.effective_start_date}); dropped {dropped}"
        )
    lines += [f"warning: {text}" for text in report.warnings]
    if not report.changed:
        lines.append("no changes above the reporting threshold")
    verb = "wrote" if report.written else "would write (dry run)"
    lines.append(
        f"{verb} {report.out_path} ({report.rows_written} rows: {report.updated} refreshed, "
        f"{len(report.added)} new, {len(report.removed)} removed, {report.kept} kept)"
    )
    return lines
