"""The advisor's option space as flat arrays, evaluated in one vectorised pass.

An option is one (model, precision, KV dtype, tensor-parallel degree, VM size, region, plan).
The space is built in three layers, each a set of numpy arrays:

* **configurations**: every (model, GPU, precision, KV dtype, TP) in scope; the memory fit and
  the SLO batch are computed once per configuration (:mod:`planner.physics.arrays`), then the
  replicas the workload needs (:func:`planner.pipeline.sizing.replicas_needed_of`);
* **priced targets**: every (VM size, region, plan) row of the price snapshot in scope, with the
  fixed and per-node monthly cost of its cost lines (the target module's own cost components,
  priced by the one resolver at 0 and 1 node: :func:`planner.pricing.money.node_cost_terms`);
* **options**: configurations that meet the SLOs joined to the targets carrying their GPU with
  room for their TP (an array join through a per-(GPU, TP) index), nodes and monthly cost for
  each (:func:`planner.pricing.money.usd_at_nodes`).

Configurations ruled out early count every option they stand for under their reject reason, so
``rejected options + viable options == options evaluated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from planner.catalog import Catalog
from planner.physics.arrays import memory_arrays, slo_batch, step_terms_arrays
from planner.physics.memory import device_memory_gb, reservation_for, weights_gb_per_gpu
from planner.physics.quantities import kv_cache_bytes, kv_splits_over_tp, model_weight_bytes
from planner.physics.throughput import (
    EngineProfile,
    gpu_attention_numbers,
    gpu_step_numbers,
    model_kv_numbers,
    model_shape_numbers,
    model_weight_numbers,
    peak_tflops,
    profile_for,
)
from planner.pipeline.plan import serving_lines
from planner.pipeline.quality import quality_at
from planner.pipeline.scaling import (
    burst_node_hours_per_month_of,
    held_node_hours_per_month_of,
    nodes_by_hour_of,
)
from planner.pipeline.sizing import (
    MAX_REPLICAS,
    nodes_needed_of,
    peak_requests_per_s,
    raw_replicas_of,
    replicas_needed_of,
)
from planner.pipeline.traffic import peak_factor
from planner.pricing.commitment import committed_index, counts_largest_first
from planner.pricing.money import (
    node_cost_terms,
    node_hour_cost_terms,
    usd_at_node_hours,
    usd_at_nodes,
    usd_committed,
)
from planner.pricing.resolver import PriceResolver
from planner.registry import TP_DEGREES
from planner.scenario import Workload, gpu_runs_precision
from planner.targets import AzureTarget, module_for
from planner.units import HOURS_PER_MONTH

# reject reasons decided per configuration, in the order they are checked (advisor.RejectReason)
CONFIG_REASONS = ("quality_not_measured", "below_quality_floor", "precision_unsupported",
                  "does_not_fit", "cannot_estimate", "too_many_replicas", "slo_unmet")


@dataclass(frozen=True)
class PriceTable:
    """Every (VM size, region, plan) row of the snapshot with its monthly cost terms (USD)."""

    sku: np.ndarray  # str
    region: np.ndarray  # str
    plan: np.ndarray  # str
    gpu: np.ndarray  # str
    gpus_per_node: np.ndarray  # int
    retired: np.ndarray  # bool
    fixed_usd: np.ndarray  # float, NaN where a price is missing
    per_node_usd: np.ndarray
    per_base_node_usd: np.ndarray  # more per node kept on a base pool (spot's regular pool)
    # under a scaling policy that follows the traffic (money.node_hour_cost_terms)
    scaled_fixed_usd: np.ndarray
    per_node_hour_usd: np.ndarray
    base_node_usd: np.ndarray  # a base node billed every hour (spot's base, a commitment's floor)
    # commitment plans: the committed nodes' position in a day's sorted node counts
    # (commitment.committed_index); -1 where the target is on no commitment plan
    commit_index: np.ndarray
    sku_code: np.ndarray  # int: index into sorted distinct VM sizes (grouping)
    plan_code: np.ndarray  # int: index into sorted distinct plans


_PRICE_TABLES: dict[tuple[int, str, int], tuple[Catalog, PriceTable]] = {}


def price_table(catalog: Catalog, cluster_tier: str, system_nodes: int) -> PriceTable:
    """The catalog's priced Azure targets, each costed through the plan's own cost lines
    (:func:`planner.pipeline.plan.serving_lines`) at 0 and 1 node. Built once per catalog and
    cluster settings (it depends on no workload), so a search only joins arrays."""
    key = (id(catalog), cluster_tier, system_nodes)
    hit = _PRICE_TABLES.get(key)
    if hit is not None and hit[0] is catalog:
        return hit[1]
    resolver = PriceResolver(catalog)
    rows = sorted({(p.sku, p.region, p.plan) for p in catalog.prices if p.sku in catalog.skus})
    fixed, per_node, per_base, scaled, commit = [], [], [], [], []
    for sku, region, plan in rows:
        target = AzureTarget(vm_sku=sku, region=region, pricing=plan,  # type: ignore[arg-type]
                             cluster_tier=cluster_tier, system_nodes=system_nodes)
        terms = node_cost_terms(
            serving_lines(target, 0, None, catalog, resolver, "", base_nodes=0),
            serving_lines(target, 1, None, catalog, resolver, "", base_nodes=0),
            serving_lines(target, 1, None, catalog, resolver, "", base_nodes=1))
        fixed.append(terms[0])
        per_node.append(terms[1])
        per_base.append(terms[2])
        scaled.append(node_hour_cost_terms(
            serving_lines(target, 1, None, catalog, resolver, "", 0.0, base_nodes=0),
            serving_lines(target, 1, None, catalog, resolver, "", 1.0, base_nodes=0),
            serving_lines(target, 1, None, catalog, resolver, "", 0.0, base_nodes=1)))
        keys = module_for(target).commitment_prices(target)
        commit.append(-1 if keys is None else int(committed_index(
            *(np.nan if v is None else v for v in (resolver.resolve(k).value for k in keys)))))
    skus = [catalog.skus[r[0]] for r in rows]
    table = PriceTable(
        sku=np.array([r[0] for r in rows], dtype=object),
        region=np.array([r[1] for r in rows], dtype=object),
        plan=np.array([r[2] for r in rows], dtype=object),
        gpu=np.array([s.gpu_id for s in skus], dtype=object),
        gpus_per_node=np.array([s.gpu_count for s in skus], dtype=np.int64),
        retired=np.array([bool(s.retired) for s in skus], dtype=bool),
        fixed_usd=np.array(fixed, dtype=float), per_node_usd=np.array(per_node, dtype=float),
        per_base_node_usd=np.array(per_base, dtype=float),
        scaled_fixed_usd=np.array([t[0] for t in scaled], dtype=float),
        per_node_hour_usd=np.array([t[1] for t in scaled], dtype=float),
        base_node_usd=np.array([t[2] for t in scaled], dtype=float),
        commit_index=np.array(commit, dtype=np.int64),
        sku_code=np.unique(np.array([r[0] for r in rows], dtype=object), return_inverse=True)[1],
        plan_code=np.unique(np.array([r[2] for r in rows], dtype=object),
                            return_inverse=True)[1])
    if len(_PRICE_TABLES) > 8:
        _PRICE_TABLES.clear()
    _PRICE_TABLES[key] = (catalog, table)
    return table


@dataclass
class Options:
    """The viable options (meet the SLOs, every price known) as flat arrays: ``config``,
    ``target`` and ``policy`` index :attr:`Evaluation.configs`, :attr:`Evaluation.targets` and
    :attr:`Evaluation.policies`; ``nodes`` are the peak's."""

    config: np.ndarray
    target: np.ndarray
    nodes: np.ndarray
    monthly_cost_usd: np.ndarray
    policy: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    node_hours_per_month: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class Configs:
    """The configurations in scope (index arrays into the axis lists) and their sizing."""

    models: list[str]
    gpus: list[str]
    precisions: list[str]
    kv_dtypes: list[str]
    model: np.ndarray
    gpu: np.ndarray
    precision: np.ndarray
    kv: np.ndarray
    tp: np.ndarray
    tp_index: np.ndarray  # index into TP_DEGREES
    options: np.ndarray  # options each configuration stands for (targets with its GPU and room)
    reason: np.ndarray  # index into CONFIG_REASONS, -1 = meets the SLOs
    batch: np.ndarray
    replicas: np.ndarray
    tpot_ms: np.ndarray
    ttft_ms: np.ndarray
    mmlu_5shot: np.ndarray  # at the configuration's precision, NaN where not measured
    mmlu_pro: np.ndarray
    weights_gb: np.ndarray  # per GPU (the autoscaler's lead time loads the model's weights)
    replica_rps: np.ndarray  # one replica's capacity at its SLO batch, requests/s (NaN: none)


