"""Excel workbook of a planned scenario (openpyxl): the answer, its cost lines, the next 12 months,
every assumption with its status and source, and the scenario with its share link.

Sheets: **Summary** (one row per option), **Cost lines** (the tidy CSV's table),
**12-month projection** (one row per month, one column per option), **Energy and CO2** (kWh and
kg CO2e per month by line per option, with the carbon method and grid year), **Assumptions** (every input,
default and estimate the plan used, with status and source) and **Scenario** (the inputs, the
share link and the scenario as JSON). Numbers are written as numbers with currency formats; header
rows are frozen and the option column pinned. No cell is a formula: every text cell is neutralised
(:func:`~planner.io.render.spreadsheet_safe`) and stored as a string, so user text starting with
``= + - @`` stays text. Amounts come from :mod:`planner.pricing`; no arithmetic here.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from planner.io.energy_export import ENERGY_COLUMNS, all_energy_rows
from planner.io.export import (
    COLUMNS,
    cost_line_rows,
    in_currency,
    placement_cells,
    result_currency,
)
from planner.io.render import spreadsheet_safe
from planner.io.wording import (
    ASSUMPTION_STATUS_TEXT,
    DEPLOYMENT_DEFAULT_TEXT,
    DEPLOYMENT_FIELD_TEXT,
    EXCLUDED_TEXT,
    NOT_APPLICABLE,
    UNKNOWN,
    WORKLOAD_FIELD_TEXT,
    finding_text,
    option_status_text,
)
from planner.physics import energy, memory
from planner.pipeline.plan import DeploymentPlan, PlanResult
from planner.pricing.money import cents
from planner.pricing.projection import MONTHS, serving_by_month, year_cost
from planner.scenario import Deployment, Workload
from planner.targets import module_for
from planner.units import HOURS_PER_MONTH

SHEETS = ("Summary", "Cost lines", "12-month projection", "Energy and CO2", "Assumptions",
          "Scenario")
USD_FORMAT = '"$"#,##0.00'
USD_SMALL_FORMAT = '"$"#,##0.0000'
NUMBER_FORMAT = "#,##0.######"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE6F5")
MAX_COLUMN_WIDTH = 60


def _cell_value(value: Any) -> Any:
    return spreadsheet_safe(value) if isinstance(value, str) else value


def _write_table(ws: Worksheet, header: Sequence[str], rows: Iterable[Sequence[Any]],
                 formats: dict[str, str] | None = None, pin_first_column: bool = True) -> None:
    """A header row (bold, frozen) and rows of values; text stored as text, never a formula."""
    formats = formats or {}
    ws.append([_cell_value(h) for h in header])
    for cell in ws[1]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [len(h) for h in header]
    for row in rows:
        ws.append([None if v is None else _cell_value(v) for v in row])
        for i, value in enumerate(row):
            widths[i] = max(widths[i], min(len(str(value)) if value is not None else 0,
                                           MAX_COLUMN_WIDTH))
    for col, name in enumerate(header, start=1):
        letter = get_column_letter(col)
        ws.column_dimensions[letter].width = min(max(widths[col - 1], 8) + 2, MAX_COLUMN_WIDTH)
        for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, even if it looks like a formula
            elif name in formats and cell.value is not None:
                cell.number_format = formats[name]
    ws.freeze_panes = "B2" if pin_first_column else "A2"


def _usd_columns(header: Sequence[str], small: Sequence[str] = (),
                 currency: str = "USD") -> dict[str, str]:
    """Number formats of the money columns: $ for USD, the ISO code after the number otherwise."""
    big, little = ((USD_FORMAT, USD_SMALL_FORMAT) if currency == "USD" else
                   (f'#,##0.00 "{currency}"', f'#,##0.0000 "{currency}"'))
    return {in_currency(h, currency): (little if h in small else big) for h in header
            if "USD" in h}


SUMMARY_HEADER = ["Option", "Model", "Target kind", "VM size or machine", "Region", "Plan",
                  "Status", "Monthly cost (USD)", f"{MONTHS}-month cost (USD)",
                  "Monthly cost, low (USD)", "Monthly cost, high (USD)",
                  "Per 1M output tokens (USD)", "Per 1M tokens, input + output (USD)",
                  "Per 1,000 requests (USD)", "GPUs", "Nodes", "Cheapest",
                  "What is missing or why not"]


def summary_rows(result: PlanResult) -> list[list[Any]]:
    rows = []
    for plan in result.deployments:
        year = year_cost(plan, None).serving_year_usd if plan.fits else None
        missing = "; ".join(line.name for line in plan.cost_lines if line.amount_usd is None)
        why = option_status_text(plan)
        note = missing if plan.fits and missing else ("" if why == "ok" else why)
        low, high = plan.monthly_cost_range_usd or (None, None)
        rows.append([plan.label, plan.model_name, *placement_cells(plan), why,
                     cents(plan.monthly_cost_usd), cents(year), cents(low), cents(high),
                     plan.cost_per_million_output_tokens_usd, plan.cost_per_million_tokens_usd,
                     plan.cost_per_thousand_requests_usd,
                     plan.gpus, plan.nodes, "yes" if plan.label == result.cheapest_label else "",
                     note])
    return rows


def projection_rows(result: PlanResult) -> tuple[list[str], list[list[Any]]]:
    """Month 1..12 down, options across (USD); an unknown month is left blank."""
    header = ["Month", *[f"{p.label} (USD)" for p in result.deployments]]
    by_option = [serving_by_month(p)[0] if p.fits else None for p in result.deployments]
    rows = [[month + 1, *[cents(m[month]) if m is not None else None for m in by_option]]
            for month in range(MONTHS)]
    years = [year_cost(p, None).serving_year_usd if p.fits else None for p in result.deployments]
    rows.append([f"{MONTHS} months", *[cents(y) for y in years]])
    return header, rows


ASSUMPTION_HEADER = ["Option", "Assumption", "Value", "Unit", "Status", "Source"]


def _status_of(value: Any, default: Any) -> str:
    return ASSUMPTION_STATUS_TEXT["default" if value == default else "input"]


def _workload_rows(workload: Workload) -> list[list[Any]]:
    rows = []
    for name, (what, unit) in WORKLOAD_FIELD_TEXT.items():
        value = getattr(workload, name)
        rows.append(["all options", what, value, unit,
                     _status_of(value, Workload.model_fields[name].default), "scenario"])
    return rows


def _deployment_rows(dep: Deployment, plan: DeploymentPlan) -> list[list[Any]]:
    rows = []
    module = module_for(dep.target)
    if module.SELF_HOSTED:
        for name, what in DEPLOYMENT_FIELD_TEXT.items():
            value = getattr(dep, name)
            default = Deployment.model_fields[name].default
            shown = value if value is not None else DEPLOYMENT_DEFAULT_TEXT.get(name, UNKNOWN)
            rows.append([dep.label, what, shown, "", _status_of(value, default), "scenario"])
    for field in module.EDITOR:
        value = getattr(dep.target, field.name)
        default = type(dep.target).model_fields[field.name].default
        shown = value if value is not None else (field.placeholder or UNKNOWN)
        rows.append([dep.label, field.label, shown, "", _status_of(value, default), "scenario"])
    for line in plan.cost_lines:
        price = line.unit_price_usd
        rows.append([dep.label, f"Price: {line.name}", price if price is not None else UNKNOWN,
                     f"{line.currency} per {line.unit}", ASSUMPTION_STATUS_TEXT[line.status],
                     line.source or NOT_APPLICABLE])
    for f in plan.findings:
        if f.status in ("default", "estimate"):
            rows.append([dep.label, finding_text(f), "", "", ASSUMPTION_STATUS_TEXT[f.status],
                         f.source or "planner"])
    return rows


def planner_constant_rows() -> list[list[Any]]:
    """The fixed assumptions of the method (the Methodology page quotes the same)."""
    src = "planner method (see the Methodology page)"
    d = ASSUMPTION_STATUS_TEXT["default"]
    return [
        ["all options", "Hours in a month", HOURS_PER_MONTH, "hours", d, src],
        ["all options", "Share of GPU memory usable by the engine", memory.USABLE_MEMORY_FRACTION,
         "fraction", d, src],
        ["all options", "Weights loaded with overhead factor", memory.WEIGHT_LOAD_FACTOR, "×", d,
         src],
        ["all options", "GPU idle power as a share of its TDP", energy.IDLE_POWER_FRACTION_OF_TDP,
         "fraction", d, src],
    ]


def assumption_rows(result: PlanResult) -> list[list[Any]]:
    rows = _workload_rows(result.scenario.workload)
    for dep, plan in zip(result.scenario.deployments, result.deployments, strict=True):
        rows += _deployment_rows(dep, plan)
    return rows + planner_constant_rows()


def scenario_rows(result: PlanResult, share_link: str | None) -> list[list[Any]]:
    s = result.scenario
    oldest, newest = result.oldest_price_date, result.newest_price_date
    rows: list[list[Any]] = [
        ["Scenario", s.name],
        ["Share link", share_link or "not available (open the scenario in the dashboard)"],
        ["Oldest price date", str(oldest) if oldest else UNKNOWN],
        ["Newest price date", str(newest) if newest else UNKNOWN],
        ["Cheapest that fits, is fully priced and meets the SLOs",
         result.cheapest_label or "none"],
        ["Not included", EXCLUDED_TEXT],
    ]
    rows += [[what, getattr(s.workload, name)] for name, (what, _) in WORKLOAD_FIELD_TEXT.items()]
    rows += [[f"Option {i}", f"{d.label}: {d.model} on {module_for(d.target).TITLE}"]
             for i, d in enumerate(s.deployments, start=1)]
    rows.append(["Scenario (JSON)", json.dumps(s.model_dump(mode="json"), separators=(",", ":"))])
    return rows


def plan_workbook(result: PlanResult, share_link: str | None = None) -> bytes:
    """The workbook as .xlsx bytes."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEETS[0]
    cur = result_currency(result)

    def relabel(header: Sequence[str]) -> list[str]:
        return [in_currency(h, cur) for h in header]

    _write_table(ws, relabel(SUMMARY_HEADER), summary_rows(result),
                 _usd_columns(SUMMARY_HEADER, small=("Per 1M output tokens (USD)",
                                                     "Per 1M tokens, input + output (USD)",
                                                     "Per 1,000 requests (USD)"), currency=cur))
    ws = wb.create_sheet(SHEETS[1])
    lines = [row for plan in result.deployments for row in cost_line_rows(plan)]
    formats = _usd_columns(COLUMNS, small=("Unit price (USD per unit)",), currency=cur)
    formats["Quantity (per month)"] = NUMBER_FORMAT
    _write_table(ws, relabel(COLUMNS), lines, formats)
    ws = wb.create_sheet(SHEETS[2])
    header, rows = projection_rows(result)
    _write_table(ws, relabel(header), rows, _usd_columns(header, currency=cur))
    ws = wb.create_sheet(SHEETS[3])
    number_columns = [c for c in ENERGY_COLUMNS if c.startswith(("kWh", "kg CO2e"))]
    _write_table(ws, ENERGY_COLUMNS, all_energy_rows(result),
                 dict.fromkeys(number_columns, NUMBER_FORMAT))
    ws = wb.create_sheet(SHEETS[4])
    _write_table(ws, ASSUMPTION_HEADER, assumption_rows(result))
    ws = wb.create_sheet(SHEETS[5])
    _write_table(ws, ["Field", "Value"], scenario_rows(result, share_link))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
