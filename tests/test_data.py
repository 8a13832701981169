"""Reference data: every table loads, every row keeps its provenance, bad rows are caught."""

import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from planner.catalog import DATA_DIR, PRICES_FILE, TABLES, load_catalog
from planner.errors import DataError

MODEL_IDS = """phi-2 phi-3-mini-4k phi-3-mini-128k phi-3-small-8k phi-3-medium-4k phi-3.5-mini
mistral-7b mixtral-8x7b llama-2-7b llama-2-13b llama-2-70b llama-3-8b llama-3-70b llama-3.1-8b
llama-3.1-70b llama-3.1-405b falcon-7b falcon-40b gemma-2b gemma-7b orca-2-7b orca-2-13b
gpt-neo-1.3b gpt-neo-2.7b qwen2.5-7b""".split()
API_IDS = ["gpt-4o", "gpt-4o-mini", "gpt-35-turbo"]
GPU_IDS = """t4 v100-16gb a10 l4 l40s a100-40gb-sxm a100-80gb-pcie a100-80gb-sxm h100-nvl h100-sxm
h200 mi300x rtx-4090 rtx-6000-ada apple-m2-ultra""".split()
SKU_FAMILIES = {  # family named in the issue -> one size of it
    "T4 v3": "Standard_NC4as_T4_v3", "NCv3": "Standard_NC6s_v3",
    "NVadsA10 v5": "Standard_NV36ads_A10_v5", "NC A100 v4": "Standard_NC24ads_A100_v4",
    "ND A100 v4": "Standard_ND96asr_v4", "NDm A100 v4": "Standard_ND96amsr_A100_v4",
    "NC H100 v5": "Standard_NC40ads_H100_v5", "ND H100 v5": "Standard_ND96isr_H100_v5",
    "ND H200 v5": "Standard_ND96isr_H200_v5", "ND MI300X v5": "Standard_ND96isr_MI300X_v5",
}


def test_every_required_id_is_present(catalog):
    assert set(MODEL_IDS) <= set(catalog.models)
    assert set(API_IDS) <= set(catalog.api_models)
    assert set(GPU_IDS) <= set(catalog.gpus)
    assert set(SKU_FAMILIES.values()) <= set(catalog.skus)
    assert len(catalog.local_hardware) >= 3
    assert "eastus" in catalog.regions


def all_rows(catalog):
    for table in (catalog.models, catalog.api_models, catalog.gpus, catalog.skus,
                  catalog.local_hardware, catalog.regions):
        yield from table.values()
    yield from catalog.prices
    yield from catalog.platform_prices


def test_provenance_survives_loading(catalog):
    # the ecologits bug: a loader that drops the source column silently. Compare with the raw CSV.
    rows = list(all_rows(catalog))
    assert len(rows) > 300
    for row in rows:
        assert row.source.strip(), row
        assert isinstance(row.as_of, dt.date)
        assert dt.date(2015, 1, 1) <= row.as_of <= dt.date(2026, 12, 31), row
    raw = {r["id"]: r for r in csv.DictReader((DATA_DIR / "models.csv").open())}
    for model_id, model in catalog.models.items():
        assert model.source == raw[model_id]["source"].strip()


def test_every_unconfirmed_name_is_a_field(catalog):
    for row in all_rows(catalog):
        for name in row.unconfirmed:
            assert name in type(row).model_fields


def test_architecture_facts(catalog):
    llama3 = catalog.models["llama-3-8b"]
    assert (llama3.layers, llama3.kv_heads, llama3.head_dim) == (32, 8, 128)  # config.json
    assert catalog.models["falcon-7b"].kv_heads == 1  # multi-query attention
    mixtral = catalog.models["mixtral-8x7b"]
    assert (mixtral.experts, mixtral.experts_per_token) == (8, 2)
    assert mixtral.active_params_b < mixtral.params_b
    for model in catalog.models.values():
        assert model.attention_heads % model.kv_heads == 0


def test_sku_gpus_match_docs(catalog):
    # Microsoft Learn size pages: NC24ads_A100_v4 = 1 x A100 80GB PCIe; ND96isr_H100_v5 = 8 x H100
    assert catalog.skus["Standard_NC24ads_A100_v4"].gpu_id == "a100-80gb-pcie"
    assert catalog.skus["Standard_NC24ads_A100_v4"].gpu_count == 1
    assert catalog.skus["Standard_ND96isr_H100_v5"].gpu_count == 8
    assert catalog.skus["Standard_NC6s_v3"].retired


