"""The energy room: measured GPU power, energy lines, carbon by method, the check's figure."""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from planner.catalog import GpuPowerRow
from planner.io.wording import FINDING_TEXT
from planner.physics.energy import (
    Load,
    Site,
    busy_power_w,
    deployment_energy,
    embodied_kg_per_month,
    fixed_load,
    gpu_idle_w,
    grid_intensity,
    interpolated_w,
)
from planner.physics.power_fit import (
    batch_band,
    busy_power_medians,
    energy_check_figure,
    load_energy_points,
)
from planner.pipeline.plan import plan_scenario
from planner.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent


def test_interpolation_is_linear_in_log_batch():
    curve = ((8, 400.0), (32, 600.0))
    assert interpolated_w(curve, 16) == pytest.approx(500.0)  # log2 16 is halfway from 8 to 32
    assert interpolated_w(curve, 1) == 400.0 and interpolated_w(curve, 4096) == 600.0


def test_batch_bands():
    assert [batch_band(b) for b in (1, 3, 8, 11, 12, 96, 192, 768, 4096)] == [
        1, 4, 8, 8, 16, 128, 256, 1024, 1024]


def test_measured_busy_power_carries_its_source(catalog):
    # data/gpu_power.csv h100-sxm batch 64 = median of ML.ENERGY v3 H100 runs in that band
    busy = busy_power_w(catalog.gpus["h100-sxm"], 64, catalog)
    assert busy.status == "measured" and busy.watts == pytest.approx(514.9)
    assert "ML.ENERGY" in busy.source
    # well below the 700 W TDP the planner used to assume whenever a GPU was busy
    assert busy.watts < 0.8 * catalog.gpus["h100-sxm"].tdp_w


def test_unmeasured_gpu_borrows_reference_share_of_tdp(catalog):
    busy = busy_power_w(catalog.gpus["a100-80gb-sxm"], 64, catalog)
    assert busy.status == "estimated"
    assert busy.watts == pytest.approx(514.9 / 700 * 400)  # H100 share of TDP x A100's 400 W


def test_idle_power_measured_or_estimated(catalog):
    # chuyishang/inference-energy results_paste.md: A100-80GB idle 62.12 W
    assert gpu_idle_w(catalog.gpus["a100-80gb-sxm"], catalog.gpu_power["a100-80gb-sxm"]) == (
        pytest.approx(62.12), False)
    assert gpu_idle_w(catalog.gpus["h100-sxm"], catalog.gpu_power.get("h100-sxm")) == (
        pytest.approx(105.0), True)  # 15 % of 700 W, flagged


def test_power_rows_validate():
    with pytest.raises(ValidationError):
        GpuPowerRow(gpu_id="h100-sxm", state="busy", power_w=500, source="x", as_of="2026-01-01")
    with pytest.raises(ValidationError):
        GpuPowerRow(gpu_id="h100-sxm", state="idle", batch=8, power_w=60, source="x",
                    as_of="2026-01-01")


def test_grid_is_newest_location_based_year(catalog):
    site = Site("eastus", 0, 1.14, "catalog", 396.25)
    grid = grid_intensity("eastus", site, catalog)
    # GoogleCloudPlatform/region-carbon-info data/yearly/2025.csv, us-east4 (same PJM grid)
    assert (grid.year, grid.gco2_per_kwh) == (2025, pytest.approx(343.48))
    assert "region-carbon-info" in grid.source
    west3 = grid_intensity("westus3", Site("westus3", 0, 1.18, "catalog", 420.56), catalog)
    assert west3.year == 2023 and west3.gco2_per_kwh == pytest.approx(420.56)


def _hand_load() -> Load:
    return fixed_load(active_gpus=2, billed_gpus=4, nodes=1, batch=64, utilization=0.5,
                      output_tokens_per_month=1e6, requests_per_month=1e4)


def test_energy_lines_hand_case(catalog):
    gpu = catalog.gpus["h100-sxm"]
    site = Site("eastus", 500.0, 1.2, "catalog", 396.25)
    report = deployment_energy(gpu, _hand_load(), site, catalog).report
    lines = {line.kind: line for line in report.lines}
    # busy: 2 GPUs x 514.9 W x half the month (730 h) = 375.877 kWh
    assert lines["gpu_busy"].kwh_per_month == pytest.approx(2 * 514.9 * 0.5 * 0.73)
    # idle: (2 x 0.5 + 2 spare) GPUs x 105 W x 730 h = 229.95 kWh
    assert lines["gpu_idle"].kwh_per_month == pytest.approx(3 * 105 * 0.73)
    assert lines["host"].kwh_per_month == pytest.approx(365.0)
    it = 2 * 514.9 * 0.5 * 0.73 + 3 * 105 * 0.73 + 365.0
    assert lines["facility_overhead"].kwh_per_month == pytest.approx(it * 0.2)
    assert report.kwh_per_month == pytest.approx(it * 1.2)
    # embodied (EcoLogits): 4 x 164 kg + 4/8 x 5700 kg over 3 years, per 730 h month
    embodied = (4 * 164 + 4 / 8 * 5700) / (3 * 8760) * 730
    assert lines["embodied"].co2_kg_per_month == pytest.approx(embodied)
    assert lines["embodied"].kwh_per_month == 0.0
    assert report.carbon_method == "location" and report.grid_year == 2025
    assert report.co2_kg_per_month == pytest.approx(it * 1.2 * 343.48 / 1000 + embodied)
    assert sum(line.co2_kg_per_month for line in report.lines) == pytest.approx(
        report.co2_kg_per_month)
    assert report.kwh_low <= report.kwh_per_month <= report.kwh_high
    assert report.joules_per_output_token == pytest.approx(it * 1.2 * 3.6e6 / 1e6)


