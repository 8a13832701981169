"""Catalog: every reference table, filterable, with each row's source, date and unconfirmed
fields; and the Azure price snapshot with its age, and a refresh from the Azure Retail Prices API
(endpoint overridable with $PLANNER_PRICES_BASE_URL; the file is <$PLANNER_DATA_DIR or data/>/
prices/azure_retail_prices.csv)."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd
import streamlit as st

from planner.api import (
    PRICES_FILE,
    PRICING_PLANS,
    Catalog,
    Row,
    default_data_dir,
    monthly_from_hourly,
)
from planner.api import price_refresh as ap
from ui import cached
from ui.format import escape_md
from ui.tables import arrow_from_frame

URL = re.compile(r"https?://[^\s,;)'\"]+")
PRICE_STATUSES = ("quoted", "estimated", "missing")
STALE_DAYS = 90
BASE_URL_ENV = "PLANNER_PRICES_BASE_URL"  # another endpoint for the refresh (tests, a mirror)
# The refresh rewrites the server's price file for every visitor: an operator's action, offered
# only when the server is started with PLANNER_ALLOW_PRICE_REFRESH=1.
ALLOW_REFRESH_ENV = "PLANNER_ALLOW_PRICE_REFRESH"
DEFAULT_BASE_URL = ap.DEFAULT_BASE_URL
CURRENCY = "USD"
REFRESH_TIMEOUT_S = 20.0
REFRESH_RETRIES = 2
REFRESH_OUTCOME = "prices.refresh_outcome"
TAB_KEY = "catalog_tab"


def first_url(text: str) -> str | None:
    match = URL.search(text)
    return match.group(0).rstrip(".") if match else None


def frame(rows: Iterable[Row], columns: list[str]) -> pd.DataFrame:
    """Rows as a table: the chosen columns, then provenance (unconfirmed, as of, source, link)."""
    records = []
    for row in rows:
        values = row.model_dump()
        record = {c: _cell(values[c]) for c in columns}
        record["unconfirmed"] = ("⚠ " + ", ".join(row.unconfirmed)) if row.unconfirmed else ""
        record["as_of"] = row.as_of
        record["source"] = row.source
        record["link"] = first_url(row.source)
        record["notes"] = row.notes
        records.append(record)
    return pd.DataFrame(records)


def _cell(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


def text_filter(df: pd.DataFrame, query: str) -> pd.DataFrame:
    """Rows where every word of the query appears somewhere in the row (case-insensitive)."""
    words = query.lower().split()
    if not words or df.empty:
        return df
    haystack = df.apply(lambda row: " ".join("" if pd.isna(v) else str(v) for v in row),
                        axis=1).str.lower()
    mask = pd.Series(True, index=df.index)
    for word in words:
        mask &= haystack.str.contains(word, regex=False)
    return df[mask]


PROVENANCE_CONFIG = {
    "unconfirmed": st.column_config.TextColumn(
        "unconfirmed", help="Fields whose value could not be confirmed from a primary source"),
    "link": st.column_config.LinkColumn("link", display_text="open", width="small"),
    "source": st.column_config.TextColumn("source", width="medium"),
    "notes": st.column_config.TextColumn("notes", width="medium"),
}


def show_table(df: pd.DataFrame, key: str, *, config: dict | None = None,
               placeholder: str = "filter, e.g. a100 eastus", whole: bool = True) -> None:
    """The table with a word filter. ``whole``: ``df`` is a whole reference table (the same for
    every session), so unfiltered it is sent as an Arrow table converted once per process."""
    query = st.text_input("Filter", key=f"filter.{key}", placeholder=placeholder,
                          label_visibility="collapsed")
    shown = text_filter(df, query)
    flagged = int((shown["unconfirmed"] != "").sum()) if "unconfirmed" in shown else 0
    st.caption(f"{len(shown)} of {len(df)} rows"
               + (f" · {flagged} with unconfirmed fields (⚠ column 'unconfirmed')" if flagged else ""))
    data = shown
    if whole and shown is df:
        data = cached.per_catalog(f"arrow.{key}", lambda: arrow_from_frame(df))
    st.dataframe(data, hide_index=True, placeholder="—", key=f"table.{key}",
                 column_config={**PROVENANCE_CONFIG, **(config or {})})


def _frame(key: str, rows: Callable[[], Iterable[Row]], columns: list[str]) -> pd.DataFrame:
    """``frame`` of a whole reference table, built once per process (shared: never changed)."""
    return cached.per_catalog(f"frame.{key}", lambda: frame(rows(), columns))


def models_tab(cat: Catalog) -> None:
    st.caption("Open-weights models: architecture from each model's config file (local and "
               "latent attention included), licence and whether it is OSI-approved, MMLU 5-shot "
               "and MMLU-Pro where published (the settings are in each score's source).")
    show_table(_frame("models", cat.models.values, [
        "id", "name", "release_date", "params_b", "active_params_b", "layers", "attention_heads",
        "kv_heads", "head_dim", "max_context_tokens", "experts", "experts_per_token",
        "kv_lora_rank", "sliding_window", "local_layers", "weight_format", "license",
        "license_osi", "mmlu_5shot", "mmlu_pro"]), "models",
        config={"params_b": st.column_config.NumberColumn("params (B)", format="%.2f"),
                "active_params_b": st.column_config.NumberColumn("active (B)", format="%.2f")})
    st.caption("Hosted models, priced per million tokens:")
    show_table(_frame("api_models", cat.api_models.values, [
        "id", "name", "provider", "input_usd_per_million_tokens",
        "output_usd_per_million_tokens", "mmlu_5shot", "mmlu_pro"]), "api_models",
        config={"input_usd_per_million_tokens": st.column_config.NumberColumn(
                    "input USD/1M", format="$%.3f"),
                "output_usd_per_million_tokens": st.column_config.NumberColumn(
                    "output USD/1M", format="$%.3f")})


def gpus_tab(cat: Catalog) -> None:
    st.caption("Datasheet figures; TFLOPS are dense (no 2:4 sparsity). GB = 10⁹ bytes.")
    show_table(_frame("gpus", cat.gpus.values, [
        "id", "name", "vendor", "mem_gb", "mem_bandwidth_gb_per_s", "fp16_tflops", "fp8_tflops",
        "int8_tops", "tdp_w", "idle_w", "native_precisions"]), "gpus")


def skus_tab(cat: Catalog) -> None:
    st.caption("Azure GPU VM sizes usable as AKS node pools.")
    show_table(cached.per_catalog("frame.skus", lambda: _skus_frame(cat)), "skus")


def _skus_frame(cat: Catalog) -> pd.DataFrame:
    df = frame(cat.skus.values(), ["id", "series", "gpu_id", "gpu_count", "vcpus", "ram_gb",
                                   "retired"])
    df.insert(3, "gpu", [cat.gpus[g].name for g in df["gpu_id"]])
    df.insert(4, "regions priced", [", ".join(cat.sku_regions(s)) for s in df["id"]])
    return df


def hardware_tab(cat: Catalog) -> None:
    st.caption("Machines bought outright. An empty purchase price is unknown, not free: enter "
               "your quote in the editor (More settings).")
    show_table(_frame("hardware", cat.local_hardware.values, [
        "id", "name", "gpu_id", "gpu_count", "purchase_usd", "host_power_w"]), "hardware",
        config={"purchase_usd": st.column_config.NumberColumn("purchase (USD)", format="dollar")})
    st.caption("Regions and sites: PUE, grid carbon intensity, electricity price.")
    show_table(_frame("regions", cat.regions.values, [
        "id", "name", "pue", "grid_gco2_per_kwh", "electricity_usd_per_kwh"]), "regions")


def snapshot_age(cat: Catalog, today: dt.date | None = None) -> None:
    """How old the price snapshot is: its oldest and newest priced rows, and rows by status."""
    today = today or dt.date.today()
    oldest, newest = cat.prices_as_of, cat.prices_newest
    counts = Counter(row.status for row in cat.prices)
    unconfirmed = sum(1 for row in cat.prices if row.unconfirmed)

    def age(day: dt.date | None) -> str:
        if day is None:
            return "—"
        days = (today - day).days
        return f"{days:,} day{'' if days == 1 else 's'}"

    def as_of(day: dt.date | None) -> str | None:
        return None if day is None else f"as of {day}"

    st.markdown(f"**Price snapshot as of {oldest or 'unknown'}** (the oldest priced row: every "
                "price is at least this recent). Linux hourly retail prices in USD; `quoted` = "
                "read from the Azure Retail Prices API or a copy of it, `estimated` = derived "
                "(see notes), `missing` = no confirmed price: the planner flags it and never "
                "uses $0.")
    with st.container(horizontal=True, key="prices_age"):
        st.metric("Age of oldest price", age(oldest), delta=as_of(oldest), delta_color="off",
                  delta_arrow="off", border=True, width=185,
                  help="Days since the as_of date of the oldest row with a price "
                       "(catalog.prices_as_of).")
        st.metric("Age of newest price", age(newest), delta=as_of(newest), delta_color="off",
                  delta_arrow="off", border=True, width=185)
        st.metric("Rows", f"{len(cat.prices):,}",
                  delta=" · ".join(f"{counts.get(s, 0)} {s}" for s in PRICE_STATUSES),
                  delta_color="off", delta_arrow="off", border=True, width=260)
        st.metric("Unconfirmed", f"{unconfirmed:,}", delta="rows flagged",
                  delta_color="off", delta_arrow="off", border=True, width=185,
                  help="Rows whose 'unconfirmed' column names a field that could not be "
                       "confirmed from a primary source (often the as_of date).")
    if oldest is not None and (today - oldest).days > STALE_DAYS:
        st.caption(f":orange[Some prices are more than {STALE_DAYS} days old; Azure prices move, "
                   "spot prices often. Refresh them below where the API can be reached.]")


def prices_tab(cat: Catalog) -> None:
    snapshot_age(cat)
    with st.container(horizontal=True):
        regions = st.multiselect("Regions", sorted({r.region for r in cat.prices}),
                                 key="prices.regions", placeholder="all regions")
        plans = st.multiselect("Plans", list(PRICING_PLANS), key="prices.plans",
                               placeholder="all plans")
        status = st.multiselect("Status", list(PRICE_STATUSES), key="prices.status",
                                placeholder="any status")
    df = cached.per_catalog("frame.prices", lambda: _prices_frame(cat.prices, cat))
    picked = regions or plans or status
    if picked:
        df = df[(df["region"].isin(regions) if regions else True)
                & (df["plan"].isin(plans) if plans else True)
                & (df["status"].isin(status) if status else True)]
    show_table(df, "prices", whole=not picked, config={
        "price_per_hour": st.column_config.NumberColumn("per hour", format="$%.3f"),
        "per GPU-hour": st.column_config.NumberColumn(format="$%.3f"),
        "per month (730 h)": st.column_config.NumberColumn(format="dollar"),
    }, placeholder="filter, e.g. H100 spot")
    st.caption("AKS platform prices (cluster tier, system-pool VM):")
    show_table(_frame("platform", lambda: cat.platform_prices, [
        "id", "region", "description", "price_per_hour", "currency", "status"]), "platform")

    st.divider()
    with st.container(key="prices_refresh_slot"):
        if refresh_allowed():
            refresh_section(cat)
        else:
            st.markdown("**Refreshing prices**")
            st.caption(escape_md(
                "Prices are refreshed by whoever runs this planner, not from this page: a "
                "scheduled job writes a new snapshot that every server reads, so everyone sees "
                "the same prices (see the README, 'Refreshing prices'). The snapshot's dates "
                "are above.") + " From a shell: "
                "`python -m planner prices refresh --regions eastus,westeurope`")


def _prices_frame(rows: list[Row], cat: Catalog) -> pd.DataFrame:
    """Every price row with its GPUs, price per GPU-hour and per month (730 h)."""
    df = frame(rows, ["sku", "region", "plan", "currency", "price_per_hour", "status"])
    if not df.empty:
        gpus = [cat.skus[s].gpu_count for s in df["sku"]]
        df.insert(4, "gpus", gpus)
        df.insert(6, "per GPU-hour", df["price_per_hour"] / df["gpus"])
        df.insert(7, "per month (730 h)", monthly_from_hourly(df["price_per_hour"]))
    return df


def refresh_allowed() -> bool:
    """Whether this server offers the refresh button ($PLANNER_ALLOW_PRICE_REFRESH=1)."""
    return os.environ.get(ALLOW_REFRESH_ENV, "").strip().lower() in ("1", "true", "yes")


# --- refreshing the snapshot from the Azure Retail Prices API --------------------------------


def prices_base_url() -> str:
    """The API endpoint: $PLANNER_PRICES_BASE_URL (tests, mirrors) or Azure's."""
    return os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL


