"""Own hardware: machines bought outright and what owning them costs.

Cost lines (each a :class:`CostComponent` naming its price key): the purchase price written off
straight-line over the amortisation years less the residual (resale) value; support and
maintenance as a share of the purchase price per year; colocation per kW of the machines' rated
power per month (``hosting="colocation"``; an own facility has none, its cooling is in the PUE);
the facility energy at the site's electricity tariff; and optional staff hours at an hourly rate
the user enters (no default: a rate with hours but no price is flagged missing, never 0).
Defaults come from ``data/onprem_costs.csv`` (with their sources) and are all editable."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from planner.catalog import Catalog
from planner.findings import Finding
from planner.pricing.money import CostComponent
from planner.pricing.resolver import PriceKey, electricity_key, hardware_key, onprem_rate_key
from planner.targets.base import EditorField, Hardware, LinkSpec, NodeUsage, Placement, Site
from planner.targets.common import STRICT, self_hosted_problems
from planner.units import HOURS_PER_MONTH, HOURS_PER_YEAR

KIND = "local"
TITLE = "Own hardware"
DEPLOY_EXPORTS: tuple[str, ...] = ()  # cluster manifests this target can be exported to
SELF_HOSTED = True
SERVING_COST_BY_NODES = False
# Industry-average data-centre PUE 1.58 in 2023 (Uptime Institute, "Large data centers are mostly
# more efficient, analysis confirms", 2023-11-23): the default for on-premises sites.
ON_PREM_DEFAULT_PUE = 1.58
SUPPORT_DEFAULT_ID = "support_share_of_capex_per_year"  # rows of data/onprem_costs.csv
COLOCATION_RATE_ID = "colocation_usd_per_kw_month"
STAFF_RATE_ID = "staff_usd_per_hour"  # no catalog default: the user's own rate


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
    residual_share: float = Field(
        default=0.0, ge=0, lt=1,
        description="resale value at the end of the write-off, share of the purchase price")
    support_share_per_year: float | None = Field(
        default=None, ge=0, le=1,
        description="support and maintenance per year, share of the purchase price; "
                    "default from data/onprem_costs.csv")
    hosting: Literal["own", "colocation"] = Field(
        default="own", description="own facility (cooling in the PUE) or colocation per kW-month")
    colocation_usd_per_kw_month: float | None = Field(
        default=None, gt=0, le=10_000,
        description="colocation price per kW of rated power per month; default from the catalog")
    staff_hours_per_month: float = Field(default=0.0, ge=0, le=10_000,
                                         description="operations staff hours per month")
    staff_usd_per_hour: float | None = Field(default=None, gt=0, le=10_000,
                                             description="loaded cost of one staff hour")


Model = LocalTarget
LINK = LinkSpec(positional=("hardware", "region", "amortization_years"),
                options={"pue": "pue", "kwh": "electricity_usd_per_kwh",
                         "buy": "purchase_usd_per_machine", "resid": "residual_share",
                         "supp": "support_share_per_year", "host": "hosting",
                         "colo": "colocation_usd_per_kw_month", "staffh": "staff_hours_per_month",
                         "staffr": "staff_usd_per_hour"})
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
    EditorField("residual_share", "resid", "Resale value at the end (share of price)", "number",
                advanced=True, min_value=0.0, max_value=0.95, step=0.05, number_format="%.2f"),
    EditorField("support_share_per_year", "supp", "Support and maintenance per year (share of "
                "price)", "number", advanced=True, min_value=0.0, max_value=1.0, step=0.01,
                number_format="%.2f", optional=True,
                placeholder_of=lambda cat, v: _default_text(cat, SUPPORT_DEFAULT_ID)),
    EditorField("hosting", "host", "Where it is hosted", "choice", advanced=True,
                choices=lambda cat, v: ["own", "colocation"],
                label_of=lambda cat, v, h: {"own": "Own facility (cooling in the PUE)",
                                            "colocation": "Colocation (per kW-month)"}[h]),
    EditorField("colocation_usd_per_kw_month", "colo", "Colocation (USD per kW-month)", "number",
                advanced=True, min_value=0.0, max_value=10_000.0, step=5.0, number_format="%.2f",
                optional=True, placeholder_of=lambda cat, v: _default_text(cat, COLOCATION_RATE_ID)),
    EditorField("staff_hours_per_month", "staffh", "Staff hours per month", "number",
                advanced=True, min_value=0.0, max_value=10_000.0, step=1.0, number_format="%.1f"),
    EditorField("staff_usd_per_hour", "staffr", "Staff cost (USD per hour)", "number",
                advanced=True, min_value=0.0, max_value=10_000.0, step=5.0, number_format="%.2f",
                optional=True, placeholder="your loaded rate"),
)


def _default_text(catalog: Catalog, rate_id: str) -> str:
    """The catalog default of a rate, as the editor's placeholder (e.g. ``default 0.10``)."""
    row = catalog.onprem_costs.get(rate_id)
    return "no default" if row is None else f"default {row.value:g}"


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


