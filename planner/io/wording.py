"""Words for people: findings, fits, batch limits and missing prices, made at the edge.

The rooms hand over codes and numbers (:mod:`planner.findings`, :class:`~planner.pipeline.plan.
Fit`, :data:`~planner.physics.throughput.BatchLimit`); this module is the one place that turns
them into sentences, for the CLI and the dashboard alike. Nothing here is parsed back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from planner.analyses.advisor import CommitmentCheck, RejectReason
from planner.findings import Finding, FindingCode, Value
from planner.physics.energy import CarbonMethod, EnergyKind
from planner.physics.memory import TpAttempt
from planner.physics.throughput import BatchChoice, BatchLimit
from planner.pipeline.finetune import FinetuneEstimate, FitSuggestion
from planner.pipeline.plan import DeploymentPlan, Fit
from planner.pipeline.sizing import MAX_REPLICAS
from planner.pricing.money import CostKind
from planner.pricing.resolver import MissingReason, PriceStatus
from planner.registry import PLAN_NAMES
from planner.targets import TARGET_TITLES

C = FindingCode

MISSING_REASON_TEXT: dict[MissingReason, str] = {
    "no_row": "no row in the price snapshot",
    "flagged_missing": "flagged missing in the snapshot",
    "other_currency": "the snapshot's price is in another currency",
    "not_in_catalog": "no price in the reference data: enter your own in the option's settings",
    "usage_unknown": "the quantity is unknown",
    "not_published": "the provider publishes no such price for this model (none in the "
                     "reference data)",
}


COST_KIND_TEXT: dict[CostKind, str] = {
    "gpu_nodes": "GPU nodes", "hardware": "Hardware (written off)",
    "support": "Support and maintenance", "hosting": "Colocation", "electricity": "Electricity",
    "staff": "Staff time", "cluster": "AKS cluster management", "system_nodes": "AKS system nodes",
    "input_tokens": "Input tokens", "cached_input_tokens": "Cached input tokens",
    "output_tokens": "Output tokens", "provisioned_throughput": "Provisioned throughput (PTU)",
    "training": "Training",
}

ENERGY_KIND_TEXT: dict[EnergyKind, str] = {
    "gpu_busy": "GPUs serving", "gpu_idle": "GPUs idle", "host": "Host (CPU, memory, fans, NICs)",
    "facility_overhead": "Facility overhead (PUE)", "embodied": "Embodied (hardware manufacture)",
}
CARBON_METHOD_TEXT: dict[CarbonMethod, str] = {"location": "location-based",
                                               "market": "market-based"}

PRICE_STATUS_TEXT: dict[PriceStatus, str] = {
    "quoted": "list price", "estimated": "estimate", "input": "your figure",
    "missing": "price missing",
}

WORKLOAD_FIELD_TEXT: dict[str, tuple[str, str]] = {  # field -> (what it is, its unit)
    "requests_per_day": ("Requests per day", "requests/day"),
    "input_tokens": ("Input tokens per request", "tokens"),
    "output_tokens": ("Output tokens per request", "tokens"),
    "peak_to_average": ("Peak traffic over the average", "×"),
    "ttft_slo_ms": ("Time to first token, at most (SLO)", "ms"),
    "tpot_slo_ms": ("Time per output token, at most (SLO)", "ms"),
    "min_replicas": ("Replicas kept running, at least", "replicas"),
    "monthly_growth": ("Traffic growth per month", "fraction"),
    "target_utilization": ("Planned busy share of capacity", "fraction"),
    "cached_input_share": ("Share of input tokens served from the prompt cache (hosted APIs)",
                           "fraction"),
}
DEPLOYMENT_FIELD_TEXT: dict[str, str] = {
    "precision": "Weights precision", "engine": "Serving engine",
    "kv_cache_dtype": "KV cache precision", "tp": "Tensor parallel (GPUs per replica)",
    "context_tokens": "Longest context served (tokens)",
}
DEPLOYMENT_DEFAULT_TEXT: dict[str, str] = {
    "tp": "the smallest that fits and meets the SLOs", "context_tokens": "the model's maximum",
}
ASSUMPTION_STATUS_TEXT: dict[str, str] = {
    "input": "your input", "default": "planner default", "catalog": "reference data",
    "estimate": "estimate", "quoted": "list price", "estimated": "estimate",
    "missing": "price missing",
}

# Latency and parallelism in plain words: column headers and the tooltips that explain them
TPOT_HEADER = "time per output token (ms)"
TTFT_HEADER = "time to first token (ms)"
TP_HEADER = "tensor parallel"
TPOT_HELP = ("Time per output token (TPOT): milliseconds between two generated tokens of one reply, "
             "at the option's batch; lower streams faster.")
TTFT_HELP = ("Time to first token (TTFT): milliseconds from sending a request to the first token "
             "of the reply, including the prompt's processing.")
TP_HELP = ("Tensor parallel: how many GPUs share one copy of the model, each holding a slice of "
           "every layer; 2 means each replica spans two GPUs.")

# The advise command's text table: field -> header (the CSV and JSON keep the field names)
ADVISE_TABLE_HEADERS: dict[str, str] = {
    "model": "model", "kind": "runs on", "where": "where", "scaling": "scaling",
    "precision": "precision", "tp": TP_HEADER, "batch": "batch", "replicas": "replicas",
    "nodes": "nodes (peak)", "node_hours_per_month": "node-hours a month",
    "monthly_cost_usd": "monthly cost (USD)", "tpot_ms": TPOT_HEADER, "ttft_ms": TTFT_HEADER,
    "mmlu_5shot": "MMLU (%)", "mmlu_pro": "MMLU-Pro (%)",
    "pareto_cost_quality": "cost-quality frontier", "pareto_cost_latency": "cost-latency frontier",
    "variants": "variants", "other_precisions": "also at",
}


def advise_where_text(row: dict) -> str:
    """Where an advised option runs, with the plan's full name: 'Standard_NC4as_T4_v3 (eastus,
    pay-as-you-go)' for an Azure VM row, the row's own ``where`` otherwise."""
    if row.get("plan") in PLAN_NAMES and row.get("sku") and row.get("region"):
        return f"{row['sku']} ({row['region']}, {PLAN_NAMES[row['plan']]})"
    return str(row.get("where") or "")


def advise_table_records(rows: list[dict]) -> list[dict]:
    """Advised option rows (ranked-frame records) keyed by :data:`ADVISE_TABLE_HEADERS`, plan
    names in full, for the text table."""
    def cell(row: dict, key: str) -> object:
        if key == "where":
            return advise_where_text(row)
        if key == "kind":
            return TARGET_TITLES.get(row["kind"], row["kind"])
        return row.get(key)

    return [{ADVISE_TABLE_HEADERS[k]: cell(r, k) for k in ADVISE_TABLE_HEADERS} for r in rows]


# Which side of a commitment check costs less per month
CHEAPER_TEXT: dict[str, str] = {
    "commitment": "the commitment is cheaper",
    "payg_autoscaled": "autoscaled pay-as-you-go is cheaper",
    "same": "both cost the same",
    "unknown": "cannot compare (a price is missing)",
}
COMMITMENT_CHECK_HEADERS: dict[str, str] = {
    "rank": "rank", "model": "model", "where": "where", "commitment_plan": "commitment",
    "commitment_monthly_cost_usd": "commitment (USD/month)",
    "commitment_node_hours_per_month": "commitment node-hours/month",
    "payg_autoscaled_monthly_cost_usd": "pay-as-you-go, autoscaled (USD/month)",
    "payg_autoscaled_node_hours_per_month": "autoscaled node-hours/month",
    "cheaper": "cheaper",
}


def _usd_text(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.0f}"


def _hours_text(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.0f}"


def commitment_check_text(check: CommitmentCheck) -> str:
    """One line for a commitment check: 'rank 1 qwen3-4b on Standard_NV36ads_A10_v5 (eastus,
    3-year reservation): 3-year reservation $2,294/month
    (1,460 node-hours) vs pay-as-you-go autoscaled $4,910/month (1,460 node-hours): the
    commitment is cheaper'."""
    slo = "" if check.payg_autoscaled_meets_slo else " (autoscaled misses the SLOs)"
    return (f"rank {check.rank} {check.model} on {check.where}: "
            f"{PLAN_NAMES[check.commitment_plan]} "
            f"{_usd_text(check.commitment_monthly_cost_usd)}/month "
            f"({_hours_text(check.commitment_node_hours_per_month)} node-hours) vs "
            f"pay-as-you-go autoscaled {_usd_text(check.payg_autoscaled_monthly_cost_usd)}/month "
            f"({_hours_text(check.payg_autoscaled_node_hours_per_month)} node-hours){slo}: "
            f"{CHEAPER_TEXT[check.cheaper]}")


