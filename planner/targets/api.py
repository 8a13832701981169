"""A hosted model billed per token: the provider runs the capacity."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field

from planner.catalog import Catalog
from planner.findings import Finding, FindingCode, finding
from planner.pricing.money import CostComponent
from planner.pricing.resolver import PriceKey, api_key, api_ptu_key
from planner.targets.base import EditorField, LinkSpec, Placement, Site, TokenUsage
from planner.targets.common import STRICT
from planner.units import HOURS_PER_MONTH, SECONDS_PER_MINUTE, TOKENS_PER_MILLION

KIND = "api"
DeploymentType = Literal["standard", "batch", "provisioned"]
TITLE = "Hosted API"
DEPLOY_EXPORTS: tuple[str, ...] = ()  # cluster manifests this target can be exported to
SELF_HOSTED = False
SERVING_COST_BY_NODES = False


class ApiTarget(BaseModel):
    """A hosted model billed per token."""

    model_config = STRICT

    kind: Literal["api"] = "api"
    deployment_type: DeploymentType = Field(
        default="standard",
        description="standard: real-time requests at list prices; batch: the provider's Batch "
                    "API (offline work, results within the batch turnaround, at the model's "
                    "batch discount), refused for a model with no batch offer; provisioned: "
                    "Global provisioned throughput units (PTUs) sized for the peak rate and "
                    "billed by the hour, refused for a model with no PTU sizing data")

    @property
    def batch(self) -> bool:
        """Whether the tokens go through the Batch API."""
        return self.deployment_type == "batch"

    @property
    def provisioned(self) -> bool:
        """Whether the model runs on provisioned throughput units billed by the hour."""
        return self.deployment_type == "provisioned"


# Microsoft Learn, Foundry deployment types (ms.date 08/06/2026): "Global Batch ... a 24-hour
# target turnaround"; "Data Zone Batch ... 50% cost savings and 24-hour turnaround"
# (docs/research/api_models.md, section 0).
BATCH_TURNAROUND_HOURS = 24

Model = ApiTarget
LINK = LinkSpec(options={"type": "deployment_type"})


def _type_label(catalog: Catalog, values: dict, deployment_type: str) -> str:
    if deployment_type == "provisioned":
        return "Provisioned throughput (PTUs, billed by the hour)"
    return (f"Batch API (offline, results within {BATCH_TURNAROUND_HOURS} h)"
            if deployment_type == "batch" else "Standard (real time)")


EDITOR: tuple[EditorField, ...] = (
    EditorField("deployment_type", "dtype", "How requests are sent", "choice",
                choices=lambda cat, v: ["standard", "batch", "provisioned"],
                label_of=_type_label,
                help="The Batch API is for offline work such as summarisation; only some "
                     "models offer it. Provisioned throughput reserves capacity for the peak "
                     "rate and is paid by the hour whether used or not."),
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
        if target.provisioned:
            ptu = catalog.api_ptu.get(model_id)
            if ptu is None:
                return [f"{where}.target.deployment_type: {api.name} has no provisioned-throughput "
                        "(PTU) sizing in the reference data; choose standard or batch"]
            if ptu.global_min_ptu is None or ptu.global_increment_ptu is None:
                return [f"{where}.target.deployment_type: {api.name} has no published Global "
                        "provisioned minimum deployment and increment in the reference data; "
                        "choose standard or batch"]
        return []
    hint = " (an open-weights model: choose an azure or local target)" \
        if model_id in catalog.models else ""
    return [f"{where}.model: unknown API model {model_id!r}{hint}"]


def normalized_tokens_per_minute(input_tokens_per_minute: float,
                                output_tokens_per_minute: float, cached_input_share: float,
                                output_to_input_ratio: float) -> float:
    """Microsoft's normalized TPM, tokens/minute: input TPM x (1 - cache rate) + output-to-input
    ratio x output TPM (provisioned-throughput-sizing.md, docs/research/api_models.md)."""
    return (input_tokens_per_minute * (1 - cached_input_share)
            + output_to_input_ratio * output_tokens_per_minute)


def ptus_required(normalized_tpm: float, input_tpm_per_ptu: float) -> float:
    """PTUs the load needs before rounding: normalized TPM / input TPM per PTU."""
    return normalized_tpm / input_tpm_per_ptu


def ptus_deployed(required: float, min_ptu: int, increment_ptu: int) -> int:
    """PTUs a deployment must have: at least the minimum, then whole increments above it."""
    if required <= min_ptu:
        return min_ptu
    return min_ptu + increment_ptu * math.ceil((required - min_ptu) / increment_ptu - 1e-9)


def peak_ptus(usage: TokenUsage, catalog: Catalog, model_id: str) -> int:
    """PTUs a Global provisioned deployment needs for the workload's peak rate."""
    ptu = catalog.api_ptu[model_id]
    assert ptu.global_min_ptu is not None and ptu.global_increment_ptu is not None
    per_minute = usage.peak_requests_per_s * SECONDS_PER_MINUTE
    tpm = normalized_tokens_per_minute(per_minute * usage.input_tokens_per_request,
                                       per_minute * usage.output_tokens_per_request,
                                       usage.cached_input_share, ptu.output_to_input_ratio)
    return ptus_deployed(ptus_required(tpm, ptu.input_tpm_per_ptu), ptu.global_min_ptu,
                         ptu.global_increment_ptu)


