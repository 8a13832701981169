"""Azure Retail Prices API client and the price-snapshot refresh.

One network path, everything else pure (or local file I/O for the snapshot), as pvlib's
``iotools`` keep ``get_*`` (fetch) apart from ``parse_*``/``read_*`` (no network), so all but the
fetch is tested offline. From the wire up:

1. :mod:`.query` (pure): typed inputs -> validated OData ``$filter`` first-page URLs for
   ``https://prices.azure.com/api/retail/prices?api-version=2023-01-01-preview``
   (:func:`build_filter`, :func:`build_queries`);
2. :mod:`.client`: :class:`RetailPricesClient` follows ``NextPageLink`` with timeouts, retries and
   paging guards. The only HTTP in the planner (the only module importing ``requests``);
3. :mod:`.parse` (pure): response bodies -> :class:`Page`, and raw API items ->
   :class:`~planner.catalog.PriceRow` objects by :func:`normalize_items` (Linux only, hourly
   prices, one row per (sku, region, plan));
4. :mod:`.snapshot`: :func:`merge_snapshot` (pure) of old and refreshed rows with the diff, and the
   CSV's reading, rendering and atomic writing, :func:`snapshot_status`, :func:`snapshot_age_days`;
5. :mod:`.refresh`: :func:`refresh_snapshot` runs all of the above with a progress callback and
   returns a :class:`RefreshReport`; :func:`refresh_outcome` is the one entry point the CLI
   (``prices refresh``) and the dashboard's Catalog page share: a report, or a
   :class:`RefreshFailure` saying why nothing was written;
6. :mod:`.errors`: the :class:`~planner.errors.PriceApiError` subclasses and
   :class:`SnapshotWriteError`. A failure anywhere writes nothing.

Only ``RetailPricesClient.get_page`` touches the network; a refresh reaches it through
``refresh_outcome`` -> ``refresh_snapshot`` -> ``RetailPricesClient.fetch_items``.

Units: every ``price_per_hour`` is currency units per hour of one VM; timeouts and delays are
seconds; URL lengths are characters; ages are days.
"""

from planner.pricing.azure_api.client import (
    RetailPricesClient,
    next_page_url,
    page_identity,
    parse_retry_after,
    retry_delay,
    same_origin,
)
from planner.pricing.azure_api.errors import (
    EmptyPriceResultError,
    PriceApiConnectionError,
    PriceApiHttpError,
    PriceApiPagingError,
    PriceApiResponseError,
    PriceQueryError,
    SnapshotWriteError,
)
from planner.pricing.azure_api.parse import (
    NormalizedPrices,
    Page,
    RetailItem,
    exclusion_reason,
    hours_per_unit,
    item_rows,
    normalize_items,
    parse_page,
)
from planner.pricing.azure_api.query import (
    DEFAULT_BASE_URL,
    PriceQuery,
    build_filter,
    build_queries,
    build_query_url,
    odata_quote,
)
from planner.pricing.azure_api.refresh import (
    SKUS_FILE,
    RefreshFailure,
    RefreshReport,
    failure_kind,
    load_sku_ids,
    query_count,
    refresh_outcome,
    refresh_snapshot,
    report_lines,
)
from planner.pricing.azure_api.snapshot import (
    DEFAULT_COLUMNS,
    MOVE_THRESHOLD,
    SnapshotStatus,
    merge_snapshot,
    read_snapshot,
    render_snapshot,
    snapshot_age_days,
    snapshot_status,
    write_snapshot_atomic,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_COLUMNS",
    "MOVE_THRESHOLD",
    "SKUS_FILE",
    "EmptyPriceResultError",
    "NormalizedPrices",
    "Page",
    "PriceApiConnectionError",
    "PriceApiHttpError",
    "PriceApiPagingError",
    "PriceApiResponseError",
    "PriceQuery",
    "PriceQueryError",
    "RefreshFailure",
    "RefreshReport",
    "RetailItem",
    "RetailPricesClient",
    "SnapshotStatus",
    "SnapshotWriteError",
    "build_filter",
    "build_queries",
    "build_query_url",
    "exclusion_reason",
    "failure_kind",
    "hours_per_unit",
    "item_rows",
    "load_sku_ids",
    "merge_snapshot",
    "next_page_url",
    "normalize_items",
    "odata_quote",
    "page_identity",
    "parse_page",
    "parse_retry_after",
    "query_count",
    "read_snapshot",
    "refresh_outcome",
    "refresh_snapshot",
    "render_snapshot",
    "report_lines",
    "retry_delay",
    "same_origin",
    "snapshot_age_days",
    "snapshot_status",
    "write_snapshot_atomic",
]
