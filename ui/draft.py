"""The editor's working copy of a scenario (the "draft"), and its conversion to and from Scenario.

The draft keeps what a person may switch back to: the Azure and the local settings of a deployment
both survive while its target is switched to the API and back. Pure functions (no streamlit).
"""

from __future__ import annotations

import copy
from typing import Any

from planner.scenario import ApiTarget, AzureTarget, Deployment, LocalTarget, Scenario

DEFAULT_MODEL = "phi-3-mini-4k"
DEFAULT_API_MODEL = "gpt-4o-mini"
DEFAULT_SKU = "Standard_NC24ads_A100_v4"
DEFAULT_HARDWARE = "workstation-1x-rtx-4090"
DEP_FIELDS = ("precision", "engine", "kv_cache_dtype", "tp", "context_tokens")


def _target_fields(target: AzureTarget | LocalTarget) -> dict[str, Any]:
    return {k: v for k, v in target.model_dump().items() if k != "kind"}


def deployment_draft(dep: Deployment, dep_id: int) -> dict[str, Any]:
    """Draft of one deployment; ``dep_id`` keys its widgets and never changes."""
    target = dep.target
    is_api = isinstance(target, ApiTarget)
    return {
        "id": dep_id,
        "label": dep.label,
        "kind": target.kind,
        "model": DEFAULT_MODEL if is_api else dep.model,
        "api_model": dep.model if is_api else DEFAULT_API_MODEL,
        **{field: getattr(dep, field) for field in DEP_FIELDS},
        "azure": _target_fields(target if isinstance(target, AzureTarget)
                                else AzureTarget(vm_sku=DEFAULT_SKU)),
        "local": _target_fields(target if isinstance(target, LocalTarget)
                                else LocalTarget(hardware=DEFAULT_HARDWARE)),
    }


def draft_from_scenario(scenario: Scenario) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "workload": scenario.workload.model_dump(),
        "deployments": [deployment_draft(dep, i) for i, dep in enumerate(scenario.deployments)],
        "next_id": len(scenario.deployments),
    }


def deployment_dict(dep: dict[str, Any]) -> dict[str, Any]:
    """The Deployment input (for scenario_from_dict) the draft describes."""
    kind = dep["kind"]
    if kind == "api":
        target: dict[str, Any] = {"kind": "api"}
    else:
        target = {"kind": kind, **dep[kind]}
    return {
        "label": dep["label"],
        "model": dep["api_model"] if kind == "api" else dep["model"],
        **{field: dep[field] for field in DEP_FIELDS},
        "target": target,
    }


def scenario_dict(draft: dict[str, Any]) -> dict[str, Any]:
    """The Scenario input the draft describes; validation is the engine's (scenario_from_dict)."""
    return {
        "name": draft["name"],
        "workload": dict(draft["workload"]),
        "deployments": [deployment_dict(dep) for dep in draft["deployments"]],
    }


def unique_label(base: str, taken: set[str], limit: int = 60) -> str:
    """``base`` if free, else 'base 2', 'base 3', … within ``limit`` characters."""
    base = base.strip() or "Option"
    if base not in taken:
        return base[:limit]
    n = 2
    while True:
        suffix = f" {n}"
        candidate = base[: limit - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def new_deployment(draft: dict[str, Any]) -> dict[str, Any]:
    """A fresh Azure deployment with a free label, appended to the draft."""
    dep_id = draft["next_id"]
    draft["next_id"] += 1
    taken = {d["label"] for d in draft["deployments"]}
    dep = deployment_draft(
        Deployment(label="x", model=DEFAULT_MODEL, target=AzureTarget(vm_sku=DEFAULT_SKU)), dep_id)
    dep["label"] = unique_label(f"Option {len(draft['deployments']) + 1}", taken)
    draft["deployments"].append(dep)
    return dep


def duplicate_deployment(draft: dict[str, Any], dep_id: int) -> dict[str, Any] | None:
    """A copy of deployment ``dep_id`` placed right after it, labelled '<label> copy'."""
    for index, dep in enumerate(draft["deployments"]):
        if dep["id"] == dep_id:
            twin = copy.deepcopy(dep)
            twin["id"] = draft["next_id"]
            draft["next_id"] += 1
            taken = {d["label"] for d in draft["deployments"]}
            twin["label"] = unique_label(f"{dep['label'][:55]} copy", taken)
            draft["deployments"].insert(index + 1, twin)
            return twin
    return None


def remove_deployment(draft: dict[str, Any], dep_id: int) -> bool:
    """Remove deployment ``dep_id`` unless it is the last one."""
    if len(draft["deployments"]) <= 1:
        return False
    before = len(draft["deployments"])
    draft["deployments"] = [d for d in draft["deployments"] if d["id"] != dep_id]
    return len(draft["deployments"]) < before