def snapshot_path() -> Path:
    """The snapshot the refresh rewrites: <data dir>/prices/azure_retail_prices.csv, where the
    data dir is $PLANNER_DATA_DIR or the shipped data/ (the same folder the catalog reads)."""
    return default_data_dir() / PRICES_FILE


def short_path(path: Path) -> str:
    """'data/prices/azure_retail_prices.csv': the data folder's name, not the server's layout."""
    try:
        return str(path.relative_to(default_data_dir().parent))
    except ValueError:
        return path.name


def _snapshot_words(cat: Catalog) -> str:
    """'the shipped snapshot dated 2024-08-18', or 'the current snapshot …' once refreshed."""
    refreshed = any(row.source.startswith("Azure Retail Prices API ") for row in cat.prices)
    return (f"the {'current' if refreshed else 'shipped'} snapshot dated {cat.prices_as_of} "
            f"(newest price {cat.prices_newest}), unchanged")


def run_refresh(regions: list[str], cat: Catalog) -> dict:
    """Refresh the snapshot with a progress display; the outcome as a dict for session state.

    Never raises for API, data or file-system errors: they become the outcome's message."""
    out = snapshot_path()
    with st.status("Contacting the Azure Retail Prices API…", expanded=True) as status:
        bar = st.progress(0.0, text="waiting for the first page")

        def progress(pages: int, items: int, queries: int) -> None:
            bar.progress(min(pages / max(queries, 1), 0.99), text=f"page {pages}, {items:,} items")
            status.update(label=f"Fetching prices: page {pages}, {items:,} items")

        result = ap.refresh_outcome(
            regions, CURRENCY, prices_base_url(), out, progress,
            skus_path=default_data_dir() / ap.SKUS_FILE, timeout=REFRESH_TIMEOUT_S,
            max_retries=REFRESH_RETRIES, backoff_base=0.5, max_backoff=5.0)
        if isinstance(result, ap.RefreshFailure):
            status.update(label=FAILURE_LABELS[result.kind], state="error", expanded=False)
            return failure_outcome(result, out, _snapshot_words(cat))
        bar.progress(1.0, text=f"page {result.pages}, {result.items:,} items")
        status.update(label=f"Prices refreshed: {result.pages} pages, {result.items:,} items",
                      state="complete", expanded=False)
    return success_outcome(result, out)