def test_prices_snapshot(catalog):
    # skypilot-catalog (Azure Retail Prices API): NC24ads_A100_v4 eastus Linux PAYG 3.673 $/h
    row = catalog.price("Standard_NC24ads_A100_v4", "eastus", "payg")
    assert row is not None and row.price_per_hour == pytest.approx(3.673)
    assert row.status == "quoted"
    for row in catalog.prices:
        assert (row.price_per_hour is None) == (row.status == "missing")
    assert {r.region for r in catalog.prices} >= {"eastus"}
    assert catalog.prices_as_of is not None


def copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def rewrite(path: Path, mutate) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames
        rows = list(reader)
    mutate(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize(
    ("file", "mutation", "message"),
    [
        ("models.csv", lambda rows: rows[0].update(source=""), "source"),
        ("models.csv", lambda rows: rows.append(dict(rows[0])), "duplicate id"),
        ("models.csv", lambda rows: rows[0].update(kv_heads="7"), "kv_heads"),
        ("models.csv", lambda rows: rows[0].update(as_of="yesterday"), "as_of"),
        ("gpus.csv", lambda rows: rows[0].update(mem_bandwidth_gb_per_s="-320"),
         "mem_bandwidth_gb_per_s"),
        ("gpus.csv", lambda rows: rows[0].update(native_precisions="fp16;fp64"),
         "native_precisions"),
        ("azure_skus.csv", lambda rows: rows[0].update(gpu_id="no-such-gpu"), "no-such-gpu"),
        (str(PRICES_FILE), lambda rows: rows[0].update(price_per_hour="", status="quoted"),
         "price_per_hour"),
        (str(PRICES_FILE), lambda rows: rows[0].update(price_per_hour="0"), "price_per_hour"),
    ],
)
def test_bad_rows_are_caught_with_file_row_and_field(tmp_path, file, mutation, message):
    data = copy_data(tmp_path)
    rewrite(data / file, mutation)
    with pytest.raises(DataError) as err:
        load_catalog(data)
    assert message in str(err.value)
    assert Path(file).name in str(err.value)


def test_error_names_the_row_number(tmp_path):
    data = copy_data(tmp_path)
    rewrite(data / "gpus.csv", lambda rows: rows[2].update(mem_gb="lots"))
    with pytest.raises(DataError, match=r"gpus.csv row 4, field mem_gb"):
        load_catalog(data)


def test_unknown_column_is_rejected(tmp_path):
    data = copy_data(tmp_path)
    path = data / "regions.csv"
    path.write_text(path.read_text().replace("pue,", "pue_typo,", 1))
    with pytest.raises(DataError, match="unknown column"):
        load_catalog(data)


def test_every_table_file_exists():
    for file, _ in TABLES.values():
        assert (DATA_DIR / file).is_file()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "planner", *args], capture_output=True,
                          text=True, check=False)


@pytest.mark.parametrize("table", ["models", "gpus", "skus", "prices", "hardware"])
def test_catalog_cli_json_is_a_list_of_objects_with_ids(table, catalog):
    result = run_cli("catalog", table, "--format", "json")
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert isinstance(records, list) and records
    assert all("source" in r and "as_of" in r for r in records)
    if table != "prices":
        assert all("id" in r for r in records)
    if table == "models":
        assert {r["id"] for r in records} == set(catalog.models)


def test_catalog_cli_csv_and_table():
    csv_out = run_cli("catalog", "gpus", "--format", "csv")
    assert csv_out.returncode == 0
    rows = list(csv.DictReader(csv_out.stdout.splitlines()))
    h100 = next(r for r in rows if r["id"] == "h100-sxm")
    assert float(h100["mem_bandwidth_gb_per_s"]) == pytest.approx(3350)  # NVIDIA: 3.35 TB/s
    table = run_cli("catalog", "skus")
    assert table.returncode == 0 and "Standard_ND96isr_H100_v5" in table.stdout


def test_catalog_cli_reports_broken_data_without_traceback(tmp_path):
    data = copy_data(tmp_path)
    rewrite(data / "gpus.csv", lambda rows: rows[0].update(source=""))
    result = run_cli("catalog", "gpus", "--data-dir", str(data))
    assert result.returncode == 2
    assert "gpus.csv row 2, field source" in result.stderr
    assert "Traceback" not in result.stderr
