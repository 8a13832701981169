"""Power, energy and CO2 of provisioned hardware, line by line.

GPU power comes from measurements, not nameplate: serving power by batch from
``data/gpu_power.csv`` (the median of published runs at each batch band, interpolated on a log
batch scale), idle power where measured. A GPU with no measured serving curve takes the
reference GPU's measured share of its TDP at the same batch, applied to its own TDP (flagged).

A month of a deployment splits into lines (:data:`ENERGY_KINDS`):

* ``gpu_busy``: GPUs serving at the plan's batch for the share of the month traffic keeps them busy;
* ``gpu_idle``: the rest of that time, and every GPU held but serving nothing, at idle power;
* ``host``: CPUs, memory, fans and NICs of every node held;
* ``facility_overhead``: IT energy × (PUE - 1), cooling and power conversion;
* ``embodied``: manufacturing emissions of the GPUs and servers written off over their life
  (kg CO2e only; no electricity).

The range: traffic at a share ``u`` of capacity can arrive in bursts (full batch for ``u`` of the
time, idle otherwise: the central figure) or spread out (batch ``u × b`` all the time, never idle),
and the replica's throughput can be anywhere in the throughput model's calibrated interval (a
slower replica is busy longer for the same work). The low and high figures are the lowest and
highest totals over those cases.

Carbon has its method: ``location`` (the grid's average intensity in the region and year, from
``data/grid_carbon.csv``, newest year) or ``market`` (an intensity the user states for a supply
contract, e.g. 0 for a 100 % renewable contract). Both are reported when the market figure is given.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from planner.catalog import Catalog, GpuPower, GpuSpec
from planner.findings import Finding, FindingCode, finding
from planner.units import HOURS_PER_MONTH, HOURS_PER_YEAR

# When a GPU has no published idle figure: an A100-80GB measured 62.12 W idle against its 400 W
# TDP (chuyishang/inference-energy results_paste.md), i.e. about 15 %. An estimate, flagged.
IDLE_POWER_FRACTION_OF_TDP = 0.15
# A GPU with no measured serving curve borrows this GPU's measured share of TDP by batch.
REFERENCE_GPU = "h100-sxm"
# EcoLogits' embodied factors are for an 8-GPU server (the AWS p5.48xlarge it was computed for).
EMBODIED_SERVER_GPU_SLOTS = 8

EnergyKind = Literal["gpu_busy", "gpu_idle", "host", "facility_overhead", "embodied"]
ENERGY_KINDS: tuple[EnergyKind, ...] = ("gpu_busy", "gpu_idle", "host", "facility_overhead",
                                        "embodied")
CarbonMethod = Literal["location", "market"]
PowerStatus = Literal["measured", "estimated"]


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
    wue_l_per_kwh: float | None = None  # datacenter water per kWh of IT energy (None = unknown)
    wue_source: str = ""


# --- power of one GPU ---------------------------------------------------------------------------

def gpu_idle_w(gpu: GpuSpec, power: GpuPower | None = None) -> tuple[float, bool]:
    """Idle power in W and whether it is estimated (no measured or published figure)."""
    if power is not None and power.idle_w is not None:
        return power.idle_w, False
    if gpu.idle_w is not None:
        return gpu.idle_w, False
    if gpu.tdp_w is None:
        raise ValueError(f"{gpu.name} has no TDP")
    return gpu.tdp_w * IDLE_POWER_FRACTION_OF_TDP, True


def gpu_power_w(gpu: GpuSpec, utilization: float) -> float:
    """Average power of one GPU busy ``utilization`` (0..1) of the time between idle and TDP, W
    (the nameplate bound; the plan uses :func:`busy_power_w`)."""
    idle, _ = gpu_idle_w(gpu)
    tdp = gpu.tdp_w if gpu.tdp_w is not None else idle
    return idle + (tdp - idle) * min(max(utilization, 0.0), 1.0)


def interpolated_w(curve: tuple[tuple[int, float], ...], batch: float) -> float:
    """Power at ``batch`` on a measured (batch, W) curve: linear in log(batch) between points,
    the end values beyond them, W."""
    if not curve:
        raise ValueError("empty power curve")
    if batch <= curve[0][0]:
        return curve[0][1]
    for (b0, w0), (b1, w1) in itertools.pairwise(curve):
        if batch <= b1:
            t = (math.log(batch) - math.log(b0)) / (math.log(b1) - math.log(b0))
            return w0 + t * (w1 - w0)
    return curve[-1][1]


@dataclass(frozen=True)
class BusyPower:
    """Serving power of one GPU at a batch, W, and where it came from."""

    watts: float
    status: PowerStatus
    source: str


def busy_power_w(gpu: GpuSpec, batch: float, catalog: Catalog) -> BusyPower | None:
    """Power of one GPU serving ``batch`` concurrent sequences, W: its measured curve, else the
    reference GPU's measured share of TDP applied to this GPU's TDP; None when neither exists."""
    own = catalog.gpu_power.get(gpu.id)
    if own is not None and own.busy_w_by_batch:
        return BusyPower(interpolated_w(own.busy_w_by_batch, batch), "measured", own.busy_source)
    ref = catalog.gpu_power.get(REFERENCE_GPU)
    ref_gpu = catalog.gpus.get(REFERENCE_GPU)
    if (ref is None or not ref.busy_w_by_batch or ref_gpu is None or ref_gpu.tdp_w is None
            or gpu.tdp_w is None):
        return None
    share = interpolated_w(ref.busy_w_by_batch, batch) / ref_gpu.tdp_w
    return BusyPower(share * gpu.tdp_w, "estimated",
                     f"{REFERENCE_GPU} measured share of TDP ({ref.busy_source})")


# --- energy and carbon --------------------------------------------------------------------------

def facility_kwh_per_month(it_power_w: float, pue: float) -> float:
    """Energy drawn from the grid per month at constant IT power, kWh."""
    return it_power_w * pue * HOURS_PER_MONTH / 1000


def kwh_per_month(power_w: float) -> float:
    """Energy of a constant ``power_w`` over a month (730 h), kWh."""
    return power_w * HOURS_PER_MONTH / 1000


def co2_kg(kwh: float, grid_gco2_per_kwh: float) -> float:
    """Emissions of ``kwh`` at the grid's carbon intensity, kg CO2e."""
    return kwh * grid_gco2_per_kwh / 1000


