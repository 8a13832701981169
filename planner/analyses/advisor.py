"""Advisor: search the whole option space for a workload and rank what meets the SLOs.

The space is every allowed model x precision x tensor-parallel degree x GPU type, then every
Azure VM size carrying that GPU x region x pricing plan, plus local hardware and hosted APIs.
Performance depends only on (model, GPU, precision, TP, engine), so it is computed once per such
combination and shared by every VM size, region and plan that uses the GPU; prices are joined
afterwards in vectorised form. The winners are then re-planned through :func:`plan_scenario`,
so what the advisor reports is exactly what the planner computes for a deployment a user types.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from planner.catalog import Catalog, GpuSpec
from planner.errors import CannotEstimateError, ScenarioError, TooManyReplicasError
from planner.physics.memory import memory_breakdown, tp_divides_heads
from planner.physics.throughput import EngineProfile, load_profiles, profile_for
from planner.pipeline.plan import DeploymentPlan, plan_deployment, serving_lines
from planner.pipeline.quality import quality_at
from planner.pipeline.sizing import size_replicas
from planner.pricing.money import total_usd
from planner.pricing.resolver import PriceResolver
from planner.registry import (
    DEFAULT_MIN_MMLU,
    KAITO_MIN_COMPUTE_CAPABILITY,
    PRECISIONS,
    TP_DEGREES,
    EngineId,
    PricingPlan,
)
from planner.scenario import Deployment, Workload, gpu_runs_precision
from planner.targets import ApiTarget, AzureTarget, LocalTarget, module_for

MAX_OPTIONS = 2_000_000  # bound on the (upper-bound) space size; a larger request is refused

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


@dataclass(frozen=True)
class Performance:
    """One (model, GPU, precision, TP) option sized for the workload."""

    model: str
    gpu: str
    precision: str
    tp: int
    batch: int
    meets_slo: bool
    requests_per_s: float
    tpot_ms: float
    ttft_ms: float
    replicas: int


@dataclass
class AdvisorResult:
    """Ranked options, why the rest were rejected, and how big the space was."""

    ranked: pd.DataFrame  # one row per option group that meets the SLOs and has a full price
    rejected: pd.DataFrame  # (family, reason, options) counts
    options_evaluated: int
    top_plans: list[DeploymentPlan]
    # every ranked option before grouping (same columns plus ``group``), cheapest first
    variants: pd.DataFrame = field(default_factory=pd.DataFrame)
    min_mmlu: float | None = None  # the quality floor applied (None = any quality)


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


def azure_gpus_in_scope(space: SearchSpace, catalog: Catalog, models: int,
                        rejected: Counter) -> dict[str, int]:
    """GPU id -> most GPUs per node over the VM sizes the search may use; GPUs KAITO cannot run
    on are counted in ``rejected`` (once per model and VM size) and left out."""
    gpus: dict[str, int] = {}
    for sku in catalog.skus.values():
        if (space.skus and sku.id not in space.skus) or (sku.retired and not space.include_retired):
            continue
        why = kaito_gpu_rejection(catalog.gpus[sku.gpu_id]) if space.require_kaito else None
        if why is not None:
            rejected[(f"{sku.id} ({sku.gpu_id})", why)] += max(models, 1)
            continue
        gpus[sku.gpu_id] = max(gpus.get(sku.gpu_id, 0), sku.gpu_count)
    return gpus


GROUP_COLUMNS = ["model", "kind", "sku", "plan"]  # one row per model x VM size/machine x plan
_PRECISION_RANK = {p: i for i, p in enumerate(("fp16", "bf16", "fp8", "int8", "mxfp4", "nvfp4",
                                               "int4"))}


def group_key(ranked: pd.DataFrame) -> pd.Series:
    """The group of each option row: model | kind | VM size or machine | plan."""
    parts = ranked[GROUP_COLUMNS].astype(object).where(ranked[GROUP_COLUMNS].notna(), "")
    return parts.astype(str).agg("|".join, axis=1)


def grouped_options(ranked: pd.DataFrame) -> pd.DataFrame:
    """One row per group (:data:`GROUP_COLUMNS`): the cheapest option, ties broken by the higher
    quality at its precision, then the wider precision. ``variants`` counts the group's options
    and ``other_precisions`` lists the precisions of the rest; the result stays cheapest first."""
    if ranked.empty:
        return ranked
    df = ranked.assign(group=group_key(ranked),
                       _q=-ranked["mmlu_5shot"].astype(float).fillna(-np.inf),
                       _p=ranked["precision"].map(_PRECISION_RANK).fillna(0))
    df = df.sort_values(["monthly_cost_usd", "_q", "_p", "nodes", "tp"], kind="stable",
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
    return best.drop(columns=["_q", "_p"]).reset_index(drop=True)


def _models_in_scope(space: SearchSpace, catalog: Catalog,
                     floor: float | None) -> tuple[list[str], Counter]:
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
            rejected[(model_id if mmlu is None else f"{model_id} (MMLU {mmlu:g})", why)] += 1
            continue
        chosen.append(model_id)
    return chosen, rejected


def evaluate_performance(model_ids: list[str], gpu_ids: dict[str, int], space: SearchSpace,
                         workload: Workload, catalog: Catalog,
                         profiles: dict[str, EngineProfile]) -> tuple[list[Performance], Counter]:
    """Size every (model, GPU, precision, TP) once. ``gpu_ids`` maps GPU -> most GPUs per node."""
    perf: list[Performance] = []
    rejected: Counter = Counter()
    tokens = workload.input_tokens + workload.output_tokens
    for model_id in model_ids:
        model = catalog.models[model_id]
        # the same default as a typed deployment: the server accepts the model's full context
        context = min(space.context_tokens or model.max_context_tokens, model.max_context_tokens)
        if tokens > context:
            rejected[(model_id, "request_exceeds_context")] += 1
            continue
        for gpu_id, max_gpus in gpu_ids.items():
            gpu = catalog.gpus[gpu_id]
            profile = profile_for(profiles, space.engine, gpu)
            family = f"{model_id} on {gpu_id}"
            for precision in space.precisions:
                if not gpu_runs_precision(gpu.native_precisions, precision):
                    rejected[(f"{family} ({precision})", "precision_unsupported")] += 1
                    continue
                fitted = False
                for tp in TP_DEGREES:
                    if tp > max_gpus or not tp_divides_heads(model, tp):
                        continue
                    mem = memory_breakdown(model, gpu, precision, tp, "fp16", context, space.engine)
                    if not mem.fits:
                        continue
                    fitted = True
                    try:
                        sized = size_replicas(mem, model, gpu, precision, "fp16", workload,
                                              profile, max_gpus)
                    except TooManyReplicasError:
                        rejected[(f"{family} ({precision}, tp={tp})", "too_many_replicas")] += 1
                        continue
                    except CannotEstimateError:
                        rejected[(f"{family} ({precision})", "cannot_estimate")] += 1
                        continue
                    choice, replicas = sized.choice, sized.replicas
                    if not choice.meets_slo:
                        rejected[(f"{family} ({precision}, tp={tp})", "slo_unmet")] += 1
                        continue
                    perf.append(Performance(model_id, gpu_id, precision, tp, choice.batch, True,
                                            choice.requests_per_s, choice.tpot_ms, choice.ttft_ms,
                                            replicas))
                if not fitted:
                    rejected[(f"{family} ({precision})", "does_not_fit")] += 1
    return perf, rejected


def _azure_options(perf: pd.DataFrame, space: SearchSpace, catalog: Catalog,
                   resolver: PriceResolver, min_replicas: int = 1) -> pd.DataFrame:
    """Join performance rows with every VM size, region and plan sold; the monthly cost of each
    distinct (VM size, region, plan, nodes) is the plan's own cost lines for that target."""
    skus = pd.DataFrame([
        {"sku": s.id, "gpu": s.gpu_id, "gpus_per_node": s.gpu_count}
        for s in catalog.skus.values()
        if (not space.skus or s.id in space.skus) and (space.include_retired or not s.retired)
    ])
    sold = pd.DataFrame([{"sku": p.sku, "region": p.region, "plan": p.plan}
                         for p in catalog.prices
                         if p.region in space.regions and p.plan in space.plans])
    if perf.empty or skus.empty or sold.empty:
        return pd.DataFrame()
    df = perf.merge(skus, on="gpu").merge(sold, on="sku")
    df = df[df["tp"] <= df["gpus_per_node"]]
    per_node = df["gpus_per_node"] // df["tp"]
    df = df.assign(nodes=np.ceil(df["replicas"] / per_node).astype(int), kind="azure")
    df["base_nodes"] = spot_base_column(df["plan"], df["nodes"], per_node, min_replicas)
    cols = ["sku", "region", "plan", "nodes", "base_nodes"]
    keys = df[cols].drop_duplicates()
    keys["monthly_cost_usd"] = [
        _azure_cost(AzureTarget(vm_sku=sku, region=region, pricing=plan,
                                cluster_tier=space.cluster_tier, system_nodes=space.system_nodes),
                    int(nodes), catalog, resolver, int(base))
        for sku, region, plan, nodes, base in keys.itertuples(index=False, name=None)]
    return df.merge(keys, on=cols, how="left")


