"""The snapshot CSV: merge refreshed rows into it (pure), read, render and atomically write it.

Also :func:`snapshot_status` and :func:`snapshot_age_days` for ``prices status`` and the dashboard.
Prices are currency units per hour of one VM; ages are days.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from planner.catalog import PRICING_PLANS, PriceRow, load_rows
from planner.errors import DataError
from planner.io.files import read_capped, write_atomic
from planner.pricing.azure_api.errors import SnapshotWriteError
from planner.pricing.azure_api.parse import key_order

MOVE_THRESHOLD = 0.05
"""A price change larger than this fraction of the old price is reported as a move."""


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
    ``missing`` or ``estimated`` (those never came from the API). A returned key replaces its old
    row wherever the refresh looked, so no key is ever written twice.
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
        # a key the API returned replaces the old row even outside the queried scope (a page may
        # carry items of sizes another query asked for): a snapshot never holds a key twice
        new = fresh.pop(old.key, None)
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
    added = [fresh[key] for key in sorted(fresh, key=key_order)]
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


MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024  # the shipped snapshot is a few MB


def read_snapshot(path: Path) -> Snapshot:
    """Read and validate a snapshot CSV; a missing file gives an empty snapshot.

    Raises DataError (from :func:`planner.catalog.load_rows`) for an invalid file or duplicate keys.
    """
    if not path.exists() and not path.is_symlink():
        return Snapshot(path, False, b"", DEFAULT_COLUMNS, (), (), "\n")
    content = read_capped(path, MAX_SNAPSHOT_BYTES, "price snapshot", DataError)
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
    """Write ``text`` to ``path`` atomically (:func:`planner.io.files.write_atomic`: temp file in the
    same folder, fsync, os.replace; only ever over a regular file; stale temp files of a killed
    write removed first).

    The temp file is validated with ``load_rows(PriceRow)`` before it replaces anything. If
    ``expected_old`` is given and ``path`` no longer holds those bytes, or ``expect_absent`` and
    ``path`` now exists (someone else wrote it meanwhile), nothing is replaced. The old file's
    permission bits are kept (0o644 for a new file).
    """

    def unchanged(target: Path) -> None:
        try:
            current: bytes | None = target.read_bytes()
        except FileNotFoundError:
            current = None
        if (expected_old is not None and current != expected_old) or (
            expect_absent and current is not None
        ):
            raise SnapshotWriteError(f"{path} changed while refreshing; nothing written")

    write_atomic(path, text, what="snapshot", validate=lambda tmp: load_rows(tmp, PriceRow),
                 before_replace=unchanged)


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
    newest_price_as_of: dt.date | None = None
    """Newest ``as_of`` among rows that carry a price."""
    by_plan_region: Mapping[str, Mapping[str, Mapping[str, int]]] = field(default_factory=dict)
    """Rows by plan, then region, then status (quoted / estimated / missing)."""
    coverage: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Per plan: ``pairs`` (VM size x region pairs the snapshot lists at all), ``priced`` (of those,
    with a quoted or estimated price under the plan), ``quoted`` and ``estimated`` (the two parts
    of ``priced``), ``missing`` (pairs - priced) and ``share`` (priced / pairs)."""
    dates_by_plan_region: Mapping[str, Mapping[str, Mapping[str, str]]] = field(
        default_factory=dict)
    """Per plan, then region: ``oldest_as_of`` and ``newest_as_of`` (ISO dates) of the priced rows."""


def snapshot_status(path: Path, today: dt.date | None = None) -> SnapshotStatus:
    """Row count, status counts, regions, newest ``as_of`` and its age in days (vs ``today``).

    ``newest_as_of`` covers every row (as :attr:`Catalog.prices_as_of` does); since ``missing`` rows
    carry the date they were searched for, the oldest priced row is reported too.
    Raises DataError if the file is missing or invalid.
    """
    rows = load_rows(path, PriceRow)
    newest = max((row.as_of for row in rows), default=None)
    oldest_price = min((row.as_of for row in rows if row.price_per_hour is not None), default=None)
    newest_price = max((row.as_of for row in rows if row.price_per_hour is not None), default=None)
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
        newest_price_as_of=newest_price,
        by_plan_region=rows_by_plan_region(rows),
        coverage=plan_coverage(rows),
        dates_by_plan_region=price_dates_by_plan_region(rows),
    )


def rows_by_plan_region(rows: Sequence[PriceRow]) -> dict[str, dict[str, dict[str, int]]]:
    """Row counts by plan, region and status, plans in their registry order."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for plan in PRICING_PLANS:
        by_region: dict[str, Counter] = {}
        for row in rows:
            if row.plan == plan:
                by_region.setdefault(row.region, Counter())[row.status] += 1
        if by_region:
            out[plan] = {region: dict(c) for region, c in sorted(by_region.items())}
    return out


def plan_coverage(rows: Sequence[PriceRow]) -> dict[str, dict[str, float]]:
    """Share of the (VM size, region) pairs the snapshot lists that have a price under each
    plan: the sizes a region sells are those it has any row for."""
    pairs = {(row.sku, row.region) for row in rows}
    out: dict[str, dict[str, float]] = {}
    for plan in PRICING_PLANS:
        priced = [row for row in rows if row.plan == plan and row.price_per_hour is not None]
        quoted = sum(row.status == "quoted" for row in priced)
        out[plan] = {"pairs": len(pairs), "priced": len(priced), "quoted": quoted,
                     "estimated": len(priced) - quoted, "missing": len(pairs) - len(priced),
                     "share": len(priced) / len(pairs) if pairs else 0.0}
    return out


def price_dates_by_plan_region(rows: Sequence[PriceRow]) -> dict[str, dict[str, dict[str, str]]]:
    """Oldest and newest ``as_of`` of the priced rows, by plan and region."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for plan in PRICING_PLANS:
        dates: dict[str, list[dt.date]] = {}
        for row in rows:
            if row.plan == plan and row.price_per_hour is not None:
                dates.setdefault(row.region, []).append(row.as_of)
        if dates:
            out[plan] = {region: {"oldest_as_of": min(d).isoformat(),
                                  "newest_as_of": max(d).isoformat()}
                         for region, d in sorted(dates.items())}
    return out


def snapshot_age_days(path: Path, today: dt.date | None = None) -> int | None:
    """Days from the snapshot's newest ``as_of`` to ``today``; None for a snapshot with no rows."""
    return snapshot_status(path, today).age_days
