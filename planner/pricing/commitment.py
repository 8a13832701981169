"""How many nodes a commitment plan should cover when a scaling policy follows the traffic.

A reservation or savings plan bills every hour of its term whether the node runs or not; the
node-hours above the committed nodes are pay-as-you-go. Committing the k-th node saves its
pay-as-you-go price in every hour it is in service and costs the commitment's price in every
hour: worth it when the node is in service in more than ``commit / payg`` of the day's hours.
So the planner commits the largest k for which the share of the day's hours holding at least k
nodes exceeds that ratio (equal cost: not committed), reading the 24-hour profile of the nodes
in service (:attr:`~planner.pipeline.scaling.ScalingReport.nodes_by_hour`). That is the cheapest
whole number of committed nodes for the profile, before the autoscaler's lead times (which fall
on the pay-as-you-go part). At a fixed policy every node is committed, as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

HOURS = 24  # the profile's hours


def committed_index(commit_usd_per_hour: np.ndarray | float,
                    payg_usd_per_hour: np.ndarray | float) -> np.ndarray:
    """The position in a day's node counts sorted largest first whose value is the nodes to
    commit: ``floor(24 * commit / payg)``; 24 (commit nothing) where the commitment is not
    cheaper or a price is unknown (NaN)."""
    ratio = np.asarray(commit_usd_per_hour, dtype=float) / np.asarray(payg_usd_per_hour,
                                                                      dtype=float)
    with np.errstate(invalid="ignore"):
        index = np.floor(HOURS * ratio)
    return np.where(np.isfinite(index) & (index >= 0), np.minimum(index, HOURS),
                    HOURS).astype(np.int64)


def counts_largest_first(nodes_by_hour: np.ndarray) -> np.ndarray:
    """Each row of 24-hour node counts sorted largest first, with a 0 appended: position ``i``
    is the nodes to commit at :func:`committed_index` ``i`` (sort once, read many indices)."""
    ordered = -np.sort(-np.asarray(nodes_by_hour), axis=-1)
    return np.concatenate([ordered, np.zeros((*ordered.shape[:-1], 1), ordered.dtype)], axis=-1)


def committed_nodes_of(nodes_by_hour: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Nodes to commit for each row of 24-hour node counts at its :func:`committed_index`: the
    ``index``-th largest count (0 at index 24)."""
    padded = counts_largest_first(nodes_by_hour)
    return np.take_along_axis(padded, np.asarray(index)[..., None], axis=-1)[..., 0]


def committed_nodes(nodes_by_hour: Sequence[int], commit_usd_per_hour: float,
                    payg_usd_per_hour: float) -> int:
    """Nodes a commitment should cover for one 24-hour profile (see the module docstring)."""
    if not (math.isfinite(commit_usd_per_hour) and math.isfinite(payg_usd_per_hour)
            and payg_usd_per_hour > 0):
        return 0
    index = committed_index(commit_usd_per_hour, payg_usd_per_hour)
    return int(committed_nodes_of(np.asarray(nodes_by_hour)[None, :], index[None])[0])
