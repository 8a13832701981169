"""Advisor: search the whole option space for a workload and rank what meets the SLOs.

The space is every allowed model x precision x KV dtype x tensor-parallel degree x GPU type,
then every Azure VM size carrying that GPU x region x pricing plan, plus local hardware and hosted
APIs. It is evaluated in one vectorised pass (:mod:`planner.analyses.space`): performance is
computed once per (model, GPU, precision, KV dtype, TP) on arrays and broadcast to every VM
size, region and plan using the GPU, whose costs come from the plan's own cost lines. The winners
are then re-planned through :func:`plan_deployment`, so what the advisor reports is exactly what
the planner computes for a deployment a user types (``tests/test_arrays.py`` samples the rest).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from planner.analyses.space import (
    CONFIG_REASONS,
    Evaluation,
    evaluate_azure,
    options_per_model,
    size_configs,
)
from planner.catalog import Catalog, GpuSpec
from planner.errors import ScenarioError
from planner.physics.throughput import EngineProfile, load_profiles
from planner.pipeline.plan import DeploymentPlan, plan_deployment, serving_lines
from planner.pricing.money import node_cost_terms
from planner.pricing.resolver import PriceResolver
from planner.registry import (
    ADVISOR_SCALING,
    DEFAULT_MIN_MMLU,
    KAITO_MIN_COMPUTE_CAPABILITY,
    KV_DTYPES,
    PRECISIONS,
    SCALING_POLICIES,
    TP_DEGREES,
    EngineId,
    KvDtype,
    PricingPlan,
    ScalingPolicy,
)
from planner.scenario import Deployment, Workload
from planner.targets import ApiTarget, AzureTarget, LocalTarget, module_for

MAX_OPTIONS = 20_000_000  # bound on the space size (counted before any work); a larger one is refused

# Why an option was ruled out: a closed set, worded at the edge (planner.io.wording).
RejectReason = Literal["below_quality_floor", "no_quality_score", "request_exceeds_context",
                       "precision_unsupported", "does_not_fit", "cannot_estimate",
                       "too_many_replicas", "slo_unmet",
                       "price_missing", "no_purchase_price", "quality_not_measured", "retired",
                       "kaito_gpu_unsupported", "kaito_gpu_unconfirmed"]
FIT_REJECTION: dict[str, RejectReason] = {"does_not_fit": "does_not_fit",
                                          "request_too_long": "request_exceeds_context",
                                          "cannot_estimate": "cannot_estimate",
                                          "too_many_replicas": "too_many_replicas"}


class SearchSpace(BaseModel):
    """What the advisor may choose from. Empty lists mean 'everything in the catalog'."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    models: tuple[str, ...] = ()
    # quality floor, MMLU 5-shot %: None = the workload's floor (or DEFAULT_MIN_MMLU); any_quality
    # is the explicit "no floor" (see quality_floor_mmlu)
    min_mmlu: float | None = Field(default=None, ge=0, le=100)
    any_quality: bool = False
    regions: tuple[str, ...] = ("eastus",)
    plans: tuple[PricingPlan, ...] = ("payg", "spot", "reserved-1y", "reserved-3y")
    precisions: tuple[str, ...] = PRECISIONS
    kv_dtypes: tuple[KvDtype, ...] = KV_DTYPES
    # how Azure options hold their nodes over the day (own machines are planned fixed)
    scaling: tuple[ScalingPolicy, ...] = ADVISOR_SCALING
    engine: EngineId = "vllm"
    skus: tuple[str, ...] = ()
    include_retired: bool = False
    include_local: bool = True
    include_api: bool = True
    context_tokens: int | None = Field(default=None, ge=1, le=10_000_000,
                                       description="max model length; default = model's maximum")
    cluster_tier: str = "standard"
    system_nodes: int = Field(default=1, ge=0, le=100)
    # Azure options are AKS deployments exported as KAITO workspaces: GPUs KAITO cannot run on are
    # rejected (kaito_gpu_unsupported / kaito_gpu_unconfirmed) unless this is False
    require_kaito: bool = True
    # one row per model x VM size (or machine) x plan, the others kept in AdvisorResult.variants
    group_variants: bool = True


Cheaper = Literal["commitment", "payg_autoscaled", "same", "unknown"]


