"""Azure Kubernetes Service: a GPU node pool of one VM size, in a region, under a pricing plan."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planner.catalog import Catalog
from planner.findings import Finding, FindingCode, finding
from planner.pricing.money import CostComponent
from planner.pricing.resolver import PriceKey, platform_key, vm_key
from planner.registry import COMMITMENT_PLANS, PLAN_NAMES, PRICING_PLANS, PricingPlan
from planner.targets.base import EditorField, Hardware, LinkSpec, NodeUsage, Placement, Site
from planner.targets.common import STRICT, self_hosted_problems

KIND = "azure"
TITLE = "Azure (AKS)"
DEPLOY_EXPORTS: tuple[str, ...] = ("kaito", "az")  # cluster manifests this target can be exported to
SELF_HOSTED = True
SERVING_COST_BY_NODES = True
SYSTEM_NODE_PRICE_ID = "system-node-Standard_D4ds_v5"
SYSTEM_NODE_VM = "Standard_D4ds_v5"
# EcoLogits' LLM-inference methodology (genai-impact/ecologits docs/methodology/llm_inference.md,
# commit 004ec913): a high-end 8-GPU cloud server draws 1 kW without its GPUs -> 125 W per GPU slot.
HOST_POWER_W_PER_GPU_SLOT = 1000 / 8


class AzureTarget(BaseModel):
    """An AKS GPU node pool of one VM size."""

    model_config = STRICT

    kind: Literal["azure"] = "azure"
    vm_sku: str = Field(min_length=1, max_length=64)
    region: str = Field(default="eastus", min_length=1, max_length=40)
    pricing: PricingPlan = "payg"
    cluster_tier: Literal["free", "standard"] = "standard"
    system_nodes: int = Field(default=1, ge=0, le=100,
                              description="nodes in the AKS system pool (CPU VMs)")
    spot_base_nodes: int | None = Field(
        default=None, ge=0, le=1000,
        description="spot plans: GPU nodes kept on a regular pay-as-you-go pool (the base that "
                    "is never evicted); default = the nodes min_replicas need; 0 = all spot")


Model = AzureTarget
LINK = LinkSpec(positional=("vm_sku", "region", "pricing"),
                options={"tier": "cluster_tier", "sys": "system_nodes", "base": "spot_base_nodes"})


def _sku_label(catalog: Catalog, values: dict, sku_id: str) -> str:
    sku = catalog.skus[sku_id]
    gpu = catalog.gpus[sku.gpu_id]
    retired = " — retired" if sku.retired else ""
    return f"{sku_id.removeprefix('Standard_')} · {sku.gpu_count}× {gpu.mem_gb:g} GB {gpu.id}{retired}"


def _plan_label(catalog: Catalog, values: dict, plan: str) -> str:
    row = catalog.price(values.get("vm_sku", ""), values.get("region", ""), plan)
    flag = "" if row is not None and row.price_per_hour is not None else " (no price)"
    return PLAN_NAMES[plan] + flag  # type: ignore[index]


EDITOR: tuple[EditorField, ...] = (
    EditorField("vm_sku", "sku", "Azure VM size (node)", "choice",
                choices=lambda cat, v: list(cat.skus), label_of=_sku_label,
                prefer=("Standard_NC24ads_A100_v4",)),
    EditorField("region", "region", "Region", "choice",
                choices=lambda cat, v: cat.sku_regions(v.get("vm_sku", "")) or ["eastus"],
                prefer=("eastus",)),
    EditorField("pricing", "pricing", "Pricing plan", "choice",
                choices=lambda cat, v: list(PRICING_PLANS), label_of=_plan_label),
    EditorField("cluster_tier", "tier", "AKS tier", "choice", advanced=True,
                choices=lambda cat, v: ["standard", "free"]),
    EditorField("system_nodes", "sys", "System-pool nodes", "number", advanced=True,
                min_value=0, max_value=100, step=1),
)


def default() -> AzureTarget:
    return AzureTarget(vm_sku="Standard_NC24ads_A100_v4")


def model_ids(catalog: Catalog) -> list[str]:
    return list(catalog.models)


def hardware(target: AzureTarget, catalog: Catalog) -> Hardware:
    sku = catalog.skus[target.vm_sku]
    return Hardware(catalog.gpus[sku.gpu_id], sku.gpu_count, sku.id, "node", sku.retired)


def site(target: AzureTarget, catalog: Catalog) -> Site:
    region = catalog.regions.get(target.region)
    gpus = catalog.skus[target.vm_sku].gpu_count
    water = catalog.water.get(target.region)
    return Site(target.region, gpus * HOST_POWER_W_PER_GPU_SLOT,
                region.pue if region else None, "catalog",
                region.grid_gco2_per_kwh if region else None,
                water.wue_l_per_kwh if water else None, water.source if water else "")


def catalog_problems(target: AzureTarget, model_id: str, catalog: Catalog, where: str) -> list[str]:
    sku = catalog.skus.get(target.vm_sku)
    if sku is None:
        return [f"{where}.target.vm_sku: unknown VM size {target.vm_sku!r}"]
    problems = []
    regions = catalog.sku_regions(sku.id)
    if target.region not in regions:
        problems.append(f"{where}.target.region: {sku.id} has no price in {target.region!r} "
                        f"(regions in the snapshot: {', '.join(regions) or 'none'})")
    return [*self_hosted_problems(model_id, catalog, where), *problems]


def cost_components(target: AzureTarget, usage: NodeUsage, catalog: Catalog,
                    model_id: str) -> list[CostComponent]:
    """GPU node-hours at the plan's price; when serving, the AKS tier fee and the system pool."""
    plan = PLAN_NAMES[target.pricing]
    if usage.purpose == "training":
        return [CostComponent(f"Training nodes ({target.vm_sku}, {plan})", "training", usage.period,
                              usage.nodes * usage.hours, "node-hour",
                              vm_key(target.vm_sku, target.region, target.pricing))]
    if target.pricing == "spot":
        out = _spot_pools(target, usage)
    elif target.pricing in COMMITMENT_PLANS and usage.node_hours is not None:
        out = _committed_base(target, usage)
    else:
        out = [CostComponent(f"GPU nodes ({target.vm_sku}, {plan})", "gpu_nodes", usage.period,
                             usage.gpu_node_hours, "node-hour",
                             vm_key(target.vm_sku, target.region, target.pricing))]
    out += [CostComponent(f"AKS cluster management ({target.cluster_tier} tier)", "cluster",
                         usage.period, usage.hours, "cluster-hour",
                         platform_key(f"aks-tier-{target.cluster_tier}", target.region))]
    if target.system_nodes:
        out.append(CostComponent(
            f"System node pool ({SYSTEM_NODE_VM}, pay-as-you-go)", "system_nodes", usage.period,
            target.system_nodes * usage.hours, "node-hour",
            platform_key(SYSTEM_NODE_PRICE_ID, target.region)))
    return out


