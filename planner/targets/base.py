"""What every target module provides (the :class:`TargetModule` protocol) and the types they share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from planner.catalog import Catalog, GpuSpec
from planner.findings import Finding
from planner.physics.energy import Site
from planner.pricing.money import CostComponent, Period
from planner.pricing.resolver import PriceKey


@dataclass(frozen=True)
class Hardware:
    """What a self-hosted target runs on: one node (VM or machine) and its GPUs."""

    gpu: GpuSpec
    gpus_per_node: int
    node_name: str  # "Standard_NC24ads_A100_v4", "Workstation, 1x GeForce RTX 4090"
    node_word: str  # "node" or "machine", for sentences
    retired: bool = False


class Placement(BaseModel):
    """Where an option runs, for exports: the VM size or machine, the region and the plan by its
    full name (None where it does not apply, e.g. a hosted API has no machine)."""

    model_config = {"frozen": True}

    node: str | None = None  # "Standard_NC24ads_A100_v4", "Workstation, 1x GeForce RTX 4090"
    region: str | None = None
    plan: str  # "pay-as-you-go", "bought outright, written off over 3 years", "billed per token"


@dataclass(frozen=True)
class NodeUsage:
    """How much of a target is used: whole nodes for some hours, in a period.

    ``energy_kwh`` is the facility energy over those hours (None = unknown)."""

    nodes: int
    hours: float
    period: Period
    purpose: Literal["serving", "training"]
    energy_kwh: float | None = None
    # node-hours actually held in the period when a scaling policy follows traffic (None = all
    # ``nodes`` for all ``hours``); targets that bill the hours they run use it
    node_hours: float | None = None
    # nodes of a spot plan kept on a regular (pay-as-you-go) pool all period: the base that
    # must not be evicted (None = no base); the rest of the node-hours are spot burst
    base_nodes: int | None = None
    # a commitment plan under a policy that follows traffic: the nodes committed all period and
    # the node-hours held above them (None = the base nodes, and the node-hours above theirs)
    committed_nodes: int | None = None
    burst_node_hours: float | None = None

    @property
    def gpu_node_hours(self) -> float:
        """Node-hours of GPU nodes held in the period."""
        return self.nodes * self.hours if self.node_hours is None else self.node_hours


@dataclass(frozen=True)
class TokenUsage:
    """Tokens a hosted API bills in a month. ``input_tokens`` counts every input token,
    ``cached_input_tokens`` the part of them served from the provider's prompt cache."""

    input_tokens: float
    output_tokens: float
    cached_input_tokens: float = 0.0
    peak_requests_per_s: float = 0.0  # the busiest rate the deployment must absorb, requests/s
    input_tokens_per_request: float = 0.0
    output_tokens_per_request: float = 0.0
    cached_input_share: float = 0.0  # share of input tokens served from the prompt cache


@dataclass(frozen=True)
class LinkSpec:
    """How a target is written in a share link after its kind: ``positional`` fields in order,
    then ``options`` (``name_value``, only when the value differs from the field's default)."""

    positional: tuple[str, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)  # link option name -> field


@dataclass(frozen=True)
class EditorField:
    """One target field in the scenario editor: a choice among catalog ids or a number.

    ``choices(catalog, values)`` lists the ids allowed given the target's other current values
    (e.g. the regions a VM size is sold in); ``label_of(catalog, values, id)`` words one choice."""

    name: str
    key: str  # widget key suffix, stable across releases (tests and saved sessions use it)
    label: str
    widget: Literal["choice", "number"]
    advanced: bool = False
    help: str = ""
    choices: Callable[[Catalog, dict[str, Any]], list[Any]] | None = None
    label_of: Callable[[Catalog, dict[str, Any], Any], str] | None = None
    prefer: tuple[Any, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    step: float | None = None
    number_format: str | None = None
    placeholder: str | None = None
    placeholder_of: Callable[[Catalog, dict[str, Any]], str] | None = None  # e.g. a catalog default
    optional: bool = False  # None is a valid value (the placeholder's default)


class TargetModule(Protocol):
    """What a module under :mod:`planner.targets` provides for its kind of target."""

    KIND: str  # the discriminator written in scenarios and links: "azure", "local", "api"
    TITLE: str  # how people call it: "Azure (AKS)"
    SELF_HOSTED: bool  # True: the planner sizes GPUs and nodes; False: billed per token
    # True: a month of serving costs what its nodes (and base nodes) cost, whatever the energy
    # (own machines pay electricity by the kWh, which follows utilisation)
    SERVING_COST_BY_NODES: bool
    DEPLOY_EXPORTS: tuple[str, ...]  # cluster manifests it can be exported to ("kaito", "az")
    Model: type[BaseModel]  # the pydantic target model, ``kind`` Literal first
    LINK: LinkSpec
    EDITOR: tuple[EditorField, ...]

    def hardware(self, target: Any, catalog: Catalog) -> Hardware | None: ...

    def site(self, target: Any, catalog: Catalog) -> Site | None: ...

    def catalog_problems(self, target: Any, model_id: str, catalog: Catalog,
                         where: str) -> list[str]: ...

    def cost_components(self, target: Any, usage: Any, catalog: Catalog,
                        model_id: str) -> list[CostComponent]: ...

    def price_overrides(self, target: Any) -> dict[PriceKey, float]: ...

    def commitment_prices(self, target: Any) -> tuple[PriceKey, PriceKey] | None: ...

    def findings(self, target: Any) -> list[Finding]: ...

    def key_text(self, target: Any) -> str: ...

    def describe(self, target: Any, catalog: Catalog, model_id: str) -> str: ...

    def placement(self, target: Any, catalog: Catalog) -> Placement: ...

    def model_ids(self, catalog: Catalog) -> list[str]: ...

    def pricing_variants(self, target: Any, catalog: Catalog) -> list[Any]: ...

    def payg_counterpart(self, target: Any) -> tuple[str, Any] | None: ...

    def training_fields(self, target: Any) -> dict[str, object] | None: ...

    def default(self) -> BaseModel: ...