class CommitmentCheck(BaseModel):
    """A top option on a commitment plan against the same deployment on pay-as-you-go with the
    cluster autoscaler following the traffic shape (issue: commitments vs autoscaled payg)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rank: int = Field(ge=1, description="the option's rank in the advisor's top list")
    label: str  # the deployment's label (what ``plan --format json`` would call it)
    model: str
    where: str  # the target in words: 'Standard_NV36ads_A10_v5 (eastus, 3-year reservation)'
    commitment_plan: PricingPlan
    commitment_monthly_cost_usd: float | None  # None: a price is missing
    commitment_node_hours_per_month: float | None
    payg_autoscaled_monthly_cost_usd: float | None
    payg_autoscaled_node_hours_per_month: float | None
    payg_autoscaled_meets_slo: bool
    cheaper: Cheaper


def cheaper_of(commitment_usd: float | None, payg_usd: float | None) -> Cheaper:
    """Which monthly cost (USD) is lower; 'unknown' when either is not known."""
    if commitment_usd is None or payg_usd is None:
        return "unknown"
    if commitment_usd < payg_usd:
        return "commitment"
    return "payg_autoscaled" if payg_usd < commitment_usd else "same"


def commitment_checks(deployments: list[Deployment], plans: list[DeploymentPlan],
                      workload: Workload, catalog: Catalog, profiles: dict[str, EngineProfile],
                      resolver: PriceResolver) -> list[CommitmentCheck]:
    """For each planned deployment on a commitment plan, the same deployment re-planned on
    pay-as-you-go with ``scaling="autoscale"`` (the target's module makes the payg twin)."""
    out = []
    for rank, (dep, plan) in enumerate(zip(deployments, plans, strict=True), start=1):
        twin = module_for(dep.target).payg_counterpart(dep.target)
        if twin is None:
            continue
        committed, payg_target = twin
        payg = plan_deployment(dep.model_copy(update={"target": payg_target,
                                                      "scaling": "autoscale"}),
                               workload, catalog, profiles, resolver)
        out.append(CommitmentCheck(
            rank=rank, label=dep.label, model=dep.model,
            where=module_for(dep.target).describe(dep.target, catalog, dep.model),
            commitment_plan=committed,
            commitment_monthly_cost_usd=plan.monthly_cost_usd,
            commitment_node_hours_per_month=plan.node_hours_per_month,
            payg_autoscaled_monthly_cost_usd=payg.monthly_cost_usd,
            payg_autoscaled_node_hours_per_month=payg.node_hours_per_month,
            payg_autoscaled_meets_slo=payg.meets_slo,
            cheaper=cheaper_of(plan.monthly_cost_usd, payg.monthly_cost_usd)))
    return out


@dataclass
class AdvisorResult:
    """Ranked options, why the rest were rejected, and how big the space was."""

    ranked: pd.DataFrame  # one row per option group that meets the SLOs and has a full price
    rejected: pd.DataFrame  # (family, reason, options) counts
    options_evaluated: int
    top_plans: list[DeploymentPlan]
    # every ranked option before grouping (same columns plus ``group``), cheapest first
    # ranked options before grouping (same columns plus ``group``), cheapest first: the cheapest
    # RANKED_ROWS options and each group's shown one (every viable option is in ``evaluation``)
    variants: pd.DataFrame = field(default_factory=pd.DataFrame)
    min_mmlu: float | None = None  # the quality floor applied (None = any quality)
    viable_options: int = 0  # meet the SLOs with every price known
    search_seconds: float = 0.0
    azure_seconds: float = 0.0  # of which: the vectorised pass over the Azure space
    scalar_plan_seconds: float = 0.0  # and the plans made one by one (own machines, APIs, top)
    evaluation: Evaluation | None = None  # the Azure space as flat arrays (every viable option)
    # every top plan on a commitment plan, against the same deployment autoscaled on payg
    commitment_checks: list[CommitmentCheck] = field(default_factory=list)

    def azure_rows(self, indexes: np.ndarray) -> pd.DataFrame:
        """Viable Azure options ``indexes`` (into ``evaluation.options``) as ranked-frame rows."""
        if self.evaluation is None:
            return pd.DataFrame()
        return _azure_frame(self.evaluation, np.asarray(indexes, dtype=np.int64))


# ---------------------------------------------------------------- safe defaults (small, pure)


def quality_floor_mmlu(workload: Workload, space: SearchSpace) -> float | None:
    """The quality floor (MMLU 5-shot, %) the search applies, None for no floor.

    An explicit ``space.any_quality`` wins, then the search's own ``min_mmlu``, then the
    scenario's ``workload.min_mmlu`` (0 there means any quality), then
    :data:`~planner.registry.DEFAULT_MIN_MMLU`."""
    if space.any_quality:
        return None
    floor = space.min_mmlu if space.min_mmlu is not None else workload.min_mmlu
    if floor is None:
        return DEFAULT_MIN_MMLU
    return floor if floor > 0 else None


def kaito_gpu_rejection(gpu: GpuSpec) -> RejectReason | None:
    """Why KAITO on AKS cannot serve on this GPU (None when it can): compute capability below
    :data:`~planner.registry.KAITO_MIN_COMPUTE_CAPABILITY`, or not known for the GPU."""
    cc = gpu.compute_capability
    if cc is None:
        return "kaito_gpu_unconfirmed"
    return "kaito_gpu_unsupported" if cc < KAITO_MIN_COMPUTE_CAPABILITY else None


def kaito_exclusions(space: SearchSpace, catalog: Catalog) -> dict[str, RejectReason]:
    """GPU id -> why KAITO cannot serve on it, for the GPUs of the VM sizes the search may use
    (empty when the search does not require KAITO)."""
    if not space.require_kaito:
        return {}
    out: dict[str, RejectReason] = {}
    for sku in catalog.skus.values():
        why = kaito_gpu_rejection(catalog.gpus[sku.gpu_id])
        if why is not None:
            out[sku.gpu_id] = why
    return out


# one row per model x VM size/machine x plan (its scaling policies compete inside the group)
GROUP_COLUMNS = ["model", "kind", "sku", "plan"]
_PRECISION_RANK = {p: i for i, p in enumerate(("fp16", "bf16", "fp8", "int8", "mxfp4", "nvfp4",
                                               "int4"))}


def group_key(ranked: pd.DataFrame) -> pd.Series:
    """The group of each option row: model | kind | VM size or machine | plan."""
    parts = ranked[GROUP_COLUMNS].astype(object).where(ranked[GROUP_COLUMNS].notna(), "")
    key = parts[GROUP_COLUMNS[0]].astype(str)
    for column in GROUP_COLUMNS[1:]:  # column by column: vectorised, not row by row
        key = key + "|" + parts[column].astype(str)
    return key


def grouped_options(ranked: pd.DataFrame) -> pd.DataFrame:
    """One row per group (:data:`GROUP_COLUMNS`): the cheapest option, ties broken by the higher
    quality at its precision, then the wider precision (then fewer nodes, smaller TP, simpler
    scaling policy). ``variants`` counts the group's options
    and ``other_precisions`` lists the precisions of the rest; the result stays cheapest first."""
    if ranked.empty:
        return ranked
    scaling = ranked["scaling"] if "scaling" in ranked else pd.Series("fixed", index=ranked.index)
    df = ranked.assign(group=group_key(ranked),
                       _q=-ranked["mmlu_5shot"].astype(float).fillna(-np.inf),
                       _p=ranked["precision"].map(_PRECISION_RANK).fillna(0),
                       _s=scaling.map({p: i for i, p in enumerate(SCALING_POLICIES)}).fillna(0))
    df = df.sort_values(["monthly_cost_usd", "_q", "_p", "nodes", "tp", "_s"], kind="stable",
                        na_position="last")
    sizes = df.groupby("group", sort=False)["model"].transform("size")
    best = df.drop_duplicates("group", keep="first")
    shown = dict(zip(best["group"], best["precision"], strict=True))
    rest = df[~df.index.isin(best.index)]
    others = {g: ", ".join(dict.fromkeys(p for p in group["precision"]
                                         if isinstance(p, str) and p != shown[g]))
              for g, group in rest.groupby("group", sort=False)}
    best = best.assign(variants=sizes.loc[best.index].astype(int),
                       other_precisions=[others.get(g, "") for g in best["group"]])
    return best.drop(columns=["_q", "_p", "_s"]).reset_index(drop=True)


def _models_in_scope(space: SearchSpace, catalog: Catalog, floor: float | None,
                     per_model: int) -> tuple[list[str], Counter]:
    rejected: Counter = Counter()
    ids = list(space.models) or sorted(catalog.models)
    unknown = [m for m in ids if m not in catalog.models and m not in catalog.api_models]
    if unknown:
        raise ScenarioError(f"search.models: unknown model(s) {', '.join(unknown)}")
    chosen = []
    for model_id in ids:
        if model_id not in catalog.models:
            continue
        mmlu = catalog.models[model_id].mmlu_5shot
        if floor is not None and (mmlu is None or mmlu < floor):
            why = "no_quality_score" if mmlu is None else "below_quality_floor"
            rejected[(model_id if mmlu is None else f"{model_id} (MMLU {mmlu:g})",
                      why)] += per_model
            continue
        chosen.append(model_id)
    return chosen, rejected


def _target_of(row: dict, space: SearchSpace) -> dict:
    """The target of an option row: local and API rows carry theirs (from the plan that ranked
    them); the vectorised Azure rows are rebuilt from their VM size, region and plan."""
    target = row.get("target")
    if isinstance(target, dict):
        return target
    return AzureTarget(vm_sku=row["sku"], region=row["region"], pricing=row["plan"],
                       cluster_tier=space.cluster_tier,
                       system_nodes=space.system_nodes).model_dump()


def deployment_for(row: dict, space: SearchSpace) -> Deployment:
    """The deployment a user would type for an option row (labels are unique per option)."""
    label = f"{row['model']} {row.get('precision') or ''} {row['where']}".strip()[:60]
    target = _target_of(row, space)
    if not module_for(target["kind"]).SELF_HOSTED:
        return Deployment(label=label, model=row["model"], target=target)  # type: ignore[arg-type]
    kv = row.get("kv_dtype")
    scaling = row.get("scaling")
    return Deployment(label=label, model=row["model"], precision=row["precision"],
                      engine=space.engine, tp=int(row["tp"]), context_tokens=space.context_tokens,
                      kv_cache_dtype=kv if isinstance(kv, str) else "fp16",
                      scaling=scaling if isinstance(scaling, str) else "fixed",
                      target=target)  # type: ignore[arg-type]


RANKED_ROWS = 1000  # ungrouped: the cheapest options kept in the frames (Pareto fronts added)


def _azure_frame(ev: Evaluation, rows: np.ndarray) -> pd.DataFrame:
    """Option rows ``rows`` (indexes into ``ev.options``) as the ranked frame's columns."""
    o, c, t = ev.options, ev.configs, ev.targets
    cfg, target = o.config[rows], o.target[rows]
    sku, region, plan = t.sku[target], t.region[target], t.plan[target]
    def text(values: np.ndarray) -> pd.Series:  # kept as Python strings: no arrow conversion
        return pd.Series(values, dtype=object)

    model = np.asarray(c.models, dtype=object)[c.model[cfg]]
    scaling = np.asarray(ev.policies, dtype=object)[o.policy[rows]]
    # the policy is part of the option's name where it is not the default (labels stay unique)
    named = np.where(scaling == "fixed", "", " " + scaling)
    return pd.DataFrame({
        "model": text(model), "kind": "azure",
        "sku": text(sku), "where": text(sku + " " + region + " " + plan + named),
        "region": text(region), "plan": text(plan), "scaling": text(scaling),
        "node_hours_per_month": o.node_hours_per_month[rows],
        "gpu": text(np.asarray(c.gpus, dtype=object)[c.gpu[cfg]]),
        "precision": text(np.asarray(c.precisions, dtype=object)[c.precision[cfg]]),
        "kv_dtype": text(np.asarray(c.kv_dtypes, dtype=object)[c.kv[cfg]]),
        "tp": c.tp[cfg], "batch": c.batch[cfg], "replicas": c.replicas[cfg],
        "gpus_per_node": t.gpus_per_node[target], "nodes": o.nodes[rows],
        "monthly_cost_usd": o.monthly_cost_usd[rows], "tpot_ms": c.tpot_ms[cfg],
        "ttft_ms": c.ttft_ms[cfg], "meets_slo": True, "mmlu_5shot": c.mmlu_5shot[cfg],
        "mmlu_pro": c.mmlu_pro[cfg],
        "group": text(model + "|azure|" + sku + "|" + plan)})


def _front_rows(cost: np.ndarray, level: np.ndarray, worse: np.ndarray) -> np.ndarray:
    """Rows on the cost / ``worse`` Pareto front when ``worse`` takes one value per ``level``
    code (lower is better): per distinct value, the cheapest row, kept if every strictly better
    value costs more. O(n) in the rows; only the levels are sorted."""
    if cost.size == 0:
        return np.zeros(0, dtype=np.int64)
    values, inverse = np.unique(worse, return_inverse=True)  # worse per level code, sorted
    row_value = inverse[level]
    best = np.full(len(values), np.inf)
    np.minimum.at(best, row_value, cost)
    before = np.concatenate(([np.inf], np.minimum.accumulate(best)[:-1]))
    on = best < before
    hit = np.flatnonzero(on[row_value] & (cost == best[row_value]))
    _, first = np.unique(row_value[hit], return_index=True)  # one row per value
    return hit[first]


def _azure_groups(ev: Evaluation) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The shown option of every (model, VM size, plan) group, as :func:`grouped_options`
    chooses it (cheapest; ties: higher quality at its precision, wider precision, fewer nodes,
    smaller TP, simpler scaling policy), with the group's option count and its other precisions
    (cheapest first)."""
    o, c, t = ev.options, ev.configs, ev.targets
    if not len(o.config):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), []
    n_sku, n_plan = int(t.sku_code.max()) + 1, int(t.plan_code.max()) + 1
    code = (c.model[o.config] * n_sku + t.sku_code[o.target]) * n_plan + t.plan_code[o.target]
    groups, g = np.unique(code, return_inverse=True)
    cost = o.monthly_cost_usd
    best = np.full(len(groups), np.inf)
    np.minimum.at(best, g, cost)
    tie = np.flatnonzero(cost == best[g])
    cfg = o.config[tie]
    rank = np.array([_PRECISION_RANK.get(p, 0) for p in c.precisions])[c.precision[cfg]]
    quality = -np.nan_to_num(c.mmlu_5shot[cfg], nan=-np.inf)
    # last tie-break: the simpler scaling policy (fixed, then autoscale, then scale-to-zero)
    simpler = np.array([SCALING_POLICIES.index(p) for p in ev.policies])[o.policy[tie]]
    order = np.lexsort((simpler, c.tp[cfg], o.nodes[tie], rank, quality, g[tie]))
    first = np.concatenate(([True], np.diff(g[tie][order]) != 0))
    shown = tie[order][first]  # one per group, in group order
    counts = np.bincount(g, minlength=len(groups))
    # each group's precisions by their cheapest option
    n_p = len(c.precisions)
    cheapest = np.full(len(groups) * n_p, np.inf)
    np.minimum.at(cheapest, g * n_p + c.precision[o.config], cost)
    cheapest = cheapest.reshape(len(groups), n_p)
    shown_p = c.precision[o.config[shown]]
    cheapest[np.arange(len(groups)), shown_p] = np.inf
    rank = np.array([_PRECISION_RANK.get(p, 0) for p in c.precisions], dtype=float)
    order = np.lexsort((np.broadcast_to(rank, cheapest.shape), cheapest), axis=1)
    names = np.asarray(c.precisions, dtype=object)
    present = np.take_along_axis(np.isfinite(cheapest), order, axis=1)
    listed = names[order]
    others = [", ".join(row[keep]) for row, keep in zip(listed, present, strict=True)]
    return shown, counts, others


def advise(workload: Workload, space: SearchSpace, catalog: Catalog, top: int = 10,
           profiles: dict[str, EngineProfile] | None = None) -> AdvisorResult:
    """Rank every option in ``space`` that meets the workload's SLOs, cheapest first."""
    start = time.perf_counter()
    profiles = profiles or load_profiles()
    known_regions = catalog.regions.keys() | {p.region for p in catalog.prices}
    for region in space.regions:
        if region not in known_regions:
            raise ScenarioError(f"search.regions: unknown region {region!r}")
    floor = quality_floor_mmlu(workload, space)
    per_model = options_per_model(space, catalog)
    models, rejected = _models_in_scope(space, catalog, floor, per_model)
    size = per_model * len(models)
    if size > MAX_OPTIONS:
        raise ScenarioError(f"search space of {size:,} options exceeds the limit of "
                            f"{MAX_OPTIONS:,}: narrow models, regions or plans")
    tokens = workload.input_tokens + workload.output_tokens
    in_context = []
    for model_id in models:
        model = catalog.models[model_id]
        # the same default as a typed deployment: the server accepts the model's full context
        if tokens > min(space.context_tokens or model.max_context_tokens,
                        model.max_context_tokens):
            rejected[(model_id, "request_exceeds_context")] += per_model
        else:
            in_context.append(model_id)
    ev = evaluate_azure(in_context, space, workload, catalog, profiles, floor,
                        kaito_exclusions(space, catalog))
    azure_done = time.perf_counter()
    for (sku, gpu, why), n in ev.excluded.items():
        if n:
            rejected[(f"{sku} ({gpu})", why)] += n
    _count_config_rejections(ev, rejected)
    for (model, sku, plan), n in ev.missing.items():
        rejected[(f"{model} on {sku} ({plan})", "price_missing")] += n
    resolver = PriceResolver(catalog)
    o = ev.options
    cost = o.monthly_cost_usd
    shown, counts, other_precisions = _azure_groups(ev) if space.group_variants else (
        np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), [])
    ranked_costs = cost[shown] if space.group_variants else cost
    threshold = (float(np.partition(ranked_costs, LOCAL_THRESHOLD_RANK - 1)[
        LOCAL_THRESHOLD_RANK - 1]) if len(ranked_costs) >= LOCAL_THRESHOLD_RANK else math.inf)
    unplanned = [0]
    scalar_start = time.perf_counter()
    other_rows = _local_and_api(models, space, workload, catalog, rejected, profiles, resolver,
                                floor, threshold, unplanned)
    scalar_s = time.perf_counter() - scalar_start
    for r in other_rows:  # group_key's text, built per row (few rows)
        r["group"] = "|".join("" if r[c] is None else str(r[c]) for c in GROUP_COLUMNS)
    others = pd.DataFrame(other_rows)
    c = ev.configs
    keep = (np.argpartition(cost, RANKED_ROWS)[:RANKED_ROWS] if len(cost) > RANKED_ROWS
            else np.arange(len(cost)))
    quality = -np.nan_to_num(c.mmlu_5shot, nan=-np.inf)
    if space.group_variants:
        azure = _azure_frame(ev, shown).assign(variants=counts, other_precisions=other_precisions)
        local = _grouped_rows(others)
        ranked = pd.concat([f for f in (azure, local) if not f.empty], ignore_index=True) \
            if not (azure.empty and local.empty) else pd.DataFrame()
        extra = np.setdiff1d(keep, shown)
        variants = pd.concat([f for f in (ranked.drop(columns=["variants", "other_precisions"],
                                                      errors="ignore"),
                                          _azure_frame(ev, extra), others) if not f.empty],
                             ignore_index=True) if not ranked.empty else pd.DataFrame()
    else:  # every option its own row: the cheapest, and every option on a Pareto front
        fronts = [_front_rows(cost, o.config, quality), _front_rows(cost, o.config, c.tpot_ms)]
        rows = np.unique(np.concatenate([keep, *fronts]))
        frames = [f for f in (_azure_frame(ev, rows), others) if not f.empty]
        ranked = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if not ranked.empty:
            ranked = ranked.assign(variants=1, other_precisions="")
        variants = ranked
    if not ranked.empty:
        ranked, variants = _cheapest_first(ranked), _cheapest_first(variants)
        ranked["pareto_cost_quality"] = pareto_front(ranked["monthly_cost_usd"],
                                                     -ranked["mmlu_5shot"].fillna(-np.inf))
        ranked["pareto_cost_latency"] = pareto_front(ranked["monthly_cost_usd"],
                                                     ranked["tpot_ms"].fillna(np.inf))
    viable = len(cost) + len(others) + unplanned[0]
    plans_start = time.perf_counter()
    top_deployments = [deployment_for(row, space) for row in ranked.head(top).to_dict("records")] \
        if not ranked.empty else []
    top_plans = [plan_deployment(dep, workload, catalog, profiles, resolver)
                 for dep in top_deployments]
    checks = commitment_checks(top_deployments, top_plans, workload, catalog, profiles, resolver)
    scalar_s += time.perf_counter() - plans_start
    items = sorted(rejected.items())
    rej = pd.DataFrame({"family": [f for (f, _), _ in items], "reason": [r for (_, r), _ in items],
                        "options": [n for _, n in items]}) if items else pd.DataFrame()
    # every option ends viable or under one reject reason
    evaluated = viable + sum(rejected.values())
    return AdvisorResult(ranked=ranked, rejected=rej, options_evaluated=evaluated,
                         top_plans=top_plans, variants=variants, min_mmlu=floor,
                         viable_options=viable, search_seconds=time.perf_counter() - start,
                         evaluation=ev, azure_seconds=azure_done - start,
                         scalar_plan_seconds=scalar_s, commitment_checks=checks)


