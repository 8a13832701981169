"""The engine's facade: the one module the dashboard (and any other client) imports.

Pages never reach into physics, pricing or target modules; they call what is named here. The CLI
may use the rooms directly, since it is part of the engine package.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.analyses.advisor import AdvisorResult, SearchSpace, advise, deployment_for
from planner.analyses.whatif import (
    BreakEven,
    CostFn,
    CurveCosts,
    Sensitivity,
    break_even,
    cost_vs_traffic,
    sensitivity,
    traffic_curves,
    traffic_grid,
    usable_cost,
    with_traffic,
)
from planner.catalog import PRICES_FILE, Catalog, Row, default_data_dir, load_catalog
from planner.errors import (
    CannotEstimateError,
    DataError,
    PlannerError,
    PriceApiError,
    ScenarioError,
)
from planner.findings import Finding, FindingCode
from planner.io.energy_export import energy_csv
from planner.io.export import plan_csv
from planner.io.kaito import ExportError, KaitoExport, NodepoolExport, kaito_export, nodepool_export
from planner.io.sharelink import (
    decode_params,
    encode_scenario,
    has_scenario_params,
    same_params,
    share_link_problem,
    to_query_string,
)
from planner.io.wording import (
    EXCLUDED_TEXT,
    REJECT_TEXT,
    TP_HEADER,
    TP_HELP,
    TPOT_HEADER,
    TPOT_HELP,
    TTFT_HEADER,
    TTFT_HELP,
    advise_where_text,
    batch_limit_text,
    carbon_method_text,
    commitment_check_records,
    field_words,
    finding_text,
    findings_text,
    finetune_fit_text,
    finetune_need_text,
    finetune_suggestions_text,
    fit_text,
    missing_reason_text,
)
from planner.io.workbook import plan_workbook
from planner.physics import energy, memory
from planner.physics.energy import ENERGY_KINDS, EnergyKind, EnergyLine, EnergyReport
from planner.physics.power_fit import energy_check_figure
from planner.physics.throughput import EngineProfile, load_profiles, throughput_accuracy
from planner.pipeline.finetune import (
    DEFAULT_MFU,
    LOW_MFU,
    FinetuneError,
    FinetuneEstimate,
    estimate_finetune,
)
from planner.pipeline.plan import DeploymentPlan, PlanResult, plan_scenario
from planner.pipeline.traffic import hourly_requests_from_csv
from planner.pricing import azure_api as price_refresh
from planner.pricing.money import (
    COST_KINDS,
    CostKind,
    CostLine,
    difference,
    known_usd_by_kind,
    monthly_from_hourly,
    usd_by_kind,
)
from planner.pricing.projection import YearCost, serving_by_month, year_cost
from planner.registry import (
    DEFAULT_MIN_MMLU,
    ENGINE_IDS,
    ENGINES,
    KV_DTYPES,
    PLAN_NAMES,
    PRECISIONS,
    PRICING_PLANS,
    SCALING_POLICIES,
    TP_DEGREES,
    TRAFFIC_SHAPES,
)
from planner.scenario import (
    MAX_DEPLOYMENTS,
    Deployment,
    Scenario,
    Workload,
    check_against_catalog,
    describe_validation_error,
    gpu_runs_precision,
    load_scenario,
    parse_scenario_bytes,
    scenario_from_dict,
)
from planner.targets import (
    TARGET_KINDS,
    TARGET_TITLES,
    EditorField,
    Hardware,
    is_self_hosted,
    module_for,
)
from planner.targets.local import ON_PREM_DEFAULT_PUE
from planner.units import HOURS_PER_MONTH


def hardware_of(deployment: Deployment, catalog: Catalog) -> Hardware | None:
    """The node and GPUs a deployment runs on (None for a hosted API)."""
    return module_for(deployment.target).hardware(deployment.target, catalog)


def describe_target(deployment: Deployment, catalog: Catalog) -> str:
    """Where a deployment runs, in words: 'Standard_NC24ads_A100_v4 (eastus, pay-as-you-go)'."""
    return module_for(deployment.target).describe(deployment.target, catalog, deployment.model)


def prices_snapshot_signature() -> tuple[str, int, int] | None:
    """(path, modification time in ns, size in bytes) of the price snapshot the catalog reads,
    or None if it is absent: a cheap check that another process (a scheduled refresh) has
    replaced it."""
    path = default_data_dir() / PRICES_FILE
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path), stat.st_mtime_ns, stat.st_size


@dataclass(frozen=True)
class MethodologyConstants:
    """The fixed assumptions the Methodology page quotes, read from the rooms that use them."""

    hours_per_month: int
    weight_load_factor: float
    activation_gib_per_gpu: float
    non_torch_gib_per_gpu: float
    nccl_gib_per_gpu_tp: float
    usable_memory_fraction: float
    idle_power_fraction_of_tdp: float
    azure_host_power_w_per_gpu_slot: float
    on_prem_default_pue: float
    energy_reference_gpu: str
    energy_check: dict | None  # benchmarks/energy_check.py's recorded figure


def snapshot_currency(catalog: Catalog) -> str:
    """The currency every cost is shown in: the price snapshot's (ISO code, e.g. ``USD``)."""
    return catalog.prices_currency