def spot_base(target: AzureTarget, usage: NodeUsage) -> int:
    """GPU nodes of a spot option kept on a regular pool: the stated base, else the plan's
    (the nodes min_replicas need), never more than the nodes planned."""
    base = target.spot_base_nodes if target.spot_base_nodes is not None else usage.base_nodes
    return min(base or 0, usage.nodes)


def _spot_pools(target: AzureTarget, usage: NodeUsage) -> list[CostComponent]:
    """Spot as burst: the base on a regular pay-as-you-go pool all period, the rest of the
    node-hours on spot (evictable, so the caveat is in the line's name, next to its amount)."""
    base = spot_base(target, usage)
    base_hours = base * usage.hours
    return [
        CostComponent(f"GPU nodes, regular pool: base of {base} ({target.vm_sku}, pay-as-you-go)",
                      "gpu_nodes", usage.period, base_hours, "node-hour",
                      vm_key(target.vm_sku, target.region, "payg")),
        CostComponent(f"GPU nodes, spot pool: burst ({target.vm_sku}, spot; evictable at 30 s "
                      "notice)", "gpu_nodes", usage.period,
                      max(0.0, usage.gpu_node_hours - base_hours), "node-hour",
                      vm_key(target.vm_sku, target.region, "spot")),
    ]


