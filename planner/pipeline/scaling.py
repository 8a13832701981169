"""Scaling policies: how many GPU nodes a self-hosted option holds in each hour of the day.

``fixed`` holds the peak's nodes all day (what the planner did before policies). ``autoscale``
is the AKS cluster autoscaler following the traffic shape between a floor (default: the nodes
``min_replicas`` need) and a ceiling (default: the peak's nodes). ``scale-to-zero`` also lets
the pool go to no GPU node in an hour without traffic (dev/test). Each hour is sized with the
same capacity model as the peak (:func:`planner.pipeline.sizing.replicas_needed`).

A node the autoscaler adds is paid for from the moment it is requested, and is useful only
once the model serves: the scaler must ask :func:`lead_time_minutes` ahead, so the hour before a
step up holds the extra nodes for that long. A node no longer needed is removed after the
autoscaler's ``scale-down-unneeded-time`` (AKS default 10 minutes), so the hour after a step
down holds the released nodes that long.

Lead-time parts, measured once by the KAITO maintainers for a single-GPU vLLM Workspace on
Standard_NC24ads_A100_v4 (kaito-project/kaito#2325, 2026-09-07): GPU node provisioning 284 s,
node initialisation 126 s, container image pull 101 s (5.60 GB image), container start,
framework bootstrap and engine pre-load 105 s, model download and load 62 s for 51.75 GiB of
weights (the read speed used here), engine initialisation, compile and warm-up 195 s. The
weights part is scaled by the served model's weight size; the rest is taken as measured (one
run, one VM size: an estimate for other sizes).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from planner.pipeline.sizing import nodes_needed_of
from planner.pipeline.traffic import HOURS_PER_DAY, hourly_peak_requests_per_s, shape_peak_factor
from planner.registry import ScalingPolicy
from planner.scenario import Workload
from planner.units import DAYS_PER_MONTH, SECONDS_PER_DAY

LEAD_TIME_SOURCE = "kaito-project/kaito#2325 (measured cold start, Standard_NC24ads_A100_v4)"
NODE_PROVISION_S = 284.0 + 126.0  # GPU node provisioning + initialisation (kaito#2325)
IMAGE_PULL_S = 101.0  # 5.60 GB kaito-base image (kaito#2325)
RUNTIME_START_S = 7.0 + 3.0 + 74.0 + 21.0  # resource prep, container start, bootstrap, pre-load
ENGINE_WARMUP_S = 195.0  # engine init, compile, warm-up after the weights are in (kaito#2325)
WEIGHT_READ_GB_PER_S = 51.75 * 2**30 / 1e9 / 62.0  # 51.75 GiB loaded in 62 s: ~0.896 GB/s
# AKS cluster autoscaler profile default scale-down-unneeded-time '10m'
# (learn.microsoft.com ManagedClusterAutoScalerProfile.ScaleDownUnneededTime)
SCALE_DOWN_UNNEEDED_MINUTES = 10.0


def weight_load_seconds(weights_gb: float) -> float:
    """Seconds to download and load ``weights_gb`` GB of weights at the measured read speed."""
    return weights_gb / WEIGHT_READ_GB_PER_S


def lead_time_minutes(weights_gb: float) -> float:
    """Minutes from asking for a GPU node to the model serving on it (kaito#2325 parts, the
    weights part scaled to this model's size)."""
    return (NODE_PROVISION_S + IMAGE_PULL_S + RUNTIME_START_S + weight_load_seconds(weights_gb)
            + ENGINE_WARMUP_S) / 60


class ScalingReport(BaseModel):
    """What a scaling policy holds over the day, and what that uses."""

    model_config = ConfigDict(frozen=True)

    policy: ScalingPolicy
    min_nodes: int
    max_nodes: int
    lead_time_minutes: float | None  # None for fixed (nothing is added during the day)
    scale_down_minutes: float | None
    shape_peak_factor: float
    nodes_by_hour: list[int]  # GPU nodes in service, UTC hours 0-23
    replicas_by_hour: list[int]
    capped_hours: int  # hours whose demand needs more than max_nodes (the SLO is at risk)
    node_hours_per_day: float
    node_hours_per_month: float
    average_utilization: float  # served requests over the capacity of the replicas held
    busy_node_hours_per_month: float
    idle_node_hours_per_month: float
    source: str = LEAD_TIME_SOURCE


def held_of(counts: np.ndarray, lead_h: np.ndarray | float, down_h: float) -> np.ndarray:
    """Unit-hours per day of 24-hour profiles (rows of ``counts``, cyclic), with steps up bought
    ``lead_h`` hours early and steps down released ``down_h`` hours late (each capped at an
    hour)."""
    counts = np.asarray(counts)
    nxt = np.roll(counts, -1, axis=-1)
    ups = np.clip(nxt - counts, 0, None).sum(axis=-1)
    downs = np.clip(counts - nxt, 0, None).sum(axis=-1)
    return (counts.sum(axis=-1) + ups * np.minimum(lead_h, 1.0)
            + downs * np.minimum(down_h, 1.0)).astype(float)


def _held(count: np.ndarray, lead_h: float, down_h: float) -> float:
    """:func:`held_of` of one profile."""
    return float(held_of(count, lead_h, down_h))


def burst_node_hours_per_month(report: ScalingReport, committed: int) -> float:
    """Node-hours a month held above ``committed`` always-billed nodes: the hours' nodes beyond
    them, with the autoscaler's lead and scale-down times on those steps (as :func:`_held`)."""
    above = np.maximum(np.asarray(report.nodes_by_hour) - committed, 0)
    lead = (report.lead_time_minutes or 0.0) / 60
    down = (report.scale_down_minutes or 0.0) / 60
    return _held(above, lead, down) * DAYS_PER_MONTH


def hourly_need_of(policy: ScalingPolicy, workload: Workload, replica_rps: np.ndarray,
                   gpus_per_node: np.ndarray, tp: np.ndarray, peak_nodes: np.ndarray,
                   min_nodes: int | None = None, max_nodes: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For arrays of options (one replica's capacity in requests/s, node size, TP, the peak's
    nodes) under a policy that follows the traffic: (replicas each hour needs, nodes those
    need), one row of 24 each, and the autoscaler's floor and ceiling of each option. The floor
    is ``min_nodes`` when given, else the nodes min_replicas need (none for scale-to-zero); the
    ceiling ``max_nodes``, else the peak's nodes. Each hour is sized as the peak is
    (:func:`~planner.pipeline.sizing.replicas_needed`, at least one replica in an hour with
    traffic); hours are never busier than the peak, so none needs more than MAX_REPLICAS."""
    per_node = gpus_per_node // tp
    demand = hourly_peak_requests_per_s(workload)[None, :]
    floor = (np.full(len(peak_nodes), min_nodes) if min_nodes is not None else
             np.zeros_like(peak_nodes) if policy == "scale-to-zero" else
             nodes_needed_of(np.full(len(peak_nodes), workload.min_replicas), gpus_per_node, tp))
    ceiling = (np.full(len(peak_nodes), max_nodes) if max_nodes is not None else
               np.maximum(peak_nodes, floor))
    floor_replicas = np.minimum(workload.min_replicas, floor * per_node)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = demand / (replica_rps[:, None] * workload.target_utilization)
    need = np.where(demand <= 0, 0, np.maximum(1, np.ceil(raw - 1e-9))).astype(np.int64)
    need = np.maximum(need, floor_replicas)
    node_need = np.ceil(need / per_node[:, None]).astype(np.int64)
    return need, node_need, floor, ceiling


def nodes_by_hour_of(policy: ScalingPolicy, workload: Workload, replica_rps: np.ndarray,
                     gpus_per_node: np.ndarray, tp: np.ndarray,
                     peak_nodes: np.ndarray) -> np.ndarray:
    """:attr:`ScalingReport.nodes_by_hour` of :func:`scaling_report` for arrays of options (one
    replica's capacity in requests/s, node size, TP, the peak's nodes), one row of 24 each, with
    the autoscaler's default bounds (no ``min_nodes``/``max_nodes``)."""
    if policy == "fixed":
        return np.repeat(np.asarray(peak_nodes)[:, None], HOURS_PER_DAY, axis=1)
    _, node_need, floor, ceiling = hourly_need_of(policy, workload, replica_rps, gpus_per_node,
                                                  tp, peak_nodes)
    return np.clip(node_need, floor[:, None], ceiling[:, None])


def held_node_hours_per_month_of(nodes_by_hour: np.ndarray, weights_gb: np.ndarray) -> np.ndarray:
    """Node-hours a month the autoscaler holds for rows of :func:`nodes_by_hour_of` (the lead
    time loading ``weights_gb`` GB of weights, the scale-down delay), as :func:`scaling_report`."""
    lead = lead_time_minutes(weights_gb)
    return held_of(nodes_by_hour, lead / 60, SCALE_DOWN_UNNEEDED_MINUTES / 60) * DAYS_PER_MONTH


def burst_node_hours_per_month_of(nodes_by_hour: np.ndarray, committed: np.ndarray,
                                  weights_gb: np.ndarray) -> np.ndarray:
    """:func:`burst_node_hours_per_month` for rows of :func:`nodes_by_hour_of`."""
    above = np.maximum(nodes_by_hour - np.asarray(committed)[:, None], 0)
    return held_node_hours_per_month_of(above, weights_gb)


def scaling_report(policy: ScalingPolicy, workload: Workload, replica_rps: float,
                   gpus_per_node: int, tp: int, peak_replicas: int, peak_nodes: int,
                   weights_gb: float, min_nodes: int | None = None,
                   max_nodes: int | None = None) -> ScalingReport:
    """Nodes and replicas each UTC hour under ``policy``, node-hours per month and the average
    utilisation (0-1) of the replicas held. ``replica_rps`` is one replica's capacity."""
    per_node = gpus_per_node // tp
    mean_rps = workload.requests_per_day / SECONDS_PER_DAY
    peak_shape = shape_peak_factor(workload)
    if policy == "fixed":
        nodes = np.full(HOURS_PER_DAY, peak_nodes)
        replicas = np.full(HOURS_PER_DAY, peak_replicas)
        node_hours = float(nodes.sum())
        replica_hours = float(replicas.sum())
        lead = down = None
        floor = ceiling = peak_nodes
        capped = 0
    else:
        # between the floor and the ceiling, each hour gets the replicas its own traffic needs
        needs, node_needs, floors, ceilings = hourly_need_of(
            policy, workload, np.array([replica_rps]), np.array([gpus_per_node]),
            np.array([tp]), np.array([peak_nodes]), min_nodes, max_nodes)
        need, node_need = needs[0], node_needs[0]
        floor, ceiling = int(floors[0]), int(ceilings[0])
        capped = int((node_need > ceiling).sum())
        nodes = np.clip(node_need, floor, ceiling)
        replicas = np.minimum(need, nodes * per_node)
        lead = lead_time_minutes(weights_gb)
        down = SCALE_DOWN_UNNEEDED_MINUTES
        node_hours = _held(nodes, lead / 60, down / 60)
        replica_hours = _held(replicas, lead / 60, down / 60)
    served = mean_rps * HOURS_PER_DAY  # request-rate-hours per day
    util = min(1.0, served / (replica_hours * replica_rps)) if replica_hours > 0 else 0.0
    if policy == "fixed":  # as the sizing reports it: the day's mean over the replicas' capacity
        util = min(1.0, mean_rps / (peak_replicas * replica_rps))
    per_month = node_hours * DAYS_PER_MONTH
    return ScalingReport(
        policy=policy, min_nodes=int(floor), max_nodes=int(ceiling), lead_time_minutes=lead,
        scale_down_minutes=down, shape_peak_factor=peak_shape,
        nodes_by_hour=[int(n) for n in nodes], replicas_by_hour=[int(r) for r in replicas],
        capped_hours=capped, node_hours_per_day=node_hours, node_hours_per_month=per_month,
        average_utilization=util, busy_node_hours_per_month=per_month * util,
        idle_node_hours_per_month=per_month * (1 - util))