def commitment_check_records(checks: list[CommitmentCheck]) -> list[dict]:
    """Commitment checks keyed by :data:`COMMITMENT_CHECK_HEADERS`, plan and verdict in words."""
    def cell(check: CommitmentCheck, key: str) -> object:
        if key == "commitment_plan":
            return PLAN_NAMES[check.commitment_plan]
        if key == "cheaper":
            return CHEAPER_TEXT[check.cheaper]
        return getattr(check, key)

    return [{COMMITMENT_CHECK_HEADERS[k]: cell(c, k) for k in COMMITMENT_CHECK_HEADERS}
            for c in checks]


EXCLUDED_TEXT = ("Not in these numbers: managed disks, network egress, load balancer and "
                 "monitoring for cloud options; staff, network and floor space for own hardware; "
                 "taxes, and discounts beyond the pricing plan chosen.")

def field_words() -> dict[str, str]:
    """Scenario field paths as the editor labels them ('target.vm_sku' -> 'Azure VM size
    (node)', 'requests_per_day' -> 'Requests per day'), for messages that say what to type
    where instead of naming a field."""
    from planner.targets import MODULES

    words = {f"target.{f.name}": f.label for m in MODULES.values() for f in m.EDITOR}
    words.update({name: what for name, (what, _) in WORKLOAD_FIELD_TEXT.items()})
    words.update(DEPLOYMENT_FIELD_TEXT)
    return words


