"""Engine calls for the Deploy & fine-tune page, cached here (the engine never caches).

Inputs reach the cached functions as JSON text (a scenario's ``model_dump_json``, a fine-tuning
job's fields with sorted keys): a stable, hashable key. ``ui.cached.reload_reference_data()`` clears
these caches too (it clears every ``st.cache_data``), so a price refresh reaches this page.

Engine errors are not cached: an ExportError is turned into a message on the deployment it
concerns; a FinetuneError propagates to the page, which shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import streamlit as st

from planner.io.kaito import ExportError, KaitoExport, NodepoolExport, kaito_export, nodepool_export
from planner.pipeline.finetune import FinetuneEstimate, estimate_finetune
from planner.pipeline.plan import DeploymentPlan
from planner.scenario import ApiTarget, AzureTarget, Deployment, LocalTarget, Scenario
from ui import cached

MONTHS = 12
# Cost lines whose quantity is the node (machine) count: they follow the growth plan's nodes.
NODE_LINE_PREFIXES = ("GPU nodes", "Hardware")

ArtefactStatus = Literal["ready", "api", "local", "does not fit", "error"]


@dataclass(frozen=True)
class DeployArtefacts:
    """What can be deployed on AKS for one deployment of a scenario, or why nothing can."""

    label: str
    status: ArtefactStatus
    message: str = ""
    kaito: KaitoExport | None = None
    nodepool: NodepoolExport | None = None

    @property
    def warnings(self) -> list[str]:
        """KAITO and node-pool warnings, each once (the GPU warning is in both)."""
        both = [*(self.kaito.warnings if self.kaito else []),
                *(self.nodepool.warnings if self.nodepool else [])]
        return list(dict.fromkeys(both))


def artefacts_for(dep: Deployment, plan: DeploymentPlan, scenario: Scenario) -> DeployArtefacts:
    """The KAITO Workspace and ``az aks nodepool add`` command of one planned deployment."""
    if isinstance(dep.target, ApiTarget):
        return DeployArtefacts(plan.label, "api")
    if isinstance(dep.target, LocalTarget):
        return DeployArtefacts(plan.label, "local")
    if not plan.fits:
        return DeployArtefacts(plan.label, "does not fit", plan.fit_reason)
    catalog = cached.catalog()
    try:
        return DeployArtefacts(plan.label, "ready",
                               kaito=kaito_export(plan, scenario, catalog),
                               nodepool=nodepool_export(plan, scenario, catalog))
    except ExportError as exc:
        return DeployArtefacts(plan.label, "error", str(exc))


@st.cache_data(show_spinner=False, max_entries=64)
def _artefacts(scenario_json: str) -> list[DeployArtefacts]:
    scenario = Scenario.model_validate_json(scenario_json)
    result = cached.plan(scenario)
    return [artefacts_for(dep, plan, scenario)
            for dep, plan in zip(scenario.deployments, result.deployments, strict=True)]


def artefacts(scenario: Scenario) -> list[DeployArtefacts]:
    """One entry per deployment, in scenario order (cached on the scenario's JSON).

    Raises PlannerError (e.g. ScenarioError) if the scenario cannot be planned."""
    return _artefacts(scenario.model_dump_json())


# --- fine-tuning -------------------------------------------------------------------------------


def job_fields(dep: Deployment, **inputs: Any) -> dict[str, Any]:
    """FinetuneJob fields for fine-tuning ``dep``'s model where ``dep`` runs.

    ``inputs`` are the page's fields (method, dataset_examples, ...); ``vm_sku`` / ``hardware``
    in them override the deployment's. Region, pricing plan and amortisation come from the
    deployment's target. Raises ValueError for a hosted-API deployment (nothing to train on).
    """
    target = dep.target
    fields: dict[str, Any] = {"model": dep.model}
    if isinstance(target, AzureTarget):
        fields.update(vm_sku=target.vm_sku, region=target.region, pricing=target.pricing)
    elif isinstance(target, LocalTarget):
        fields.update(hardware=target.hardware, region=target.region,
                      amortization_years=target.amortization_years)
    else:
        raise ValueError(f"deployment {dep.label!r} is a hosted API: no hardware to fine-tune on")
    fields.update({k: v for k, v in inputs.items() if v is not None})
    return fields


@st.cache_data(show_spinner=False, max_entries=256)
def _finetune(fields_json: str) -> FinetuneEstimate:
    return estimate_finetune(cached.catalog(), **json.loads(fields_json))


def finetune(fields: dict[str, Any]) -> FinetuneEstimate:
    """The engine's fine-tuning estimate (cached on the fields' JSON).

    Raises FinetuneError for unknown data, invalid fields or a precision the GPU lacks."""
    return _finetune(json.dumps(fields, sort_keys=True))


# --- fine-tune once, serve monthly -------------------------------------------------------------


@dataclass(frozen=True)
class YearCost:
    """A one-off fine-tune beside a deployment's serving cost over the next 12 months (USD).

    ``None`` means unknown (a price is missing), never zero."""

    finetune_usd: float | None
    finetune_low_mfu_usd: float | None
    monthly_usd: float | None
    serving_by_month_usd: list[float] | None
    basis: str
    missing: list[str] = field(default_factory=list)

    @property
    def serving_year_usd(self) -> float | None:
        return sum(self.serving_by_month_usd) if self.serving_by_month_usd is not None else None

    @property
    def total_usd(self) -> float | None:
        if self.finetune_usd is None or self.serving_year_usd is None:
            return None
        return self.finetune_usd + self.serving_year_usd

    @property
    def total_low_mfu_usd(self) -> float | None:
        if self.finetune_low_mfu_usd is None or self.serving_year_usd is None:
            return None
        return self.finetune_low_mfu_usd + self.serving_year_usd


def serving_by_month(plan: DeploymentPlan, months: int = MONTHS) -> tuple[list[float] | None, str]:
    """Serving cost in each of the next ``months`` months, and how it was worked out.

    Flat traffic: today's monthly cost every month. With growth: the node (machine) cost lines
    follow the plan's ``nodes_by_month``; the other lines (AKS cluster, system pool, electricity)
    stay at today's level. None if today's cost is unknown.
    """
    monthly = plan.monthly_cost_usd
    if monthly is None:
        return None, "serving cost unknown"
    by_month = plan.nodes_by_month[:months]
    if not by_month or not plan.nodes or all(n == plan.nodes for n in by_month):
        return [monthly] * months, f"{months} × today's monthly cost (the same node count all year)"
    per_node = sum(line.monthly_usd or 0.0 for line in plan.cost_lines
                   if line.name.startswith(NODE_LINE_PREFIXES)) / plan.nodes
    fixed = monthly - per_node * plan.nodes
    by_month = by_month + [by_month[-1]] * (months - len(by_month))
    costs = [fixed + per_node * nodes for nodes in by_month]
    return costs, (f"the growth plan's nodes month by month ({by_month[0]} → {by_month[-1]} "
                   "nodes); cluster, system-pool and electricity lines held at today's level")


def year_cost(plan: DeploymentPlan, estimate: FinetuneEstimate | None) -> YearCost:
    """Fine-tune once + serve for 12 months, with every missing price named."""
    months, basis = serving_by_month(plan)
    missing = []
    if estimate is not None and estimate.cost_usd is None:
        missing += [f"fine-tuning: {line.name}" for line in estimate.cost_lines
                    if line.monthly_usd is None] or ["fine-tuning: time unknown"]
    if not plan.fits:
        missing.append(f"serving: {plan.label} does not fit")
    elif plan.monthly_cost_usd is None:
        missing += [f"serving: {line.name}" for line in plan.cost_lines if line.monthly_usd is None]
    return YearCost(
        finetune_usd=estimate.cost_usd if estimate is not None else None,
        finetune_low_mfu_usd=estimate.cost_usd_at_low_mfu if estimate is not None else None,
        monthly_usd=plan.monthly_cost_usd, serving_by_month_usd=months, basis=basis,
        missing=missing)
