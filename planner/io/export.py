"""CSV export of a planned scenario: one row per deployment, then one per cost line.

Units are in the column headers; the scenario (as JSON) and the price snapshot date are recorded in
leading comment-free metadata rows so the file stands on its own in a spreadsheet. Every text cell
is neutralised against formula injection (see planner.io.render.spreadsheet_safe).
"""

from __future__ import annotations

import csv
import io
import json

from planner.io.render import CSV_DIGITS, cell_text, spreadsheet_safe
from planner.io.wording import findings_text
from planner.pipeline.plan import PlanResult, summary_row

DEPLOYMENT_COLUMNS = [
    "label", "model", "target", "precision", "tp", "batch", "replicas", "gpus", "nodes",
    "monthly_cost_usd", "cost_per_million_output_tokens_usd",
    "usage_cost_per_million_output_tokens_usd", "cost_per_thousand_requests_usd", "utilization",
    "tpot_ms", "ttft_ms", "energy_kwh_per_month", "co2_kg_per_month", "findings",
]
COST_LINE_COLUMNS = ["label", "cost_line", "kind", "period", "quantity", "unit", "unit_price_usd",
                     "amount_usd", "currency", "price_status", "price_key", "price_source", "note"]


def _row(values: list) -> list:
    return [spreadsheet_safe(cell_text(v, CSV_DIGITS)) for v in values]


def plan_csv(result: PlanResult) -> str:
    """The comparison as CSV text (metadata, deployments, cost lines)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(_row(["scenario_name", result.scenario.name]))
    w.writerow(_row(["oldest_price_date", result.oldest_price_date]))
    w.writerow(_row(["newest_price_date", result.newest_price_date]))
    w.writerow(_row(["cheapest", result.cheapest_label or ""]))
    w.writerow(_row(["scenario_json", json.dumps(result.scenario.model_dump(mode="json"),
                                                 separators=(",", ":"))]))
    w.writerow([])
    w.writerow(DEPLOYMENT_COLUMNS)
    for plan in result.deployments:
        row = {**summary_row(plan), "findings": findings_text(plan.findings)}
        w.writerow(_row([row[c] for c in DEPLOYMENT_COLUMNS]))
    w.writerow([])
    w.writerow(COST_LINE_COLUMNS)
    for plan in result.deployments:
        for line in plan.cost_lines:
            w.writerow(_row([plan.label, line.name, line.kind, line.period, line.quantity,
                             line.unit, line.unit_price_usd, line.amount_usd, line.currency,
                             line.status, line.price_key, line.source, line.note]))
    return out.getvalue()
