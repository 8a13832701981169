"""Tables for ``st.dataframe`` as Arrow tables built straight from rows of plain values.

``st.dataframe`` turns a pandas DataFrame into Arrow on every rerun, with checks and copies that
cost ~18 ms of server CPU for the Compare page's 4-row table; an Arrow table it sends as is. The
table is the one pandas would have made of the same rows (``tests/test_fast_render.py``), so
what is shown does not change.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa


def arrow_table(rows: list[dict]) -> pa.Table | pd.DataFrame:
    """The rows (one dict per row, same keys) as the Arrow table of ``pd.DataFrame(rows)``:
    whole numbers with a gap become floats, as pandas makes them; text is a large string. A
    column Arrow cannot type (text and numbers mixed) leaves the rows to pandas and Streamlit,
    which shows such a column as text."""
    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.DataFrame(rows)
    fields = []
    for field, column in zip(table.schema, table.columns, strict=True):
        kind = field.type
        if pa.types.is_string(kind):
            kind = pa.large_string()
        elif pa.types.is_integer(kind) and column.null_count:
            kind = pa.float64()
        fields.append(pa.field(field.name, kind))
    return table.cast(pa.schema(fields))


def arrow_from_frame(df: pd.DataFrame) -> pa.Table | pd.DataFrame:
    """``df`` as the Arrow table ``st.dataframe`` would make of it (pandas' own conversion, the
    index left out: the tables hide it), or ``df`` itself where Arrow cannot type a column and
    Streamlit's own fixes are needed. Worth it for a table converted once and shown often."""
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return df