@dataclass
class Evaluation:
    """One vectorised pass over the Azure option space."""

    configs: Configs
    targets: PriceTable
    target_ids: np.ndarray  # rows of the price table in the space
    options: Options
    evaluated: int
    missing: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (model, sku, plan)
    excluded: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (sku, gpu, reason)
    policies: tuple[str, ...] = ("fixed",)  # the scaling policies of the space


@dataclass(frozen=True)
class _Tables:
    """Per-model, per-GPU and per-precision numbers that depend on no workload."""

    weights: dict[str, np.ndarray]  # (model, precision)
    gpu: dict[str, np.ndarray]  # (gpu, precision)
    attention: dict[str, np.ndarray]  # (gpu, kv dtype)
    weight_bytes: np.ndarray
    splits: np.ndarray
    heads: np.ndarray  # (model, tp): TP divides query and KV heads
    runs: np.ndarray  # (gpu, precision)
    kv_runs: np.ndarray  # (gpu, kv dtype)
    no_peak: np.ndarray  # (gpu, precision): no published tensor FLOPS
    device: np.ndarray
    engine_cap: np.ndarray
    mmlu: np.ndarray  # (model, precision), NaN where not measured at that precision
    mmlu_pro: np.ndarray


@dataclass(frozen=True)
class _WorkloadTables:
    kv: dict[str, np.ndarray]  # (model, kv dtype)
    shape: dict[str, np.ndarray]  # (model,)
    full_kv: np.ndarray  # (model, kv dtype): one full-context request, bytes
    request_kv: np.ndarray  # (model, kv dtype): one request of the workload, bytes