def spot_base_column(plan: pd.Series, nodes: pd.Series, per_node: pd.Series,
                     min_replicas: int) -> pd.Series:
    """Nodes a spot row keeps on a regular pool (the nodes ``min_replicas`` need, at most the
    row's nodes); 0 for other plans (their cost does not depend on it)."""
    base = np.minimum(np.ceil(min_replicas / per_node).astype(int), nodes)
    return base.where(plan == "spot", 0).astype(int)


def _azure_cost(target: AzureTarget, nodes: int, catalog: Catalog,
                resolver: PriceResolver, base_nodes: int = 0) -> float:
    """Monthly cost (USD) of ``nodes`` nodes of the target (``base_nodes`` of a spot option on
    a regular pool), NaN when a price is missing."""
    total = total_usd(serving_lines(target, nodes, None, catalog, resolver, "",
                                    base_nodes=base_nodes))
    return math.nan if total is None else total


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
    return Deployment(label=label, model=row["model"], precision=row["precision"],
                      engine=space.engine, tp=int(row["tp"]), context_tokens=space.context_tokens,
                      target=target)  # type: ignore[arg-type]


def advise(workload: Workload, space: SearchSpace, catalog: Catalog, top: int = 10,
           profiles: dict[str, EngineProfile] | None = None) -> AdvisorResult:
    """Rank every option in ``space`` that meets the workload's SLOs, cheapest first."""
    profiles = profiles or load_profiles()
    for region in space.regions:
        if region not in catalog.regions and not any(p.region == region for p in catalog.prices):
            raise ScenarioError(f"search.regions: unknown region {region!r}")
    floor = quality_floor_mmlu(workload, space)
    models, rejected = _models_in_scope(space, catalog, floor)
    azure_gpus = azure_gpus_in_scope(space, catalog, len(models), rejected)
    size = len(models) * len(azure_gpus) * len(space.precisions) * len(TP_DEGREES) * max(
        1, len(space.regions) * len(space.plans))
    if size > MAX_OPTIONS:
        raise ScenarioError(f"search space of {size:,} options exceeds the limit of "
                            f"{MAX_OPTIONS:,}: narrow models, regions or plans")
    resolver = PriceResolver(catalog)
    perf, perf_rejected = evaluate_performance(models, azure_gpus, space, workload, catalog,
                                               profiles)
    rejected.update(perf_rejected)
    perf_df = pd.DataFrame([p.__dict__ for p in perf])
    frames = []
    azure = _azure_options(perf_df, space, catalog, resolver, workload.min_replicas)
    evaluated = len(perf) + sum(perf_rejected.values())
    if not azure.empty:
        evaluated += len(azure)
        missing = azure[azure["monthly_cost_usd"].isna()]
        for (model, sku, plan), n in missing.groupby(["model", "sku", "plan"]).size().items():
            rejected[(f"{model} on {sku} ({plan})", "price_missing")] += int(n)
        azure = azure.dropna(subset=["monthly_cost_usd"])
        azure["where"] = azure["sku"] + " " + azure["region"] + " " + azure["plan"]
        frames.append(azure)
    others = _local_and_api(models, space, workload, catalog, rejected, profiles, resolver,
                            floor)
    evaluated += len(others)
    if others:
        frames.append(pd.DataFrame(others))
    ranked = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    variants = pd.DataFrame()
    if not ranked.empty:
        scores = {key: _scores(catalog, *key) for key in
                  set(zip(ranked["model"], ranked["precision"].fillna(""), strict=True))}
        keys = list(zip(ranked["model"], ranked["precision"].fillna(""), strict=True))
        ranked["mmlu_5shot"] = [scores[k][0] for k in keys]
        ranked["mmlu_pro"] = [scores[k][1] for k in keys]
        if floor is not None:  # the floor holds at the option's own precision
            ranked = _apply_floor_at_precision(ranked, floor, rejected)
        ranked = ranked.sort_values(["monthly_cost_usd", "nodes", "tp"], na_position="last",
                                    kind="stable").reset_index(drop=True)
        variants = ranked.assign(group=group_key(ranked)) if not ranked.empty else ranked
        ranked = (grouped_options(ranked) if space.group_variants else
                  ranked.assign(group=group_key(ranked), variants=1, other_precisions=""))
        ranked["pareto_cost_quality"] = pareto_front(ranked["monthly_cost_usd"],
                                                     -ranked["mmlu_5shot"].fillna(-np.inf))
        ranked["pareto_cost_latency"] = pareto_front(ranked["monthly_cost_usd"],
                                                     ranked["tpot_ms"].fillna(np.inf))
    top_plans = [plan_deployment(deployment_for(row, space), workload, catalog, profiles, resolver)
                 for row in ranked.head(top).to_dict("records")] if not ranked.empty else []
    rej = pd.DataFrame([{"family": f, "reason": r, "options": n}
                        for (f, r), n in sorted(rejected.items())])
    return AdvisorResult(ranked=ranked, rejected=rej, options_evaluated=evaluated,
                         top_plans=top_plans,
                         variants=variants,
                         min_mmlu=floor)


