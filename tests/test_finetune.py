"""Fine-tuning estimates: formulas, memory buckets, cost lines, published runs, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.catalog import DATA_DIR
from planner.cli import main
from planner.findings import FindingCode
from planner.io.wording import finding_text, finetune_fit_text
from planner.pipeline.finetune import (
    DEFAULT_MFU,
    LOW_MFU,
    QLORA_BYTES_PER_PARAM,
    QLORA_TIME_FACTOR,
    FinetuneError,
    FinetuneJob,
    check_runs,
    estimate_finetune,
    finetune_memory,
    finetune_mfu_range,
    fitted_finetune_mfu,
    implied_finetune_mfus,
    load_finetune_runs,
    lora_speedup_check,
    lora_trainable_params,
    median_abs_error,
    training_flops,
)
from planner.pricing.money import CostComponent, cost_line
from planner.pricing.resolver import PriceResolver, electricity_key, hardware_key, vm_key
from planner.units import GB, HOURS_PER_YEAR

ROOT = Path(__file__).resolve().parent.parent
A100_SKU = "Standard_NC24ads_A100_v4"


def job(**overrides) -> dict:
    base = {"model": "llama-2-7b", "method": "lora", "dataset_examples": 10_000,
            "tokens_per_example": 512, "epochs": 3, "vm_sku": A100_SKU}
    return {**base, **overrides}


# --- formulas ------------------------------------------------------------------------------------


def test_flops_are_6nt_full_and_4nt_lora():
    assert training_flops(7e9, 1e9, "full") == 6 * 7e9 * 1e9
    assert training_flops(7e9, 1e9, "lora") == 4 * 7e9 * 1e9
    assert training_flops(7e9, 1e9, "qlora") == 4 * 7e9 * 1e9


def test_lora_speedup_against_the_lora_paper():
    # LoRA paper (Hu et al. 2021) section 4.2 footnote: 32.5 -> 43.1 tokens/s per V100 on GPT-3
    # 175B. The 4NT formula implies 1.5x; it is optimistic by < 15 %.
    implied, measured = lora_speedup_check()
    assert implied == 1.5
    assert measured == pytest.approx(1.326, abs=0.001)
    assert implied / measured - 1 < 0.15


def test_lora_parameter_counts_match_litgpt(catalog):
    # Lightning-AI/litgpt tutorials/resource-tables.md: r=8 on q and v.
    assert lora_trainable_params(catalog.models["llama-2-7b"], 8, "qv") == 4_194_304
    assert lora_trainable_params(catalog.models["llama-2-13b"], 8, "qv") == 6_553_600


def test_all_linear_adapters_recover_the_mlp_width(catalog):
    # Llama 2 7B: MLP width 11008 (config.json); r=8 on q,k,v,o,gate,up,down.
    exact = 8 * 32 * (4 * 2 * 4096 + 3 * (4096 + 11008))
    got = lora_trainable_params(catalog.models["llama-2-7b"], 8, "all-linear")
    assert got == pytest.approx(exact, rel=0.01)


def test_memory_buckets_follow_the_byte_counts():
    full = finetune_memory(7e9, "full", 7e9, 1, 80, 0)
    assert full.weights_gb + full.gradients_gb + full.optimizer_gb == pytest.approx(16 * 7e9 / GB)
    sharded = finetune_memory(7e9, "full", 7e9, 8, 80, 0)
    assert sharded.optimizer_gb == pytest.approx(full.optimizer_gb / 8)
    qlora = finetune_memory(7e9, "qlora", 1e7, 1, 24, 0)
    assert qlora.weights_gb == pytest.approx(7e9 * (4 + 0.127) / 8 / GB)
    assert abs(QLORA_BYTES_PER_PARAM - 0.5159) < 1e-4
    assert qlora.adapters_gb == pytest.approx(16 * 1e7 / GB)
    assert qlora.gradients_gb == qlora.optimizer_gb == 0


# --- estimates -----------------------------------------------------------------------------------


def test_estimate_on_azure(catalog):
    est = estimate_finetune(catalog, **job())
    assert est.training_tokens == 10_000 * 512 * 3
    assert est.training_flops == 4 * 6.74e9 * est.training_tokens
    assert est.gpus == 1 and est.fits_memory and est.fit_suggestions == []
    assert finetune_fit_text(est).startswith("fits")
    assert est.mfu == pytest.approx(LORA_FITTED_MFU, rel=1e-4) and est.mfu_basis == "fitted"
    hours = est.training_flops / (312e12 * est.mfu) / 3600
    assert est.wall_clock_hours == pytest.approx(hours)
    assert est.wall_clock_hours_at_low_mfu == pytest.approx(hours * est.mfu / ALPACA_MFU, rel=1e-4)
    assert est.wall_clock_hours_at_high_mfu == pytest.approx(hours * est.mfu / LORA_13B_MFU,
                                                             rel=1e-4)
    price = catalog.price(A100_SKU, "eastus", "payg")
    [line] = est.cost_lines
    assert line.name == f"Training nodes ({A100_SKU}, pay-as-you-go)"
    assert line.kind == "training" and line.period == "once"
    assert line == cost_line(CostComponent(line.name, "training", "once", hours, "node-hour",
                                           vm_key(A100_SKU, "eastus", "payg")),
                             PriceResolver(catalog))
    assert line.status == "quoted" and line.source == price.source
    assert line.price_key == f"{A100_SKU}/eastus/payg"
    assert line.amount_usd == pytest.approx(hours * price.price_per_hour)
    assert est.cost_usd == pytest.approx(hours * price.price_per_hour)
    assert est.cost_usd_at_low_mfu > est.cost_usd


# Implied MFUs of the published fine-tuning runs, by hand from data/finetune_runs.csv (A100 SXM4
# dense bf16 peak 312 TFLOP/s, data/gpus.csv; MFU = FLOPs x time factor / (peak x seconds)):
# litgpt-llama2-7b-lora: 4 x 6.74e9 x (1000 x 150) = 4.044e15 FLOPs in 2.36 min = 141.6 s
#   -> 4.044e15 / (312e12 x 141.6) = 4.044e15 / 4.41792e16 = 0.091536
# litgpt-llama2-13b-lora: 4 x 13.02e9 x 150000 = 7.812e15 in 3.19 min = 191.4 s
#   -> 7.812e15 / 5.97168e16 = 0.130818
# LoRA default = median of the two = (0.091536 + 0.130818) / 2 = 0.111177
# litgpt-llama2-7b-qlora: 4.044e15 x 1.6 / (312e12 x 229.8 s) = 6.4704e15 / 7.16976e16 = 0.090246
# litgpt-llama2-13b-qlora: 7.812e15 x 1.6 / (312e12 x 393 s) = 1.24992e16 / 1.22616e17 = 0.101938
# alpaca-7b-full: 6 x 6.74e9 x (52002 x 150 x 3) = 9.46332e17 in 24 GPU-h = 86400 GPU-s
#   -> 9.46332e17 / (312e12 x 86400) = 9.46332e17 / 2.69568e19 = 0.035106 (the pool's lowest)
LORA_7B_MFU, LORA_13B_MFU = 0.091536, 0.130818
LORA_FITTED_MFU = (LORA_7B_MFU + LORA_13B_MFU) / 2
QLORA_FITTED_MFU = (0.090246 + 0.101938) / 2
ALPACA_MFU = 0.035106


def test_implied_mfus_of_the_published_fine_tuning_runs(catalog):
    pool = implied_finetune_mfus(catalog)
    assert sorted(m for m, _ in pool) == ["full", "lora", "lora", "qlora", "qlora"]  # no pretraining
    assert sorted(v for _, v in pool) == pytest.approx(
        [ALPACA_MFU, 0.090246, LORA_7B_MFU, 0.101938, LORA_13B_MFU], rel=1e-4)


def test_fitted_mfu_is_the_per_method_median_with_a_pooled_fallback(catalog):
    pool = implied_finetune_mfus(catalog)
    assert fitted_finetune_mfu("lora", pool) == pytest.approx(LORA_FITTED_MFU, rel=1e-4)
    assert fitted_finetune_mfu("qlora", pool) == pytest.approx(QLORA_FITTED_MFU, rel=1e-4)
    assert fitted_finetune_mfu("full", pool) == pytest.approx(ALPACA_MFU, rel=1e-4)  # one run
    # leaving the only full run out falls back to all four others: median (0.090246, 0.091536,
    # 0.101938, 0.130818) = (0.091536 + 0.101938) / 2 = 0.096737
    without = implied_finetune_mfus(catalog, exclude="alpaca-7b-full")
    assert len(without) == 4
    assert fitted_finetune_mfu("full", without) == pytest.approx(0.096737, rel=1e-4)
    assert fitted_finetune_mfu("lora", []) is None
    assert finetune_mfu_range(0.5, []) == (LOW_MFU, 0.5)


def test_default_range_brackets_the_estimate_and_a_given_mfu_overrides(catalog):
    for method in ("full", "lora", "qlora"):
        est = estimate_finetune(catalog, **job(method=method))
        assert est.mfu_low == pytest.approx(ALPACA_MFU, rel=1e-4)
        assert est.mfu_high == pytest.approx(LORA_13B_MFU, rel=1e-4)
        assert (est.wall_clock_hours_at_high_mfu <= est.wall_clock_hours
                <= est.wall_clock_hours_at_low_mfu)
        assert est.cost_usd_at_high_mfu <= est.cost_usd <= est.cost_usd_at_low_mfu
    given = estimate_finetune(catalog, **job(mfu=DEFAULT_MFU))
    fitted = estimate_finetune(catalog, **job())
    assert given.mfu == DEFAULT_MFU and given.mfu_basis == "given"
    assert given.wall_clock_hours == pytest.approx(
        fitted.wall_clock_hours * fitted.mfu / DEFAULT_MFU)
    # a given MFU above the published runs widens the range to include it
    assert given.mfu_high == DEFAULT_MFU and given.wall_clock_hours_at_high_mfu == pytest.approx(
        given.wall_clock_hours)


def test_cli_mfu_overrides_the_fitted_default(capsys):
    args = ["finetune", "--model", "llama-2-7b", "--vm-sku", A100_SKU, "--examples", "10000",
            "--tokens-per-example", "512", "--format", "json"]
    assert main(args) == 0
    fitted = json.loads(capsys.readouterr().out)
    assert main([*args, "--mfu", "0.35"]) == 0
    given = json.loads(capsys.readouterr().out)
    assert fitted["mfu"] == pytest.approx(LORA_FITTED_MFU, rel=1e-4)
    assert fitted["mfu_basis"] == "fitted" and given["mfu_basis"] == "given"
    assert given["mfu"] == 0.35
    assert given["wall_clock_hours"] == pytest.approx(
        fitted["wall_clock_hours"] * fitted["mfu"] / 0.35)


def test_job_object_and_keyword_forms_agree(catalog):
    assert estimate_finetune(catalog, FinetuneJob(**job())) == estimate_finetune(catalog, **job())
    more = estimate_finetune(catalog, FinetuneJob(**job()), epochs=6)
    assert more.training_tokens == 2 * estimate_finetune(catalog, **job()).training_tokens


def test_qlora_is_slower_and_smaller_than_lora(catalog):
    # at one given MFU, so only the formulas differ (the fitted defaults differ by method)
    lora = estimate_finetune(catalog, **job(mfu=0.2))
    qlora = estimate_finetune(catalog, **job(method="qlora", mfu=0.2))
    full = estimate_finetune(catalog, **job(method="full", mfu=0.2))
    assert qlora.wall_clock_hours == pytest.approx(lora.wall_clock_hours * QLORA_TIME_FACTOR)
    assert qlora.memory.total_gb < lora.memory.total_gb < full.memory.total_gb
    assert full.wall_clock_hours == pytest.approx(lora.wall_clock_hours * 1.5)


def test_what_fits_where(catalog):
    big = estimate_finetune(catalog, **job(model="llama-3-70b", method="full"))
    assert not big.fits_memory and big.fit_suggestions[0] == "lora"
    assert "more_gpus" in big.fit_suggestions
    assert "does not fit" in finetune_fit_text(big) and "LoRA" in finetune_fit_text(big)
    sharded = estimate_finetune(catalog, **job(model="llama-3-70b", method="full",
                                               vm_sku="Standard_ND96isr_H100_v5", nodes=2))
    assert sharded.gpus == 16 and sharded.fits_memory
    consumer = estimate_finetune(catalog, **job(method="qlora", vm_sku=None,
                                                hardware="workstation-1x-rtx-4090"))
    assert consumer.fits_memory
    lora_consumer = estimate_finetune(catalog, **job(model="llama-2-13b", vm_sku=None,
                                                     hardware="workstation-1x-rtx-4090"))
    assert not lora_consumer.fits_memory and lora_consumer.fit_suggestions[0] == "qlora"
    assert "QLoRA" in finetune_fit_text(lora_consumer)


def test_missing_prices_are_flagged_not_zero(catalog):
    spot = estimate_finetune(catalog, **job(vm_sku="Standard_NC40ads_H100_v5", pricing="spot"))
    assert spot.cost_usd is None and spot.cost_lines[0].status == "missing"
    missing = [f for f in spot.findings if f.code == FindingCode.PRICE_MISSING]
    assert [f.values["line"] for f in missing] == [spot.cost_lines[0].name]
    assert missing[0].values["price_key"] == "Standard_NC40ads_H100_v5/eastus/spot"
    assert finding_text(missing[0]).startswith("price missing")
    local = estimate_finetune(catalog, **job(vm_sku=None, hardware="workstation-1x-rtx-4090"))
    # the machine's price is a component estimate (local_hardware.csv): priced, and flagged
    assert local.cost_usd is not None and local.cost_lines[0].status == "estimated"
    assert FindingCode.PRICE_ESTIMATED in [f.code for f in local.findings]


def test_moe_flops_use_active_parameters_and_memory_all(catalog):
    mixtral = catalog.models["mixtral-8x7b"]
    est = estimate_finetune(catalog, model="mixtral-8x7b", method="full",
                            dataset_examples=10_000, tokens_per_example=500, epochs=1,
                            vm_sku="Standard_ND96isr_H100_v5")
    tokens = 10_000 * 500 * 1
    assert est.training_tokens == tokens
    # compute sees the routed experts only: 6 x 12.9e9 active x 5e6 tokens = 3.87e17 FLOPs
    active = 6 * mixtral.active_params_b * 1e9 * tokens
    assert est.training_flops == pytest.approx(active, rel=0.10)
    assert est.training_flops == pytest.approx(3.9e17, rel=0.10)
    total = 6 * mixtral.params_b * 1e9 * tokens
    assert est.training_flops < 0.5 * total  # not 6 x total params (46.7B)
    assert est.flops_per_token == pytest.approx(6 * mixtral.active_params_b * 1e9)
    # memory holds every expert: 16 bytes per total parameter, sharded over the node's 8 GPUs
    assert est.params_b == mixtral.params_b
    assert est.gpus == 8
    assert est.memory.weights_gb == pytest.approx(mixtral.params_b * 1e9 * 2 / 8 / GB)
    assert est.memory.gradients_gb == pytest.approx(mixtral.params_b * 1e9 * 2 / 8 / GB)
    assert est.memory.optimizer_gb == pytest.approx(mixtral.params_b * 1e9 * 12 / 8 / GB)
    assert est.trainable_params == mixtral.params_b * 1e9


def test_own_hardware_uses_the_quote_and_the_site_pue(catalog):
    hw_id = "workstation-1x-rtx-4090"
    hw = catalog.local_hardware[hw_id]
    gpu = catalog.gpus[hw.gpu_id]
    quote, years = 3_000.0, 3.0

    def estimate(pue):
        return estimate_finetune(catalog, **job(method="qlora", vm_sku=None, hardware=hw_id,
                                                purchase_usd_per_machine=quote, pue=pue,
                                                amortization_years=years))

    est = estimate(1.3)
    hours = est.wall_clock_hours
    by_kind = {line.kind: line for line in est.cost_lines}
    hardware, power = by_kind["training"], by_kind["electricity"]
    # the user's quote, written off per machine-hour over the amortisation years
    assert hardware.unit_price_usd == pytest.approx(quote / (years * HOURS_PER_YEAR))
    assert hardware.status == "input" and hardware.unit == "machine-hour"
    assert hardware.price_key == hardware_key(hw_id).text()
    assert hardware.quantity == pytest.approx(hours)
    assert hardware.amount_usd == pytest.approx(hours * quote / (years * 8760))
    assert est.cost_usd is not None  # the quote fills the catalog's missing price
    assert FindingCode.PRICE_MISSING not in [f.code for f in est.findings]
    # facility energy at the PUE given: (GPU TDP + host power) x PUE x hours
    assert power.quantity == pytest.approx((gpu.tdp_w + hw.host_power_w) * 1.3 * hours / 1000)
    assert power.price_key == electricity_key("eastus").text()
    assert power.unit_price_usd == catalog.regions["eastus"].electricity_usd_per_kwh
    doubled = {line.kind: line for line in estimate(2.6).cost_lines}["electricity"]
    assert doubled.quantity == pytest.approx(2 * power.quantity)
    assert doubled.amount_usd == pytest.approx(2 * power.amount_usd)
    # the user's tariff beats the region's
    tariff = estimate_finetune(catalog, **job(method="qlora", vm_sku=None, hardware=hw_id,
                                              purchase_usd_per_machine=quote, pue=1.3,
                                              electricity_usd_per_kwh=0.30))
    line = {x.kind: x for x in tariff.cost_lines}["electricity"]
    assert line.unit_price_usd == 0.30 and line.status == "input"
    assert line.amount_usd == pytest.approx(power.quantity * 0.30)


def test_bad_jobs_raise_typed_errors(catalog):
    with pytest.raises(FinetuneError, match="model: unknown model"):
        estimate_finetune(catalog, **job(model="gpt-5"))
    with pytest.raises(FinetuneError, match="vm_sku: unknown VM size"):
        estimate_finetune(catalog, **job(vm_sku="Standard_Nope"))
    with pytest.raises(FinetuneError, match="exactly one of vm_sku"):
        estimate_finetune(catalog, **job(hardware="workstation-1x-rtx-4090"))
    with pytest.raises(FinetuneError, match="cannot train in bf16"):
        estimate_finetune(catalog, **job(vm_sku="Standard_NC4as_T4_v3"))
    assert estimate_finetune(catalog, **job(vm_sku="Standard_NC4as_T4_v3", precision="fp16"))
    with pytest.raises(FinetuneError, match="dataset_examples"):
        estimate_finetune(catalog, **job(dataset_examples=0))


@settings(max_examples=40, deadline=None)
@given(examples=st.integers(1, 10**7), tokens=st.integers(1, 8192),
       epochs=st.floats(0.1, 20), extra=st.integers(1, 10**6), nodes=st.integers(1, 7),
       method=st.sampled_from(["full", "lora", "qlora"]))
def test_monotonic(catalog, examples, tokens, epochs, extra, nodes, method):
    base = estimate_finetune(catalog, **job(method=method, dataset_examples=examples,
                                            tokens_per_example=tokens, epochs=epochs,
                                            vm_sku="Standard_ND96asr_v4", nodes=nodes))
    bigger = estimate_finetune(catalog, **job(method=method, dataset_examples=examples + extra,
                                              tokens_per_example=tokens, epochs=epochs,
                                              vm_sku="Standard_ND96asr_v4", nodes=nodes))
    wider = estimate_finetune(catalog, **job(method=method, dataset_examples=examples,
                                             tokens_per_example=tokens, epochs=epochs,
                                             vm_sku="Standard_ND96asr_v4", nodes=nodes + 1))
    assert bigger.wall_clock_hours > base.wall_clock_hours
    assert bigger.cost_usd > base.cost_usd
    assert wider.wall_clock_hours < base.wall_clock_hours
    assert wider.memory.total_gb <= base.memory.total_gb
    assert base.cost_usd > 0 and base.cost_usd_at_low_mfu >= base.cost_usd


# --- published runs ------------------------------------------------------------------------------


def test_runs_table_keeps_provenance(catalog):
    runs = load_finetune_runs(DATA_DIR)
    assert len(runs) >= 10
    for run in runs:
        assert run.source.strip() and run.as_of.year >= 2023
        assert not run.model_id or run.model_id in catalog.models
        assert not run.gpu or run.gpu in catalog.gpus
        assert run.reported_hours or run.reported_gpu_hours or run.reported_peak_mem_gb
    assert {r.kind for r in runs} == {"pretraining", "fine-tuning"}
    assert {r.method for r in runs} == {"full", "lora", "qlora"}


def test_pretraining_runs_are_within_25_percent_for_llama_2(catalog):
    # meta-llama/llama MODEL_CARD.md: 184,320 / 368,640 / 1,720,320 A100-80GB hours for 2T tokens.
    checks = {c.id: c for c in check_runs(catalog)}
    for run_id in ("llama-2-7b-pretraining", "llama-2-13b-pretraining", "llama-2-70b-pretraining"):
        assert abs(checks[run_id].time_error) < 0.25, run_id


def test_litgpt_lora_memory_within_10_percent(catalog):
    # litgpt resource-tables.md: 21.30 GB (7B) and 38.12 GB (13B) on one A100 40GB.
    checks = {c.id: c for c in check_runs(catalog)}
    for run_id in ("litgpt-llama2-7b-lora", "litgpt-llama2-13b-lora"):
        assert abs(checks[run_id].mem_error) < 0.10, run_id
    # Known gap: QLoRA peaks are under-predicted (13.84 / 22.55 GB reported); pinned so a change
    # in either direction is noticed and reported.
    for run_id in ("litgpt-llama2-7b-qlora", "litgpt-llama2-13b-qlora"):
        assert -0.35 < checks[run_id].mem_error < 0, run_id


def test_small_fine_tuning_runs_are_slower_than_the_default_mfu(catalog):
    """The documented finding: small fine-tuning jobs reach far below the 35 % MFU of large
    pre-training runs (check_runs' default, kept for those), and 10 % is much closer for them --
    why the fine-tuning default is fitted to these runs instead."""
    checks = [c for c in check_runs(catalog) if c.kind == "fine-tuning" and c.time_error is not None]
    assert checks and all(c.time_error < 0 for c in checks)
    assert all(c.implied_mfu < 0.2 for c in checks)
    low = [c for c in check_runs(catalog, mfu=LOW_MFU)
           if c.kind == "fine-tuning" and c.time_error is not None]
    assert median_abs_error([c.time_error for c in low]) < median_abs_error(
        [c.time_error for c in checks])


def test_benchmark_prints_the_median_error():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "finetune_check.py")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT, check=True)
    assert "median |error|" in result.stdout
    assert "llama-2-7b-pretraining" in result.stdout
    # the shipped fit, leave-one-run-out: |implied / fitted - 1| of the five runs are 64 %
    # (alpaca: 0.035106 / 0.096737), 30 % (0.091536 / 0.130818), 11 %, 43 %, 13 % -> median 30 %
    assert ("leave-one-run-out with the fitted default: 30% over 5 runs "
            "(at the fixed 35% MFU: 74%)") in result.stdout


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_finetune_json(capsys):
    assert main(["finetune", "--model", "phi-3-mini-4k", "--examples", "20000",
                 "--tokens-per-example", "512", "--method", "qlora", "--vm-sku", A100_SKU,
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["fits_memory"] is True and data["cost_usd"] > 0
    assert data["job"]["method"] == "qlora" and data["cost_lines"][0]["unit"] == "node-hour"


def test_cli_finetune_table_and_errors(capsys):
    assert main(["finetune", "--model", "llama-2-7b", "--examples", "1000",
                 "--tokens-per-example", "300", "--hardware", "workstation-1x-rtx-4090",
                 "--method", "qlora"]) == 0
    out, err = capsys.readouterr()
    assert "wall_clock_hours" in out and "assumption:" in out
    assert "estimated price" in err  # the workstation's price is a component estimate
    assert main(["finetune", "--model", "llama-2-7b", "--examples", "10",
                 "--tokens-per-example", "300", "--vm-sku", "Standard_NC4as_T4_v3"]) == 2
    assert "cannot train in bf16" in capsys.readouterr().err


def test_qlora_paged_optimizer_lets_65b_fit_one_48gb_gpu(catalog):
    # QLoRA (Dettmers et al. 2023): "finetune a 65B parameter model on a single 48GB GPU", with
    # paged optimizers evicting the adapters' Adam states to CPU RAM (data/finetune_runs.csv row
    # guanaco-65b-qlora): the planner counts those states as paged, so the run fits
    from planner.pipeline.finetune import check_runs

    (run,) = [c for c in check_runs(catalog) if c.id == "guanaco-65b-qlora"]
    assert run.reported_fits and run.predicted_fits
    lora = finetune_memory(7e9, "lora", 1e7, 1, 24, 0)
    qlora = finetune_memory(7e9, "qlora", 1e7, 1, 24, 0)
    assert qlora.paged_to_cpu_gb == pytest.approx(12 * 1e7 / GB) and lora.paged_to_cpu_gb == 0