_MEMO: dict[tuple, tuple[Catalog, object]] = {}


def _memo(catalog: Catalog, key: tuple, build):  # type: ignore[no-untyped-def]
    """Tables built once per catalog and key (bounded; the catalog is checked by identity)."""
    full = (id(catalog), *key)
    hit = _MEMO.get(full)
    if hit is not None and hit[0] is catalog:
        return hit[1]
    if len(_MEMO) > 64:
        _MEMO.clear()
    value = build()
    _MEMO[full] = (catalog, value)
    return value


def _stack(rows: list[dict[str, float]], shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    return {k: np.array([r[k] for r in rows], dtype=float).reshape(shape) for k in rows[0]} \
        if rows else {}


def _tables(catalog: Catalog, profiles: dict[str, EngineProfile], engine: str,
            models: tuple[str, ...], gpus: tuple[str, ...], precisions: tuple[str, ...],
            kvs: tuple[str, ...]) -> _Tables:
    def build() -> _Tables:
        ms = [catalog.models[m] for m in models]
        gs = [catalog.gpus[g] for g in gpus]
        prof = [profile_for(profiles, engine, g) for g in gs]
        scores = [quality_at(catalog, m, p) for m in models for p in precisions]
        shape_mp = (len(models), len(precisions))
        return _Tables(
            weights=_stack([model_weight_numbers(m, p) for m in ms for p in precisions],
                           shape_mp),
            gpu=_stack([gpu_step_numbers(g, p, pr) for g, pr in zip(gs, prof, strict=True)
                        for p in precisions], (len(gs), len(precisions))),
            attention=_stack([gpu_attention_numbers(g, k) for g in gs for k in kvs],
                             (len(gs), len(kvs))),
            weight_bytes=np.array([model_weight_bytes(m, p) for m in ms for p in precisions],
                                  dtype=float).reshape(shape_mp),
            splits=np.array([kv_splits_over_tp(m) for m in ms], dtype=bool),
            heads=np.array([[m.attention_heads % tp == 0 and m.kv_heads % tp == 0
                             for tp in TP_DEGREES] for m in ms], dtype=bool).reshape(
                len(ms), len(TP_DEGREES)),
            runs=np.array([[gpu_runs_precision(g.native_precisions, p) for p in precisions]
                           for g in gs], dtype=bool).reshape(len(gs), len(precisions)),
            kv_runs=np.array([[k != "fp8" or "fp8" in g.native_precisions for k in kvs]
                              for g in gs], dtype=bool).reshape(len(gs), len(kvs)),
            no_peak=np.array([[peak_tflops(g, p) is None for p in precisions] for g in gs],
                             dtype=bool).reshape(len(gs), len(precisions)),
            device=np.array([device_memory_gb(g) for g in gs], dtype=float),
            engine_cap=np.array([p.max_batch for p in prof], dtype=np.int64),
            mmlu=np.array([np.nan if q.mmlu_5shot is None else q.mmlu_5shot for q in scores],
                          dtype=float).reshape(shape_mp),
            mmlu_pro=np.array([np.nan if q.mmlu_pro is None else q.mmlu_pro for q in scores],
                              dtype=float).reshape(shape_mp))
    return _memo(catalog, ("tables", id(profiles), engine, models, gpus, precisions, kvs), build)


def _workload_tables(catalog: Catalog, models: tuple[str, ...], kvs: tuple[str, ...],
                     input_tokens: int, output_tokens: int,
                     context_tokens: int | None) -> _WorkloadTables:
    def build() -> _WorkloadTables:
        ms = [catalog.models[m] for m in models]
        request = input_tokens + output_tokens
        ctx = [min(context_tokens or m.max_context_tokens, m.max_context_tokens) for m in ms]
        return _WorkloadTables(
            kv=_stack([model_kv_numbers(m, k, input_tokens, output_tokens) for m in ms
                       for k in kvs], (len(ms), len(kvs))),
            shape=_stack([model_shape_numbers(m, input_tokens, output_tokens) for m in ms],
                         (len(ms),)),
            full_kv=np.array([float(kv_cache_bytes(m, c, k)) for m, c in zip(ms, ctx, strict=True)
                              for k in kvs], dtype=float).reshape(len(ms), len(kvs)),
            request_kv=np.array([float(kv_cache_bytes(m, request, k)) for m in ms for k in kvs],
                                dtype=float).reshape(len(ms), len(kvs)))
    return _memo(catalog, ("workload", models, kvs, input_tokens, output_tokens, context_tokens),
                 build)


def _gather(tables: dict[str, np.ndarray], *index: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[index] for k, v in tables.items()}


def size_configs(models: list[str], gpus: list[str], options: np.ndarray, precisions: list[str],
                 kvs: list[str], space, workload: Workload, catalog: Catalog,
                 profiles: dict[str, EngineProfile], floor: float | None) -> Configs:
    """Every (model, GPU, precision, KV dtype, TP) where ``options[gpu, tp index] > 0`` (the
    options each stands for), ruled out with the first reason that applies or sized for the
    workload: memory fit, SLO batch, replicas."""
    n_tp = len(TP_DEGREES)
    tps = np.array(TP_DEGREES, dtype=np.int64)
    if not (models and gpus and precisions and kvs):
        e, f = np.zeros(0, dtype=np.int64), np.zeros(0)
        return Configs(models, gpus, precisions, kvs, e, e, e, e, e, e, e, e, e, e, f, f, f, f,
                       f, f)
    m_i, g_i, p_i, k_i, t_i = (a.ravel() for a in np.indices(
        (len(models), len(gpus), len(precisions), len(kvs), n_tp)))
    keep = options[g_i, t_i] > 0  # a TP no node of that GPU holds is no option
    m_i, g_i, p_i, k_i, t_i = m_i[keep], g_i[keep], p_i[keep], k_i[keep], t_i[keep]
    tp = tps[t_i]
    t = _tables(catalog, profiles, space.engine, tuple(models), tuple(gpus), tuple(precisions),
                tuple(kvs))
    w = _workload_tables(catalog, tuple(models), tuple(kvs), workload.input_tokens,
                         workload.output_tokens, space.context_tokens)
    step_m = {**{k: v[:, :, None] for k, v in t.weights.items()},
              **{k: v[:, None, :] for k, v in w.kv.items()},
              **{k: v[:, None, None] for k, v in w.shape.items()}}
    mmlu, mmlu_pro = t.mmlu, t.mmlu_pro
    n = len(m_i)
    reason = np.full(n, -1, dtype=np.int64)

    def rule_out(mask: np.ndarray, why: str) -> None:
        reason[(reason < 0) & mask] = CONFIG_REASONS.index(why)

    if floor is not None:  # the floor holds at the option's own precision
        rule_out(np.isnan(mmlu[m_i, p_i]), "quality_not_measured")
        rule_out(mmlu[m_i, p_i] < floor, "below_quality_floor")
    rule_out(~t.runs[g_i, p_i] | ~t.kv_runs[g_i, k_i], "precision_unsupported")
    mem = memory_arrays(t.device[g_i], t.weight_bytes[m_i, p_i], tp, t.splits[m_i],
                        w.full_kv[m_i, k_i], w.request_kv[m_i, k_i], reservation_for(space.engine))
    rule_out(~t.heads[m_i, t_i] | ~mem.fits, "does_not_fit")
    rule_out(t.no_peak[g_i, p_i] & (workload.input_tokens > 0), "cannot_estimate")
    live = np.flatnonzero(reason < 0)
    batch = np.zeros(n, dtype=np.int64)
    replicas = np.zeros(n, dtype=np.int64)
    tpot = np.full(n, np.nan)
    ttft = np.full(n, np.nan)
    rps = np.full(n, np.nan)
    if live.size:
        numbers = {**{k: np.broadcast_to(v, (len(models), len(precisions), len(kvs)))[
                           m_i[live], p_i[live], k_i[live]] for k, v in step_m.items()},
                   **_gather(t.gpu, g_i[live], p_i[live]),
                   **_gather(t.attention, g_i[live], k_i[live])}
        terms = step_terms_arrays(numbers, tp[live].astype(float), workload.input_tokens,
                                  workload.output_tokens)
        with np.errstate(invalid="ignore", divide="ignore"):
            sized = slo_batch(terms, mem.max_batch[live], t.engine_cap[g_i[live]],
                              workload.ttft_slo_ms, workload.tpot_slo_ms)
        peak = peak_requests_per_s(workload.requests_per_day, peak_factor(workload))
        raw = raw_replicas_of(peak, sized.requests_per_s, workload.target_utilization)
        too_many = ~(raw <= MAX_REPLICAS)  # also catches inf and nan, as the scalar path does
        reason[live[too_many]] = CONFIG_REASONS.index("too_many_replicas")
        reason[live[~too_many & ~sized.meets_slo]] = CONFIG_REASONS.index("slo_unmet")
        batch[live], tpot[live], ttft[live] = sized.batch, sized.tpot_ms, sized.ttft_ms
        rps[live] = sized.requests_per_s
        ok = sized.meets_slo & ~too_many
        replicas[live[ok]] = replicas_needed_of(raw[ok], workload.min_replicas)
    return Configs(models, gpus, precisions, kvs, m_i, g_i, p_i, k_i, tp, t_i,
                   options[g_i, t_i], reason, batch, replicas, tpot, ttft, mmlu[m_i, p_i],
                   mmlu_pro[m_i, p_i], weights_gb_per_gpu(t.weight_bytes[m_i, p_i], tp), rps)


def _member(values: np.ndarray, allowed: tuple[str, ...]) -> np.ndarray:
    """``np.isin`` for the price table's string columns, through their distinct values (a few
    hundred) rather than a sort of every row's string."""
    distinct, inverse = _distinct(values)
    return np.isin(distinct, list(allowed))[inverse]


_DISTINCT: dict[int, tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]] = {}


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hit = _DISTINCT.get(id(values))
    if hit is None or hit[0] is not values:
        if len(_DISTINCT) > 32:
            _DISTINCT.clear()
        hit = _DISTINCT[id(values)] = (values, np.unique(values, return_inverse=True))
    return hit[1]