def support_share(target: LocalTarget, catalog: Catalog) -> float | None:
    """Support and maintenance per year as a share of the purchase price (the user's, else the
    catalog default; None if neither)."""
    if target.support_share_per_year is not None:
        return target.support_share_per_year
    row = catalog.onprem_costs.get(SUPPORT_DEFAULT_ID)
    return None if row is None else row.value


def machine_rated_kw(target: LocalTarget, catalog: Catalog) -> float:
    """Rated power of one machine in kW: host power plus the GPUs' TDP. A GPU without a TDP of
    its own is integrated (Apple M-series): the machine's host power already includes it."""
    hw = catalog.local_hardware[target.hardware]
    tdp_w = catalog.gpus[hw.gpu_id].tdp_w or 0.0
    return (hw.host_power_w + hw.gpu_count * tdp_w) / 1000


def cost_components(target: LocalTarget, usage: NodeUsage, catalog: Catalog,
                    model_id: str) -> list[CostComponent]:
    """Machine-hours at the purchase price less its residual value written off over the
    amortisation years; support as a share of the price per year; colocation per kW-month of
    rated power; the facility energy at the site's tariff; staff hours at the user's rate."""
    kind = "hardware" if usage.purpose == "serving" else "training"
    machine_hours = usage.nodes * usage.hours
    name = catalog.local_hardware[target.hardware].name
    resid = (f", less {target.residual_share:.0%} resale value" if target.residual_share else "")
    out = [
        CostComponent(f"Hardware ({name}, straight-line over {target.amortization_years:g} "
                      f"years{resid})", kind, usage.period, machine_hours, "machine-hour",
                      hardware_key(target.hardware),
                      price_scale=(1 - target.residual_share)
                      / (target.amortization_years * HOURS_PER_YEAR)),
    ]
    share = support_share(target, catalog)
    if share is None or share > 0:
        out.append(CostComponent(
            f"Support and maintenance ({'unknown share' if share is None else f'{share:.0%}'} "
            "of the purchase price per year)", "support", usage.period,
            machine_hours if share is not None else None, "machine-hour",
            hardware_key(target.hardware), price_scale=(share or 0.0) / HOURS_PER_YEAR))
    if target.hosting == "colocation":
        kw = machine_rated_kw(target, catalog)
        out.append(CostComponent(
            "Colocation (per kW of rated power)", "hosting", usage.period,
            usage.nodes * kw * usage.hours / HOURS_PER_MONTH,
            "kW-month", onprem_rate_key(COLOCATION_RATE_ID)))
    out.append(CostComponent(f"Electricity ({target.region})", "electricity", usage.period,
                             usage.energy_kwh, "kWh", electricity_key(target.region)))
    if target.staff_hours_per_month > 0 and usage.purpose == "serving":
        out.append(CostComponent("Staff time", "staff", usage.period,
                                 target.staff_hours_per_month * usage.hours / HOURS_PER_MONTH,
                                 "staff-hour", onprem_rate_key(STAFF_RATE_ID)))
    return out


def commitment_prices(target: object) -> None:
    """No commitment plan to size."""
    return None


def price_overrides(target: LocalTarget) -> dict[PriceKey, float]:
    out: dict[PriceKey, float] = {}
    if target.purchase_usd_per_machine is not None:
        out[hardware_key(target.hardware)] = target.purchase_usd_per_machine
    if target.electricity_usd_per_kwh is not None:
        out[electricity_key(target.region)] = target.electricity_usd_per_kwh
    if target.colocation_usd_per_kw_month is not None:
        out[onprem_rate_key(COLOCATION_RATE_ID)] = target.colocation_usd_per_kw_month
    if target.staff_usd_per_hour is not None:
        out[onprem_rate_key(STAFF_RATE_ID)] = target.staff_usd_per_hour
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


def payg_counterpart(target: LocalTarget) -> None:
    """No commitment plan to compare against pay-as-you-go."""
    return None


def training_fields(target: LocalTarget) -> dict[str, object]:
    """The fine-tuning job fields that put a training job on this target (the user's quote,
    tariff and PUE included)."""
    return {"hardware": target.hardware, "region": target.region,
            "amortization_years": target.amortization_years, "pue": target.pue,
            "electricity_usd_per_kwh": target.electricity_usd_per_kwh,
            "purchase_usd_per_machine": target.purchase_usd_per_machine}
