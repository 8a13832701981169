"""The refresh: fetch, normalise, merge and write the snapshot, and report what changed.

:func:`refresh_outcome` is the one orchestration both the CLI (``prices refresh``) and the
dashboard's Catalog page run: it sizes the progress display, lets :func:`refresh_snapshot` build the
client and fetch, and turns every API, data or file-system error into a :class:`RefreshFailure`
classified by :func:`failure_kind`. A failure anywhere writes nothing.

Timeouts and delays are seconds; prices are currency units per hour of one VM.
"""

from __future__ import annotations

import datetime as dt
import errno
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
from planner.errors import PlannerError, PriceApiError
from planner.io.files import output_target
from planner.pricing.azure_api.client import RetailPricesClient, Sleep
from planner.pricing.azure_api.errors import (
    EmptyPriceResultError,
    PriceApiConnectionError,
    PriceApiResponseError,
    PriceQueryError,
    short_url,
)
from planner.pricing.azure_api.parse import DuplicateChoice, Page, normalize_items
from planner.pricing.azure_api.query import (
    API_VERSION,
    DEFAULT_BASE_URL,
    PriceType,
    build_queries,
    validate_base_url,
    validate_currency,
    validate_region,
)
from planner.pricing.azure_api.snapshot import (
    PriceMove,
    Snapshot,
    merge_snapshot,
    read_snapshot,
    render_snapshot,
    snapshot_columns,
    write_snapshot_atomic,
)

SKUS_FILE = TABLES["skus"][0]

PLANS_BY_PRICE_TYPE: dict[PriceType | None, tuple[PricingPlan, ...]] = {
    None: PRICING_PLANS,
    "Consumption": ("payg", "spot", "savings-1y", "savings-3y"),
    "Reservation": ("reserved-1y", "reserved-3y"),
    "DevTestConsumption": (),
}

Progress = Callable[[int, int], None]
"""``progress(pages, items)``: running totals after each fetched page."""


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
    backoff_base: float = 1.0,
    max_backoff: float = 60.0,
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
    computes the report without writing. Unless ``client`` is given, one is built from
    ``timeout``, ``max_retries``, ``backoff_base``, ``max_backoff`` (seconds), ``max_pages`` and
    ``sleep``, and closed afterwards.
    """
    out = out_path or DATA_DIR / PRICES_FILE
    output_target(out, "--out")  # a directory or device is refused before any request
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
        base_url, timeout=timeout, max_retries=max_retries, backoff_base=backoff_base,
        max_backoff=max_backoff, max_pages=max_pages, sleep=sleep
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


# --------------------------------------------------------------------------------------------
# The one refresh the CLI and the dashboard both run


QueryProgress = Callable[[int, int, int], None]
"""``progress(pages, items, queries)``: running totals after each fetched page, and the number of
first-page queries the refresh sends (a query's answer may span several pages)."""

FailureKind = Literal["offline", "bad_response", "read-only", "unwritable", "invalid"]

READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
"""OS error numbers meaning the snapshot's folder cannot be written here."""


@dataclass(frozen=True)
class RefreshFailure:
    """A refresh that wrote nothing: the error that stopped it and its :func:`failure_kind`."""

    error: PlannerError | OSError
    kind: FailureKind


def failure_kind(error: PlannerError | OSError) -> FailureKind:
    """What stopped a refresh, for choosing a message.

    ``offline``: the API could not be reached; ``api``: it gave no usable prices (or the request
    could not be built); ``read-only``: an OS error saying the snapshot's folder may not be
    written here (EROFS, EACCES, EPERM); ``unwritable``: any other OS error; ``invalid``: bad
    inputs, an invalid snapshot or one that changed meanwhile.
    """
    if isinstance(error, PriceApiConnectionError):
        return "offline"
    if isinstance(error, PriceApiError):
        return "bad_response"
    if isinstance(error, OSError):
        return "read-only" if error.errno in READ_ONLY_ERRNOS else "unwritable"
    return "invalid"


def query_count(
    regions: Sequence[str] | None,
    currency: str,
    base_url: str,
    out_path: Path,
    skus_path: Path,
    skus: Sequence[str] | None = None,
    price_type: PriceType | None = None,
) -> int:
    """First-page queries a refresh with these inputs sends, resolved as :func:`refresh_snapshot`
    resolves them; 1 when they cannot be resolved (the refresh itself then says why)."""
    try:
        region_list = _resolve_regions(regions, read_snapshot(out_path))
        sku_list = _resolve_skus(skus, load_sku_ids(skus_path))
        return len(build_queries(base_url, currency, region_list, sku_list, price_type))
    except (PlannerError, OSError):
        return 1


def _page_progress(progress: QueryProgress, queries: int) -> Progress:
    """``progress`` as a per-page callback of :func:`refresh_snapshot`, ``queries`` filled in."""

    def on_page(pages: int, items: int) -> None:
        progress(pages, items, queries)

    return on_page


def refresh_outcome(
    regions: Sequence[str] | None,
    currency: str = "USD",
    base_url: str = DEFAULT_BASE_URL,
    out_path: Path | None = None,
    progress: QueryProgress | None = None,
    *,
    skus: Sequence[str] | None = None,
    skus_path: Path | None = None,
    price_type: PriceType | None = None,
    timeout: float = 30.0,
    max_retries: int = 4,
    backoff_base: float = 1.0,
    max_backoff: float = 60.0,
    dry_run: bool = False,
) -> RefreshReport | RefreshFailure:
    """Run :func:`refresh_snapshot` for the CLI or the dashboard: its report, or why nothing was
    written.

    ``progress(pages, items, queries)`` is called after each page (see :data:`QueryProgress`); an
    exception raised there propagates and cancels the refresh. The client is built from
    ``timeout``, ``max_retries``, ``backoff_base`` and ``max_backoff`` (seconds). Every
    PlannerError and OSError becomes a :class:`RefreshFailure`; the old file stays byte-identical.
    """
    out = out_path or DATA_DIR / PRICES_FILE
    skus_file = skus_path or DATA_DIR / SKUS_FILE
    on_page = None
    if progress is not None:
        queries = query_count(regions, currency, base_url, out, skus_file, skus, price_type)
        on_page = _page_progress(progress, queries)
    try:
        return refresh_snapshot(
            regions, currency, base_url, out, on_page, skus=skus, skus_path=skus_file,
            price_type=price_type, timeout=timeout, max_retries=max_retries,
            backoff_base=backoff_base, max_backoff=max_backoff, dry_run=dry_run,
        )
    except (PlannerError, OSError) as exc:
        return RefreshFailure(exc, failure_kind(exc))
