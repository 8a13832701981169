"""Where an option runs: one module per kind of target, one protocol for all of them.

Outside this package no code asks which kind a target is; it asks the target's module
(:func:`module_for`) for what it needs. A module (see :class:`~planner.targets.base.TargetModule`)
provides:

* ``KIND``, ``TITLE``, ``SELF_HOSTED``, ``SERVING_COST_BY_NODES`` and ``Model``: the discriminator,
  the name people know, whether the planner sizes GPUs for it, whether a month of serving costs
  what its nodes cost whatever the energy (traffic sweeps then price node counts), and the
  pydantic model the :class:`~planner.scenario.Scenario` holds (``kind: Literal[KIND]`` first,
  strict config from :mod:`planner.targets.common`);
* ``hardware(target, catalog)``: the node and its GPUs (None for a hosted API);
* ``site(target, catalog)``: host power per node, PUE and grid carbon for the energy room;
* ``catalog_problems(target, model_id, catalog, where)``: references the catalog does not know,
  each a message naming the field;
* ``cost_components(target, usage, catalog, model_id)``: what it consumes, as
  :class:`~planner.pricing.money.CostComponent` rows naming price keys (never prices); serving and
  training usage arrive as :class:`~planner.targets.base.NodeUsage` (hosted APIs:
  :class:`~planner.targets.base.TokenUsage`);
* ``price_overrides(target)``: prices the user typed, which beat the catalog in the resolver;
* ``commitment_prices(target)``: (commitment, pay-as-you-go) node-hour price keys of a target on
  a commitment plan, from which the plan sizes the committed nodes under autoscaling (else None);
* ``findings(target)``: what always holds for it (e.g. spot eviction);
* ``key_text``, ``describe``: how it is written in exports and in sentences; ``placement``:
  its VM size or machine, region and plan (full name) as separate fields, for exports;
* ``pricing_variants(target, catalog)``: the same target under each pricing plan it offers;
  ``payg_counterpart(target)``: (its commitment plan, the same target on pay-as-you-go), or None;
* ``training_fields(target)``: the fine-tuning job fields that train on it (None: cannot);
* ``DEPLOY_EXPORTS``: the cluster manifests it can be exported to (KAITO, ``az``);
* ``LINK``: how it is written in a share link; ``EDITOR``: the fields the scenario editor shows;
  ``model_ids`` and ``default``: the models it can serve and a starting target for the editor.

Adding another cloud is one new module providing the above, its entry in :data:`MODULES` and
in the :data:`Target` union, plus its price table (a new :class:`~planner.pricing.resolver.PriceKey`
kind and its lookup in the resolver).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from planner.physics.energy import Site
from planner.targets import api, azure, local
from planner.targets.api import ApiTarget
from planner.targets.azure import AzureTarget
from planner.targets.base import (
    EditorField,
    Hardware,
    LinkSpec,
    NodeUsage,
    Placement,
    TargetModule,
    TokenUsage,
)
from planner.targets.local import LocalTarget

MODULES: dict[str, TargetModule] = {m.KIND: m for m in (azure, local, api)}  # type: ignore[misc]
TARGET_KINDS: tuple[str, ...] = tuple(MODULES)
TARGET_TITLES: dict[str, str] = {kind: m.TITLE for kind, m in MODULES.items()}

Target = Annotated[AzureTarget | LocalTarget | ApiTarget, Field(discriminator="kind")]


def module_for(target: BaseModel | str) -> TargetModule:
    """The module of a target (or of a kind name)."""
    kind = target if isinstance(target, str) else target.kind  # type: ignore[attr-defined]
    return MODULES[kind]


def is_self_hosted(target: Any) -> bool:
    """Whether the planner sizes GPUs and nodes for this target."""
    return module_for(target).SELF_HOSTED


__all__ = [
    "MODULES", "TARGET_KINDS", "TARGET_TITLES", "ApiTarget", "AzureTarget", "EditorField",
    "Hardware", "LinkSpec", "LocalTarget", "NodeUsage", "Placement", "Site", "Target", "TargetModule",
    "TokenUsage", "is_self_hosted", "module_for",
]