def _in_space(table: PriceTable, space) -> np.ndarray:
    """Rows of the price table the search may use (regions, plans, VM sizes, retired sizes)."""
    in_space = (_member(table.region, tuple(space.regions)) & _member(table.plan, tuple(space.plans))
                & (table.retired <= space.include_retired))
    if space.skus:
        in_space &= _member(table.sku, tuple(space.skus))
    return in_space


def _options_per_target(table: PriceTable, rows: np.ndarray, space) -> np.ndarray:
    """Options one model stands for on each target ``rows``: precisions x KV dtypes x TPs that
    fit in the node x scaling policies."""
    gpn = table.gpus_per_node[rows]
    tps = sum((gpn >= tp).astype(np.int64) for tp in TP_DEGREES)
    return tps * len(space.precisions) * len(space.kv_dtypes) * len(space.scaling)


def evaluate_azure(models: list[str], space, workload: Workload, catalog: Catalog,
                   profiles: dict[str, EngineProfile], floor: float | None = None,
                   excluded_gpus: dict[str, str] | None = None) -> Evaluation:
    """Every Azure option of ``space`` for ``models`` (already past the model-level checks).
    Targets whose GPU is in ``excluded_gpus`` (GPU -> reject reason) are counted per VM size in
    :attr:`Evaluation.excluded`, not evaluated."""
    table = price_table(catalog, space.cluster_tier, space.system_nodes)
    in_space = _in_space(table, space)
    excluded: dict[tuple[str, str, str], int] = {}
    if excluded_gpus:
        out = in_space & _member(table.gpu, tuple(excluded_gpus))
        rows = np.flatnonzero(out)
        for row, n in zip(rows, _options_per_target(table, rows, space), strict=True):
            k3 = (str(table.sku[row]), str(table.gpu[row]), excluded_gpus[table.gpu[row]])
            excluded[k3] = excluded.get(k3, 0) + int(n) * len(models)
        in_space &= ~out
    target_ids = np.flatnonzero(in_space)
    gpus = sorted(set(table.gpu[target_ids]))
    gpu_index = {g: i for i, g in enumerate(gpus)}
    t_gpu = np.array([gpu_index[g] for g in table.gpu[target_ids]], dtype=np.int64)
    t_gpn = table.gpus_per_node[target_ids]
    tps = np.array(TP_DEGREES, dtype=np.int64)
    # targets per (GPU, TP) as one index: CSR layout over (gpu * len(TP) + tp index)
    n_tp = len(tps)
    groups = [np.flatnonzero((t_gpu == g) & (t_gpn >= tp)) for g in range(len(gpus)) for tp in tps]
    counts = np.array([len(x) for x in groups], dtype=np.int64)
    unpriced = np.isnan(table.fixed_usd[target_ids]) | np.isnan(table.per_node_usd[target_ids])
    priced_groups = [g[~unpriced[g]] for g in groups]
    priced_counts = np.array([len(x) for x in priced_groups], dtype=np.int64)
    priced_starts = (np.concatenate(([0], np.cumsum(priced_counts)[:-1])) if len(groups)
                     else np.zeros(0, int))
    priced_flat = (np.concatenate(priced_groups) if groups else np.zeros(0, np.int64)).astype(
        np.int64)

    policies = tuple(space.scaling)
    if not models or not gpus:
        empty = np.zeros(0, dtype=np.int64)
        configs = size_configs([], [], np.zeros((0, n_tp), dtype=np.int64), [], [], space,
                               workload, catalog, profiles, floor)
        return Evaluation(configs, table, target_ids,
                          Options(empty, empty, empty, np.zeros(0), empty, np.zeros(0)), 0, {},
                          excluded, policies)
    # each (configuration, target) pair is one option per scaling policy
    configs = size_configs(models, gpus, counts.reshape(len(gpus), n_tp) * len(policies),
                           list(space.precisions), list(space.kv_dtypes), space, workload,
                           catalog, profiles, floor)
    m_i, g_i, t_i, tp = configs.model, configs.gpu, configs.tp_index, configs.tp
    reason, replicas = configs.reason, configs.replicas

    # the join: every viable configuration x every target carrying its GPU with room for its TP;
    # targets with a missing price are counted per (model, VM size, plan), not materialised
    viable = np.flatnonzero(reason < 0)
    key = g_i[viable] * n_tp + t_i[viable]
    per = priced_counts[key]
    cfg = np.repeat(viable, per)
    first = np.repeat(np.cumsum(per) - per, per)
    local = priced_flat[np.repeat(priced_starts[key], per) + (np.arange(len(cfg)) - first)]
    target = target_ids[local]
    gpn = table.gpus_per_node[target]
    nodes = nodes_needed_of(replicas[cfg], gpn, tp[cfg])
    # the base pool (spot as burst): the nodes min_replicas need, at most the option's nodes
    base = np.minimum(nodes_needed_of(np.full(len(cfg), workload.min_replicas), gpn, tp[cfg]),
                      nodes)
    opts = _with_policies(policies, cfg, target, nodes, base, viable, configs, table,
                          workload)
    missing: dict[tuple[str, str, str], int] = {}
    if unpriced.any():
        # viable configurations per (model, GPU-and-TP group) x unpriced targets in the group
        per_group = np.bincount(m_i[viable] * len(groups) + key,
                                minlength=len(models) * len(groups)).reshape(len(models), -1)
        pairs = sorted({(table.sku[r], table.plan[r]) for r in target_ids[unpriced]})
        pair_code = {p: i for i, p in enumerate(pairs)}
        acc = np.zeros((len(models), len(pairs)), dtype=np.int64)
        for gk, group in enumerate(groups):
            gone = group[unpriced[group]]
            if gone.size and per_group[:, gk].any():
                codes = [pair_code[(table.sku[r], table.plan[r])] for r in target_ids[gone]]
                np.add.at(acc, (slice(None), codes), per_group[:, gk][:, None])
        for m, pc in zip(*np.nonzero(acc), strict=True):
            missing[(models[m], *pairs[pc])] = int(acc[m, pc]) * len(policies)
    return Evaluation(configs, table, target_ids, opts, int(configs.options.sum()), missing,
                      excluded, policies)