def _apply_floor_at_precision(ranked: pd.DataFrame, floor: float,
                              rejected: Counter) -> pd.DataFrame:
    """Rows whose MMLU at their own precision is measured and at least ``floor``; the rest are
    counted as quality_not_measured or below_quality_floor."""
    unmeasured = ranked["mmlu_5shot"].isna()
    below = ~unmeasured & (ranked["mmlu_5shot"] < floor)
    for mask, why in ((unmeasured, "quality_not_measured"), (below, "below_quality_floor")):
        for (model, precision), n in ranked[mask].groupby(
                ["model", ranked.loc[mask, "precision"].fillna("")]).size().items():
            rejected[(f"{model} ({precision})" if precision else model, why)] += int(n)
    return ranked[~unmeasured & ~below].reset_index(drop=True)


def _local_and_api(models: list[str], space: SearchSpace, workload: Workload, catalog: Catalog,
                   rejected: Counter, profiles: dict[str, EngineProfile],
                   resolver: PriceResolver, floor: float | None) -> list[dict]:
    """Local hardware and hosted APIs, planned one by one (few options)."""
    rows: list[dict] = []
    if space.include_local:
        for hw in catalog.local_hardware.values():
            if hw.purchase_usd is None:
                rejected[(hw.id, "no_purchase_price")] += len(models)
                continue
            for model_id in models:
                for precision in space.precisions:
                    gpu = catalog.gpus[hw.gpu_id]
                    if not gpu_runs_precision(gpu.native_precisions, precision):
                        continue
                    dep = Deployment(label="x", model=model_id, precision=precision,
                                     engine=space.engine, context_tokens=space.context_tokens,
                                     target=LocalTarget(hardware=hw.id, region=space.regions[0]))
                    plan = plan_deployment(dep, workload, catalog, profiles, resolver)
                    family = f"{model_id} on {hw.id}"
                    if not plan.fits:
                        rejected[(f"{family} ({precision})", FIT_REJECTION[plan.fit.status])] += 1
                    elif not plan.throughput.meets_slo:
                        rejected[(f"{family} ({precision})", "slo_unmet")] += 1
                    elif plan.monthly_cost_usd is None:
                        rejected[(f"{family} ({precision})", "price_missing")] += 1
                    else:
                        rows.append(_row_from_plan(plan, dep, hw.id, precision))
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