FAILURE_LABELS = {"offline": "Offline", "bad_response": "The API gave no usable prices",
                  "read-only": "Cannot write the snapshot", "unwritable": "Cannot write the snapshot",
                  "invalid": "Refresh failed"}


def failure_outcome(failure: ap.RefreshFailure, out: Path, snapshot: str) -> dict:
    """The session-state outcome of a refresh that wrote nothing; ``snapshot`` names the prices
    still in use."""
    exc = failure.error
    if failure.kind == "offline":
        return {"kind": "offline",
                "text": f"Offline: the Azure Retail Prices API could not be reached ({exc}); "
                        f"using {snapshot}."}
    if failure.kind == "bad_response":
        return {"kind": "failed",
                "text": f"The refresh failed: the Azure Retail Prices API did not give usable "
                        f"prices ({exc}); using {snapshot}."}
    if failure.kind in ("read-only", "unwritable"):
        read_only = failure.kind == "read-only"
        reason = getattr(exc, "strerror", None) or exc
        why = f"{short_path(out.parent)}/ is read-only here ({reason})" if read_only else f"{reason}"
        return {"kind": "readonly" if read_only else "failed",
                "text": f"Cannot write the price snapshot {short_path(out)}: {why}. Nothing "
                        f"was changed; "
                        f"using {snapshot}. In the container image the data folder is "
                        "read-only by design: run 'python -m planner prices refresh' where "
                        "data/ is writable and rebuild, or point PLANNER_DATA_DIR at a "
                        "writable copy of data/."}
    return {"kind": "failed",  # snapshot invalid or changed meanwhile, bad region, …
            "text": f"The refresh failed ({exc}); nothing was written, using {snapshot}."}


