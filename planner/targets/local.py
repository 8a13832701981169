"""Own hardware: machines bought outright, written off straight-line, powered at the site's tariff."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planner.catalog import Catalog
from planner.findings import Finding
from planner.pricing.money import CostComponent
from planner.pricing.resolver import PriceKey, electricity_key, hardware_key
from planner.targets.base import EditorField, Hardware, LinkSpec, NodeUsage, Placement, Site
from planner.targets.common import STRICT, self_hosted_problems
from planner.units import HOURS_PER_YEAR

KIND = "local"
TITLE = "Own hardware"
DEPLOY_EXPORTS: tuple[str, ...] = ()  # cluster manifests this target can be exported to
SELF_HOSTED = True
# Industry-average data-centre PUE 1.58 in 2023 (Uptime Institute, "Large data centers are mostly
# more efficient, analysis confirms", 2023-11-23): the default for on-premises sites.
ON_PREM_DEFAULT_PUE = 1.58


class LocalTarget(BaseModel):
    """Machines bought outright and run on premises."""

    model_config = STRICT

    kind: Literal["local"] = "local"
    hardware: str = Field(min_length=1, max_length=64)
    amortization_years: float = Field(default=3.0, ge=0.25, le=15,
                                      description="years, at least a quarter")
    region: str = Field(default="eastus", min_length=1, max_length=40,
                        description="where it runs: electricity price and grid carbon")
    pue: float | None = Field(default=None, ge=1.0, le=3.0,
                              description="site PUE; default is the industry average")
    electricity_usd_per_kwh: float | None = Field(default=None, gt=0, le=5.0)
    purchase_usd_per_machine: float | None = Field(
        default=None, gt=0, le=100_000_000,
        description="your quote for one machine; default is the catalog's price, if any")


Model = LocalTarget
LINK = LinkSpec(positional=("hardware", "region", "amortization_years"),
                options={"pue": "pue", "kwh": "electricity_usd_per_kwh",
                         "buy": "purchase_usd_per_machine"})
EDITOR: tuple[EditorField, ...] = (
    EditorField("hardware", "hardware", "Machine", "choice",
                choices=lambda cat, v: list(cat.local_hardware),
                label_of=lambda cat, v, h: cat.local_hardware[h].name,
                prefer=("workstation-1x-rtx-4090",)),
    EditorField("region", "lregion", "Site (electricity price and grid carbon of)", "choice",
                choices=lambda cat, v: list(cat.regions),
                label_of=lambda cat, v, r: cat.regions[r].name, prefer=("eastus",)),
    EditorField("amortization_years", "years", "Written off over (years)", "number",
                min_value=0.25, max_value=15.0, step=0.5, number_format="%.1f"),
    EditorField("purchase_usd_per_machine", "buy", "Your quote per machine (USD)", "number",
                advanced=True, min_value=0.0, max_value=100_000_000.0, step=500.0,
                number_format="%.0f", placeholder="catalog price", optional=True),
    EditorField("electricity_usd_per_kwh", "kwh", "Electricity (USD/kWh)", "number",
                advanced=True, min_value=0.0, max_value=5.0, step=0.01, number_format="%.4f",
                placeholder="the site's average", optional=True),
    EditorField("pue", "pue", "Site PUE", "number", advanced=True, min_value=1.0,
                max_value=3.0, step=0.05, number_format="%.2f",
                placeholder=f"industry average {ON_PREM_DEFAULT_PUE}", optional=True),
)


def default() -> LocalTarget:
    return LocalTarget(hardware="workstation-1x-rtx-4090")


def model_ids(catalog: Catalog) -> list[str]:
    return list(catalog.models)


def hardware(target: LocalTarget, catalog: Catalog) -> Hardware:
    hw = catalog.local_hardware[target.hardware]
    return Hardware(catalog.gpus[hw.gpu_id], hw.gpu_count, hw.name, "machine")


def site(target: LocalTarget, catalog: Catalog) -> Site:
    region = catalog.regions.get(target.region)
    return Site(target.region, catalog.local_hardware[target.hardware].host_power_w,
                target.pue or ON_PREM_DEFAULT_PUE, "input" if target.pue else "default",
                region.grid_gco2_per_kwh if region else None)


def catalog_problems(target: LocalTarget, model_id: str, catalog: Catalog, where: str) -> list[str]:
    if target.hardware not in catalog.local_hardware:
        return [f"{where}.target.hardware: unknown hardware {target.hardware!r}"]
    problems = self_hosted_problems(model_id, catalog, where)
    if target.region not in catalog.regions:
        problems.append(f"{where}.target.region: unknown region {target.region!r}")
    return problems


def cost_components(target: LocalTarget, usage: NodeUsage, catalog: Catalog,
                    model_id: str) -> list[CostComponent]:
    """Machine-hours at the purchase price written off over the amortisation years, and the
    facility energy at the site's electricity tariff."""
    kind = "hardware" if usage.purpose == "serving" else "training"
    return [
        CostComponent(f"Hardware ({catalog.local_hardware[target.hardware].name}, straight-line over "
                      f"{target.amortization_years:g} years)", kind, usage.period,
                      usage.nodes * usage.hours, "machine-hour", hardware_key(target.hardware),
                      price_scale=1 / (target.amortization_years * HOURS_PER_YEAR)),
        CostComponent(f"Electricity ({target.region})", "electricity", usage.period,
                      usage.energy_kwh, "kWh", electricity_key(target.region)),
    ]


def price_overrides(target: LocalTarget) -> dict[PriceKey, float]:
    out: dict[PriceKey, float] = {}
    if target.purchase_usd_per_machine is not None:
        out[hardware_key(target.hardware)] = target.purchase_usd_per_machine
    if target.electricity_usd_per_kwh is not None:
        out[electricity_key(target.region)] = target.electricity_usd_per_kwh
    return out


def findings(target: LocalTarget) -> list[Finding]:
    return []


def key_text(target: LocalTarget) -> str:
    return f"local:{target.hardware}/{target.region}"


def describe(target: LocalTarget, catalog: Catalog, model_id: str) -> str:
    hw = catalog.local_hardware.get(target.hardware)
    name = hw.name if hw else target.hardware
    return f"{name} ({target.region}, own hardware over {target.amortization_years:g} y)"


def placement(target: LocalTarget, catalog: Catalog) -> Placement:
    hw = catalog.local_hardware.get(target.hardware)
    return Placement(node=hw.name if hw else target.hardware, region=target.region,
                     plan=f"bought outright, written off over {target.amortization_years:g} years")


def pricing_variants(target: LocalTarget, catalog: Catalog) -> list[LocalTarget]:
    """No pricing plans to choose between."""
    return []


def training_fields(target: LocalTarget) -> dict[str, object]:
    """The fine-tuning job fields that put a training job on this target (the user's quote,
    tariff and PUE included)."""
    return {"hardware": target.hardware, "region": target.region,
            "amortization_years": target.amortization_years, "pue": target.pue,
            "electricity_usd_per_kwh": target.electricity_usd_per_kwh,
            "purchase_usd_per_machine": target.purchase_usd_per_machine}