NOT_APPLICABLE = "not applicable"
UNKNOWN = "unknown"


def missing_reason_text(reason: Value) -> str:
    return MISSING_REASON_TEXT.get(reason, "price unknown")  # type: ignore[arg-type]


def _n(value: Value, digits: int = 0) -> str:
    return f"{value:,.{digits}f}" if isinstance(value, int | float) else str(value)


def _g(value: Value) -> str:
    """Three significant digits for a number that may be huge (1.2e+07); text as it is."""
    return f"{value:.3g}" if isinstance(value, int | float) else str(value)


def _pct(share: Value) -> str:
    return f"{share:.0%}" if isinstance(share, int | float) else str(share)


def _plural(count: Value, word: str) -> str:
    return f"{_n(count)} {word}{'' if count == 1 else 's'}"


Words = Callable[[Mapping[str, Value]], str]
FINDING_TEXT: dict[FindingCode, Words] = {
    C.CONTEXT_CAPPED: lambda v: (f"a context of {_n(v['requested_tokens'])} tokens exceeds "
                                 f"{v['model']}'s maximum {_n(v['maximum_tokens'])}; using the "
                                 "maximum"),
    C.REQUEST_EXCEEDS_CONTEXT: lambda v: (f"a request of {_n(v['request_tokens'])} tokens exceeds "
                                          f"the {_n(v['context_tokens'])}-token context"),
    C.DOES_NOT_FIT: lambda v: f"{v['model']} at {v['precision']} does not fit {v['gpu']}",
    C.THROUGHPUT_UNKNOWN: lambda v: (f"throughput unknown: {v['gpu']} has no published tensor "
                                     f"FLOPS for {v['precision']}, so prefill cannot be estimated"),
    C.TOO_MANY_REPLICAS: lambda v: (f"the traffic needs about {_g(v['replicas'])} replicas, more "
                                    f"than the {_n(v['limit'])} the planner sizes; not planned"),
    C.GROWTH_BEYOND_BOUND: lambda v: (f"with the traffic growth, month {_n(v['month'])} needs "
                                      f"about {_g(v['replicas'])} replicas, more than the "
                                      f"{_n(v['limit'])} the planner sizes: the year is not "
                                      "costed"),
    C.LARGER_TP_CHOSEN: lambda v: (f"tensor parallel {v['tp']} chosen over the smallest that fits "
                                   f"({v['smallest_tp']}): "
                                   f"{'meets the SLOs on' if v['meets_slo'] else 'needs'} "
                                   f"{_plural(v['nodes'], 'node')}"),
    C.SLO_UNMET: lambda v: (f"SLO unmet even at batch 1: {_n(v['tpot_ms'])} ms per output token "
                            f"(SLO {_n(v['tpot_slo_ms'])}), {_n(v['ttft_ms'])} ms to first token "
                            f"(SLO {_n(v['ttft_slo_ms'])})"),
    C.SPARE_REPLICA_SLOTS: lambda v: (f"{_n(v['spare_slots'])} spare replica slot(s) on the "
                                      f"{_n(v['nodes'])} {v['node_word']}(s) already paid for "
                                      f"({_n(v['idle_gpus'])} idle GPU(s)): traffic up to "
                                      f"{_n(v['headroom_requests_per_day'])} requests/day costs "
                                      "no more"),
    C.SPOT_EVICTION: lambda v: ("spot VMs can be evicted at 30 s notice: the plan keeps its base "
                                "(the nodes min_replicas need, or the stated spot_base_nodes) "
                                "on a regular pay-as-you-go pool and only burst on spot"),
    C.SCALING_CEILING_REACHED: lambda v: (
        f"{v['hours']} hour(s) of the day need more than the autoscaler's {v['max_nodes']} "
        "node(s): the SLOs are at risk in those hours (raise max_nodes)"),
    C.SCALING_LEAD_TIME: lambda v: (
        f"{v['policy']}: {_n(v['node_hours_per_month'])} node-hours a month at "
        f"{_pct(v['average_utilization'])} average utilisation; a new GPU node serves "
        f"~{_n(v['lead_time_minutes'])} min after it is asked for (VM start, image pull, weights "
        "load: kaito-project/kaito#2325), so the scaler adds nodes that far ahead of the traffic"),
    C.PRICE_MISSING: lambda v: (f"price missing: {v['line']} "
                                f"({missing_reason_text(v['reason'])})"),
    C.PRICE_ESTIMATED: lambda v: f"estimated price: {v['line']}",
    C.ENERGY_NO_TDP: lambda v: f"energy unknown: {v['gpu']} has no published TDP",
    C.ENERGY_NO_PUE: lambda v: f"energy unknown: no PUE for region {v['region']}",
    C.IDLE_POWER_ESTIMATED: lambda v: (f"{v['gpu']} idle power estimated at {_n(v['idle_w'])} W "
                                       "(no published figure)"),
    C.CO2_NO_GRID: lambda v: f"CO2 unknown: no grid intensity for region {v['region']}",
    C.BUSY_POWER_ESTIMATED: lambda v: (f"{v['gpu']} serving power estimated at {_n(v['busy_w'])} W "
                                       f"(no published measurement: {v['reference_gpu']}'s "
                                       "measured share of its TDP, applied to this GPU's TDP)"),
    C.GRID_FROM_REGION_TABLE: lambda v: (f"grid carbon for {v['region']} is the region table's "
                                         "2023 figure (no newer location-based row)"),
    C.API_ENERGY_UNPUBLISHED: lambda v: ("energy and CO2 of hosted APIs are not published by the "
                                         "provider"),
    C.API_BATCH_TURNAROUND: lambda v: (f"Batch API: results arrive within {_n(v['hours'])} hours "
                                       "(the provider's target turnaround), so only for offline "
                                       "work, not for interactive traffic"),
    C.SKU_RETIRED: lambda v: f"{v['sku']} is retired",
    C.SEQUENCE_EXCEEDS_CONTEXT: lambda v: (f"sequences of {_n(v['sequence_tokens'])} tokens exceed "
                                           f"{v['model']}'s {_n(v['context_tokens'])}-token "
                                           "context"),
    C.MULTI_NODE_TRAINING: lambda v: ("multi-node training: inter-node communication is not "
                                      "modelled (hours are a lower bound)"),
    C.QLORA_VENDOR_UNCONFIRMED: lambda v: (f"QLoRA's 4-bit kernels (bitsandbytes) target NVIDIA "
                                           f"GPUs; {v['gpu']} support is not confirmed"),
    C.NO_TRAINING_PEAK: lambda v: (f"{v['gpu']} has no published 16-bit TFLOPS: time and cost "
                                   "unknown"),
    C.MODEL_RETIRED: lambda v: (f"{v['model']} was retired by the provider on {v['retired_on']}: "
                                "it can no longer be deployed"),
    C.QUALITY_NOT_MEASURED: lambda v: (f"quality of {v['model']} at {v['precision']} not measured "
                                       "(no published evaluation); "
                                       + (f"{_n(v['mmlu_5shot_16bit'], 1)} MMLU is the 16-bit score"
                                          if v['mmlu_5shot_16bit'] is not None
                                          else "no 16-bit MMLU either")),
}