def embodied_kg(gpu_hours: float, gpu_slot_hours: float, catalog: Catalog) -> float | None:
    """Manufacturing emissions of ``gpu_hours`` GPU-hours on servers held for ``gpu_slot_hours``
    GPU-slot-hours, written off straight-line over the hardware's life, kg CO2e (EcoLogits'
    factors); None when the factors are missing."""
    gpu, server = catalog.embodied.get("gpu"), catalog.embodied.get("server_8_gpu")
    if gpu is None or server is None:
        return None
    per_gpu_h = gpu.kg_co2e / (gpu.lifetime_years * HOURS_PER_YEAR)
    per_slot_h = (server.kg_co2e / EMBODIED_SERVER_GPU_SLOTS
                  / (server.lifetime_years * HOURS_PER_YEAR))
    return gpu_hours * per_gpu_h + gpu_slot_hours * per_slot_h


def embodied_kg_per_month(gpus: int, gpu_slots: int, catalog: Catalog) -> float | None:
    """Embodied kg CO2e per month of ``gpus`` GPUs in ``gpu_slots`` slots held all month."""
    return embodied_kg(gpus * HOURS_PER_MONTH, gpu_slots * HOURS_PER_MONTH, catalog)


@dataclass(frozen=True)
class GridIntensity:
    """Location-based grid carbon of a region: g CO2e/kWh, the year it describes, its source."""

    gco2_per_kwh: float
    year: int | None
    source: str
    from_region_table: bool