def _cheapest_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by monthly cost, then higher quality, wider precision, fewer nodes, smaller TP."""
    def column(name: str, fill: float) -> np.ndarray:
        values = np.asarray(frame[name].to_numpy(dtype=object), dtype=float)  # None -> NaN
        return np.where(np.isnan(values), fill, values)

    rank = np.array([_PRECISION_RANK.get(p, 0) for p in frame["precision"].tolist()], dtype=float)
    order = np.lexsort((column("tp", np.inf), column("nodes", np.inf), rank,
                        -column("mmlu_5shot", -np.inf), column("monthly_cost_usd", np.inf)))
    return frame.iloc[order].reset_index(drop=True)


def _grouped_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """:func:`grouped_options` for the few local and hosted rows (which carry their ``group``),
    in plain Python: a data frame per group costs more than the rows."""
    if rows.empty:
        return rows

    def number(value: object, fill: float) -> float:
        return fill if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]

    def order(r: dict) -> tuple:
        return (number(r["monthly_cost_usd"], math.inf), -number(r["mmlu_5shot"], -math.inf),
                _PRECISION_RANK.get(r["precision"], 0), number(r["nodes"], math.inf),
                number(r["tp"], math.inf))

    groups: dict[str, list[dict]] = {}
    for r in sorted(rows.to_dict("records"), key=order):
        groups.setdefault(r["group"], []).append(r)
    out = []
    for members in groups.values():
        best = dict(members[0])
        best["variants"] = len(members)
        best["other_precisions"] = ", ".join(dict.fromkeys(
            m["precision"] for m in members[1:]
            if isinstance(m["precision"], str) and m["precision"] != best["precision"]))
        out.append(best)
    return pd.DataFrame(out)


def _count_config_rejections(ev: Evaluation, rejected: Counter) -> None:
    """Add the options of every configuration ruled out to ``rejected`` by family and reason."""
    c = ev.configs
    out = np.flatnonzero(c.reason >= 0)
    if not out.size:
        return
    tp_index = np.searchsorted(np.array(TP_DEGREES), c.tp[out])
    by_tp = np.isin(c.reason[out], [CONFIG_REASONS.index("slo_unmet"),
                                    CONFIG_REASONS.index("too_many_replicas")])
    dims = (len(c.models), len(c.gpus), len(c.precisions), len(c.kv_dtypes), len(TP_DEGREES) + 1,
            len(CONFIG_REASONS))
    # the TP is part of the family only where the sizing decided (the fit is judged over every TP)
    code = np.ravel_multi_index((c.model[out], c.gpu[out], c.precision[out], c.kv[out],
                                 np.where(by_tp, tp_index + 1, 0), c.reason[out]), dims)
    uniq, inverse = np.unique(code, return_inverse=True)
    totals = np.bincount(inverse, weights=c.options[out])
    kv_text = [("" if k == "fp16" else f", {k} KV") for k in c.kv_dtypes]
    tp_text = ["", *(f", tp={t}" for t in TP_DEGREES)]
    for m, g, p, k, t, r, n in zip(*(a.tolist() for a in np.unravel_index(uniq, dims)),
                                   totals.tolist(), strict=True):
        family = f"{c.models[m]} on {c.gpus[g]} ({c.precisions[p]}{kv_text[k]}{tp_text[t]})"
        rejected[(family, CONFIG_REASONS[r])] += int(n)


def _local_and_api(models: list[str], space: SearchSpace, workload: Workload, catalog: Catalog,
                   rejected: Counter, profiles: dict[str, EngineProfile],
                   resolver: PriceResolver, floor: float | None, threshold_usd: float = math.inf,
                   unplanned: list[int] | None = None) -> list[dict]:
    """Local hardware and hosted APIs (few options): rows planned one by one."""
    rows: list[dict] = []
    if space.include_local:
        priced = [hw for hw in catalog.local_hardware.values() if hw.purchase_usd is not None]
        for hw in catalog.local_hardware.values():
            if hw.purchase_usd is None:
                rejected[(hw.id, "no_purchase_price")] += len(models)
        rows += _local_rows(priced, models, space, workload, catalog, rejected, profiles,
                            resolver, floor, threshold_usd, unplanned)
    if space.include_api:
        ids = [m for m in (space.models or sorted(catalog.api_models)) if m in catalog.api_models]
        for api_id in ids:
            if catalog.api_models[api_id].retired and not space.include_retired:
                rejected[(api_id, "retired")] += 1
                continue
            mmlu = catalog.api_models[api_id].mmlu_5shot
            if floor is not None and (mmlu is None or mmlu < floor):
                rejected[(api_id, "below_quality_floor" if mmlu is not None
                          else "no_quality_score")] += 1
                continue
            dep = Deployment(label="x", model=api_id, target=ApiTarget())
            plan = plan_deployment(dep, workload, catalog, {}, resolver)
            rows.append(_row_from_plan(plan, dep, "api", None))
    return rows


def _local_terms(hardware: str, region: str, catalog: Catalog,
                 resolver: PriceResolver) -> tuple[float, float, float]:
    """(fixed, per node, per base node) USD of a machine's cost lines without electricity."""
    target = LocalTarget(hardware=hardware, region=region)
    return node_cost_terms(*(serving_lines(target, n, 0.0, catalog, resolver, "")
                             for n in (0, 1, 1)))