def committed_base(usage: NodeUsage) -> int:
    """GPU nodes a commitment plan covers when a scaling policy follows the traffic: the count
    the plan chose (:mod:`planner.pricing.commitment`), else the nodes min_replicas need (the
    autoscaler's default floor); never more than the nodes planned."""
    base = usage.committed_nodes if usage.committed_nodes is not None else usage.base_nodes
    return min(base or 0, usage.nodes)


def _committed_base(target: AzureTarget, usage: NodeUsage) -> list[CostComponent]:
    """A reservation or savings plan bills every hour of its term whether the node runs or not,
    so under autoscaling the committed nodes are billed all period and the node-hours held
    above them are pay-as-you-go."""
    plan = PLAN_NAMES[target.pricing]
    base = committed_base(usage)
    base_hours = base * usage.hours
    burst = (usage.burst_node_hours if usage.burst_node_hours is not None
             else max(0.0, usage.gpu_node_hours - base_hours))
    return [
        CostComponent(f"GPU nodes, committed base of {base} ({target.vm_sku}, {plan}; billed "
                      "every hour)", "gpu_nodes", usage.period, base_hours, "node-hour",
                      vm_key(target.vm_sku, target.region, target.pricing)),
        CostComponent(f"GPU nodes, autoscaled above the base ({target.vm_sku}, pay-as-you-go)",
                      "gpu_nodes", usage.period, burst, "node-hour",
                      vm_key(target.vm_sku, target.region, "payg")),
    ]


def commitment_prices(target: AzureTarget) -> tuple[PriceKey, PriceKey] | None:
    """(the commitment's node-hour price, pay-as-you-go's) for a target on a commitment plan
    (the plan sizes its committed nodes from the two), else None."""
    if target.pricing not in COMMITMENT_PLANS:
        return None
    return (vm_key(target.vm_sku, target.region, target.pricing),
            vm_key(target.vm_sku, target.region, "payg"))


def price_overrides(target: AzureTarget) -> dict[PriceKey, float]:
    return {}


def findings(target: AzureTarget) -> list[Finding]:
    if target.pricing == "spot":
        return [finding(FindingCode.SPOT_EVICTION, status="catalog")]
    return []


def key_text(target: AzureTarget) -> str:
    return f"azure:{target.vm_sku}/{target.region}/{target.pricing}"


def describe(target: AzureTarget, catalog: Catalog, model_id: str) -> str:
    return f"{target.vm_sku} ({target.region}, {PLAN_NAMES[target.pricing]})"


def placement(target: AzureTarget, catalog: Catalog) -> Placement:
    return Placement(node=target.vm_sku, region=target.region, plan=PLAN_NAMES[target.pricing])


def pricing_variants(target: AzureTarget, catalog: Catalog) -> list[AzureTarget]:
    """The same node pool under every pricing plan the snapshot has a row for."""
    return [target.model_copy(update={"pricing": plan}) for plan in PRICING_PLANS
            if catalog.price(target.vm_sku, target.region, plan) is not None]


def payg_counterpart(target: AzureTarget) -> tuple[PricingPlan, AzureTarget] | None:
    """(the commitment plan, the same node pool on pay-as-you-go) when the target is on a
    commitment plan (:data:`~planner.registry.COMMITMENT_PLANS`), else None."""
    if target.pricing not in COMMITMENT_PLANS:
        return None
    return target.pricing, target.model_copy(update={"pricing": "payg"})


def training_fields(target: AzureTarget) -> dict[str, object]:
    """The fine-tuning job fields that put a training job on this target."""
    return {"vm_sku": target.vm_sku, "region": target.region, "pricing": target.pricing}
