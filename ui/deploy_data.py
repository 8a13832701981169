"""Engine calls for the Deploy & fine-tune page, cached here (the engine never caches).

Inputs reach the cached functions as JSON text (a scenario's ``model_dump_json``, a fine-tuning
job's fields with sorted keys): a stable, hashable key. ``ui.cached.reload_reference_data()`` clears
these caches too (it clears every ``st.cache_data``), so a price refresh reaches this page.

Engine errors are not cached: an ExportError is turned into a message on the deployment it
concerns; a FinetuneError propagates to the page, which shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

from planner import api
from planner.api import (
    Deployment,
    DeploymentPlan,
    ExportError,
    FinetuneEstimate,
    KaitoExport,
    NodepoolExport,
    Scenario,
    estimate_finetune,
    fit_text,
    kaito_export,
    module_for,
    nodepool_export,
)
from ui import cached

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
    module = module_for(dep.target)
    if "kaito" not in module.DEPLOY_EXPORTS:
        return DeployArtefacts(plan.label, "api" if not module.SELF_HOSTED else "local")
    if not plan.fits:
        return DeployArtefacts(plan.label, "does not fit", fit_text(plan))
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
    where = module_for(dep.target).training_fields(dep.target)
    if where is None:
        raise ValueError(f"deployment {dep.label!r} is a hosted API: no hardware to fine-tune on")
    fields: dict[str, Any] = {"model": dep.model, **{k: v for k, v in where.items() if v is not None}}
    if inputs.get("vm_sku") or inputs.get("hardware"):  # the page chose other hardware
        for key in ("vm_sku", "hardware", "pricing", "pue", "electricity_usd_per_kwh",
                    "purchase_usd_per_machine", "amortization_years"):
            fields.pop(key, None)
    fields.update({k: v for k, v in inputs.items() if v is not None})
    return fields


@st.cache_data(show_spinner=False, max_entries=256)
def _finetune(fields_json: str) -> FinetuneEstimate:
    return estimate_finetune(cached.catalog(), **json.loads(fields_json))


def finetune(fields: dict[str, Any]) -> FinetuneEstimate:
    """The engine's fine-tuning estimate (cached on the fields' JSON).

    Raises FinetuneError for unknown data, invalid fields or a precision the GPU lacks."""
    return _finetune(json.dumps(fields, sort_keys=True))


# --- fine-tune once, serve monthly: the arithmetic is the engine's (planner.pricing.projection)

serving_by_month = api.serving_by_month
year_cost = api.year_cost