def grid_intensity(region: str, site: Site, catalog: Catalog) -> GridIntensity | None:
    """The newest location-based figure for ``region`` (``data/grid_carbon.csv``), else the
    region table's (2023) figure the site carries; None when neither exists."""
    row = catalog.grid_carbon.get(region)
    if row is not None:
        return GridIntensity(row.gco2_per_kwh, row.year, row.source, False)
    if site.grid_gco2_per_kwh is None:
        return None
    region_row = catalog.regions.get(region)
    return GridIntensity(site.grid_gco2_per_kwh, None,
                         region_row.grid_source if region_row else "regions.csv", True)


class EnergyLine(BaseModel):
    """One line of a month's energy: facility kWh (PUE applied only on the overhead line) and
    kg CO2e by the report's method, with the low and high figures of the range."""

    model_config = ConfigDict(frozen=True)

    kind: EnergyKind
    kwh_per_month: float
    kwh_low: float
    kwh_high: float
    co2_kg_per_month: float | None
    co2_kg_low: float | None
    co2_kg_high: float | None


class EnergyReport(BaseModel):
    """A deployment's month of energy and emissions by line, with its working and sources."""

    model_config = ConfigDict(frozen=True)

    lines: list[EnergyLine]
    kwh_per_month: float
    kwh_low: float
    kwh_high: float
    co2_kg_per_month: float | None
    co2_kg_low: float | None
    co2_kg_high: float | None
    carbon_method: CarbonMethod
    co2_location_kg_per_month: float | None
    co2_market_kg_per_month: float | None
    grid_gco2_per_kwh: float | None
    grid_year: int | None
    grid_source: str
    market_gco2_per_kwh: float | None
    pue: float
    pue_status: str
    busy_power_w_per_gpu: float
    busy_power_status: PowerStatus
    busy_power_source: str
    idle_power_w_per_gpu: float
    idle_power_status: PowerStatus
    embodied_source: str
    water_l_per_month: float | None  # IT kWh x the operator's WUE (None = not published)
    wue_l_per_kwh: float | None
    wue_source: str
    joules_per_output_token: float | None  # facility energy (no embodied) per output token
    wh_per_request: float | None
    gpu_joules_per_output_token_at_batch: float | None  # GPU power / replica throughput


@dataclass(frozen=True)
class Load:
    """How the deployment is used in a month, in GPU-hours: held (every GPU of the nodes in
    service; scaled-down nodes are not held), in replicas, and kept busy by the traffic at the
    plan's batch; node-hours held; the batch; the month's traffic."""

    gpu_hours_held: float
    replica_gpu_hours: float
    busy_gpu_hours: float
    node_hours: float
    batch: int
    output_tokens_per_month: float
    requests_per_month: float
    replica_output_tokens_per_s: float | None = None
    tp: int = 1
    # the throughput model's interval as factors on busy_gpu_hours (slower = more busy hours)
    busy_factor_low: float = 1.0
    busy_factor_high: float = 1.0

    @property
    def utilization(self) -> float:
        """Share (0-1) of the replica GPU-hours the traffic keeps busy."""
        if self.replica_gpu_hours <= 0:
            return 0.0
        return min(max(self.busy_gpu_hours / self.replica_gpu_hours, 0.0), 1.0)


def fixed_load(active_gpus: int, billed_gpus: int, nodes: int, batch: int, utilization: float,
               output_tokens_per_month: float, requests_per_month: float,
               replica_output_tokens_per_s: float | None = None, tp: int = 1,
               hours: float = HOURS_PER_MONTH) -> Load:
    """The load of ``nodes`` nodes held all month, ``active_gpus`` of their ``billed_gpus`` GPUs
    in replicas busy ``utilization`` (0-1) of the time."""
    u = min(max(utilization, 0.0), 1.0)
    return Load(billed_gpus * hours, active_gpus * hours, active_gpus * hours * u, nodes * hours,
                batch, output_tokens_per_month, requests_per_month, replica_output_tokens_per_s,
                tp)