def success_outcome(report: ap.RefreshReport, out: Path) -> dict:
    """The session-state outcome of a refresh that rewrote ``out``: a summary and the report."""
    changes = (f"{len(report.added)} new, {len(report.filled)} filled, {len(report.removed)} "
               f"removed, {len(report.moved)} moved by more than "
               f"{ap.MOVE_THRESHOLD:.0%}")
    lines = [line.replace(str(out), short_path(out)) for line in ap.report_lines(report)]
    return {"kind": "success", "lines": lines,
            "text": f"Prices refreshed for {', '.join(report.regions)} as of {report.as_of}: "
                    f"{report.rows_refreshed} price rows fetched, {changes}. {out.name} rewritten "
                    "and reloaded: every page now uses the new prices."}


def show_refresh_outcome(outcome: dict) -> None:
    text = escape_md(outcome["text"])
    if outcome["kind"] == "success":
        st.success(text, icon=":material/check_circle:")
        lines = outcome.get("lines") or []
        st.caption("What changed (new, filled, removed, price moves beyond 5 %, warnings):")
        st.code("\n".join(lines), language=None, wrap_lines=True,
                height=min(40 + 22 * len(lines), 360))
    elif outcome["kind"] == "offline":
        st.warning(text, icon=":material/cloud_off:")
    else:
        st.error(text, icon=":material/error:")