def test_market_based_is_an_explicit_input(catalog):
    gpu = catalog.gpus["h100-sxm"]
    site = Site("eastus", 500.0, 1.2, "catalog", 396.25)
    report = deployment_energy(gpu, _hand_load(), site, catalog, market_gco2_per_kwh=0.0).report
    embodied = embodied_kg_per_month(4, 4, catalog)
    # a 100 % renewable contract: operational emissions 0, the hardware's embodied share remains
    assert report.carbon_method == "market"
    assert report.co2_kg_per_month == pytest.approx(embodied)
    assert report.co2_market_kg_per_month == pytest.approx(embodied)
    assert report.co2_location_kg_per_month > embodied


@settings(max_examples=40, deadline=None)
@given(u1=st.floats(0, 1), u2=st.floats(0, 1))
def test_more_traffic_never_less_energy(catalog, u1, u2):
    gpu = catalog.gpus["h100-sxm"]
    site = Site("eastus", 500.0, 1.2, "catalog", 396.25)
    lo, hi = sorted((u1, u2))

    def kwh(u):
        load = fixed_load(2, 4, 1, 64, u, 1e6, 1e4)
        return deployment_energy(gpu, load, site, catalog).report.kwh_per_month

    assert kwh(lo) <= kwh(hi) + 1e-9


def _flat_low_traffic_scenario() -> Scenario:
    return Scenario.model_validate({
        "name": "flat", "workload": {"requests_per_day": 2000, "input_tokens": 500,
                                     "output_tokens": 200, "peak_to_average": 1.0,
                                     "min_replicas": 2},
        "deployments": [{"label": "fixed", "model": "llama-3.1-8b", "precision": "fp16",
                         "target": {"kind": "azure", "vm_sku": "Standard_ND96isr_H100_v5",
                                    "region": "eastus"}}]})


def test_fixed_option_at_low_utilisation_reports_idle_line(catalog):
    plan = plan_scenario(_flat_low_traffic_scenario(), catalog).deployments[0]
    assert plan.utilization < 0.05
    lines = {line.kind: line for line in plan.energy.lines}
    assert set(lines) == {"gpu_busy", "gpu_idle", "host", "facility_overhead", "embodied"}
    assert lines["gpu_idle"].kwh_per_month > 5 * lines["gpu_busy"].kwh_per_month
    assert plan.energy_kwh_per_month == pytest.approx(plan.energy.kwh_per_month)
    assert plan.energy.busy_power_status == "measured"


def test_plan_json_carries_lines_method_and_year(catalog, tmp_path):
    from planner.cli.main import main

    path = tmp_path / "flat.json"
    data = _flat_low_traffic_scenario().model_dump(mode="json")
    data["market_gco2_per_kwh"] = 0
    path.write_text(json.dumps(data))
    out = tmp_path / "out.json"
    stdout = sys.stdout
    with out.open("w") as handle:
        sys.stdout = handle
        try:
            assert main(["plan", "--scenario", str(path), "--format", "json"]) == 0
        finally:
            sys.stdout = stdout
    energy = json.loads(out.read_text())["deployments"][0]["energy"]
    assert energy["carbon_method"] == "market" and energy["grid_year"] == 2025
    assert [line["kind"] for line in energy["lines"]] == [
        "gpu_busy", "gpu_idle", "host", "facility_overhead", "embodied"]
    assert all(math.isfinite(line["kwh_per_month"]) for line in energy["lines"])


def test_new_findings_have_words():
    from planner.findings import FindingCode

    for code in (FindingCode.BUSY_POWER_ESTIMATED, FindingCode.GRID_FROM_REGION_TABLE):
        assert code in FINDING_TEXT


