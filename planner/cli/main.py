"""Command line: ``python -m planner <command> ...``. Every command is a thin layer over the engine."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from planner.errors import PlannerError, ScenarioError
from planner.io.render import render
from planner.registry import (
    ADVISOR_SCALING,
    ENGINE_IDS,
    KV_DTYPES,
    PRECISIONS,
    SCALING_POLICIES,
    TP_DEGREES,
)

FORMATS = ("table", "csv", "json")

Handler = Callable[[argparse.Namespace], int]


def _catalog_records(table: str, data_dir: Path | None) -> list[dict]:
    from planner.catalog import load_catalog

    catalog = load_catalog(data_dir)
    if table == "prices":
        return [_ordered(row.model_dump(mode="json")) for row in catalog.prices]
    source = {
        "models": catalog.models,
        "api-models": catalog.api_models,
        "gpus": catalog.gpus,
        "skus": catalog.skus,
        "hardware": catalog.local_hardware,
        "regions": catalog.regions,
    }[table]
    return [_ordered(row.model_dump(mode="json")) for row in source.values()]


PROVENANCE = ("source", "as_of", "unconfirmed", "notes")


def _ordered(record: dict) -> dict:
    """Identity first, provenance last: easier to read in a table."""
    head = {k: record[k] for k in ("id", "name") if k in record}
    body = {k: v for k, v in record.items() if k not in head and k not in PROVENANCE}
    return {**head, **body, **{k: record[k] for k in PROVENANCE if k in record}}


def cmd_catalog(args: argparse.Namespace) -> int:
    records = _catalog_records(args.table, args.data_dir)
    sys.stdout.write(render(records, args.format))
    return 0


def cmd_throughput(args: argparse.Namespace) -> int:
    from planner.catalog import load_catalog
    from planner.pipeline.estimate import estimate_throughput

    catalog = load_catalog()
    result = estimate_throughput(
        catalog, model_id=args.model, gpu_id=args.gpu, precision=args.precision, tp=args.tp,
        batch=args.batch, input_tokens=args.input_tokens, output_tokens=args.output_tokens,
        engine=args.engine, kv_cache_dtype=args.kv_cache_dtype, context_tokens=args.context_tokens,
    )
    from planner.io.wording import tried_text

    tried = result.pop("fit_tried")
    result["fit_reason"] = (f"fits at tensor parallel {result['tp']}" if result["fits"]
                            else tried_text(tried))
    sys.stdout.write(render([result], args.format) if args.format != "json"
                     else render_json(result))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from planner.catalog import load_catalog
    from planner.io.wording import energy_lines_text, findings_text, fit_text
    from planner.pipeline.plan import plan_scenario
    from planner.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    if args.format == "xlsx" and args.out is None:
        raise ScenarioError("--format xlsx writes a file: add --out FILE.xlsx")
    result = plan_scenario(scenario, load_catalog())
    link = share_query(scenario)
    if args.format == "xlsx":
        from planner.io.files import write_atomic
        from planner.io.workbook import SHEETS, plan_workbook

        write_atomic(args.out, plan_workbook(result, link))
        sys.stdout.write(f"wrote {args.out} ({', '.join(SHEETS)})\n")
        return 0
    if args.format == "json":
        sys.stdout.write(render_json(result.model_dump(mode="json")))
    elif args.format == "csv":
        from planner.io.export import plan_csv

        sys.stdout.write(plan_csv(result, link))
    elif args.format == "energy-csv":
        from planner.io.energy_export import energy_csv

        sys.stdout.write(energy_csv(result, link))
    else:
        sys.stdout.write(render(result.summary_rows(), "table", columns=TABLE_COLUMNS))
        for plan in result.deployments:
            sys.stdout.write(f"\n{plan.label}: {fit_text(plan)}\n")
            for line in plan.cost_lines:
                amount = "MISSING" if line.amount_usd is None else f"${line.amount_usd:,.2f}"
                sys.stdout.write(f"  {line.name}: {amount}\n")
            if plan.energy is not None:
                sys.stdout.write(f"  {energy_lines_text(plan)}\n")
            for text in findings_text(plan.findings):
                sys.stdout.write(f"  ! {text}\n")
        if result.cheapest_label:
            sys.stdout.write(f"\ncheapest that meets the SLOs: {result.cheapest_label}\n")
    return 0


def share_query(scenario) -> str | None:
    """The scenario's share link as a query (append it to the dashboard's address), or None if
    the scenario is too large for a link."""
    from planner.io.sharelink import encode_scenario, share_link_problem, to_query_string

    params = encode_scenario(scenario)
    return None if share_link_problem(params) else "?" + to_query_string(params)


def _csv_list(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip()) if text else ()


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value[:40]!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}, got {number:,}")
        return number
    return parse


def _known(values: tuple[str, ...], choices: Sequence[str], option: str) -> tuple[str, ...]:
    unknown = [v for v in values if v not in choices]
    if unknown:
        raise ScenarioError(f"{option}: unknown {', '.join(unknown)}; choose from "
                            f"{', '.join(choices)}")
    return values


def cmd_advise(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from planner.analyses.advisor import OUTPUT_COLUMNS, SearchSpace, advise
    from planner.catalog import load_catalog
    from planner.io.render import to_table
    from planner.io.wording import (
        ADVISE_TABLE_HEADERS,
        REJECT_TEXT,
        advise_table_records,
        commitment_check_text,
    )
    from planner.scenario import describe_validation_error, load_scenario, scenario_from_dict

    scenario = (load_scenario(args.scenario) if args.scenario else
                scenario_from_dict({"deployments": [{"label": "-", "model": "gpt-4o-mini",
                                                     "target": {"kind": "api"}}]}))
    try:
        space = SearchSpace(
            models=_csv_list(args.models), min_mmlu=args.min_mmlu,
            regions=_csv_list(args.regions) or ("eastus",),
            plans=_csv_list(args.plans) or ("payg", "spot", "reserved-1y", "reserved-3y"),
            precisions=_known(_csv_list(args.precisions), PRECISIONS, "--precisions")
            or PRECISIONS, engine=args.engine,
            scaling=_known(_csv_list(args.scaling), SCALING_POLICIES, "--scaling")
            or ADVISOR_SCALING,
            include_local=not args.no_local, include_api=not args.no_api,
            context_tokens=args.context_tokens)
    except ValidationError as exc:
        raise ScenarioError("search options: " + describe_validation_error(exc)) from exc
    result = advise(scenario.workload, space, load_catalog(), top=args.top)
    ranked = result.ranked.head(args.top) if not result.ranked.empty else None
    rows = ranked[OUTPUT_COLUMNS].to_dict("records") if ranked is not None else []
    if args.format == "json":
        sys.stdout.write(render_json({
            "options_evaluated": result.options_evaluated,
            "viable_options": result.viable_options,
            "search_seconds": round(result.search_seconds, 4),
            "ranked": rows,
            "top_plans": [p.model_dump(mode="json") for p in result.top_plans],
            "commitment_checks": [c.model_dump(mode="json") for c in result.commitment_checks],
            "rejected": result.rejected.to_dict("records"),
        }))
    elif args.format == "csv":
        sys.stdout.write(render(rows, "csv", columns=OUTPUT_COLUMNS))
    else:
        sys.stdout.write(f"{result.options_evaluated:,} options evaluated in "
                         f"{result.search_seconds:.2f} s; {result.viable_options:,} meet the SLOs "
                         "with a known price\n\n")
        table = advise_table_records(ranked.to_dict("records")) if ranked is not None else []
        sys.stdout.write(to_table(table, list(ADVISE_TABLE_HEADERS.values()), max_width=60))
        if result.commitment_checks:
            sys.stdout.write("\ncommitment plans vs the same option autoscaled on "
                             "pay-as-you-go:\n")
            for check in result.commitment_checks:
                sys.stdout.write(f"  {commitment_check_text(check)}\n")
        if not result.rejected.empty:
            by_reason = result.rejected.groupby("reason")["options"].sum().sort_values(
                ascending=False)
            sys.stdout.write("\nrejected, by reason:\n")
            for reason, n in by_reason.head(15).items():
                sys.stdout.write(f"  {n:6,}  {REJECT_TEXT[reason]}\n")
    return 0


TABLE_COLUMNS = ["label", "model", "target", "tp", "batch", "replicas", "gpus", "nodes",
                 "monthly_cost_usd", "cost_per_million_output_tokens_usd", "tpot_ms", "ttft_ms",
                 "energy_kwh_per_month", "co2_kg_per_month"]


def render_json(data: object) -> str:
    from planner.io.render import to_json

    return to_json(data) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m planner",
        description="Cost and capacity planner for language-model deployments.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("catalog", help="print a reference table")
    p.add_argument("table", choices=["models", "api-models", "gpus", "skus", "prices",
                                     "hardware", "regions"])
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--data-dir", type=Path, default=None, help="read tables from this folder")
    p.set_defaults(handler=cmd_catalog)

    p = sub.add_parser("throughput", help="memory fit and tokens/s of one replica")
    p.add_argument("--model", required=True)
    p.add_argument("--gpu", required=True)
    p.add_argument("--precision", required=True, choices=PRECISIONS)
    p.add_argument("--tp", type=int, default=None, choices=TP_DEGREES,
                   help="tensor-parallel degree (default: smallest that fits)")
    p.add_argument("--batch", type=_bounded_int(1, 100_000), default=None,
                   help="concurrent requests (default: largest that fits, capped by the engine)")
    p.add_argument("--input-tokens", type=_bounded_int(1, 1_000_000), default=800)
    p.add_argument("--output-tokens", type=_bounded_int(1, 100_000), default=200)
    p.add_argument("--engine", default="vllm", choices=ENGINE_IDS)
    p.add_argument("--kv-cache-dtype", default=None, choices=KV_DTYPES,
                   help="default: the engine's default for the precision (FP8 for "
                        "TensorRT-LLM FP8/FP4 builds, else 16-bit)")
    p.add_argument("--context-tokens", type=_bounded_int(1, 10_000_000), default=None,
                   help="max model length served")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(handler=cmd_throughput)

    p = sub.add_parser("plan", help="plan every deployment of a scenario file")
    p.add_argument("--scenario", type=Path, required=True, help="JSON or YAML scenario")
    p.add_argument("--format", choices=(*FORMATS, "energy-csv", "xlsx"), default="table",
                   help="csv: one tidy table of cost lines; energy-csv: kWh and kg CO2e by line "
                        "and option with the carbon method; xlsx: an Excel workbook (needs --out)")
    p.add_argument("--out", type=Path, default=None, help="file to write (for --format xlsx)")
    p.set_defaults(handler=cmd_plan)

    p = sub.add_parser("advise", help="search every option for the scenario's workload")
    p.add_argument("--scenario", type=Path, default=None,
                   help="scenario whose workload to serve (default: the default workload)")
    p.add_argument("--top", type=_bounded_int(1, 1000), default=10)
    p.add_argument("--models", help="comma-separated model ids (default: all)")
    p.add_argument("--min-mmlu", type=float, default=None, help="quality floor, MMLU 5-shot")
    p.add_argument("--regions", help="comma-separated Azure regions (default: eastus)")
    p.add_argument("--plans", help="comma-separated pricing plans (default: payg,spot,reserved-1y,"
                   "reserved-3y)")
    p.add_argument("--precisions", help="comma-separated precisions (default: all)")
    p.add_argument("--scaling", help="comma-separated scaling policies of the Azure options "
                   f"({', '.join(SCALING_POLICIES)}; default: {','.join(ADVISOR_SCALING)})")
    p.add_argument("--engine", default="vllm", choices=ENGINE_IDS)
    p.add_argument("--context-tokens", type=_bounded_int(1, 10_000_000), default=None,
                   help="max model length the servers accept (default: each model's maximum)")
    p.add_argument("--no-local", action="store_true", help="leave out local hardware")
    p.add_argument("--no-api", action="store_true", help="leave out hosted APIs")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(handler=cmd_advise)

    from planner.cli import deploy as deploy_cli
    from planner.cli import prices as prices_cli
    from planner.cli import validate as validate_cli

    for module in (prices_cli, validate_cli, deploy_cli):
        module.register(sub)
    return parser


class _PrintableStream:
    """A terminal's text stream that drops control characters (escape sequences in a label or
    a server's error body would otherwise drive the terminal); files and pipes get the bytes
    as they are."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        from planner.io.render import printable

        self._stream.write(printable(text))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    if sys.stdout.isatty() and not isinstance(sys.stdout, _PrintableStream):
        sys.stdout = _PrintableStream(sys.stdout)  # type: ignore[assignment]
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except PlannerError as exc:
        from planner.io.render import printable

        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
