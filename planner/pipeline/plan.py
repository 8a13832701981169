"""The pipeline: Scenario -> memory/throughput -> sizing -> cost components -> prices -> totals.

:func:`plan_scenario` is the one entry point (through :mod:`planner.api`); its result carries its
working (memory buckets, the batch and what limited it, the sizing arithmetic, the batch curve,
cost lines with kinds, findings with codes) and renders to a table, CSV, JSON or charts without
further arithmetic.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from planner.catalog import Catalog, GpuSpec, ModelSpec
from planner.errors import CannotEstimateError, TooManyReplicasError
from planner.findings import Finding, FindingCode, finding
from planner.physics.energy import EnergyReport, Load, deployment_energy
from planner.physics.memory import (
    FitResult,
    MemoryBreakdown,
    TpAttempt,
    fitting_tps,
    smallest_fitting_tp,
)
from planner.physics.quantities import kv_cache_bytes_per_token
from planner.physics.throughput import (
    BatchChoice,
    EngineProfile,
    gpu_vendor,
    load_intervals,
    load_profiles,
    output_range_factors,
    output_tokens_per_s_range,
    profile_for,
)
from planner.pipeline.quality import quality_at
from planner.pipeline.scaling import (
    ScalingReport,
    burst_node_hours_per_month,
    scaling_report,
)
from planner.pipeline.sizing import (
    MAX_REPLICAS,
    BatchCurve,
    Sized,
    Sizing,
    batch_curve_of,
    monthly_traffic,
    nodes_needed,
    peak_requests_per_s,
    replicas_needed,
    size_replicas,
    sizing_of,
)
from planner.pipeline.traffic import peak_factor
from planner.pricing.commitment import committed_nodes
from planner.pricing.money import (
    CostLine,
    idle_share,
    known_usd,
    per_million,
    per_thousand,
    price_components,
    total_of,
    total_usd,
    unit_price_of,
    used_share,
)
from planner.pricing.resolver import PriceResolver
from planner.scenario import Deployment, Scenario, Workload, check_against_catalog
from planner.targets import Hardware, NodeUsage, Placement, Target, TokenUsage, module_for
from planner.units import DAYS_PER_MONTH, HOURS_PER_MONTH

FitStatus = Literal["fits", "hosted", "does_not_fit", "request_too_long", "cannot_estimate",
                    "too_many_replicas"]


class Fit(BaseModel):
    """Whether the option can run, and if not, why, with the numbers."""

    model_config = ConfigDict(frozen=True)

    status: FitStatus
    smallest_tp: int | None = None
    tried: list[TpAttempt] = []
    shorter_context_may_fit: bool = False
    request_tokens: int | None = None
    context_tokens: int | None = None
    gpu_name: str | None = None
    # too_many_replicas: how many the traffic would need, and the bound (in its finding in JSON)
    replicas_needed: float | None = Field(default=None, exclude=True)
    replicas_limit: int | None = Field(default=None, exclude=True)


class MemoryReport(BaseModel):
    """Per-GPU memory at the chosen TP and batch, GB (10^9 bytes)."""

    model_config = ConfigDict(frozen=True)

    gpu_mem_gb: float
    usable_gb: float
    weights_gb: float
    kv_cache_gb: float
    runtime_overhead_gb: float
    comm_buffers_gb: float
    free_gb: float
    kv_cache_bytes_per_token: float
    context_tokens: int
    max_batch: int


class DeploymentPlan(BaseModel):
    """Everything the planner concluded about one deployment, with its working."""

    model_config = ConfigDict(frozen=True)

    label: str
    model: str
    model_name: str
    target: str
    target_kind: str
    placement: Placement | None = None  # VM size or machine, region and plan, for exports
    precision: str | None
    mmlu_5shot: float | None  # at the served precision; None where not measured there
    mmlu_pro: float | None = None
    fit: Fit
    tp: int | None = None
    gpus_per_node: int | None = None
    engine_profile: str | None = None
    memory: MemoryReport | None = None
    throughput: BatchChoice | None = None
    # calibrated 80 % interval of the replica's output tokens/s [low, high] (None: uncalibrated)
    output_tokens_per_s_range: list[float] | None = None
    sizing: Sizing | None = None
    batch_curve: BatchCurve | None = Field(default=None, exclude=True)
    cost_lines: list[CostLine] = []
    monthly_cost_usd: float | None = None
    monthly_cost_known_usd: float | None = None
    idle_cost_usd_per_month: float | None = None
    cost_per_million_output_tokens_usd: float | None = None
    usage_cost_per_million_output_tokens_usd: float | None = None
    cost_per_thousand_requests_usd: float | None = None
    usage_cost_per_thousand_requests_usd: float | None = None
    energy_kwh_per_month: float | None = None
    co2_kg_per_month: float | None = None
    energy: EnergyReport | None = None
    nodes_by_month: list[int] = []
    scaling: ScalingReport | None = None  # nodes by hour and node-hours under the policy
    # the calibrated throughput interval as replicas, nodes and monthly cost [low, high]:
    # low = the replica runs at the interval's fast end, high = at its slow end (None when
    # uncalibrated, or the cost is unknown)
    replicas_range: list[int] | None = None
    nodes_range: list[int] | None = None
    monthly_cost_range_usd: list[float] | None = None
    # the whole bill over every token (input + output), USD per 1M tokens
    cost_per_million_tokens_usd: float | None = None
    # a hosted API's own list prices, USD per 1M input / output tokens (None when self-hosted)
    list_price_input_usd_per_million: float | None = None
    list_price_output_usd_per_million: float | None = None
    # the next 12 months: month 1 first, growth applied (planner.pricing.projection)
    cost_by_month_usd: list[float] | None = None
    year_cost_usd: float | None = None
    year_cost_basis: str = ""
    findings: list[Finding] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fits(self) -> bool:
        return self.fit.status in ("fits", "hosted")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def replicas(self) -> int | None:
        return self.sizing.replicas if self.sizing else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def gpus(self) -> int | None:
        return self.sizing.gpus if self.sizing else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def nodes(self) -> int | None:
        return self.sizing.nodes if self.sizing else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def utilization(self) -> float | None:
        return self.sizing.utilization if self.sizing else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def node_hours_per_month(self) -> float | None:
        """GPU node-hours held per month under the scaling policy."""
        return self.scaling.node_hours_per_month if self.scaling else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def average_utilization(self) -> float | None:
        """Served traffic over the capacity of the replicas held, averaged over the day (0-1)."""
        return self.scaling.average_utilization if self.scaling else None

    @property
    def meets_slo(self) -> bool:
        """Fits and (self-hosted) meets both latency SLOs."""
        return self.fits and (self.throughput is None or self.throughput.meets_slo)


class PlanResult(BaseModel):
    """A planned scenario."""

    model_config = ConfigDict(frozen=True)

    scenario: Scenario
    oldest_price_date: dt.date | None
    newest_price_date: dt.date | None
    deployments: list[DeploymentPlan]
    cheapest_label: str | None

    def summary_rows(self) -> list[dict]:
        """One flat row per deployment (table / CSV output)."""
        return [summary_row(p) for p in self.deployments]


def summary_row(p: DeploymentPlan) -> dict:
    """The headline figures of a deployment as a flat record."""
    t = p.throughput
    return {
        "label": p.label, "model": p.model, "target": p.target, "precision": p.precision,
        "tp": p.tp, "batch": t.batch if t else None, "replicas": p.replicas, "gpus": p.gpus,
        "nodes": p.nodes, "monthly_cost_usd": p.monthly_cost_usd,
        "cost_per_million_output_tokens_usd": p.cost_per_million_output_tokens_usd,
        "usage_cost_per_million_output_tokens_usd": p.usage_cost_per_million_output_tokens_usd,
        "cost_per_thousand_requests_usd": p.cost_per_thousand_requests_usd,
        "utilization": p.utilization, "tpot_ms": t.tpot_ms if t else None,
        "ttft_ms": t.ttft_ms if t else None, "energy_kwh_per_month": p.energy_kwh_per_month,
        "co2_kg_per_month": p.co2_kg_per_month,
        "scaling": p.scaling.policy if p.scaling else None,
        "node_hours_per_month": p.node_hours_per_month,
        "average_utilization": p.average_utilization,
        "findings": [f.code.value for f in p.findings],
    }


def monthly_requests(workload: Workload) -> float:
    """Requests served per month (730 h)."""
    return workload.requests_per_day * DAYS_PER_MONTH


def plan_scenario(scenario: Scenario, catalog: Catalog,
                  profiles: dict[str, EngineProfile] | None = None,
                  resolver: PriceResolver | None = None) -> PlanResult:
    """Plan every deployment of the scenario. Raises ScenarioError if it names unknown data."""
    check_against_catalog(scenario, catalog)
    profiles = profiles or load_profiles()
    resolver = resolver or PriceResolver(catalog)
    plans = [plan_deployment(dep, scenario.workload, catalog, profiles, resolver,
                             market_gco2_per_kwh=scenario.market_gco2_per_kwh)
             for dep in scenario.deployments]
    eligible = [p for p in plans if p.monthly_cost_usd is not None and p.meets_slo
                and not any(f.code == FindingCode.MODEL_RETIRED for f in p.findings)]
    cheapest = min(eligible, key=lambda p: p.monthly_cost_usd).label if eligible else None  # type: ignore[arg-type, return-value]
    return PlanResult(scenario=scenario, oldest_price_date=catalog.prices_as_of,
                      newest_price_date=catalog.prices_newest, deployments=plans,
                      cheapest_label=cheapest)


def plan_deployment(dep: Deployment, workload: Workload, catalog: Catalog,
                    profiles: dict[str, EngineProfile],
                    resolver: PriceResolver | None = None, *,
                    market_gco2_per_kwh: float | None = None) -> DeploymentPlan:
    """Plan one deployment (its target's module says whether GPUs are sized or tokens billed);
    ``market_gco2_per_kwh`` adds market-based carbon (the scenario's supply contract)."""
    module = module_for(dep.target)
    resolver = (resolver or PriceResolver(catalog)).with_overrides(
        module.price_overrides(dep.target))
    hw = module.hardware(dep.target, catalog)
    if hw is None:
        plan = _plan_hosted(dep, workload, catalog, resolver)
    else:
        plan = _plan_self_hosted(dep, hw, workload, catalog, profiles, resolver,
                                 market_gco2_per_kwh)
    return with_year(plan)


def with_year(plan: DeploymentPlan) -> DeploymentPlan:
    """The plan with its next 12 months of cost (month 1 first, growth applied)."""
    from planner.pricing.projection import serving_by_month  # projection reads plans

    months, basis = serving_by_month(plan)
    return plan.model_copy(update={"cost_by_month_usd": months,
                                   "year_cost_usd": total_of(months), "year_cost_basis": basis})


def _price_findings(lines: list[CostLine]) -> list[Finding]:
    out = []
    for line in lines:
        if line.status == "missing":
            out.append(finding(FindingCode.PRICE_MISSING, status="catalog", source=line.source,
                               line=line.name, price_key=line.price_key,
                               reason=line.missing_reason))
        elif line.status == "estimated":
            out.append(finding(FindingCode.PRICE_ESTIMATED, status="estimate",
                               source=line.source, line=line.name, price_key=line.price_key))
    return out


def _plan_hosted(dep: Deployment, workload: Workload, catalog: Catalog,
                 resolver: PriceResolver) -> DeploymentPlan:
    module = module_for(dep.target)
    api = catalog.api_models[dep.model]
    requests = monthly_requests(workload)
    usage = TokenUsage(requests * workload.input_tokens, requests * workload.output_tokens,
                       requests * workload.input_tokens * workload.cached_input_share,
                       peak_requests_per_s(workload.requests_per_day, peak_factor(workload)),
                       workload.input_tokens, workload.output_tokens,
                       workload.cached_input_share)
    lines = price_components(module.cost_components(dep.target, usage, catalog, dep.model),
                             resolver)
    total = total_usd(lines)
    return DeploymentPlan(
        label=dep.label, model=dep.model, model_name=api.name,
        target=module.key_text(dep.target), target_kind=module.KIND,
        placement=module.placement(dep.target, catalog), precision=None,
        mmlu_5shot=api.mmlu_5shot, mmlu_pro=api.mmlu_pro, fit=Fit(status="hosted"), cost_lines=lines,
        monthly_cost_usd=total, monthly_cost_known_usd=known_usd(lines),
        idle_cost_usd_per_month=0.0 if total is not None else None,
        cost_per_million_output_tokens_usd=per_million(total, usage.output_tokens),
        usage_cost_per_million_output_tokens_usd=per_million(total, usage.output_tokens),
        cost_per_thousand_requests_usd=per_thousand(total, requests),
        usage_cost_per_thousand_requests_usd=per_thousand(total, requests),
        cost_per_million_tokens_usd=per_million(total, usage.input_tokens + usage.output_tokens),
        monthly_cost_range_usd=None if total is None else [total, total],  # list prices: exact
        list_price_input_usd_per_million=unit_price_of(lines, "input_tokens"),
        list_price_output_usd_per_million=unit_price_of(lines, "output_tokens"),
        findings=[*module.findings(dep.target), *_price_findings(lines),
                  *([finding(FindingCode.MODEL_RETIRED, status="catalog", source=api.source,
                             model=api.name, retired_on=str(api.retires_on or "unknown date"))]
                    if api.retired else [])],
    )


def _fit_failure(fit: FitResult, gpu_name: str) -> Fit:
    return Fit(status="does_not_fit", gpu_name=gpu_name,
               shorter_context_may_fit=fit.shorter_context_may_fit,
               tried=list(fit.attempts))


def _best(options: list[Sized]) -> Sized:
    """Meets the SLOs first, then fewest nodes, fewest GPUs, smallest TP."""
    return min(options, key=lambda o: (not o.choice.meets_slo, o.nodes, o.replicas * o.mem.tp,
                                       o.mem.tp))


def _range_of(engine: str, gpu: GpuSpec, choice: BatchChoice, tp: int) -> list[float] | None:
    """The calibrated 80 % interval of the replica's output tokens/s."""
    span = output_tokens_per_s_range(load_intervals(), engine, gpu, choice.batch, tp,
                                     choice.output_tokens_per_s)
    return list(span) if span is not None else None


def serving_context(dep: Deployment, model: ModelSpec) -> int:
    """Longest request (tokens) the server accepts: the deployment's, capped at the model's."""
    return min(dep.context_tokens or model.max_context_tokens, model.max_context_tokens)


def tp_candidates(dep: Deployment, model: ModelSpec, hw: Hardware, context: int,
                  fit: FitResult) -> list[MemoryBreakdown]:
    """The tensor-parallel options the plan sizes: the deployment's own TP, or every degree
    that fits in the node (``fit`` is :func:`smallest_fitting_tp`'s answer, which fits)."""
    if dep.tp:
        return [fit.memory] if fit.memory is not None else []
    return fitting_tps(model, hw.gpu, dep.precision, hw.gpus_per_node, dep.kv_cache_dtype,
                       context, dep.engine)


def _plan_self_hosted(dep: Deployment, hw: Hardware, workload: Workload, catalog: Catalog,
                      profiles: dict[str, EngineProfile],
                      resolver: PriceResolver,
                      market_gco2_per_kwh: float | None = None) -> DeploymentPlan:
    module = module_for(dep.target)
    model = catalog.models[dep.model]
    gpu = hw.gpu
    profile = profile_for(profiles, dep.engine, gpu)
    quality = quality_at(catalog, dep.model, dep.precision)
    base = {
        "label": dep.label, "model": dep.model, "model_name": model.name,
        "target": module.key_text(dep.target), "target_kind": module.KIND,
        "placement": module.placement(dep.target, catalog), "precision": dep.precision,
        "mmlu_5shot": quality.mmlu_5shot,
        "mmlu_pro": quality.mmlu_pro, "gpus_per_node": hw.gpus_per_node,
        "engine_profile": profile.name,
    }
    findings: list[Finding] = []
    if not quality.measured:
        findings.append(finding(FindingCode.QUALITY_NOT_MEASURED, status="catalog",
                                model=model.name, precision=dep.precision,
                                mmlu_5shot_16bit=model.mmlu_5shot))
    context = serving_context(dep, model)
    if (dep.context_tokens or 0) > model.max_context_tokens:
        findings.append(finding(FindingCode.CONTEXT_CAPPED, status="input",
                                requested_tokens=dep.context_tokens,
                                maximum_tokens=model.max_context_tokens, model=model.name))
    request_tokens = workload.input_tokens + workload.output_tokens
    if request_tokens > context:
        findings.append(finding(FindingCode.REQUEST_EXCEEDS_CONTEXT, status="input",
                                request_tokens=request_tokens, context_tokens=context))
        return DeploymentPlan(**base, fit=Fit(status="request_too_long",
                                              request_tokens=request_tokens,
                                              context_tokens=context), findings=findings)
    fit = smallest_fitting_tp(model, gpu, dep.precision, hw.gpus_per_node, dep.kv_cache_dtype,
                              context, dep.tp, dep.engine)
    if fit.memory is None:
        findings.append(finding(FindingCode.DOES_NOT_FIT, model=model.name, gpu=gpu.name,
                                precision=dep.precision))
        return DeploymentPlan(**base, fit=_fit_failure(fit, gpu.name), findings=findings)
    # Larger TP costs more GPUs per replica but runs faster: when TP is not given, try every
    # degree that fits and keep the one that meets the SLOs on the fewest nodes.
    candidates = tp_candidates(dep, model, hw, context, fit)
    try:
        sized, too_many = [], None
        for mem in candidates:
            try:
                sized.append(size_replicas(mem, model, gpu, dep.precision, dep.kv_cache_dtype,
                                           workload, profile, hw.gpus_per_node))
            except TooManyReplicasError as exc:
                too_many = exc if too_many is None or exc.replicas < too_many.replicas else too_many
        if too_many is not None and not sized:
            findings.append(finding(FindingCode.TOO_MANY_REPLICAS, status="input",
                                    replicas=too_many.replicas, limit=too_many.limit))
            return DeploymentPlan(**base, fit=Fit(status="too_many_replicas", gpu_name=gpu.name,
                                                  replicas_needed=too_many.replicas,
                                                  replicas_limit=too_many.limit),
                                  findings=findings)
        best = _best(sized)
    except CannotEstimateError:
        findings.append(finding(FindingCode.THROUGHPUT_UNKNOWN, status="catalog", gpu=gpu.name,
                                precision=dep.precision))
        return DeploymentPlan(**base, fit=Fit(status="cannot_estimate", gpu_name=gpu.name),
                              findings=findings)
    choice, tp = best.choice, best.mem.tp
    sizing = sizing_of(best, workload, hw.gpus_per_node)
    if tp != fit.memory.tp:
        findings.append(finding(FindingCode.LARGER_TP_CHOSEN, smallest_tp=fit.memory.tp, tp=tp,
                                nodes=sizing.nodes, meets_slo=int(choice.meets_slo)))
    if not choice.meets_slo:
        findings.append(finding(FindingCode.SLO_UNMET, status="input", tpot_ms=choice.tpot_ms,
                                tpot_slo_ms=workload.tpot_slo_ms, ttft_ms=choice.ttft_ms,
                                ttft_slo_ms=workload.ttft_slo_ms))
    if sizing.spare_replica_slots > 0:
        findings.append(finding(FindingCode.SPARE_REPLICA_SLOTS,
                                spare_slots=sizing.spare_replica_slots, nodes=sizing.nodes,
                                idle_gpus=sizing.idle_gpus,
                                headroom_requests_per_day=sizing.headroom_requests_per_day,
                                node_word=hw.node_word))
    tokens = monthly_requests(workload) * workload.output_tokens
    requests = monthly_requests(workload)
    site = module.site(dep.target, catalog)
    scaling = scaling_report(dep.scaling, workload, choice.requests_per_s, hw.gpus_per_node, tp,
                             sizing.replicas, sizing.nodes, best.mem.weights_gb * tp,
                             dep.min_nodes, dep.max_nodes)
    energy = deployment_energy(gpu, _energy_load(sizing, scaling, choice, hw.gpus_per_node, tp,
                                                 tokens, requests,
                                                 _range_of(dep.engine, gpu, choice, tp)),
                               site, catalog, market_gco2_per_kwh)
    findings += energy.findings
    findings += module.findings(dep.target)
    findings += _scaling_findings(scaling)
    lines = serving_lines(dep.target, sizing.nodes, energy.kwh_per_month, catalog, resolver,
                          dep.model,
                          None if scaling.policy == "fixed" else scaling.node_hours_per_month,
                          nodes_needed(workload.min_replicas, hw.gpus_per_node, tp),
                          commitment_split(dep.target, scaling, resolver))
    findings += _price_findings(lines)
    used = scaling.average_utilization
    total = total_usd(lines)
    by_month, capped = _nodes_by_month(workload, choice, hw.gpus_per_node, tp)
    ranges = _cost_range(dep, workload, gpu, choice, tp, hw.gpus_per_node, best.mem.weights_gb * tp,
                         energy.kwh_per_month, catalog, resolver) if total is not None else None
    if capped is not None:
        findings.append(finding(FindingCode.GROWTH_BEYOND_BOUND, status="input",
                                month=capped[0], replicas=capped[1], limit=MAX_REPLICAS))
    return DeploymentPlan(
        **base, fit=Fit(status="fits", smallest_tp=fit.memory.tp), tp=tp,
        memory=_memory_report(best.mem, model, dep, choice.batch, workload, best.memory_max_batch),
        throughput=choice, sizing=sizing,
        output_tokens_per_s_range=_range_of(dep.engine, gpu, choice, tp),
        batch_curve=batch_curve_of(best.curve, best.memory_max_batch, profile.max_batch),
        cost_lines=lines, monthly_cost_usd=total, monthly_cost_known_usd=known_usd(lines),
        idle_cost_usd_per_month=idle_share(total, used),
        cost_per_million_output_tokens_usd=per_million(total, tokens),
        usage_cost_per_million_output_tokens_usd=used_share(per_million(total, tokens), used),
        cost_per_thousand_requests_usd=per_thousand(total, requests),
        usage_cost_per_thousand_requests_usd=used_share(per_thousand(total, requests), used),
        energy_kwh_per_month=energy.kwh_per_month, co2_kg_per_month=energy.co2_kg_per_month,
        energy=energy.report, nodes_by_month=by_month, scaling=scaling, findings=findings,
        replicas_range=ranges[0] if ranges else None, nodes_range=ranges[1] if ranges else None,
        monthly_cost_range_usd=ranges[2] if ranges else None,
        cost_per_million_tokens_usd=per_million(
            total, requests * (workload.input_tokens + workload.output_tokens)),
    )


def _energy_load(sizing: Sizing, scaling: ScalingReport, choice: BatchChoice, gpus_per_node: int,
                 tp: int, tokens: float, requests: float,
                 throughput_range: list[float] | None = None) -> Load:
    """The month's load for the energy room: the GPUs of the node-hours the scaling policy holds
    (scaled-down nodes draw nothing), the share of them in replicas as at peak, and the GPU-hours
    the traffic keeps busy at the plan's batch (the same for every policy: the same work), and
    the throughput interval as factors on those busy hours."""
    gpu_hours = scaling.node_hours_per_month * gpus_per_node
    replica_share = sizing.gpus / (sizing.nodes * gpus_per_node) if sizing.nodes else 0.0
    busy = sizing.utilization * sizing.gpus * HOURS_PER_MONTH
    return Load(gpu_hours_held=gpu_hours, replica_gpu_hours=gpu_hours * replica_share,
                busy_gpu_hours=busy, node_hours=scaling.node_hours_per_month,
                batch=choice.batch, output_tokens_per_month=tokens, requests_per_month=requests,
                replica_output_tokens_per_s=choice.output_tokens_per_s, tp=tp,
                busy_factor_low=(choice.output_tokens_per_s / throughput_range[1]
                                 if throughput_range and throughput_range[1] > 0 else 1.0),
                busy_factor_high=(choice.output_tokens_per_s / throughput_range[0]
                                  if throughput_range and throughput_range[0] > 0 else 1.0))


def _cost_range(dep: Deployment, workload: Workload, gpu: GpuSpec, choice: BatchChoice, tp: int,
                gpus_per_node: int, weights_gb: float, energy_kwh: float | None,
                catalog: Catalog, resolver: PriceResolver
                ) -> tuple[list[int], list[int], list[float]] | None:
    """Replicas, nodes and monthly cost at the fast and the slow end of the calibrated
    throughput interval (the same sizing, scaling policy and cost lines), or None (no interval
    for this engine and regime, a price missing, or the slow end needing more than
    MAX_REPLICAS replicas)."""
    factors = output_range_factors(load_intervals(), dep.engine, gpu_vendor(gpu), choice.batch,
                                   tp)
    if factors is None:
        return None
    out = []
    for factor in (factors[1], factors[0]):  # fast end first: fewer replicas, lower cost
        rps = choice.requests_per_s * factor
        try:
            replicas = replicas_needed(peak_requests_per_s(workload.requests_per_day,
                                                           peak_factor(workload)), rps,
                                       workload.target_utilization, workload.min_replicas)
        except TooManyReplicasError:
            return None
        nodes = nodes_needed(replicas, gpus_per_node, tp)
        report = scaling_report(dep.scaling, workload, rps, gpus_per_node, tp, replicas, nodes,
                                weights_gb, dep.min_nodes, dep.max_nodes)
        cost = total_usd(serving_lines(
            dep.target, nodes, energy_kwh, catalog, resolver, dep.model,
            None if report.policy == "fixed" else report.node_hours_per_month,
            nodes_needed(workload.min_replicas, gpus_per_node, tp),
            commitment_split(dep.target, report, resolver)))
        if cost is None:
            return None
        out.append((replicas, nodes, cost))
    return ([out[0][0], out[1][0]], [out[0][1], out[1][1]],
            [min(out[0][2], out[1][2]), max(out[0][2], out[1][2])])


def serving_lines(target: Target, nodes: int, energy_kwh: float | None, catalog: Catalog,
                  resolver: PriceResolver, model_id: str,
                  node_hours: float | None = None,
                  base_nodes: int | None = None,
                  commitment: tuple[int, float] | None = None) -> list[CostLine]:
    """A month of serving on ``nodes`` nodes of a self-hosted target, priced: the one builder
    the plan and the advisor share, so an option costs the same in both. ``node_hours`` is what
    a scaling policy holds in the month (None = ``nodes`` all month); ``base_nodes`` the nodes a
    spot option keeps on a regular pool (the nodes min_replicas need); ``commitment`` the
    committed nodes and the node-hours above them of a commitment plan under such a policy
    (:func:`commitment_split`)."""
    module = module_for(target)
    committed, burst = commitment if commitment is not None else (None, None)
    usage = NodeUsage(nodes, HOURS_PER_MONTH, "month", "serving", energy_kwh, node_hours,
                      base_nodes, committed, burst)
    return price_components(module.cost_components(target, usage, catalog, model_id),
                            resolver.with_overrides(module.price_overrides(target)))


def commitment_split(target: Target, report: ScalingReport,
                     resolver: PriceResolver) -> tuple[int, float] | None:
    """(committed nodes, node-hours a month above them) of a target on a commitment plan under
    a policy that follows the traffic: the nodes in service in more than commit/payg of the
    day's hours (:mod:`planner.pricing.commitment`). None at a fixed policy, off a commitment
    plan, or with a price unknown (then the nodes min_replicas need are committed)."""
    if report.policy == "fixed":
        return None
    module = module_for(target)
    keys = module.commitment_prices(target)
    if keys is None:
        return None
    prices = resolver.with_overrides(module.price_overrides(target))
    commit, payg = (prices.resolve(key).value for key in keys)
    if commit is None or payg is None:
        return None
    committed = committed_nodes(report.nodes_by_hour, commit, payg)
    return committed, burst_node_hours_per_month(report, committed)


def _scaling_findings(report: ScalingReport) -> list[Finding]:
    if report.policy == "fixed":
        return []
    out = [finding(FindingCode.SCALING_LEAD_TIME, status="estimate", source=report.source,
                   policy=report.policy, lead_time_minutes=report.lead_time_minutes or 0.0,
                   node_hours_per_month=report.node_hours_per_month,
                   average_utilization=report.average_utilization)]
    if report.capped_hours:
        out.append(finding(FindingCode.SCALING_CEILING_REACHED, status="input",
                           hours=report.capped_hours, max_nodes=report.max_nodes))
    return out


def _nodes_by_month(workload: Workload, choice: BatchChoice, gpus_per_node: int,
                    tp: int) -> tuple[list[int], tuple[int, float] | None]:
    """Nodes needed in each of the next 12 months of traffic growth, and (month, replicas) of the
    first month (1-based) whose traffic needs more than MAX_REPLICAS replicas, where the list
    stops (None if it does not)."""
    nodes: list[int] = []
    for month, rpd in enumerate(monthly_traffic(workload.requests_per_day,
                                                workload.monthly_growth), start=1):
        try:
            replicas = replicas_needed(peak_requests_per_s(rpd, peak_factor(workload)),
                                       choice.requests_per_s, workload.target_utilization,
                                       workload.min_replicas)
        except TooManyReplicasError as exc:
            return nodes, (month, exc.replicas)
        nodes.append(nodes_needed(replicas, gpus_per_node, tp))
    return nodes, None


def _memory_report(mem: MemoryBreakdown, model: ModelSpec, dep: Deployment, batch: int,
                   workload: Workload, cap: int) -> MemoryReport:
    kv_gb = mem.kv_bytes_per_token_per_gpu * batch * (workload.input_tokens
                                                      + workload.output_tokens) / 1e9
    used = mem.weights_gb + mem.runtime_overhead_gb + mem.comm_buffers_gb + kv_gb
    return MemoryReport(
        gpu_mem_gb=mem.gpu_mem_gb, usable_gb=mem.usable_gb, weights_gb=mem.weights_gb,
        kv_cache_gb=kv_gb, runtime_overhead_gb=mem.runtime_overhead_gb,
        comm_buffers_gb=mem.comm_buffers_gb, free_gb=mem.gpu_mem_gb - used,
        kv_cache_bytes_per_token=kv_cache_bytes_per_token(model, dep.kv_cache_dtype),
        context_tokens=mem.context_tokens, max_batch=cap,
    )
