"""A hosted model billed per token: the provider runs the capacity."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planner.catalog import Catalog
from planner.findings import Finding, FindingCode, finding
from planner.pricing.money import CostComponent
from planner.pricing.resolver import PriceKey, api_key
from planner.targets.base import EditorField, LinkSpec, Placement, Site, TokenUsage
from planner.targets.common import STRICT
from planner.units import TOKENS_PER_MILLION

KIND = "api"
DeploymentType = Literal["standard", "batch"]
TITLE = "Hosted API"
DEPLOY_EXPORTS: tuple[str, ...] = ()  # cluster manifests this target can be exported to
SELF_HOSTED = False


class ApiTarget(BaseModel):
    """A hosted model billed per token."""

    model_config = STRICT

    kind: Literal["api"] = "api"
    deployment_type: DeploymentType = Field(
        default="standard",
        description="standard: real-time requests at list prices; batch: the provider's Batch "
                    "API (offline work, results within the batch turnaround, at the model's "
                    "batch discount), refused for a model with no batch offer")

    @property
    def batch(self) -> bool:
        """Whether the tokens go through the Batch API."""
        return self.deployment_type == "batch"


# Microsoft Learn, Foundry deployment types (ms.date 08/06/2026): "Global Batch ... a 24-hour
# target turnaround"; "Data Zone Batch ... 50% cost savings and 24-hour turnaround"
# (docs/research/api_models.md, section 0).
BATCH_TURNAROUND_HOURS = 24

Model = ApiTarget
LINK = LinkSpec(options={"type": "deployment_type"})


def _type_label(catalog: Catalog, values: dict, deployment_type: str) -> str:
    return (f"Batch API (offline, results within {BATCH_TURNAROUND_HOURS} h)"
            if deployment_type == "batch" else "Standard (real time)")


EDITOR: tuple[EditorField, ...] = (
    EditorField("deployment_type", "dtype", "How requests are sent", "choice",
                choices=lambda cat, v: ["standard", "batch"], label_of=_type_label,
                help="The Batch API is for offline work such as summarisation; only some "
                     "models offer it."),
)


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
    api = catalog.api_models.get(model_id)
    if api is not None:
        if target.batch and api.batch_discount is None:
            return [f"{where}.target.deployment_type: {api.name} has no Batch API offer in the reference "
                    "data; send its requests as standard (real-time) ones"]
        return []
    hint = " (an open-weights model: choose an azure or local target)" \
        if model_id in catalog.models else ""
    return [f"{where}.model: unknown API model {model_id!r}{hint}"]


def cost_components(target: ApiTarget, usage: TokenUsage, catalog: Catalog,
                    model_id: str) -> list[CostComponent]:
    """Input, cached input (only when some input is cached) and output tokens at the API's
    prices per 1M tokens: list prices, or the Batch API's when ``target.batch``."""
    name = catalog.api_models[model_id].name
    batch = target.batch
    uncached_tokens = usage.input_tokens - usage.cached_input_tokens
    components = [
        CostComponent(f"Input tokens ({name})", "input_tokens", "month",
                      uncached_tokens / TOKENS_PER_MILLION, "1M input tokens",
                      api_key(model_id, "input", batch)),
    ]
    if usage.cached_input_tokens > 0:
        components.append(
            CostComponent(f"Cached input tokens ({name})", "cached_input_tokens", "month",
                          usage.cached_input_tokens / TOKENS_PER_MILLION,
                          "1M cached input tokens", api_key(model_id, "cached_input", batch)))
    components.append(
        CostComponent(f"Output tokens ({name})", "output_tokens", "month",
                      usage.output_tokens / TOKENS_PER_MILLION, "1M output tokens",
                      api_key(model_id, "output", batch)))
    return components


def price_overrides(target: ApiTarget) -> dict[PriceKey, float]:
    return {}


def findings(target: ApiTarget) -> list[Finding]:
    out = [finding(FindingCode.API_ENERGY_UNPUBLISHED, status="catalog")]
    if target.batch:
        out.append(finding(FindingCode.API_BATCH_TURNAROUND, status="catalog",
                           hours=BATCH_TURNAROUND_HOURS))
    return out


def key_text(target: ApiTarget) -> str:
    return "api/batch" if target.batch else "api"


def describe(target: ApiTarget, catalog: Catalog, model_id: str) -> str:
    api = catalog.api_models.get(model_id)
    if api is None:
        return "a hosted API"
    # never "… serverless API (MaaS) API": the provider's name may already say it is an API
    return f"the {api.provider}" if "API" in api.provider else f"the {api.provider} API"


def placement(target: ApiTarget, catalog: Catalog) -> Placement:
    """No machine and no region to choose: the provider's list price per token."""
    return Placement(plan="billed per token (Batch API price)" if target.batch
                     else "billed per token (list price)")


def pricing_variants(target: ApiTarget, catalog: Catalog) -> list[ApiTarget]:
    """No pricing plans to choose between."""
    return []


def training_fields(target: ApiTarget) -> None:
    """A hosted API has no hardware to train on."""
    return None