def refresh_section(cat: Catalog) -> None:
    st.markdown("**Refreshing prices**")
    st.caption("Fetches Linux hourly prices (pay-as-you-go, spot, 1- and 3-year reservations "
               "and savings plans) of the catalog's GPU VM sizes from the Azure Retail Prices "
               "API and merges them into the snapshot: refreshed rows replace old ones, prices "
               "the API no longer lists are removed, `missing`/`estimated` rows it does not "
               "cover are kept. The file is replaced atomically; on any error nothing is written.")
    snapshot_regions = sorted({row.region for row in cat.prices})
    options = sorted(set(snapshot_regions) | set(cat.regions))
    left, right = st.columns([3, 1])
    with left:
        regions = st.multiselect("Regions to refresh", options, default=snapshot_regions,
                                 key="prices.refresh_regions",
                                 help="Default: every region already in the snapshot.")
    with right:
        st.text_input("Currency", CURRENCY, disabled=True, key="prices.currency",
                      help="Fixed: every cost the planner adds up (API token prices, hardware "
                           "quotes, electricity) is in USD, and the snapshot refuses to mix "
                           "currencies.")
    clicked = st.button("Refresh from the Azure Retail Prices API", key="prices.refresh",
                        icon=":material/sync:", disabled=not regions, type="primary")
    st.caption(escape_md(f"Prices are fetched in {CURRENCY} only: every cost the planner adds up "
                         "(token prices, hardware quotes, electricity) is in USD, and a snapshot "
                         f"never mixes currencies. Writes {short_path(snapshot_path())} on this "
                         "server (other replicas and fresh containers keep their own copy). From "
                         "a shell: ")
               + "`python -m planner prices refresh --regions eastus,westeurope`")
    if clicked:
        outcome = run_refresh(regions, cat)
        st.session_state[REFRESH_OUTCOME] = outcome
        if outcome["kind"] == "success":
            cached.reload_reference_data()  # every page (and the plans) reads the new prices
            st.rerun()
    outcome = st.session_state.get(REFRESH_OUTCOME)
    if outcome:
        show_refresh_outcome(outcome)


@st.fragment
def _tables() -> None:
    """The reference tables: a change of tab (or a filter in one) reruns only this part (which
    reads the catalog afresh, so a replaced price snapshot is seen here too)."""
    cat = cached.catalog()
    tabs = st.tabs(["Models", "GPUs", "Azure VM sizes", "Prices", "Own hardware & regions"],
                   key=TAB_KEY, on_change="rerun")
    for tab, render in zip(tabs, (models_tab, gpus_tab, skus_tab, prices_tab, hardware_tab),
                           strict=True):
        if tab.open:  # only the tab on show is built and sent
            with tab:
                render(cat)


def main() -> None:
    cat = cached.catalog()
    st.title("Catalog", anchor=False)
    st.caption(f"{len(cat.models)} models, {len(cat.api_models)} hosted models, {len(cat.gpus)} "
               f"GPUs, {len(cat.skus)} Azure VM sizes, {len(cat.prices)} prices "
               f"(snapshot {cat.prices_as_of}). Every row names its source and date; fields that "
               "could not be confirmed are listed in its 'unconfirmed' column.")
    _tables()
    st.caption(escape_md(f"Reference data directory: {cat.data_dir.name}/ (see data/README.md)."))


main()