@dataclass(frozen=True)
class Energy:
    """The energy room's answer: the report (None = unknown) and its findings."""

    report: EnergyReport | None
    findings: tuple[Finding, ...] = ()

    @property
    def kwh_per_month(self) -> float | None:
        return self.report.kwh_per_month if self.report else None

    @property
    def co2_kg_per_month(self) -> float | None:
        return self.report.co2_kg_per_month if self.report else None


def _gpu_it_kwh(load: Load, busy_w: float, spread_busy_w: float, idle_w: float,
                busy_factor: float = 1.0) -> dict[str, tuple[float, float]]:
    """GPU kWh per month as (busy, idle) under the burst and the spread traffic patterns, with
    the busy GPU-hours scaled by ``busy_factor`` (the throughput interval)."""
    busy_h = min(load.busy_gpu_hours * busy_factor, load.replica_gpu_hours)
    spare_h = max(load.gpu_hours_held - load.replica_gpu_hours, 0.0)
    burst = (busy_w * busy_h / 1000,
             idle_w * (load.gpu_hours_held - busy_h) / 1000)
    serving = busy_h > 0
    spread = (spread_busy_w * load.replica_gpu_hours / 1000 if serving else 0.0,
              idle_w * (spare_h if serving else load.gpu_hours_held) / 1000)
    return {"burst": burst, "spread": spread}


