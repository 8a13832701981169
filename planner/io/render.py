"""Render lists of flat records as a text table, CSV or JSON (one result, many formats)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise spreadsheet formula injection: text starting with = + - @ tab or CR gets a
    leading apostrophe (the OWASP CSV-injection advice). Numbers are left as numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` without terminal control characters (C0 but tab and newline, DEL, C1): an escape
    sequence in a label or a server's error body never reaches the terminal."""
    return _CONTROL.sub("", text)


def cell_text(value: Any, digits: int = 6) -> str:
    """Text of one cell: floats to ``digits`` significant digits, lists joined with "; "."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.{digits}g}" if abs(value) < 1e15 else repr(value)
    if isinstance(value, (list, tuple)):
        return "; ".join(cell_text(v, digits) for v in value)
    return str(value)


CSV_DIGITS = 12  # enough for cents on any realistic total


def columns_of(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Union of keys in first-seen order."""
    cols: dict[str, None] = {}
    for rec in records:
        for key in rec:
            cols.setdefault(key, None)
    return list(cols)


def to_csv(records: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """CSV text, safe to open in a spreadsheet."""
    cols = list(columns or columns_of(records))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([spreadsheet_safe(c) for c in cols])
    for rec in records:
        writer.writerow([spreadsheet_safe(cell_text(rec.get(c), CSV_DIGITS)) for c in cols])
    return out.getvalue()


def json_safe(data: Any) -> Any:
    """``data`` with every NaN or infinite float replaced by None (JSON has no NaN: unknown is
    null), numpy scalars as Python numbers, through dicts, lists and tuples."""
    if isinstance(data, dict):
        return {k: json_safe(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [json_safe(v) for v in data]
    if hasattr(data, "item") and not isinstance(data, str | bytes):  # numpy scalar
        data = data.item()
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data


def to_json(data: Any) -> str:
    return json.dumps(json_safe(data), indent=2, default=str, allow_nan=False)


def render_json_text(data: Any) -> str:
    """:func:`to_json` with a final newline, as the CLI prints it."""
    return to_json(data) + "\n"


def to_table(records: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
             max_width: int = 40) -> str:
    """A plain fixed-width text table."""
    cols = list(columns or columns_of(records))
    if not cols:
        return "(no rows)\n"

    def clip(text: str) -> str:
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    rows = [[clip(printable(cell_text(rec.get(c)))) for c in cols] for rec in records]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render(records: Sequence[Mapping[str, Any]], fmt: str,
           columns: Sequence[str] | None = None) -> str:
    if fmt == "json":
        return to_json(list(records)) + "\n"
    if fmt == "csv":
        return to_csv(records, columns)
    if fmt == "table":
        return to_table(records, columns)
    raise ValueError(f"unknown format {fmt!r} (choose table, csv or json)")