def _row_from_plan(plan: DeploymentPlan, dep: Deployment, where: str,
                   precision: str | None) -> dict:
    t = plan.throughput
    return {
        "model": plan.model, "kind": plan.target_kind, "target": dep.target.model_dump(),
        "sku": where, "where": where, "region": None,
        "plan": None, "precision": precision, "tp": plan.tp, "batch": t.batch if t else None,
        "replicas": plan.replicas, "nodes": plan.nodes, "monthly_cost_usd": plan.monthly_cost_usd,
        "tpot_ms": t.tpot_ms if t else None, "ttft_ms": t.ttft_ms if t else None,
        "meets_slo": True,
    }


def _scores(catalog: Catalog, model_id: str, precision: str) -> tuple[float, float]:
    """(MMLU, MMLU-Pro) of an option at its precision (NaN where not measured there); hosted
    APIs have no precision to choose."""
    if model_id in catalog.api_models:
        api = catalog.api_models[model_id]
        return _nan(api.mmlu_5shot), _nan(api.mmlu_pro)
    q = quality_at(catalog, model_id, precision)
    return _nan(q.mmlu_5shot), _nan(q.mmlu_pro)


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


OUTPUT_COLUMNS = ["model", "kind", "where", "precision", "tp", "batch", "replicas", "nodes",
                  "monthly_cost_usd", "tpot_ms", "ttft_ms", "mmlu_5shot", "mmlu_pro",
                  "pareto_cost_quality",
                  "pareto_cost_latency", "variants", "other_precisions"]