def test_measured_points_and_the_check_figure(catalog):
    points = load_energy_points()
    assert len(points) >= 15 and len({p.gpu for p in points}) >= 2
    assert all(p.source and "ML.ENERGY" in p.source for p in points)
    assert min(p.batch for p in points) == 1 and max(p.batch for p in points) >= 1024
    assert len({p.gpu for p in points}) >= 3
    # every point's J/token is its power over its throughput, as published
    for p in points[:50]:
        assert p.joules_per_output_token == pytest.approx(
            p.power_w_total / p.output_tokens_per_s, rel=0.02)
    # the shipped busy rows are the medians of these points (scripts/derive_gpu_power.py)
    for gpu, bands in busy_power_medians(points).items():
        assert catalog.gpu_power[gpu].busy_w_by_batch == tuple(
            (band, round(watts, 1)) for band, watts, _ in bands)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from energy_check import ape, check_summary, leave_one_model_out

    pairs = leave_one_model_out(points, catalog)
    errors = [ape(p, pred) for p, pred in pairs]
    # benchmarks/energy_check.py quotes this figure (13.7 % when written); the target is 20 %
    assert statistics.median(errors) <= 0.20
    # the figure the Methodology page quotes is the one these points give today
    recorded = energy_check_figure()
    assert {k: v for k, v in recorded.items() if k != "as_of"} == check_summary(pairs)


def test_energy_csv_and_workbook_carry_lines_and_method(catalog, tmp_path):
    import io

    import openpyxl
    import pandas as pd

    from planner.io.energy_export import energy_csv
    from planner.io.workbook import plan_workbook

    scenario = _flat_low_traffic_scenario().model_copy(update={"market_gco2_per_kwh": 0.0})
    result = plan_scenario(scenario, catalog)
    plan = result.deployments[0]
    table = pd.read_csv(io.StringIO(energy_csv(result)), comment="#")
    assert list(table["Line"]) == ["GPUs serving", "GPUs idle", "Host (CPU, memory, fans, NICs)",
                                   "Facility overhead (PUE)", "Embodied (hardware manufacture)"]
    assert table["kWh per month"].sum() == pytest.approx(plan.energy.kwh_per_month, rel=1e-5)
    assert table["kg CO2e per month"].sum() == pytest.approx(plan.energy.co2_kg_per_month,
                                                             rel=1e-5)
    assert set(table["Carbon method"]) == {"market-based"} and set(table["Grid year"]) == {2025}
    path = tmp_path / "x.xlsx"
    path.write_bytes(plan_workbook(result))
    sheet = openpyxl.load_workbook(path)["Energy and CO2"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in sheet.iter_rows(min_row=2)]
    assert sum(r["kWh per month"] for r in rows) == pytest.approx(plan.energy.kwh_per_month,
                                                                 rel=1e-5)


def test_scaled_down_nodes_draw_nothing(catalog):
    """Business-hours traffic on 1-GPU A100 nodes: the autoscaled option holds fewer node-hours
    than the fixed one, so its idle and host lines shrink while the work (GPUs serving) is the
    same; the energy follows the node-hours the scaling policy holds."""
    def plan(policy):
        data = _flat_low_traffic_scenario().model_dump(mode="json")
        data["workload"].update(requests_per_day=3_000_000, traffic_shape="business-hours",
                                peak_to_average=1.0, min_replicas=1)
        data["deployments"][0]["scaling"] = policy
        data["deployments"][0]["target"]["vm_sku"] = "Standard_NC24ads_A100_v4"
        return plan_scenario(Scenario.model_validate(data), catalog).deployments[0]

    fixed, auto = plan("fixed"), plan("autoscale")
    assert auto.node_hours_per_month < fixed.node_hours_per_month
    lines = {p.scaling.policy: {line.kind: line for line in p.energy.lines} for p in (fixed, auto)}
    assert lines["autoscale"]["gpu_busy"].kwh_per_month == pytest.approx(
        lines["fixed"]["gpu_busy"].kwh_per_month, rel=0.05)
    assert lines["autoscale"]["gpu_idle"].kwh_per_month < lines["fixed"]["gpu_idle"].kwh_per_month
    # host power per node-hour held (125 W per GPU slot on Azure, 1 slot per node here)
    assert lines["autoscale"]["host"].kwh_per_month == pytest.approx(
        auto.node_hours_per_month * 125 / 1000)


def test_azure_water_from_microsofts_macro_region_wue(catalog):
    plan = plan_scenario(_flat_low_traffic_scenario(), catalog).deployments[0]
    e = plan.energy
    # Microsoft FY2025 Americas WUE 0.34 L/kWh (GSF azure-2025-metrics.md), on IT energy (no PUE)
    assert e.wue_l_per_kwh == pytest.approx(0.34)
    assert e.water_l_per_month == pytest.approx(e.kwh_per_month / e.pue * 0.34)
    assert "Microsoft FY2025" in e.wue_source


def test_plan_table_prints_energy_by_line():
    import subprocess

    run = subprocess.run([sys.executable, "-m", "planner", "plan", "--scenario",
                          str(ROOT / "examples" / "support-bot.json")],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if line.strip().startswith("energy ")]
    assert len(lines) == 3  # the three self-hosted options; the API publishes no energy figure
    assert all("GPUs idle" in line and "location-based, 2025 grid" in line for line in lines)