def methodology_constants() -> MethodologyConstants:
    from planner.targets.azure import HOST_POWER_W_PER_GPU_SLOT

    return MethodologyConstants(
        HOURS_PER_MONTH, memory.WEIGHT_LOAD_FACTOR, memory.ACTIVATION_GIB_PER_GPU,
        memory.NON_TORCH_GIB_PER_GPU, memory.NCCL_GIB_PER_GPU_TP, memory.USABLE_MEMORY_FRACTION,
        energy.IDLE_POWER_FRACTION_OF_TDP, HOST_POWER_W_PER_GPU_SLOT, ON_PREM_DEFAULT_PUE,
        energy.REFERENCE_GPU, energy_check_figure())


__all__ = [
    "COST_KINDS",
    "DEFAULT_MFU",
    "DEFAULT_MIN_MMLU",
    "ENERGY_KINDS",
    "ENGINES",
    "ENGINE_IDS",
    "EXCLUDED_TEXT",
    "KV_DTYPES",
    "LOW_MFU",
    "MAX_DEPLOYMENTS",
    "PLAN_NAMES",
    "PRECISIONS",
    "PRICES_FILE",
    "PRICING_PLANS",
    "REJECT_TEXT",
    "SCALING_POLICIES",
    "TARGET_KINDS",
    "TARGET_TITLES",
    "TPOT_HEADER",
    "TPOT_HELP",
    "TP_DEGREES",
    "TP_HEADER",
    "TP_HELP",
    "TRAFFIC_SHAPES",
    "TTFT_HEADER",
    "TTFT_HELP",
    "AdvisorResult",
    "BreakEven",
    "CannotEstimateError",
    "Catalog",
    "CostFn",
    "CostKind",
    "CostLine",
    "CurveCosts",
    "DataError",
    "Deployment",
    "DeploymentPlan",
    "EditorField",
    "EnergyKind",
    "EnergyLine",
    "EnergyReport",
    "EngineProfile",
    "ExportError",
    "Finding",
    "FindingCode",
    "FinetuneError",
    "FinetuneEstimate",
    "Hardware",
    "KaitoExport",
    "MethodologyConstants",
    "NodepoolExport",
    "PlanResult",
    "PlannerError",
    "PriceApiError",
    "Row",
    "Scenario",
    "ScenarioError",
    "SearchSpace",
    "Sensitivity",
    "Workload",
    "YearCost",
    "advise",
    "advise_where_text",
    "batch_limit_text",
    "break_even",
    "carbon_method_text",
    "check_against_catalog",
    "commitment_check_records",
    "cost_vs_traffic",
    "decode_params",
    "default_data_dir",
    "deployment_for",
    "describe_target",
    "describe_validation_error",
    "difference",
    "encode_scenario",
    "energy_csv",
    "estimate_finetune",
    "field_words",
    "finding_text",
    "findings_text",
    "finetune_fit_text",
    "finetune_need_text",
    "finetune_suggestions_text",
    "fit_text",
    "gpu_runs_precision",
    "hardware_of",
    "has_scenario_params",
    "hourly_requests_from_csv",
    "is_self_hosted",
    "kaito_export",
    "known_usd_by_kind",
    "load_catalog",
    "load_profiles",
    "load_scenario",
    "methodology_constants",
    "missing_reason_text",
    "module_for",
    "monthly_from_hourly",
    "nodepool_export",
    "parse_scenario_bytes",
    "plan_csv",
    "plan_scenario",
    "plan_workbook",
    "price_refresh",
    "prices_snapshot_signature",
    "same_params",
    "scenario_from_dict",
    "sensitivity",
    "serving_by_month",
    "share_link_problem",
    "snapshot_currency",
    "throughput_accuracy",
    "to_query_string",
    "traffic_curves",
    "traffic_grid",
    "usable_cost",
    "usd_by_kind",
    "with_traffic",
    "year_cost",
]
