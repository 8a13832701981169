"""A self-hosted deployment's monthly cost against traffic, for many traffic levels at once.

Nothing a replica can do depends on how much traffic there is: the memory fit, the
tensor-parallel options, the batch each runs at under the SLOs and so the requests/s one replica
serves. Only replicas, nodes and cost do. A :class:`TrafficCurve` sizes that physics once (the
plan's own steps: :func:`~planner.pipeline.plan.tp_candidates`,
:func:`~planner.pipeline.sizing.replica_capacity`), evaluates replicas and nodes for an array of
requests/day with the advisor's array functions (:mod:`planner.pipeline.sizing`), picks the TP
option the plan picks, and prices each distinct node count once with the plan's cost lines
(:func:`~planner.pipeline.plan.serving_lines`). So its cost at any traffic equals the plan's
(``tests/test_curves.py`` checks random deployments and traffic levels).

It applies where the plan's cost is a function of nodes alone: a fixed scaling policy (sized for
the peak all day) on a target whose module says a month of serving costs what its nodes cost
(``SERVING_COST_BY_NODES``; own machines pay electricity that follows utilisation). Elsewhere
:func:`traffic_curve` returns None and callers plan each level.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from planner.catalog import Catalog
from planner.errors import CannotEstimateError
from planner.physics.memory import smallest_fitting_tp
from planner.physics.throughput import EngineProfile, profile_for
from planner.pipeline.plan import serving_context, serving_lines, tp_candidates
from planner.pipeline.sizing import (
    MAX_REPLICAS,
    nodes_needed,
    nodes_needed_of,
    peak_requests_per_s,
    raw_replicas_of,
    replica_capacity,
    replicas_needed_of,
)
from planner.pipeline.traffic import peak_factor
from planner.pricing.money import total_usd
from planner.pricing.resolver import PriceResolver
from planner.scenario import Deployment, Workload
from planner.targets import module_for

_NO_OPTION = np.iinfo(np.int64).max


@dataclass
class TrafficCurve:
    """One deployment's TP options, each with one replica's capacity (requests/s) and whether
    it meets the SLOs; no options when nothing fits or throughput cannot be estimated (then
    the plan has no cost at any traffic)."""

    deployment: Deployment
    workload: Workload
    replica_rps: np.ndarray  # per TP option, requests/s
    tp: np.ndarray
    meets_slo: np.ndarray
    gpus_per_node: int
    catalog: Catalog = field(repr=False)
    resolver: PriceResolver = field(repr=False)
    _prices: dict[tuple[int, int], float] = field(default_factory=dict, repr=False)

    def monthly_cost_usd(self, requests_per_day: np.ndarray | list[float]
                         ) -> tuple[np.ndarray, np.ndarray]:
        """(monthly cost USD, meets the SLOs) at each traffic level (requests/day): the plan's
        ``monthly_cost_usd`` and ``meets_slo``; NaN cost where the plan has none (nothing
        fits, more than :data:`MAX_REPLICAS` replicas, a price missing)."""
        rpd = np.atleast_1d(np.asarray(requests_per_day, dtype=float))
        cost = np.full(rpd.shape, np.nan)
        meets = np.zeros(rpd.shape, dtype=bool)
        if not self.tp.size:
            return cost, meets
        w = self.workload
        peak = peak_requests_per_s(rpd, peak_factor(w))[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = raw_replicas_of(peak, self.replica_rps[None, :], w.target_utilization)
        too_many = ~(raw <= MAX_REPLICAS)
        replicas = replicas_needed_of(raw, w.min_replicas)
        nodes = nodes_needed_of(replicas, np.int64(self.gpus_per_node), self.tp[None, :])
        # the plan's choice: meets the SLOs first, then fewest nodes, fewest GPUs, smallest TP
        # (all bounded by MAX_REPLICAS, so one int64 key orders them)
        gpus = replicas * self.tp[None, :]
        key = ((((~self.meets_slo[None, :]).astype(np.int64) * (MAX_REPLICAS + 1) + nodes)
                * (8 * MAX_REPLICAS + 1) + gpus) * 16 + self.tp[None, :])
        key = np.where(too_many, _NO_OPTION, key)
        best = np.argmin(key, axis=1)
        rows = np.arange(len(rpd))
        ok = key[rows, best] != _NO_OPTION
        for i in np.flatnonzero(ok):
            b = best[i]
            cost[i] = self._price(int(nodes[i, b]), int(self.tp[b]))
            meets[i] = bool(self.meets_slo[b])
        return cost, meets

    def _price(self, nodes: int, tp: int) -> float:
        """The plan's serving cost lines at ``nodes`` nodes, totalled (USD; NaN if unknown)."""
        base = nodes_needed(self.workload.min_replicas, self.gpus_per_node, tp)
        hit = self._prices.get((nodes, base))
        if hit is None:
            dep = self.deployment
            total = total_usd(serving_lines(dep.target, nodes, None, self.catalog, self.resolver,
                                            dep.model, None, base))
            hit = self._prices[(nodes, base)] = np.nan if total is None else total
        return hit


def traffic_curve(dep: Deployment, workload: Workload, catalog: Catalog,
                  profiles: dict[str, EngineProfile],
                  resolver: PriceResolver | None = None) -> TrafficCurve | None:
    """The deployment's cost curve, or None where its cost is not a function of nodes alone (a
    hosted API, own machines, an autoscaling policy): plan those at each traffic level."""
    module = module_for(dep.target)
    hw = module.hardware(dep.target, catalog)
    if hw is None or not module.SERVING_COST_BY_NODES or dep.scaling != "fixed":
        return None
    resolver = (resolver or PriceResolver(catalog)).with_overrides(
        module.price_overrides(dep.target))
    model = catalog.models[dep.model]
    context = serving_context(dep, model)
    rps: list[float] = []
    tps: list[int] = []
    meets: list[bool] = []
    if workload.input_tokens + workload.output_tokens <= context:
        fit = smallest_fitting_tp(model, hw.gpu, dep.precision, hw.gpus_per_node,
                                  dep.kv_cache_dtype, context, dep.tp, dep.engine)
        if fit.memory is not None:
            profile = profile_for(profiles, dep.engine, hw.gpu)
            try:
                for mem in tp_candidates(dep, model, hw, context, fit):
                    _, _, choice = replica_capacity(mem, model, hw.gpu, dep.precision,
                                                    dep.kv_cache_dtype, workload, profile)
                    rps.append(choice.requests_per_s)
                    tps.append(mem.tp)
                    meets.append(choice.meets_slo)
            except CannotEstimateError:
                rps, tps, meets = [], [], []
    return TrafficCurve(dep, workload, np.array(rps, dtype=float), np.array(tps, dtype=np.int64),
                        np.array(meets, dtype=bool), hw.gpus_per_node, catalog, resolver)
