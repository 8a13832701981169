"""Power, energy and CO2 of a deployment.

GPU power is linear in utilisation between idle and TDP; the rest of a server (CPUs, memory,
network, fans) adds host power; PUE scales IT power to facility power.
"""

from __future__ import annotations

from planner.catalog import GpuSpec
from planner.units import HOURS_PER_MONTH

# EcoLogits' LLM-inference methodology (genai-impact/ecologits docs/methodology/llm_inference.md,
# commit 004ec913): a high-end 8-GPU cloud server draws 1 kW without its GPUs -> 125 W per GPU slot.
HOST_POWER_W_PER_GPU_SLOT = 1000 / 8
# When a GPU has no published idle figure: an A100-80GB measured 62.12 W idle against its 400 W
# TDP (chuyishang/inference-energy results_paste.md), i.e. about 15 %. An estimate, flagged.
IDLE_POWER_FRACTION_OF_TDP = 0.15
# Industry-average data-centre PUE 1.58 in 2023 (Uptime Institute, "Large data centers are mostly
# more efficient, analysis confirms", 2023-11-23): the default for on-premises sites.
ON_PREM_DEFAULT_PUE = 1.58


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
