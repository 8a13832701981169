"""Catalog: every reference table, filterable, with each row's source, date and unconfirmed
fields; and the Azure price snapshot with its date."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd
import streamlit as st

from planner.catalog import PRICING_PLANS, Catalog, Row
from planner.units import HOURS_PER_MONTH
from ui import data
from ui.format import escape_md

URL = re.compile(r"https?://[^\s,;)'\"]+")


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
               placeholder: str = "filter, e.g. a100 eastus") -> None:
    query = st.text_input("Filter", key=f"filter.{key}", placeholder=placeholder,
                          label_visibility="collapsed")
    shown = text_filter(df, query)
    flagged = int((shown["unconfirmed"] != "").sum()) if "unconfirmed" in shown else 0
    st.caption(f"{len(shown)} of {len(df)} rows"
               + (f" · {flagged} with unconfirmed fields (⚠ column 'unconfirmed')" if flagged else ""))
    st.dataframe(shown, hide_index=True, key=f"table.{key}",
                 column_config={**PROVENANCE_CONFIG, **(config or {})})


def models_tab(cat: Catalog) -> None:
    st.caption("Open-weights models: architecture from each model's config file, MMLU 5-shot "
               "where published.")
    show_table(frame(cat.models.values(), [
        "id", "name", "params_b", "active_params_b", "layers", "attention_heads", "kv_heads",
        "head_dim", "max_context_tokens", "experts", "license", "mmlu_5shot"]), "models",
        config={"params_b": st.column_config.NumberColumn("params (B)", format="%.2f"),
                "active_params_b": st.column_config.NumberColumn("active (B)", format="%.2f")})
    st.caption("Hosted models, priced per million tokens:")
    show_table(frame(cat.api_models.values(), [
        "id", "name", "provider", "input_usd_per_million_tokens",
        "output_usd_per_million_tokens", "mmlu_5shot"]), "api_models",
        config={"input_usd_per_million_tokens": st.column_config.NumberColumn(
                    "input USD/1M", format="$%.3f"),
                "output_usd_per_million_tokens": st.column_config.NumberColumn(
                    "output USD/1M", format="$%.3f")})


def gpus_tab(cat: Catalog) -> None:
    st.caption("Datasheet figures; TFLOPS are dense (no 2:4 sparsity). GB = 10⁹ bytes.")
    show_table(frame(cat.gpus.values(), [
        "id", "name", "vendor", "mem_gb", "mem_bandwidth_gb_per_s", "fp16_tflops", "fp8_tflops",
        "int8_tops", "tdp_w", "idle_w", "native_precisions"]), "gpus")


def skus_tab(cat: Catalog) -> None:
    st.caption("Azure GPU VM sizes usable as AKS node pools.")
    df = frame(cat.skus.values(), ["id", "series", "gpu_id", "gpu_count", "vcpus", "ram_gb",
                                   "retired"])
    df.insert(3, "gpu", [cat.gpus[g].name for g in df["gpu_id"]])
    df.insert(4, "regions priced", [", ".join(cat.sku_regions(s)) for s in df["id"]])
    show_table(df, "skus")


def hardware_tab(cat: Catalog) -> None:
    st.caption("Machines bought outright. An empty purchase price is unknown, not free: enter "
               "your quote in the editor (More settings).")
    show_table(frame(cat.local_hardware.values(), [
        "id", "name", "gpu_id", "gpu_count", "purchase_usd", "host_power_w"]), "hardware",
        config={"purchase_usd": st.column_config.NumberColumn("purchase (USD)", format="dollar")})
    st.caption("Regions and sites: PUE, grid carbon intensity, electricity price.")
    show_table(frame(cat.regions.values(), [
        "id", "name", "pue", "grid_gco2_per_kwh", "electricity_usd_per_kwh"]), "regions")


def prices_tab(cat: Catalog) -> None:
    statuses = pd.Series([row.status for row in cat.prices]).value_counts()
    st.markdown(f"**Price snapshot as of {cat.prices_as_of}** (the newest priced row). Linux "
                "hourly retail prices in USD; `quoted` = read from the Azure Retail Prices API "
                "or a copy of it, `estimated` = derived (see notes), `missing` = no confirmed "
                "price: the planner flags it and never uses $0.")
    st.caption(" · ".join(f"{count} {status}" for status, count in statuses.items()))
    with st.container(horizontal=True):
        regions = st.multiselect("Regions", sorted({r.region for r in cat.prices}),
                                 key="prices.regions", placeholder="all regions")
        plans = st.multiselect("Plans", list(PRICING_PLANS), key="prices.plans",
                               placeholder="all plans")
        status = st.multiselect("Status", ["quoted", "estimated", "missing"],
                                key="prices.status", placeholder="any status")
    rows = [r for r in cat.prices if (not regions or r.region in regions)
            and (not plans or r.plan in plans) and (not status or r.status in status)]
    df = frame(rows, ["sku", "region", "plan", "currency", "price_per_hour", "status"])
    if not df.empty:
        gpus = [cat.skus[s].gpu_count for s in df["sku"]]
        df.insert(4, "gpus", gpus)
        df.insert(6, "per GPU-hour", df["price_per_hour"] / df["gpus"])
        df.insert(7, "per month (730 h)", df["price_per_hour"] * HOURS_PER_MONTH)
    show_table(df, "prices", config={
        "price_per_hour": st.column_config.NumberColumn("per hour", format="$%.3f"),
        "per GPU-hour": st.column_config.NumberColumn(format="$%.3f"),
        "per month (730 h)": st.column_config.NumberColumn(format="dollar"),
    }, placeholder="filter, e.g. H100 spot")
    st.caption("AKS platform prices (cluster tier, system-pool VM):")
    show_table(frame(cat.platform_prices, ["id", "region", "description", "price_per_hour",
                                           "currency", "status"]), "platform")

    st.divider()
    # Reserved for the price-refresh control (planner.azure_prices, another change): this
    # section is where it goes; call ui.data.reload_reference_data() after a refresh.
    with st.container(key="prices_refresh_slot"):
        st.markdown("**Refreshing prices**")
        st.caption("The snapshot is updated from the Azure Retail Prices API with the command "
                   "below; the dashboard reads the new file after a restart.")
        st.code("python -m planner prices refresh --regions eastus,westeurope", language="bash")


def main() -> None:
    cat = data.catalog()
    st.title("Catalog", anchor=False)
    st.caption(f"{len(cat.models)} models, {len(cat.api_models)} hosted models, {len(cat.gpus)} "
               f"GPUs, {len(cat.skus)} Azure VM sizes, {len(cat.prices)} prices "
               f"(snapshot {cat.prices_as_of}). Every row names its source and date; fields that "
               "could not be confirmed are listed in its 'unconfirmed' column.")
    tabs = st.tabs(["Models", "GPUs", "Azure VM sizes", "Prices", "Own hardware & regions"])
    for tab, render in zip(tabs, (models_tab, gpus_tab, skus_tab, prices_tab, hardware_tab),
                           strict=True):
        with tab:
            render(cat)
    st.caption(escape_md(f"Reference data directory: {cat.data_dir.name}/ (see data/README.md)."))


main()
