"""The pipeline: Scenario -> memory/throughput -> capacity -> cost lines -> totals.

:func:`plan_scenario` is the only entry point the CLI and the dashboard use; its result renders to
a table, CSV, JSON or charts without further arithmetic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from planner.catalog import Catalog, GpuSpec, ModelSpec
from planner.physics.energy import (
    HOST_POWER_W_PER_GPU_SLOT,
    ON_PREM_DEFAULT_PUE,
    co2_kg,
    facility_kwh_per_month,
    gpu_idle_w,
    gpu_power_w,
)
from planner.physics.memory import (
    MemoryBreakdown,
    fitting_tps,
    kv_cache_bytes_per_token,
    smallest_fitting_tp,
)
from planner.physics.throughput import (
    BatchChoice,
    EngineProfile,
    choose_batch,
    load_profiles,
    memory_cap,
    profile_for,
    throughput_curve,
)
from planner.pipeline.sizing import (
    average_requests_per_s,
    monthly_traffic,
    nodes_needed,
    peak_requests_per_s,
    replicas_needed,
)
from planner.pricing.money import CostLine, cost_line, known_usd, total_usd
from planner.scenario import (
    ApiTarget,
    AzureTarget,
    Deployment,
    LocalTarget,
    Scenario,
    Workload,
    check_against_catalog,
)
from planner.units import DAYS_PER_MONTH, HOURS_PER_MONTH, SECONDS_PER_DAY, TOKENS_PER_MILLION

SYSTEM_NODE_PRICE_ID = "system-node-Standard_D4ds_v5"
SYSTEM_NODE_VM = "Standard_D4ds_v5"


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


class ThroughputReport(BaseModel):
    """One replica at the chosen batch."""

    model_config = ConfigDict(frozen=True)

    engine: str
    tp: int
    batch: int
    batch_reason: str
    meets_slo: bool
    prefill_tokens_per_s: float
    decode_tokens_per_s: float
    output_tokens_per_s: float
    requests_per_s: float
    tpot_ms: float
    ttft_ms: float


class DeploymentPlan(BaseModel):
    """Everything the planner concluded about one deployment, with its working."""

    model_config = ConfigDict(frozen=True)

    label: str
    model: str
    model_name: str
    target: str
    target_kind: str
    precision: str | None
    mmlu_5shot: float | None
    fits: bool
    fit_reason: str
    tp: int | None = None
    replicas: int | None = None
    gpus: int | None = None
    gpus_per_node: int | None = None
    nodes: int | None = None
    memory: MemoryReport | None = None
    throughput: ThroughputReport | None = None
    cost_lines: list[CostLine] = []
    monthly_cost_usd: float | None = None
    monthly_cost_known_usd: float | None = None
    utilization: float | None = None
    idle_cost_usd_per_month: float | None = None
    cost_per_million_output_tokens_usd: float | None = None
    usage_cost_per_million_output_tokens_usd: float | None = None
    cost_per_thousand_requests_usd: float | None = None
    usage_cost_per_thousand_requests_usd: float | None = None
    energy_kwh_per_month: float | None = None
    co2_kg_per_month: float | None = None
    nodes_by_month: list[int] = []
    warnings: list[str] = []


class PlanResult(BaseModel):
    """A planned scenario."""

    model_config = ConfigDict(frozen=True)

    scenario: Scenario
    prices_as_of: dt.date | None
    deployments: list[DeploymentPlan]
    cheapest_label: str | None

    def summary_rows(self) -> list[dict]:
        """One flat row per deployment (table / CSV output)."""
        return [summary_row(p) for p in self.deployments]


def summary_row(p: DeploymentPlan) -> dict:
    """The headline figures of a deployment as a flat record."""
    return {
        "label": p.label,
        "model": p.model,
        "target": p.target,
        "precision": p.precision,
        "tp": p.tp,
        "batch": p.throughput.batch if p.throughput else None,
        "replicas": p.replicas,
        "gpus": p.gpus,
        "nodes": p.nodes,
        "monthly_cost_usd": p.monthly_cost_usd,
        "cost_per_million_output_tokens_usd": p.cost_per_million_output_tokens_usd,
        "usage_cost_per_million_output_tokens_usd": p.usage_cost_per_million_output_tokens_usd,
        "cost_per_thousand_requests_usd": p.cost_per_thousand_requests_usd,
        "utilization": p.utilization,
        "tpot_ms": p.throughput.tpot_ms if p.throughput else None,
        "ttft_ms": p.throughput.ttft_ms if p.throughput else None,
        "energy_kwh_per_month": p.energy_kwh_per_month,
        "co2_kg_per_month": p.co2_kg_per_month,
        "warnings": p.warnings,
    }


def monthly_requests(workload: Workload) -> float:
    """Requests served per month (730 h)."""
    return workload.requests_per_day * DAYS_PER_MONTH


def target_description(dep: Deployment) -> str:
    t = dep.target
    if isinstance(t, AzureTarget):
        return f"azure:{t.vm_sku}/{t.region}/{t.pricing}"
    if isinstance(t, LocalTarget):
        return f"local:{t.hardware}/{t.region}"
    return "api"


def plan_scenario(scenario: Scenario, catalog: Catalog,
                  profiles: dict[str, EngineProfile] | None = None) -> PlanResult:
    """Plan every deployment of the scenario. Raises ScenarioError if it names unknown data."""
    check_against_catalog(scenario, catalog)
    profiles = profiles or load_profiles()
    plans = [plan_deployment(dep, scenario.workload, catalog, profiles)
             for dep in scenario.deployments]
    eligible = [p for p in plans if p.monthly_cost_usd is not None and p.fits
                and (p.throughput is None or p.throughput.meets_slo)]
    cheapest = min(eligible, key=lambda p: p.monthly_cost_usd).label if eligible else None  # type: ignore[arg-type, return-value]
    return PlanResult(scenario=scenario, prices_as_of=catalog.prices_as_of, deployments=plans,
                      cheapest_label=cheapest)


def plan_deployment(dep: Deployment, workload: Workload, catalog: Catalog,
                    profiles: dict[str, EngineProfile]) -> DeploymentPlan:
    if isinstance(dep.target, ApiTarget):
        return _plan_api(dep, workload, catalog)
    return _plan_self_hosted(dep, workload, catalog, profiles)


def _plan_api(dep: Deployment, workload: Workload, catalog: Catalog) -> DeploymentPlan:
    api = catalog.api_models[dep.model]
    requests = monthly_requests(workload)
    lines = [
        cost_line(f"Input tokens ({api.name})", requests * workload.input_tokens / TOKENS_PER_MILLION,
                  "1M input tokens", api.input_usd_per_million_tokens, "quoted",
                  f"{api.id}/input", api.source),
        cost_line(f"Output tokens ({api.name})",
                  requests * workload.output_tokens / TOKENS_PER_MILLION, "1M output tokens",
                  api.output_usd_per_million_tokens, "quoted", f"{api.id}/output", api.source),
    ]
    total = total_usd(lines)
    per_m, per_k = _unit_costs(total, workload)
    return DeploymentPlan(
        label=dep.label, model=dep.model, model_name=api.name, target="api", target_kind="api",
        precision=None, mmlu_5shot=api.mmlu_5shot, fits=True,
        fit_reason=f"hosted by {api.provider}", cost_lines=lines, monthly_cost_usd=total,
        monthly_cost_known_usd=known_usd(lines), utilization=None, idle_cost_usd_per_month=0.0,
        cost_per_million_output_tokens_usd=per_m, usage_cost_per_million_output_tokens_usd=per_m,
        cost_per_thousand_requests_usd=per_k, usage_cost_per_thousand_requests_usd=per_k,
        warnings=["energy and CO2 of hosted APIs are not published by the provider"],
    )


def _unit_costs(monthly_usd: float | None, workload: Workload) -> tuple[float | None, float | None]:
    """(USD per 1M output tokens, USD per 1,000 requests) for the month's traffic."""
    requests = monthly_requests(workload)
    if monthly_usd is None or requests <= 0:
        return None, None
    tokens = requests * workload.output_tokens
    return (monthly_usd / tokens * TOKENS_PER_MILLION, monthly_usd / requests * 1000)


