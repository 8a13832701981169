"""Peak demand -> replicas -> GPUs -> nodes, and how that grows month by month."""

from __future__ import annotations

import math

from planner.units import SECONDS_PER_DAY


def average_requests_per_s(requests_per_day: float) -> float:
    """Mean request rate, requests/s."""
    return requests_per_day / SECONDS_PER_DAY


def peak_requests_per_s(requests_per_day: float, peak_to_average: float) -> float:
    """Request rate the deployment must absorb at its busiest, requests/s."""
    return average_requests_per_s(requests_per_day) * peak_to_average


def replicas_needed(peak_rps: float, replica_rps: float, target_utilization: float,
                    min_replicas: int) -> int:
    """Replicas so that peak load uses at most ``target_utilization`` of each, never below
    ``min_replicas``. ``replica_rps`` is one replica's capacity in requests/s."""
    if replica_rps <= 0:
        raise ValueError("replica capacity must be positive")
    needed = math.ceil(peak_rps / (replica_rps * target_utilization) - 1e-9)
    return max(min_replicas, needed)


def replicas_per_node(gpus_per_node: int, tp: int) -> int:
    """Replicas of ``tp`` GPUs each that one node holds."""
    return gpus_per_node // tp


def nodes_needed(replicas: int, gpus_per_node: int, tp: int) -> int:
    """Whole nodes (VMs or machines) to host the replicas."""
    per_node = replicas_per_node(gpus_per_node, tp)
    if per_node < 1:
        raise ValueError(f"a replica needs {tp} GPUs but a node has {gpus_per_node}")
    return math.ceil(replicas / per_node)


def monthly_traffic(requests_per_day: float, monthly_growth: float, months: int = 12) -> list[float]:
    """Requests/day in each of the next ``months`` months (month 0 = now), compounding growth."""
    return [requests_per_day * (1 + monthly_growth) ** m for m in range(months)]