def finding_text(f: Finding) -> str:
    """One finding in words."""
    return FINDING_TEXT[f.code](f.values)


def findings_text(findings: list[Finding]) -> list[str]:
    return [finding_text(f) for f in findings]


def _tried_text(t: TpAttempt) -> str:
    if t.problem == "exceeds_node":
        return f"tensor parallel {t.tp} needs more GPUs than a node has"
    if t.problem == "heads_not_divisible":
        return f"tensor parallel {t.tp} does not divide the attention and KV heads"
    return (f"tensor parallel {t.tp} needs {t.need_gb:.1f} GB per GPU (weights {t.weights_gb:.1f}, "
            f"KV for {t.context_tokens:,} tokens {t.kv_gb:.1f}) of {t.usable_gb:.1f} GB usable")


def tried_text(tried: list[dict]) -> str:
    """Why each tensor-parallel degree tried does not fit (``TpAttempt`` fields as dicts)."""
    return "does not fit: " + "; ".join(_tried_text(TpAttempt(**t)) for t in tried)


REJECT_TEXT: dict[RejectReason, str] = {
    "below_quality_floor": "below the quality floor",
    "no_quality_score": "no published quality score",
    "request_exceeds_context": "request longer than the context",
    "precision_unsupported": "precision not supported by the GPU",
    "does_not_fit": "does not fit",
    "cannot_estimate": "no published compute peak",
    "too_many_replicas": f"needs more than {MAX_REPLICAS:,} replicas",
    "slo_unmet": "SLO unmet",
    "price_missing": "price missing",
    "no_purchase_price": "no purchase price in the catalog (plan it as an option with your quote)",
    "quality_not_measured": "quality at this precision not measured (the floor cannot be checked)",
    "retired": "retired by the provider (include retired options to see it)",
    "kaito_gpu_unsupported": "GPU below CUDA compute capability 8.0: KAITO's vLLM runtime does not "
                             "run on it on AKS (kaito-project/kaito#2114)",
    "kaito_gpu_unconfirmed": "GPU's CUDA compute capability unknown: KAITO support on AKS not "
                             "confirmed",
}