LOCAL_THRESHOLD_RANK = 50  # own machines are planned when they can beat the 50th cheapest group
# Own machines planned per search: a machine's electricity depends on its utilisation, which only
# the scalar plan computes (~10-50 ms each), so the search plans the most promising (cheapest
# lower bound, then quality, then wider precision), one per machine and model
LOCAL_PLANS = 8


def _local_rows(machines: list, models: list[str], space: SearchSpace, workload: Workload,
                catalog: Catalog, rejected: Counter, profiles: dict[str, EngineProfile],
                resolver: PriceResolver, floor: float | None, threshold_usd: float = math.inf,
                unplanned: list[int] | None = None) -> list[dict]:
    """Own machines: every (machine, model, precision) sized in one vectorised pass over its
    TP degrees; those that can meet the SLOs are planned one by one (a machine's cost includes
    its electricity at the plan's utilisation, which only the plan computes), cheapest lower
    bound first, and only where the bound (every cost line but electricity) is within
    ``threshold_usd`` and below the cheapest planned precision of the same machine and model.
    The others (viable, never cheaper) are counted in ``unplanned[0]``."""
    unplanned = unplanned if unplanned is not None else [0]
    rows: list[dict] = []
    if not machines or not models:
        return rows
    precisions = list(space.precisions)
    room = np.array([[int(tp <= hw.gpu_count) for tp in TP_DEGREES] for hw in machines])
    tokens = workload.input_tokens + workload.output_tokens
    fits_context = [tokens <= min(space.context_tokens or catalog.models[m].max_context_tokens,
                                  catalog.models[m].max_context_tokens) for m in models]
    configs = size_configs(models, [hw.gpu_id for hw in machines], room, precisions, ["fp16"],
                           space, workload, catalog, profiles, floor)
    # per (machine, model, precision): the first reason of its best TP, or -1 (can meet the SLOs)
    shape = (len(machines), len(models), len(precisions))
    best = np.full(shape, len(CONFIG_REASONS), dtype=np.int64)
    order = np.where(configs.reason < 0, -1, configs.reason)
    np.minimum.at(best, (configs.gpu, configs.model, configs.precision), order)
    skip = (CONFIG_REASONS.index("precision_unsupported"), len(CONFIG_REASONS))
    # the nodes the plan would use (fewest nodes, then GPUs, then TP, over the TPs that can
    # meet the SLOs) and a lower bound of the monthly cost: every line but electricity
    ok = np.flatnonzero(configs.reason < 0)
    gpn = np.array([hw.gpu_count for hw in machines])[configs.gpu[ok]]
    nodes = np.ceil(configs.replicas[ok] / (gpn // configs.tp[ok])).astype(np.int64)
    key = (configs.gpu[ok] * len(models) + configs.model[ok]) * len(precisions) \
        + configs.precision[ok]
    pick = np.lexsort((configs.tp[ok], configs.replicas[ok] * configs.tp[ok], nodes, key))
    first = pick[np.concatenate(([True], np.diff(key[pick]) != 0))] if len(pick) else pick
    terms = [_local_terms(hw.id, space.regions[0], catalog, resolver) for hw in machines]
    lower, q_of = {}, {}
    best_q = -np.nan_to_num(configs.mmlu_5shot[ok], nan=-np.inf)
    for i in first.tolist():
        h = int(configs.gpu[ok][i])
        key3 = (h, int(configs.model[ok][i]), int(configs.precision[ok][i]))
        lower[key3] = terms[h][0] + terms[h][1] * int(nodes[i])
        q_of[key3] = float(best_q[i])
    planned: dict[tuple[int, int], float] = {}  # (machine, model) planned -> its lower bound
    for h, m, p in np.ndindex(*shape):
        hw, model_id, precision = machines[h], models[m], precisions[p]
        why = int(best[h, m, p])
        if why in skip:
            continue
        family = f"{model_id} on {hw.id} ({precision})"
        if not fits_context[m]:
            rejected[(family, "request_exceeds_context")] += 1
        elif why >= 0:
            rejected[(family, CONFIG_REASONS[why])] += 1
    # plan the options that can matter, cheapest lower bound first: within the threshold, and
    # in each (machine, model) only while the bound is below the cheapest planned so far
    for (h, m, p), bound in sorted(lower.items(), key=lambda item: (
            item[1], q_of[item[0]], _PRECISION_RANK.get(precisions[item[0][2]], 0))):
        if not fits_context[m]:
            continue
        if bound > threshold_usd or (h, m) in planned or len(planned) >= LOCAL_PLANS:
            unplanned[0] += 1
            continue
        planned[(h, m)] = bound
        hw, model_id, precision = machines[h], models[m], precisions[p]
        family = f"{model_id} on {hw.id} ({precision})"
        dep = Deployment(label="x", model=model_id, precision=precision,
                         engine=space.engine, context_tokens=space.context_tokens,
                         target=LocalTarget(hardware=hw.id, region=space.regions[0]))
        plan = plan_deployment(dep, workload, catalog, profiles, resolver)
        if not plan.fits:
            rejected[(family, FIT_REJECTION[plan.fit.status])] += 1
        elif not plan.throughput.meets_slo:
            rejected[(family, "slo_unmet")] += 1
        elif plan.monthly_cost_usd is None:
            rejected[(family, "price_missing")] += 1
        else:
            rows.append(_row_from_plan(plan, dep, hw.id, precision))
    return rows


def _row_from_plan(plan: DeploymentPlan, dep: Deployment, where: str,
                   precision: str | None) -> dict:
    t = plan.throughput
    return {
        "model": plan.model, "kind": plan.target_kind, "target": dep.target.model_dump(),
        "sku": where, "where": where, "region": None,
        "plan": None, "scaling": plan.scaling.policy if plan.scaling else None,
        "node_hours_per_month": plan.node_hours_per_month,
        "precision": precision, "tp": plan.tp, "batch": t.batch if t else None,
        "replicas": plan.replicas, "nodes": plan.nodes, "monthly_cost_usd": plan.monthly_cost_usd,
        "tpot_ms": t.tpot_ms if t else None, "ttft_ms": t.ttft_ms if t else None,
        "meets_slo": True, "kv_dtype": dep.kv_cache_dtype if plan.precision else None,
        "mmlu_5shot": _nan(plan.mmlu_5shot), "mmlu_pro": _nan(plan.mmlu_pro),
    }


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def pareto_front(cost: pd.Series, worse: pd.Series) -> np.ndarray:
    """True where no other option is both no dearer and no worse (and strictly better in one).

    ``worse`` is the second objective, lower is better (pass -quality for quality)."""
    c, w = cost.to_numpy(dtype=float), worse.to_numpy(dtype=float)
    order = np.lexsort((w, c))
    w_sorted = w[order]
    # an option is on the front when it beats every cheaper option on the second objective
    best_before = np.concatenate(([np.inf], np.minimum.accumulate(w_sorted)[:-1]))
    front = np.zeros(len(c), dtype=bool)
    front[order] = w_sorted < best_before
    return front


OUTPUT_COLUMNS = ["model", "kind", "where", "scaling", "precision", "tp", "batch", "replicas",
                  "nodes", "node_hours_per_month",
                  "monthly_cost_usd", "tpot_ms", "ttft_ms", "mmlu_5shot", "mmlu_pro",
                  "pareto_cost_quality",
                  "pareto_cost_latency", "variants", "other_precisions"]