def deployment_energy(gpu: GpuSpec, load: Load, site: Site, catalog: Catalog,
                      market_gco2_per_kwh: float | None = None) -> Energy:
    """A month of energy and CO2 of the node-hours ``load`` holds, by line (see the module
    docstring)."""
    if gpu.tdp_w is None and gpu.id not in catalog.gpu_power:
        return Energy(None, (finding(FindingCode.ENERGY_NO_TDP, status="catalog",
                                     gpu=gpu.name),))
    found: list[Finding] = []
    busy = busy_power_w(gpu, load.batch, catalog)
    if busy is None:
        return Energy(None, (finding(FindingCode.ENERGY_NO_TDP, status="catalog",
                                     gpu=gpu.name),))
    if busy.status == "estimated":
        found.append(finding(FindingCode.BUSY_POWER_ESTIMATED, source=busy.source, gpu=gpu.name,
                             reference_gpu=REFERENCE_GPU, busy_w=busy.watts))
    power = catalog.gpu_power.get(gpu.id)
    idle_w, idle_estimated = gpu_idle_w(gpu, power)
    if idle_estimated:
        found.append(finding(FindingCode.IDLE_POWER_ESTIMATED, gpu=gpu.name, idle_w=idle_w))
    if site.pue is None:
        found.append(finding(FindingCode.ENERGY_NO_PUE, status="catalog", region=site.region))
        return Energy(None, tuple(found))
    host_kwh = load.node_hours * site.host_power_w_per_node / 1000
    pue = site.pue

    def spread_w(factor: float) -> float:
        u = min(load.utilization * factor, 1.0)
        spread = busy_power_w(gpu, max(1.0, load.batch * u), catalog)
        return spread.watts if spread else busy.watts

    # every (traffic pattern, throughput bound) case: burst at the central throughput is the
    # central figure; the range is the lowest and highest of all of them
    cases: list[tuple[float, float]] = []
    for factor in dict.fromkeys((1.0, load.busy_factor_low, load.busy_factor_high)):
        patterns = _gpu_it_kwh(load, busy.watts, spread_w(factor), idle_w, factor)
        cases += [patterns["burst"], patterns["spread"]]

    def it(case: tuple[float, float]) -> float:
        return case[0] + case[1] + host_kwh

    def rng(values: list[float]) -> tuple[float, float, float]:
        return values[0], min(values), max(values)

    kwh_lines: dict[EnergyKind, tuple[float, float, float]] = {
        "gpu_busy": rng([c[0] for c in cases]),
        "gpu_idle": rng([c[1] for c in cases]),
        "host": (host_kwh, host_kwh, host_kwh),
        "facility_overhead": rng([it(c) * (pue - 1) for c in cases]),
    }
    total_kwh, low_kwh, high_kwh = rng([it(c) * pue for c in cases])

    grid = grid_intensity(site.region, site, catalog)
    if grid is None:
        found.append(finding(FindingCode.CO2_NO_GRID, status="catalog", region=site.region))
    elif grid.from_region_table:
        found.append(finding(FindingCode.GRID_FROM_REGION_TABLE, status="catalog",
                             source=grid.source, region=site.region))
    method: CarbonMethod = "market" if market_gco2_per_kwh is not None else "location"
    factor = market_gco2_per_kwh if method == "market" else (grid.gco2_per_kwh if grid else None)
    embodied = embodied_kg(load.gpu_hours_held, load.gpu_hours_held, catalog)

    def kg(kwh: float) -> float | None:
        return None if factor is None else co2_kg(kwh, factor)

    lines = [EnergyLine(kind=kind, kwh_per_month=c, kwh_low=lo, kwh_high=hi,
                        co2_kg_per_month=kg(c), co2_kg_low=kg(lo), co2_kg_high=kg(hi))
             for kind, (c, lo, hi) in kwh_lines.items()]
    lines.append(EnergyLine(kind="embodied", kwh_per_month=0.0, kwh_low=0.0, kwh_high=0.0,
                            co2_kg_per_month=embodied, co2_kg_low=embodied,
                            co2_kg_high=embodied))
    operational = [kg(total_kwh), kg(low_kwh), kg(high_kwh)]
    co2 = [None if (o is None or embodied is None) else o + embodied for o in operational]
    location = (None if grid is None or embodied is None
                else co2_kg(total_kwh, grid.gco2_per_kwh) + embodied)
    market = (None if market_gco2_per_kwh is None or embodied is None
              else co2_kg(total_kwh, market_gco2_per_kwh) + embodied)
    tokens, requests = load.output_tokens_per_month, load.requests_per_month
    gpu_j = (busy.watts * load.tp / load.replica_output_tokens_per_s
             if load.replica_output_tokens_per_s else None)
    embodied_row = catalog.embodied.get("gpu")
    report = EnergyReport(
        lines=lines, kwh_per_month=total_kwh, kwh_low=low_kwh, kwh_high=high_kwh,
        co2_kg_per_month=co2[0], co2_kg_low=co2[1], co2_kg_high=co2[2], carbon_method=method,
        co2_location_kg_per_month=location, co2_market_kg_per_month=market,
        grid_gco2_per_kwh=grid.gco2_per_kwh if grid else None,
        grid_year=grid.year if grid else None, grid_source=grid.source if grid else "",
        market_gco2_per_kwh=market_gco2_per_kwh, pue=site.pue, pue_status=site.pue_status,
        busy_power_w_per_gpu=busy.watts, busy_power_status=busy.status,
        busy_power_source=busy.source, idle_power_w_per_gpu=idle_w,
        idle_power_status="estimated" if idle_estimated else "measured",
        embodied_source=embodied_row.source if embodied_row else "",
        water_l_per_month=(None if site.wue_l_per_kwh is None
                           else total_kwh / pue * site.wue_l_per_kwh),
        wue_l_per_kwh=site.wue_l_per_kwh, wue_source=site.wue_source,
        joules_per_output_token=total_kwh * 3.6e6 / tokens if tokens > 0 else None,
        wh_per_request=total_kwh * 1000 / requests if requests > 0 else None,
        gpu_joules_per_output_token_at_batch=gpu_j,
    )
    return Energy(report, tuple(found))


def training_kwh(gpu: GpuSpec, gpus_per_node: int, nodes: int, hours: float,
                 site: Site) -> float | None:
    """Facility energy of a training job, kWh: GPUs at TDP (training keeps them busy) plus host
    power, times the site's PUE, over ``hours``; None when TDP or PUE is unknown."""
    if gpu.tdp_w is None or site.pue is None:
        return None
    it_w = nodes * (gpus_per_node * gpu.tdp_w + site.host_power_w_per_node)
    return it_w * site.pue * hours / 1000