def option_status_text(plan: DeploymentPlan) -> str:
    """One phrase for tables and exports: ok / does not fit / price missing / SLO unmet."""
    if not plan.fits:
        return "does not fit"
    if plan.monthly_cost_usd is None:
        return "price missing"
    if not plan.meets_slo:
        return "SLO unmet"
    return "ok"


def fit_text(plan: DeploymentPlan) -> str:
    """Why the option runs as planned, or why it cannot."""
    fit: Fit = plan.fit
    if fit.status == "hosted":
        return "hosted by the provider"
    if fit.status == "fits":
        text = f"fits at tensor parallel {fit.smallest_tp}"
        if plan.tp != fit.smallest_tp:
            text += f"; tensor parallel {plan.tp} chosen ({_plural(plan.nodes, 'node')})"
        return text
    if fit.status == "request_too_long":
        return (f"a request of {fit.request_tokens:,} tokens exceeds the "
                f"{fit.context_tokens:,}-token context")
    if fit.status == "too_many_replicas":
        return (f"the traffic needs about {fit.replicas_needed:.3g} replicas, more than the "
                f"{fit.replicas_limit:,} the planner sizes")
    if fit.status == "cannot_estimate":
        return (f"throughput cannot be estimated: {fit.gpu_name} has no published tensor FLOPS "
                f"for {plan.precision}")
    text = (f"{plan.model_name} at {plan.precision} does not fit {fit.gpu_name}: "
            + "; ".join(_tried_text(t) for t in fit.tried))
    if fit.shorter_context_may_fit:
        text += "; a shorter maximum context may fit"
    return text


BATCH_LIMIT_TEXT: dict[BatchLimit, str] = {
    "memory": "the KV cache of one more concurrent request would not fit in GPU memory",
    "tpot_slo": "one more concurrent request would break the time-per-output-token SLO",
    "ttft_slo": "one more concurrent request would break the time-to-first-token SLO",
    "engine_cap": "the serving engine's maximum number of concurrent sequences",
    "unmet": "even one request at a time misses an SLO",
    "given": "the batch was given",
}


