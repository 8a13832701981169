"""``python -m planner export ...`` and ``python -m planner finetune ...``.

``export`` plans a scenario and prints, for one Azure deployment, the KAITO Workspace manifest
(``--kind kaito``) or the ``az aks nodepool add`` command (``--kind az``); warnings go to stderr.
``finetune`` estimates the time, memory and cost of fine-tuning a model. Both are thin layers over
:mod:`planner.io.kaito` and :mod:`planner.pipeline.finetune`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    from planner.io.files import write_atomic

    write_atomic(out, text)
    print(f"wrote {out}", file=sys.stderr)


def cmd_export(args: argparse.Namespace) -> int:
    from planner.catalog import load_catalog
    from planner.io.kaito import ExportError, kaito_export, nodepool_export
    from planner.pipeline.plan import plan_scenario
    from planner.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    catalog = load_catalog()
    result = plan_scenario(scenario, catalog)
    plan = next((p for p in result.deployments if p.label == args.deployment), None)
    if plan is None:
        labels = ", ".join(repr(p.label) for p in result.deployments)
        raise ExportError(f"no deployment labelled {args.deployment!r} (labels: {labels})")
    if args.kind == "kaito":
        export = kaito_export(plan, scenario, catalog)
        _warn(export.warnings)
        _write(export.yaml_text, args.out)
    else:
        pool = nodepool_export(plan, scenario, catalog)
        _warn(pool.warnings)
        _write(pool.command, args.out)
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from planner.catalog import load_catalog
    from planner.cli.main import render_json
    from planner.io.render import render
    from planner.io.wording import findings_text, finetune_fit_text
    from planner.pipeline.finetune import estimate_finetune

    fields = {
        "model": args.model, "method": args.method, "dataset_examples": args.examples,
        "tokens_per_example": args.tokens_per_example, "epochs": args.epochs,
        "precision": args.precision, "region": args.region, "pricing": args.pricing,
        "lora_rank": args.lora_rank, "lora_targets": args.lora_targets,
        "mfu": args.mfu,
        "micro_batch_size": args.micro_batch_size, "max_seq_tokens": args.max_seq_tokens,
        "activation_checkpointing": not args.no_activation_checkpointing,
    }
    if args.vm_sku:
        fields.update(vm_sku=args.vm_sku, nodes=args.nodes)
    else:
        fields.update(hardware=args.hardware, machines=args.machines)
    est = estimate_finetune(load_catalog(), **fields)
    if args.format == "json":
        sys.stdout.write(render_json(est.model_dump(mode="json")))
        _warn(findings_text(est.findings))
        return 0
    mem = est.memory
    summary = {
        "model": est.model_name, "method": est.job.method, "target": est.target,
        "gpus": est.gpus, "training_tokens": est.training_tokens,
        "trainable_params": est.trainable_params, "training_flops": est.training_flops,
        "mfu": est.mfu, "wall_clock_hours": est.wall_clock_hours, "gpu_hours": est.gpu_hours,
        "mfu_basis": est.mfu_basis, "mfu_low": est.mfu_low, "mfu_high": est.mfu_high,
        "wall_clock_hours_at_high_mfu": est.wall_clock_hours_at_high_mfu,
        "wall_clock_hours_at_low_mfu": est.wall_clock_hours_at_low_mfu,
        "memory_per_gpu_gb": mem.total_gb, "usable_gb": mem.usable_gb,
        "fits_memory": est.fits_memory, "cost_usd": est.cost_usd,
        "cost_usd_at_high_mfu": est.cost_usd_at_high_mfu,
        "cost_usd_at_low_mfu": est.cost_usd_at_low_mfu,
    }
    if args.format == "csv":
        sys.stdout.write(render([summary], "csv"))
        _warn(findings_text(est.findings))
        return 0
    sys.stdout.write(render([{"quantity": k, "value": v} for k, v in summary.items()], "table"))
    sys.stdout.write(f"\n{finetune_fit_text(est)}\n")
    for line in est.cost_lines:
        amount = "MISSING" if line.amount_usd is None else f"${line.amount_usd:,.2f}"
        sys.stdout.write(f"  {line.name}: {line.quantity:,.2f} {line.unit} -> {amount}\n")
    for text in est.assumptions:
        sys.stdout.write(f"  assumption: {text}\n")
    _warn(findings_text(est.findings))
    return 0


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from exc
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from exc
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number")
    return number


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` and ``finetune`` commands."""
    p = sub.add_parser(
        "export", help="KAITO Workspace or az node-pool command for a planned Azure deployment",
        description="Plan the scenario and print the deployment artefact for one Azure "
                    "deployment; warnings go to stderr.")
    p.add_argument("--scenario", type=Path, required=True, help="JSON or YAML scenario")
    p.add_argument("--deployment", required=True, metavar="LABEL", help="deployment label")
    p.add_argument("--kind", choices=["kaito", "az"], required=True,
                   help="kaito: Workspace manifest (YAML); az: az aks nodepool add command")
    p.add_argument("--out", type=Path, default=None, help="write to FILE instead of stdout")
    p.set_defaults(handler=cmd_export)

    f = sub.add_parser(
        "finetune", help="time, memory and cost of fine-tuning a model",
        description="Estimate full / LoRA / QLoRA fine-tuning: FLOPs, memory per GPU, hours at a "
                    "stated MFU and cost at the SKU's price.")
    f.add_argument("--model", required=True, help="model id (python -m planner catalog models)")
    f.add_argument("--method", choices=["full", "lora", "qlora"], default="lora")
    f.add_argument("--examples", type=_positive_int, required=True, help="dataset examples")
    f.add_argument("--tokens-per-example", type=_positive_int, required=True,
                   help="average tokens per example (prompt + answer)")
    f.add_argument("--epochs", type=_positive_float, default=3.0)
    f.add_argument("--precision", choices=["bf16", "fp16"], default="bf16")
    where = f.add_mutually_exclusive_group(required=True)
    where.add_argument("--vm-sku", help="Azure GPU VM size, e.g. Standard_NC24ads_A100_v4")
    where.add_argument("--hardware", help="local hardware id (python -m planner catalog hardware)")
    f.add_argument("--nodes", type=_positive_int, default=1, help="Azure VMs (with --vm-sku)")
    f.add_argument("--machines", type=_positive_int, default=1, help="machines (with --hardware)")
    f.add_argument("--region", default="eastus")
    f.add_argument("--pricing", default="payg",
                   choices=["payg", "spot", "reserved-1y", "reserved-3y", "savings-1y",
                            "savings-3y"])
    f.add_argument("--lora-rank", type=_positive_int, default=16)
    f.add_argument("--lora-targets", choices=["qv", "attention", "all-linear"],
                   default="all-linear")
    f.add_argument("--mfu", type=_positive_float, default=None,
                   help="model FLOPs utilisation, 0-1 (default: fitted to the published "
                        "fine-tuning runs of the method, planner.pipeline.finetune."
                        "fitted_finetune_mfu)")
    f.add_argument("--micro-batch-size", type=_positive_int, default=1)
    f.add_argument("--max-seq-tokens", type=_positive_int, default=None,
                   help="longest sequence, for memory (default: --tokens-per-example)")
    f.add_argument("--no-activation-checkpointing", action="store_true")
    f.add_argument("--format", choices=["table", "csv", "json"], default="table")
    f.set_defaults(handler=cmd_finetune)
