"""Energy and CO2 of a planned scenario as a table: one row per energy line per option.

The lines are the plan's (:class:`planner.physics.energy.EnergyReport`): GPUs serving, GPUs idle,
host, facility overhead and embodied, each with kWh and kg CO2e per month, their low and high
figures, and the carbon method with the grid data's year. The CSV (``plan --format energy-csv``,
the dashboard's energy download) and the workbook's "Energy and CO2" sheet use the same rows.
This module does no arithmetic: the figures are the plan's, written to 6 significant digits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from planner.io.export import comment_lines, placement_cells, significant
from planner.io.render import spreadsheet_safe
from planner.io.wording import CARBON_METHOD_TEXT, ENERGY_KIND_TEXT, NOT_APPLICABLE, fit_text
from planner.pipeline.plan import DeploymentPlan, PlanResult

ENERGY_COLUMNS = [
    "Option", "Model", "Target kind", "VM size or machine", "Region", "Plan", "Line",
    "kWh per month", "kWh low", "kWh high", "kg CO2e per month", "kg CO2e low", "kg CO2e high",
    "Carbon method", "Grid g CO2e per kWh", "Grid year", "Market g CO2e per kWh", "PUE",
    "Source",
]


def _line_source(plan: DeploymentPlan, kind: str) -> str:
    e = plan.energy
    assert e is not None
    return {
        "gpu_busy": f"GPU power {e.busy_power_status} ({e.busy_power_source})",
        "gpu_idle": f"idle power {e.idle_power_status}",
        "host": "host power per node of the target (planner method)",
        "facility_overhead": f"PUE {e.pue_status}",
        "embodied": e.embodied_source,
    }[kind]


def energy_rows(plan: DeploymentPlan) -> Iterator[list[Any]]:
    """One row per energy line of an option; one row saying why when it has none."""
    head = [plan.label, plan.model_name, *placement_cells(plan)]
    e = plan.energy
    if e is None:
        why = ("hosted API: its provider publishes no energy figures" if plan.fit.status == "hosted"
               else fit_text(plan) if not plan.fits else "energy unknown (see the findings)")
        yield [*head, NOT_APPLICABLE, *[None] * 6, "", None, None, None, None, why]
        return
    for line in e.lines:
        yield [*head, ENERGY_KIND_TEXT[line.kind], significant(line.kwh_per_month),
               significant(line.kwh_low), significant(line.kwh_high),
               significant(line.co2_kg_per_month), significant(line.co2_kg_low),
               significant(line.co2_kg_high), CARBON_METHOD_TEXT[e.carbon_method],
               significant(e.grid_gco2_per_kwh), e.grid_year, e.market_gco2_per_kwh,
               e.pue, _line_source(plan, line.kind)
               + (f"; grid: {e.grid_source}" if line.kind != "embodied" and e.grid_source
                  else "")]


def all_energy_rows(result: PlanResult) -> list[list[Any]]:
    return [row for plan in result.deployments for row in energy_rows(plan)]


def energy_csv(result: PlanResult, share_link: str | None = None) -> str:
    """Energy and CO2 by line as tidy CSV text: the ``#`` comment block, then one table."""
    out = io.StringIO()
    for line in comment_lines(result, share_link):
        out.write(line + "\n")
    out.write("# Energy and CO2: one row per line per option; a month is 730 hours; low/high = "
              "bursty to spread-out traffic. Total per option: sum by Option.\n")
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(ENERGY_COLUMNS)
    for row in all_energy_rows(result):
        writer.writerow(["" if v is None else spreadsheet_safe(v) for v in row])
    return out.getvalue()