def cost_components(target: ApiTarget, usage: TokenUsage, catalog: Catalog,
                    model_id: str) -> list[CostComponent]:
    """Provisioned: the PTUs for the peak rate x 730 h at the hourly PTU rate. Otherwise input,
    cached input (only when some input is cached) and output tokens at the API's
    prices per 1M tokens: list prices, or the Batch API's when ``target.batch``."""
    name = catalog.api_models[model_id].name
    if target.provisioned:
        ptus = peak_ptus(usage, catalog, model_id)
        return [CostComponent(f"Provisioned throughput ({name}, {ptus} PTU, Global)",
                              "provisioned_throughput", "month", ptus * HOURS_PER_MONTH,
                              "PTU-hour", api_ptu_key(model_id))]
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


def commitment_prices(target: object) -> None:
    """No commitment plan to size."""
    return None


def price_overrides(target: ApiTarget) -> dict[PriceKey, float]:
    return {}


def findings(target: ApiTarget) -> list[Finding]:
    out = [finding(FindingCode.API_ENERGY_UNPUBLISHED, status="catalog")]
    if target.batch:
        out.append(finding(FindingCode.API_BATCH_TURNAROUND, status="catalog",
                           hours=BATCH_TURNAROUND_HOURS))
    return out


def key_text(target: ApiTarget) -> str:
    return "api" if target.deployment_type == "standard" else f"api/{target.deployment_type}"


def describe(target: ApiTarget, catalog: Catalog, model_id: str) -> str:
    api = catalog.api_models.get(model_id)
    if api is None:
        return "a hosted API"
    # never "… serverless API (MaaS) API": the provider's name may already say it is an API
    return f"the {api.provider}" if "API" in api.provider else f"the {api.provider} API"


def placement(target: ApiTarget, catalog: Catalog) -> Placement:
    """No machine and no region to choose: the provider's list price per token."""
    if target.provisioned:
        return Placement(plan="provisioned throughput units, billed by the hour (Global)")
    return Placement(plan="billed per token (Batch API price)" if target.batch
                     else "billed per token (list price)")


def pricing_variants(target: ApiTarget, catalog: Catalog) -> list[ApiTarget]:
    """No pricing plans to choose between."""
    return []


def payg_counterpart(target: ApiTarget) -> None:
    """No commitment plan to compare against pay-as-you-go."""
    return None


def training_fields(target: ApiTarget) -> None:
    """A hosted API has no hardware to train on."""
    return None
