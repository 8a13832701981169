"""The editor's working copy of a scenario (the "draft"), and its conversion to and from Scenario.

The draft keeps what a person may switch back to: every target kind's settings (``targets``, one
dict per kind) and the model chosen for each kind (``models``) survive while the option is switched
to another kind and back. Pure functions (no streamlit); what a kind's settings are is its target
module's business (``planner.api.module_for``).
"""

from __future__ import annotations

import copy
from typing import Any

from planner.api import TARGET_KINDS, Deployment, Scenario, module_for

DEP_FIELDS = ("precision", "engine", "kv_cache_dtype", "tp", "context_tokens", "scaling", "min_nodes",
              "max_nodes")
DEFAULT_MODELS = {"azure": "phi-3-mini-4k", "local": "phi-3-mini-4k", "api": "gpt-4o-mini"}


def _fields(target: Any) -> dict[str, Any]:
    return {k: v for k, v in target.model_dump().items() if k != "kind"}


def deployment_draft(dep: Deployment, dep_id: int) -> dict[str, Any]:
    """Draft of one deployment; ``dep_id`` keys its widgets and never changes."""
    kind = dep.target.kind
    targets = {k: _fields(module_for(k).default()) for k in TARGET_KINDS}
    targets[kind] = _fields(dep.target)
    models = dict(DEFAULT_MODELS)
    for k in TARGET_KINDS:  # a self-hosted model serves every self-hosted kind
        if module_for(k).SELF_HOSTED == module_for(kind).SELF_HOSTED:
            models[k] = dep.model
    return {"id": dep_id, "label": dep.label, "kind": kind, "models": models,
            **{field: getattr(dep, field) for field in DEP_FIELDS}, "targets": targets}


def draft_from_scenario(scenario: Scenario) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "workload": scenario.workload.model_dump(),
        "deployments": [deployment_draft(dep, i) for i, dep in enumerate(scenario.deployments)],
        "next_id": len(scenario.deployments),
        "market_gco2_per_kwh": scenario.market_gco2_per_kwh,
    }


def deployment_dict(dep: dict[str, Any]) -> dict[str, Any]:
    """The Deployment input (for scenario_from_dict) the draft describes."""
    kind = dep["kind"]
    return {
        "label": dep["label"],
        "model": dep["models"][kind],
        **{field: dep[field] for field in DEP_FIELDS},
        "target": {"kind": kind, **dep["targets"][kind]},
    }


def scenario_dict(draft: dict[str, Any]) -> dict[str, Any]:
    """The Scenario input the draft describes; validation is the engine's (scenario_from_dict)."""
    return {
        "name": draft["name"],
        "workload": dict(draft["workload"]),
        "deployments": [deployment_dict(dep) for dep in draft["deployments"]],
        "market_gco2_per_kwh": draft.get("market_gco2_per_kwh"),
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
    """A fresh deployment of the first target kind with a free label, appended to the draft."""
    dep_id = draft["next_id"]
    draft["next_id"] += 1
    taken = {d["label"] for d in draft["deployments"]}
    kind = TARGET_KINDS[0]
    dep = deployment_draft(Deployment(label="x", model=DEFAULT_MODELS[kind],
                                      target=module_for(kind).default()),  # type: ignore[arg-type]
                           dep_id)
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
