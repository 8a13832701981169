"""Query building (pure): typed inputs -> validated OData ``$filter`` first-page URLs.

The URLs are for ``https://prices.azure.com/api/retail/prices?api-version=2023-01-01-preview``;
lengths are characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlsplit

from planner.pricing.azure_api.errors import PriceQueryError

DEFAULT_BASE_URL = "https://prices.azure.com/api/retail/prices"
API_VERSION = "2023-01-01-preview"
SERVICE_NAME = "Virtual Machines"

PriceType = Literal["Consumption", "Reservation", "DevTestConsumption"]

MAX_URL_LENGTH = 2000
"""Longest first-page URL we build, characters (well under common 8 KiB server limits)."""
MAX_SKUS_PER_QUERY = 10
"""Most ``armSkuName`` terms in one ``or`` group (public clients report errors above ~15)."""

_REGION_RE = re.compile(r"^[a-z0-9]+$")
_SKU_RE = re.compile(r"^Standard_[A-Za-z0-9_]+$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


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
