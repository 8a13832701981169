"""Power, energy and CO2 of provisioned hardware.

GPU power is linear in utilisation between idle and TDP; GPUs held but not serving sit at idle;
the rest of a node (CPUs, memory, network, fans) adds the site's host power; PUE scales IT power
to facility power. The site (host power, PUE, grid carbon) comes from the target module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from planner.catalog import GpuSpec
from planner.findings import Finding, FindingCode, finding
from planner.units import HOURS_PER_MONTH

# When a GPU has no published idle figure: an A100-80GB measured 62.12 W idle against its 400 W
# TDP (chuyishang/inference-energy results_paste.md), i.e. about 15 %. An estimate, flagged.
IDLE_POWER_FRACTION_OF_TDP = 0.15


@dataclass(frozen=True)
class Site:
    """Where the hardware draws power: host power per node (W), PUE, grid carbon (g CO2e/kWh).

    ``pue`` / ``grid_gco2_per_kwh`` are None when unknown; ``pue_status`` says whether the PUE is
    the user's, the region's published one or the planner's default."""

    region: str
    host_power_w_per_node: float
    pue: float | None
    pue_status: Literal["input", "catalog", "default"]
    grid_gco2_per_kwh: float | None


def gpu_idle_w(gpu: GpuSpec) -> tuple[float, bool]:
    """Idle power in W and whether it is estimated (no published figure)."""
    if gpu.idle_w is not None:
        return gpu.idle_w, False
    if gpu.tdp_w is None:
        raise ValueError(f"{gpu.name} has no TDP")
    return gpu.tdp_w * IDLE_POWER_FRACTION_OF_TDP, True


def gpu_power_w(gpu: GpuSpec, utilization: float) -> float:
    """Average power of one GPU busy ``utilization`` (0..1) of the time, W."""
    idle, _ = gpu_idle_w(gpu)
    tdp = gpu.tdp_w if gpu.tdp_w is not None else idle
    return idle + (tdp - idle) * min(max(utilization, 0.0), 1.0)


def facility_kwh_per_month(it_power_w: float, pue: float) -> float:
    """Energy drawn from the grid per month at constant IT power, kWh."""
    return it_power_w * pue * HOURS_PER_MONTH / 1000


def co2_kg(kwh: float, grid_gco2_per_kwh: float) -> float:
    """Emissions of ``kwh`` at the grid's carbon intensity, kg CO2e."""
    return kwh * grid_gco2_per_kwh / 1000


@dataclass(frozen=True)
class Energy:
    """Energy of a deployment per month: facility kWh and kg CO2e (None = unknown)."""

    kwh_per_month: float | None
    co2_kg_per_month: float | None
    findings: tuple[Finding, ...] = ()


def deployment_energy(gpu: GpuSpec, active_gpus: int, nodes: int, gpus_per_node: int,
                      utilization: float, site: Site) -> Energy:
    """kWh and kg CO2e per month of ``nodes`` nodes, ``active_gpus`` of whose GPUs serve at
    ``utilization`` while the rest idle."""
    if gpu.tdp_w is None:
        return Energy(None, None, (finding(FindingCode.ENERGY_NO_TDP, status="catalog",
                                           gpu=gpu.name),))
    found: list[Finding] = []
    idle_w, idle_estimated = gpu_idle_w(gpu)
    if idle_estimated:
        found.append(finding(FindingCode.IDLE_POWER_ESTIMATED, gpu=gpu.name, idle_w=idle_w))
    billed_gpus = nodes * gpus_per_node
    gpu_w = active_gpus * gpu_power_w(gpu, utilization) + (billed_gpus - active_gpus) * idle_w
    if site.pue is None:
        found.append(finding(FindingCode.ENERGY_NO_PUE, status="catalog", region=site.region))
        return Energy(None, None, tuple(found))
    kwh = facility_kwh_per_month(gpu_w + nodes * site.host_power_w_per_node, site.pue)
    if site.grid_gco2_per_kwh is None:
        found.append(finding(FindingCode.CO2_NO_GRID, status="catalog", region=site.region))
        return Energy(kwh, None, tuple(found))
    return Energy(kwh, co2_kg(kwh, site.grid_gco2_per_kwh), tuple(found))


def training_kwh(gpu: GpuSpec, gpus_per_node: int, nodes: int, hours: float,
                 site: Site) -> float | None:
    """Facility energy of a training job, kWh: GPUs at TDP (training keeps them busy) plus host
    power, times the site's PUE, over ``hours``; None when TDP or PUE is unknown."""
    if gpu.tdp_w is None or site.pue is None:
        return None
    it_w = nodes * (gpus_per_node * gpu.tdp_w + site.host_power_w_per_node)
    return it_w * site.pue * hours / 1000
