"""A hosted model billed per token: the provider runs the capacity."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from planner.catalog import Catalog
from planner.findings import Finding, FindingCode, finding
from planner.pricing.money import CostComponent
from planner.pricing.resolver import PriceKey, api_key
from planner.targets.base import EditorField, LinkSpec, Placement, Site, TokenUsage
from planner.targets.common import STRICT
from planner.units import TOKENS_PER_MILLION

KIND = "api"
TITLE = "Hosted API"
DEPLOY_EXPORTS: tuple[str, ...] = ()  # cluster manifests this target can be exported to
SELF_HOSTED = False


class ApiTarget(BaseModel):
    """A hosted model billed per token."""

    model_config = STRICT

    kind: Literal["api"] = "api"


Model = ApiTarget
LINK = LinkSpec()
EDITOR: tuple[EditorField, ...] = ()


def default() -> ApiTarget:
    return ApiTarget()


def model_ids(catalog: Catalog) -> list[str]:
    """The hosted models still offered (retired ones are never offered by default)."""
    return [a.id for a in catalog.api_models.values() if not a.retired]


def hardware(target: ApiTarget, catalog: Catalog) -> None:
    return None


def site(target: ApiTarget, catalog: Catalog) -> Site | None:
    return None


def catalog_problems(target: ApiTarget, model_id: str, catalog: Catalog, where: str) -> list[str]:
    if model_id in catalog.api_models:
        return []
    hint = " (an open-weights model: choose an azure or local target)" \
        if model_id in catalog.models else ""
    return [f"{where}.model: unknown API model {model_id!r}{hint}"]


def cost_components(target: ApiTarget, usage: TokenUsage, catalog: Catalog,
                    model_id: str) -> list[CostComponent]:
    """Input and output tokens at the API's list prices (per 1M tokens)."""
    name = catalog.api_models[model_id].name
    return [
        CostComponent(f"Input tokens ({name})", "input_tokens", "month",
                      usage.input_tokens / TOKENS_PER_MILLION, "1M input tokens",
                      api_key(model_id, "input")),
        CostComponent(f"Output tokens ({name})", "output_tokens", "month",
                      usage.output_tokens / TOKENS_PER_MILLION, "1M output tokens",
                      api_key(model_id, "output")),
    ]


def price_overrides(target: ApiTarget) -> dict[PriceKey, float]:
    return {}


def findings(target: ApiTarget) -> list[Finding]:
    return [finding(FindingCode.API_ENERGY_UNPUBLISHED, status="catalog")]


def key_text(target: ApiTarget) -> str:
    return "api"


def describe(target: ApiTarget, catalog: Catalog, model_id: str) -> str:
    api = catalog.api_models.get(model_id)
    if api is None:
        return "a hosted API"
    # never "… serverless API (MaaS) API": the provider's name may already say it is an API
    return f"the {api.provider}" if "API" in api.provider else f"the {api.provider} API"


def placement(target: ApiTarget, catalog: Catalog) -> Placement:
    """No machine and no region to choose: the provider's list price per token."""
    return Placement(plan="billed per token (list price)")


def pricing_variants(target: ApiTarget, catalog: Catalog) -> list[ApiTarget]:
    """No pricing plans to choose between."""
    return []


def training_fields(target: ApiTarget) -> None:
    """A hosted API has no hardware to train on."""
    return None