def _plan_self_hosted(dep: Deployment, workload: Workload, catalog: Catalog,
                      profiles: dict[str, EngineProfile]) -> DeploymentPlan:
    model = catalog.models[dep.model]
    target = dep.target
    if isinstance(target, AzureTarget):
        sku = catalog.skus[target.vm_sku]
        gpu, gpus_per_node = catalog.gpus[sku.gpu_id], sku.gpu_count
    else:
        assert isinstance(target, LocalTarget)
        hw = catalog.local_hardware[target.hardware]
        gpu, gpus_per_node = catalog.gpus[hw.gpu_id], hw.gpu_count
    profile = profile_for(profiles, dep.engine, gpu)
    base = {
        "label": dep.label, "model": dep.model, "model_name": model.name,
        "target": target_description(dep), "target_kind": target.kind,
        "precision": dep.precision, "mmlu_5shot": model.mmlu_5shot,
        "gpus_per_node": gpus_per_node,
    }
    warnings: list[str] = []
    context = dep.context_tokens or model.max_context_tokens
    if context > model.max_context_tokens:
        warnings.append(f"context_tokens {context:,} exceeds {model.name}'s maximum "
                        f"{model.max_context_tokens:,}; using the maximum")
        context = model.max_context_tokens
    request_tokens = workload.input_tokens + workload.output_tokens
    if request_tokens > context:
        return DeploymentPlan(**base, fits=False, fit_reason=(
            f"a request of {request_tokens:,} tokens exceeds the {context:,}-token context"),
            warnings=warnings)
    fit = smallest_fitting_tp(model, gpu, dep.precision, gpus_per_node, dep.kv_cache_dtype,
                              context, dep.tp)
    if fit.memory is None:
        return DeploymentPlan(**base, fits=False, fit_reason=fit.reason,
                              warnings=[*warnings, f"does not fit: {fit.reason}"])
    # Larger TP costs more GPUs per replica but runs faster: when TP is not given, try every
    # degree that fits and keep the one that meets the SLOs on the fewest nodes.
    candidates = [fit.memory] if dep.tp else fitting_tps(
        model, gpu, dep.precision, gpus_per_node, dep.kv_cache_dtype, context)
    try:
        options = [size_replicas(mem, model, gpu, dep.precision, dep.kv_cache_dtype, workload,
                                 profile, gpus_per_node) for mem in candidates]
    except ValueError as exc:
        return DeploymentPlan(**base, fits=False, fit_reason=str(exc),
                              warnings=[*warnings, f"throughput unknown: {exc}"])
    best = min(options, key=lambda o: (not o.choice.meets_slo, o.nodes, o.replicas * o.mem.tp,
                                       o.mem.tp))
    mem, choice, replicas, nodes = best.mem, best.choice, best.replicas, best.nodes
    tp = mem.tp
    cap = best.memory_max_batch
    fit_reason = fit.reason if tp == fit.memory.tp else (
        f"{fit.reason}; tp={tp} chosen: {'meets the SLOs on' if choice.meets_slo else 'needs'} "
        f"{nodes} node(s)")
    if not choice.meets_slo:
        warnings.append(f"SLO unmet: {choice.reason}")
    nodes_by_month = [
        nodes_needed(replicas_needed(peak_requests_per_s(rpd, workload.peak_to_average),
                                     choice.requests_per_s, workload.target_utilization,
                                     workload.min_replicas), gpus_per_node, tp)
        for rpd in monthly_traffic(workload.requests_per_day, workload.monthly_growth)
    ]
    utilization = min(1.0, average_requests_per_s(workload.requests_per_day)
                      / (replicas * choice.requests_per_s))
    spare = nodes * (gpus_per_node // tp) - replicas
    if spare > 0:
        kind = "node" if isinstance(target, AzureTarget) else "machine"
        headroom_rpd = (replicas + spare) * choice.requests_per_s * workload.target_utilization \
            / workload.peak_to_average * SECONDS_PER_DAY
        warnings.append(
            f"{spare} spare replica slot(s) on the {nodes} {kind}(s) already paid for "
            f"({nodes * gpus_per_node - replicas * tp} idle GPU(s)): traffic up to "
            f"{headroom_rpd:,.0f} requests/day costs no more")

    energy_kwh, co2, energy_warnings = _energy(gpu, replicas * tp, nodes, gpus_per_node,
                                               utilization, dep, catalog)
    warnings += energy_warnings
    if isinstance(target, AzureTarget):
        lines = _azure_lines(target, nodes, catalog)
        if target.pricing == "spot":
            warnings.append("spot VMs can be evicted at 30 s notice: keep serving capacity "
                            "(min_replicas) on a regular pool")
    else:
        lines = _local_lines(target, hw, nodes, energy_kwh, catalog)
    for line in lines:
        if line.status == "missing":
            warnings.append(f"price missing: {line.name} ({line.note or line.price_key})")
        elif line.status == "estimated":
            warnings.append(f"estimated price: {line.name}")

    total = total_usd(lines)
    per_m, per_k = _unit_costs(total, workload)
    usage_m = per_m * utilization if per_m is not None else None
    usage_k = per_k * utilization if per_k is not None else None
    memory_report = _memory_report(mem, model, dep, choice.batch, workload, cap)
    return DeploymentPlan(
        **base, fits=True, fit_reason=fit_reason, tp=tp, replicas=replicas, gpus=replicas * tp,
        nodes=nodes, memory=memory_report,
        throughput=ThroughputReport(
            engine=profile.name, tp=tp, batch=choice.batch, batch_reason=choice.reason,
            meets_slo=choice.meets_slo, prefill_tokens_per_s=choice.prefill_tokens_per_s,
            decode_tokens_per_s=choice.decode_tokens_per_s,
            output_tokens_per_s=choice.output_tokens_per_s, requests_per_s=choice.requests_per_s,
            tpot_ms=choice.tpot_ms, ttft_ms=choice.ttft_ms),
        cost_lines=lines, monthly_cost_usd=total, monthly_cost_known_usd=known_usd(lines),
        utilization=utilization,
        idle_cost_usd_per_month=total * (1 - utilization) if total is not None else None,
        cost_per_million_output_tokens_usd=per_m, usage_cost_per_million_output_tokens_usd=usage_m,
        cost_per_thousand_requests_usd=per_k, usage_cost_per_thousand_requests_usd=usage_k,
        energy_kwh_per_month=energy_kwh, co2_kg_per_month=co2, nodes_by_month=nodes_by_month,
        warnings=warnings,
    )


@dataclass(frozen=True)
class _Sized:
    """One tensor-parallel option sized for the workload."""

    mem: MemoryBreakdown
    choice: BatchChoice
    memory_max_batch: int
    replicas: int
    nodes: int


def size_replicas(mem: MemoryBreakdown, model: ModelSpec, gpu: GpuSpec, precision: str,
                  kv_dtype: str, workload: Workload, profile: EngineProfile,
                  gpus_per_node: int) -> _Sized:
    """Batch, replicas and nodes of one TP option for the workload (the one sizing step the
    planner and the advisor share). Raises ValueError if throughput cannot be estimated."""
    cap = memory_cap(mem, workload.input_tokens, workload.output_tokens)
    curve = throughput_curve(model, gpu, precision, mem.tp, profile, workload.input_tokens,
                             workload.output_tokens, min(cap, profile.max_batch), kv_dtype)
    choice = choose_batch(curve, cap, profile.max_batch, workload.ttft_slo_ms,
                          workload.tpot_slo_ms)
    peak = peak_requests_per_s(workload.requests_per_day, workload.peak_to_average)
    replicas = replicas_needed(peak, choice.requests_per_s, workload.target_utilization,
                               workload.min_replicas)
    return _Sized(mem, choice, cap, replicas, nodes_needed(replicas, gpus_per_node, mem.tp))


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


def _azure_lines(target: AzureTarget, nodes: int, catalog: Catalog) -> list[CostLine]:
    vm = catalog.vm_price(target.vm_sku, target.region, target.pricing)
    lines = [cost_line(
        f"GPU nodes: {nodes} x {target.vm_sku} ({target.pricing})", nodes * HOURS_PER_MONTH,
        "node-hour", vm.price_per_hour, vm.status, vm.key, vm.source, vm.note)]  # type: ignore[arg-type]
    tier = catalog.platform_price(f"aks-tier-{target.cluster_tier}", target.region)
    lines.append(cost_line(
        f"AKS cluster management ({target.cluster_tier} tier)", HOURS_PER_MONTH, "cluster-hour",
        tier.price_per_hour if tier else None, tier.status if tier else "missing",
        f"aks-tier-{target.cluster_tier}", tier.source if tier else "",
        "" if tier else "no AKS tier price in azure_platform_prices.csv"))
    if target.system_nodes:
        sys_row = catalog.platform_price(SYSTEM_NODE_PRICE_ID, target.region)
        lines.append(cost_line(
            f"System node pool: {target.system_nodes} x {SYSTEM_NODE_VM} (payg)",
            target.system_nodes * HOURS_PER_MONTH, "node-hour",
            sys_row.price_per_hour if sys_row else None, sys_row.status if sys_row else "missing",
            f"{SYSTEM_NODE_PRICE_ID}/{target.region}", sys_row.source if sys_row else "",
            "" if sys_row else f"no {SYSTEM_NODE_VM} price for {target.region}"))
    return lines


def _local_lines(target: LocalTarget, hw, machines: int, energy_kwh: float | None,
                 catalog: Catalog) -> list[CostLine]:
    months = target.amortization_years * 12
    if target.purchase_usd_per_machine is not None:
        purchase, status, source = target.purchase_usd_per_machine, "assumed", "scenario input"
    else:
        purchase, source = hw.purchase_usd, hw.source
        status = "estimated" if "purchase_usd" in hw.unconfirmed else "quoted"
    lines = [cost_line(
        f"Hardware: {machines} x {hw.name}, straight-line over {target.amortization_years:g} y",
        machines, "machine-month", purchase / months if purchase is not None else None,
        status, f"{hw.id}/purchase_usd", source,
        "" if purchase is not None else
        "no purchase price in local_hardware.csv: enter your quote (purchase_usd_per_machine)")]
    region = catalog.regions.get(target.region)
    if target.electricity_usd_per_kwh is not None:
        price, status, source = target.electricity_usd_per_kwh, "assumed", "scenario input"
    elif region is not None and region.electricity_usd_per_kwh is not None:
        price, status, source = region.electricity_usd_per_kwh, "quoted", region.electricity_source
    else:
        price, status, source = None, "missing", ""
    lines.append(cost_line(
        f"Electricity ({target.region})", energy_kwh if energy_kwh is not None else 0.0, "kWh",
        price if energy_kwh is not None else None, status, f"{target.region}/electricity",
        source, "" if price is not None else f"no electricity price for {target.region}"))
    return lines


def _energy(gpu: GpuSpec, active_gpus: int, nodes: int, gpus_per_node: int, utilization: float,
            dep: Deployment, catalog: Catalog) -> tuple[float | None, float | None, list[str]]:
    """(kWh/month, kg CO2/month, warnings) for the provisioned nodes."""
    warnings: list[str] = []
    if gpu.tdp_w is None:
        return None, None, [f"energy unknown: {gpu.name} has no published TDP"]
    idle_w, idle_estimated = gpu_idle_w(gpu)
    if idle_estimated:
        warnings.append(f"{gpu.name} idle power estimated at {idle_w:.0f} W (no published figure)")
    billed_gpus = nodes * gpus_per_node
    gpu_w = active_gpus * gpu_power_w(gpu, utilization) + (billed_gpus - active_gpus) * idle_w
    target = dep.target
    region = catalog.regions.get(target.region)  # type: ignore[union-attr]
    if isinstance(target, AzureTarget):
        host_w = nodes * gpus_per_node * HOST_POWER_W_PER_GPU_SLOT
        pue = region.pue if region else None
    else:
        assert isinstance(target, LocalTarget)
        host_w = nodes * catalog.local_hardware[target.hardware].host_power_w
        pue = target.pue or ON_PREM_DEFAULT_PUE
    if pue is None:
        return None, None, [*warnings, f"energy unknown: no PUE for region {target.region}"]  # type: ignore[union-attr]
    kwh = facility_kwh_per_month(gpu_w + host_w, pue)
    if region is None:
        warnings.append(f"CO2 unknown: no grid intensity for region {target.region}")  # type: ignore[union-attr]
        return kwh, None, warnings
    return kwh, co2_kg(kwh, region.grid_gco2_per_kwh), warnings