def batch_limit_text(choice: BatchChoice) -> str:
    """What stopped the batch growing, with the numbers where an SLO did."""
    text = BATCH_LIMIT_TEXT[choice.limit]
    if choice.limit in ("tpot_slo", "ttft_slo") and choice.next_tpot_ms is not None:
        text += (f" ({choice.next_tpot_ms:,.0f} ms per output token, "
                 f"{choice.next_ttft_ms:,.0f} ms to first token at batch {choice.batch + 1})")
    return text


SUGGESTION_TEXT: dict[FitSuggestion, str] = {
    "lora": "LoRA/QLoRA", "qlora": "QLoRA", "activation_checkpointing": "activation checkpointing",
    "more_gpus": "more GPUs",
}


def finetune_need_text(est: FinetuneEstimate) -> str:
    """What a fine-tuning job needs per GPU, by bucket, against what is usable."""
    m = est.memory
    return (f"{m.total_gb:.1f} GB per GPU (weights {m.weights_gb:.1f}, gradients "
            f"{m.gradients_gb:.1f}, optimizer {m.optimizer_gb:.1f}, adapters {m.adapters_gb:.1f}, "
            f"activations {m.activations_gb:.1f}, overhead {m.overhead_gb:.1f}) of "
            f"{m.usable_gb:.1f} GB usable on {est.gpus} GPU(s)")


def finetune_suggestions_text(est: FinetuneEstimate) -> str:
    """What to try when a job does not fit ('' when it fits)."""
    return ", ".join(SUGGESTION_TEXT[s] for s in est.fit_suggestions)


def finetune_fit_text(est: FinetuneEstimate) -> str:
    """Whether a fine-tuning job fits in memory, with its buckets, and what to try if not."""
    if est.fits_memory:
        return "fits: " + finetune_need_text(est)
    return f"does not fit: needs {finetune_need_text(est)}; try {finetune_suggestions_text(est)}"


def carbon_method_text(plan: DeploymentPlan) -> str:
    """How a plan's CO2 was counted: method, grid year and intensity, PUE, power basis ('' when
    it has no energy report)."""
    e = plan.energy
    if e is None:
        return ""
    if e.carbon_method == "market":
        method = (f"market-based at your contract's {_n(e.market_gco2_per_kwh)} g CO2e/kWh"
                  + (f" (location-based: {_n(e.co2_location_kg_per_month)} kg)"
                     if e.co2_location_kg_per_month is not None else ""))
    elif e.grid_gco2_per_kwh is None:
        method = "location-based, grid intensity unknown"
    else:
        year = f"{e.grid_year} " if e.grid_year else ""
        method = f"location-based, {year}grid average {_n(e.grid_gco2_per_kwh)} g CO2e/kWh"
    power = "measured" if e.busy_power_status == "measured" else "estimated"
    water = ("" if e.water_l_per_month is None else
             f"; water {_n(e.water_l_per_month)} L/month at WUE {e.wue_l_per_kwh:g} L/kWh")
    return (f"{method}; PUE {e.pue:.2f}; GPU power {power} ({_n(e.busy_power_w_per_gpu)} W "
            f"serving, {_n(e.idle_power_w_per_gpu)} W idle); embodied share of the hardware "
            f"over 3 years{water}")


def energy_lines_text(plan: DeploymentPlan) -> str:
    """A plan's month of energy by line, with its range and CO2 ('' without an energy report)."""
    e = plan.energy
    if e is None:
        return ""
    parts = ", ".join(f"{ENERGY_KIND_TEXT[line.kind]} {_n(line.kwh_per_month)}"
                      for line in e.lines if line.kind != "embodied")
    co2 = ("CO2e unknown" if e.co2_kg_per_month is None else
           f"{_n(e.co2_kg_per_month)} kg CO2e ({_n(e.co2_kg_low)}-{_n(e.co2_kg_high)}, embodied "
           f"included)")
    return (f"energy {_n(e.kwh_per_month)} kWh/month ({_n(e.kwh_low)}-{_n(e.kwh_high)}): {parts}; "
            f"{co2}; {carbon_method_text(plan)}")
