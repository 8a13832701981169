"""``python -m planner prices ...``: refresh the Azure price snapshot and report its age.

``prices refresh`` fetches Linux hourly prices from the Azure Retail Prices API and merges them into
the snapshot CSV (atomically; a failed refresh leaves the file untouched and exits non-zero).
``prices status`` prints the snapshot's row count, newest ``as_of`` and its age in days.

The refresh is :func:`planner.pricing.azure_api.refresh_outcome`, the one the dashboard's Catalog
page runs too; the package (and its HTTP client) is imported only when a command runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from planner.errors import PlannerError

PRICE_TYPES = ("Consumption", "Reservation")


def _csv_list(value: str) -> list[str]:
    """``'eastus, westeurope'`` -> ``['eastus', 'westeurope']``; an empty list is an error."""
    items = [part.strip() for part in value.split(",") if part.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def _positive_seconds(value: str) -> float:
    """A positive, finite number of seconds."""
    try:
        seconds = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from exc
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return seconds


def _stderr_progress(pages: int, items: int, queries: int) -> None:
    """Running totals on stderr after each page (``queries``, the first-page count, is not shown)."""
    print(f"prices: page {pages} fetched, {items} item(s) so far", file=sys.stderr, flush=True)


def cmd_refresh(args: argparse.Namespace) -> int:
    """Run a refresh and print what changed; errors propagate as PlannerError (exit 2)."""
    from planner.catalog import DATA_DIR, PRICES_FILE
    from planner.pricing.azure_api import SKUS_FILE, RefreshFailure, refresh_outcome, report_lines

    data_dir: Path = args.data_dir or DATA_DIR
    out: Path = args.out or data_dir / PRICES_FILE
    result = refresh_outcome(
        regions=args.regions,
        currency=args.currency,
        base_url=args.base_url,
        out_path=out,
        progress=None if args.quiet else _stderr_progress,
        skus=args.skus,
        skus_path=data_dir / SKUS_FILE,
        price_type=args.price_type,
        timeout=args.timeout,
        max_retries=args.retries,
        dry_run=args.dry_run,
    )
    if isinstance(result, RefreshFailure):
        error = result.error
        if isinstance(error, PlannerError):
            error.args = (f"{error} [nothing written; {out} unchanged]",)  # same type, one line
        raise error
    for line in report_lines(result):
        print(line)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the snapshot's coverage by plan and region, and its oldest and newest price dates."""
    from planner.catalog import DATA_DIR, PRICES_FILE
    from planner.io.render import render_json_text
    from planner.pricing.azure_api import snapshot_status

    path: Path = args.file or (args.data_dir or DATA_DIR) / PRICES_FILE
    status = snapshot_status(path, dt.date.today())
    if args.format == "json":
        sys.stdout.write(render_json_text({
            "snapshot": str(status.path), "rows": status.rows, "by_status": status.by_status,
            "regions": list(status.regions),
            "oldest_price_as_of": status.oldest_price_as_of,
            "oldest_price_age_days": status.oldest_price_age_days,
            "newest_price_as_of": status.newest_price_as_of,
            "newest_row_as_of": status.newest_as_of, "coverage": status.coverage,
            "by_plan_region": status.by_plan_region,
            "dates_by_plan_region": status.dates_by_plan_region}))
        return 0
    counts = ", ".join(f"{name} {count}" for name, count in sorted(status.by_status.items()))
    print(f"snapshot: {status.path}")
    print(f"rows: {status.rows}" + (f" ({counts})" if counts else ""))
    print(f"regions: {len(status.regions)} ({', '.join(status.regions) or 'none'})")
    if status.oldest_price_as_of is not None:
        print(f"oldest priced row as_of: {status.oldest_price_as_of} "
              f"({status.oldest_price_age_days} days old)")
        print(f"newest priced row as_of: {status.newest_price_as_of}")
    print(f"newest as_of: {status.newest_as_of or 'none'} (any row, missing ones included)")
    print(f"age: {'unknown' if status.age_days is None else f'{status.age_days} days'} "
          "(of the newest row; the oldest priced row above is what a plan may rest on)")
    for plan, c in status.coverage.items():
        print(f"coverage {plan}: {int(c['priced'])} of {int(c['pairs'])} size x region pairs "
              f"priced ({c['share']:.0%}; quoted {int(c['quoted'])}, estimated "
              f"{int(c['estimated'])}, missing {int(c['missing'])})")
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    """Re-derive the snapshot's estimated reservation and savings-plan rows (quoted rows untouched)."""
    from planner.catalog import DATA_DIR, PRICES_FILE, AzureSku, load_rows
    from planner.pricing.azure_api import SKUS_FILE
    from planner.pricing.azure_api.estimate import with_estimates
    from planner.pricing.azure_api.snapshot import (
        read_snapshot,
        render_snapshot,
        snapshot_columns,
        write_snapshot_atomic,
    )

    data_dir: Path = args.data_dir or DATA_DIR
    path: Path = args.file or data_dir / PRICES_FILE
    snap = read_snapshot(path)
    series_of = {sku.id: sku.series for sku in load_rows(data_dir / SKUS_FILE, AzureSku)}
    rows = with_estimates(snap.rows, series_of)
    before = sum(r.status == "estimated" for r in snap.rows)
    after = sum(r.status == "estimated" for r in rows)
    print(f"estimated rows: {before} before, {after} after ({len(rows)} rows in all)")
    if not args.dry_run:
        columns, _ = snapshot_columns(snap.header, rows)
        write_snapshot_atomic(path, render_snapshot(columns, rows, snap.newline), snap.content)
        print(f"written: {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``prices`` command group (``refresh``, ``status``)."""
    parser = sub.add_parser("prices", help="Azure price snapshot (refresh, status)")
    actions = parser.add_subparsers(dest="prices_command", required=True, metavar="ACTION")

    refresh = actions.add_parser(
        "refresh",
        help="fetch Linux VM prices from the Azure Retail Prices API into the snapshot",
        description=(
            "Fetch hourly Linux prices (payg, spot, reserved-1y/3y, savings-1y/3y) for the "
            "catalog's GPU SKUs and merge them into the snapshot. Nothing is written on any error."
        ),
    )
    refresh.add_argument("--regions", type=_csv_list, default=None,
                         help="comma-separated ARM regions (default: those in the snapshot)")
    refresh.add_argument("--skus", type=_csv_list, default=None,
                         help="comma-separated VM sizes (default: all in azure_skus.csv)")
    refresh.add_argument("--currency", default="USD", help="ISO currency code (default USD)")
    refresh.add_argument("--base-url", default="https://prices.azure.com/api/retail/prices",
                         help="API endpoint (default: %(default)s)")
    refresh.add_argument("--out", type=Path, default=None,
                         help="snapshot CSV to merge into and replace (default: the shipped one)")
    refresh.add_argument("--data-dir", type=Path, default=None,
                         help="read azure_skus.csv (and the default snapshot) from this folder")
    refresh.add_argument("--price-type", choices=PRICE_TYPES, default=None,
                         help="refresh only Consumption (payg/spot/savings) or Reservation rows")
    refresh.add_argument("--timeout", type=_positive_seconds, default=30.0,
                         help="per-request timeout, seconds (default 30)")
    refresh.add_argument("--retries", type=int, choices=range(0, 11), default=4, metavar="N",
                         help="retries for 429/5xx/network errors, 0-10 (default 4)")
    refresh.add_argument("--dry-run", action="store_true", help="report changes, write nothing")
    refresh.add_argument("--quiet", action="store_true", help="no progress on stderr")
    refresh.set_defaults(handler=cmd_refresh)

    status = actions.add_parser("status", help="row count, newest as_of and age of the snapshot")
    status.add_argument("--file", type=Path, default=None, help="snapshot CSV (default: shipped)")
    status.add_argument("--data-dir", type=Path, default=None,
                        help="use <DIR>/prices/azure_retail_prices.csv")
    status.add_argument("--format", choices=("table", "json"), default="table")
    status.set_defaults(handler=cmd_status)

    estimate = actions.add_parser(
        "estimate", help="derive labelled estimates for unquoted reservation/savings-plan prices",
        description=("For every VM size and region with a pay-as-you-go price, add an estimated "
                     "reserved-1y/3y and savings-1y/3y row where none is quoted, from the quoted "
                     "ratio of the same series (or the median over series); each row names its "
                     "derivation. Quoted rows are never changed."))
    estimate.add_argument("--file", type=Path, default=None, help="snapshot CSV (default: shipped)")
    estimate.add_argument("--data-dir", type=Path, default=None,
                          help="read azure_skus.csv (and the default snapshot) from this folder")
    estimate.add_argument("--dry-run", action="store_true", help="report counts, write nothing")
    estimate.set_defaults(handler=cmd_estimate)