def _with_policies(policies: tuple[str, ...], cfg: np.ndarray, target: np.ndarray,
                   nodes: np.ndarray, base: np.ndarray, viable: np.ndarray, configs: Configs,
                   table: PriceTable, workload: Workload) -> Options:
    """The joined (configuration, target) pairs once per scaling policy, each costed as the plan
    costs it: ``fixed`` holds the peak's nodes all month (:func:`usd_at_nodes`); a policy that
    follows the traffic holds the nodes :func:`nodes_by_hour_of` gives each hour, priced per
    node-hour above the base pool (:func:`usd_at_node_hours`), or, on a commitment plan, with
    the nodes :mod:`planner.pricing.commitment` commits billed every hour and the node-hours
    above them pay-as-you-go (:func:`usd_committed`). The hourly nodes depend on the
    configuration and the node size only, so they are computed once per (viable configuration,
    node size) pair and gathered per option."""
    gpn = table.gpus_per_node[target]
    out_cost, out_hours = [], []
    pairs = None
    if any(p != "fixed" for p in policies):
        sizes = np.unique(table.gpus_per_node)
        slot = np.full(len(configs.reason), -1, dtype=np.int64)
        slot[viable] = np.arange(len(viable))
        pair = slot[cfg] * len(sizes) + np.searchsorted(sizes, gpn)
        c = np.repeat(viable, len(sizes))
        size = np.tile(sizes, len(viable))
        room = np.flatnonzero(size >= configs.tp[c])  # pairs with no option (TP > node) skipped
        c, size = c[room], size[room]
        peak = nodes_needed_of(configs.replicas[c], size, configs.tp[c])
        weights = configs.weights_gb[c] * configs.tp[c]
        # option -> its row among the computed pairs
        row_of = np.full(len(viable) * len(sizes), -1, dtype=np.int64)
        row_of[room] = np.arange(len(room))
        pairs = (row_of[pair], c, size, peak, weights)
    commits = table.commit_index[target]
    on_commitment = commits >= 0
    for policy in policies:
        if policy == "fixed":
            out_cost.append(usd_at_nodes(table.fixed_usd[target], table.per_node_usd[target],
                                         nodes, table.per_base_node_usd[target], base))
            out_hours.append(nodes * float(HOURS_PER_MONTH))
            continue
        row, c, size, peak, weights = pairs  # type: ignore[misc]
        by_hour = nodes_by_hour_of(policy, workload, configs.replica_rps[c], size,  # type: ignore[arg-type]
                                   configs.tp[c], peak)
        hours = held_node_hours_per_month_of(by_hour, weights)[row]
        cost = usd_at_node_hours(table.scaled_fixed_usd[target], table.per_node_hour_usd[target],
                                 hours, table.base_node_usd[target], base)
        if on_commitment.any():
            padded = counts_largest_first(by_hour)
            for index in np.unique(commits[on_commitment]):
                where = np.flatnonzero(commits == index)
                committed = padded[:, index]
                burst = burst_node_hours_per_month_of(by_hour, committed, weights)
                cost[where] = usd_committed(
                    table.scaled_fixed_usd[target[where]], table.per_node_hour_usd[target[where]],
                    burst[row[where]], table.base_node_usd[target[where]],
                    np.minimum(committed[row[where]], nodes[where]))
        out_cost.append(cost)
        out_hours.append(hours)
    k = len(policies)
    return Options(np.tile(cfg, k), np.tile(target, k), np.tile(nodes, k),
                   np.concatenate(out_cost) if out_cost else np.zeros(0),
                   np.repeat(np.arange(k, dtype=np.int64), len(cfg)),
                   np.concatenate(out_hours) if out_hours else np.zeros(0))


def options_per_model(space, catalog: Catalog) -> int:
    """Options one self-hosted model stands for in the Azure part of ``space`` (for counting
    the options of models ruled out before any configuration is built)."""
    table = price_table(catalog, space.cluster_tier, space.system_nodes)
    return int(_options_per_target(table, np.flatnonzero(_in_space(table, space)), space).sum())
