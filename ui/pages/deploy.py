"""Deploy & fine-tune: for each Azure option the KAITO manifest and the ``az aks nodepool
add`` command, with what to check before applying them; and a fine-tuning estimator that puts a
one-off fine-tune beside the option's monthly serving cost."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from planner.api import (
    Catalog,
    Deployment,
    DeploymentPlan,
    FinetuneError,
    FinetuneEstimate,
    PlannerError,
    Scenario,
    describe_target,
    finding_text,
    finetune_need_text,
    finetune_suggestions_text,
    hardware_of,
    is_self_hosted,
    module_for,
)
from ui import cached, deploy_data, state
from ui.deploy_data import DeployArtefacts
from ui.format import cur, escape_md, md_usd, money_fmt, number, usd

METHODS = {"full": "Full", "lora": "LoRA", "qlora": "QLoRA"}
LORA_TARGETS = {"all-linear": "all linear layers", "attention": "attention (q, k, v, o)",
                "qv": "query and value only"}
TRAIN_PRECISIONS = ("bf16", "fp16")
METRIC_WIDTH = 185  # two metrics side by side in a 420-px window


def hours_text(hours: float | None) -> str:
    """'0.25 h', '1.4 h', '36 h', '1,234 h (51 days)'; '—' when unknown."""
    if hours is None:
        return "—"
    text = f"{hours:,.2f} h" if hours < 10 else f"{hours:,.1f} h" if hours < 100 else f"{hours:,.0f} h"
    if hours >= 48:
        text += f" ({hours / 24:,.0f} days)"
    return text


def money_or_missing(value: float | None) -> str:
    return "price missing" if value is None else usd(value)


# --- deploy on AKS ----------------------------------------------------------------------------


def _plan_line(dep: Deployment, plan: DeploymentPlan, art: DeployArtefacts) -> str:
    pool, kaito = art.nodepool, art.kaito
    if pool is None or kaito is None:
        return ""
    preset = (f"KAITO preset `{kaito.preset_name}`" if kaito.has_preset
              else f"no KAITO preset: Hugging Face id `{kaito.preset_name}`")
    return (f"**{plan.nodes} × {escape_md(describe_target(dep, cached.catalog()))}** · "
            f"{plan.replicas} replica{'s' if plan.replicas != 1 else ''} × tensor parallel "
            f"{plan.tp} of {escape_md(dep.model)} · autoscaler {pool.min_count}–{pool.max_count} "
            f"nodes · {preset}")


def _deployment_tab(dep: Deployment, plan: DeploymentPlan, art: DeployArtefacts,
                    catalog: Catalog, index: int) -> None:
    if art.status == "api":
        st.info("A hosted API: the provider runs the model and bills per token, so there is "
                "nothing to deploy on AKS.", icon=":material/cloud:")
        return
    if art.status == "local":
        hw = hardware_of(dep, catalog)
        name = hw.node_name if hw else "own hardware"
        st.info(f"Runs on your own hardware ({escape_md(name)}): there is nothing to deploy on "
                "AKS. KAITO manifests and node pools are made for Azure options only.",
                icon=":material/dns:")
        return
    if art.status == "does not fit":
        st.error(f"Does not fit, so there is no manifest to deploy: {escape_md(art.message)}",
                 icon=":material/block:")
        st.caption("Change the option in the editor (a larger GPU, more GPUs per node, a lower "
                   "precision or a shorter context) until it fits.")
        return
    if art.status == "error" or art.kaito is None or art.nodepool is None:
        st.error(f"Cannot export this option: {escape_md(art.message)}", icon=":material/error:")
        return
    st.markdown(_plan_line(dep, plan, art))
    warnings = art.warnings
    if warnings:
        st.warning("**Check before applying:**\n" + "\n".join(f"- {escape_md(w)}" for w in warnings),
                   icon=":material/warning:")
    kaito, pool = art.kaito, art.nodepool
    what = (f"an InferenceSet of {kaito.replicas} Workspaces" if kaito.kind == "InferenceSet"
            else "a Workspace")
    nodes = ("once the spot node pool below exists (KAITO uses those nodes)"
             if kaito.bring_your_own_nodes else
             "once the node pool below exists (or let KAITO provision nodes)")
    st.markdown(f"**KAITO {kaito.kind}** ({what}) — `kubectl apply -f "
                f"{kaito.workspace_name}.yaml` {nodes}")
    st.code(kaito.yaml_text, language="yaml", wrap_lines=True)
    st.download_button("Download KAITO manifest (YAML)", data=kaito.yaml_text,
                       file_name=f"{kaito.workspace_name}.yaml", mime="application/yaml",
                       icon=":material/download:", key=f"dl.kaito.{index}", on_click="ignore")
    st.markdown(f"**AKS GPU node pool** `{pool.pool_name}` — set `RESOURCE_GROUP` and "
                "`CLUSTER_NAME`, then run")
    st.code(pool.command, language="bash", wrap_lines=True)
    st.download_button("Download node-pool command (shell)", data=pool.command,
                       file_name=f"nodepool-{pool.pool_name}.sh", mime="text/x-shellscript",
                       icon=":material/download:", key=f"dl.az.{index}", on_click="ignore")


def deploy_section(scenario: Scenario, result_plans: list[DeploymentPlan],
                   catalog: Catalog) -> None:
    st.subheader("Deploy on AKS with KAITO", anchor=False)
    try:
        arts = deploy_data.artefacts(scenario)
    except PlannerError as exc:
        st.error(f"The deployment files cannot be made: {escape_md(str(exc))}")
        return
    ready = sum(a.status == "ready" for a in arts)
    st.caption(f"{ready} of {len(arts)} options run on Azure and fit: each gets a KAITO manifest "
               "(kaito.sh/v1beta1: a Workspace for one replica, an InferenceSet for several) and "
               "the `az aks nodepool add` command for its GPU node pool, sized from the plan. "
               "Nothing here touches your cluster.")
    tabs = st.tabs([escape_md(d.label) for d in scenario.deployments], key="deploy_tab")
    for i, (tab, dep, plan, art) in enumerate(zip(tabs, scenario.deployments, result_plans, arts,
                                                 strict=True)):
        with tab:
            _deployment_tab(dep, plan, art, catalog, i)


# --- fine-tuning -------------------------------------------------------------------------------


def _gpu_of(dep: Deployment, where: dict, catalog: Catalog):
    """The GPU of the node the job trains on (the option's own, or the one chosen instead)."""
    target = dep.target.model_copy(update=where)
    try:
        hw = module_for(target).hardware(target, catalog)
    except KeyError:
        return None
    return hw.gpu if hw else None


def _train_on(dep: Deployment, catalog: Catalog) -> dict:
    """Where to train: the option's VM size / machine by default, any other on request (the
    target module's first editor field is its node)."""
    module = module_for(dep.target)
    if module.training_fields(dep.target) is None:
        raise ValueError(f"{dep.label!r} is a hosted API: there is nothing to train on")
    node = module.EDITOR[0]
    values = dep.target.model_dump()
    current = values[node.name]
    options = node.choices(catalog, values)
    if current not in options:
        options.insert(0, current)

    def name(choice: str) -> str:
        if node.label_of is None or choice not in node.choices(catalog, values):
            return choice
        return node.label_of(catalog, values, choice)

    chosen = st.selectbox(f"Train on ({node.label})", options, index=options.index(current),
                          format_func=name, key=f"ft.{node.key}.{dep.label}.{current}",
                          help="The option's own by default; priced where it runs "
                               f"({escape_md(describe_target(dep, catalog))}).")
    return {node.name: chosen}


def _inputs(dep: Deployment, where: dict, catalog: Catalog) -> dict:
    """The estimator's inputs as FinetuneJob fields (the option's defaults filled in)."""
    gpu = _gpu_of(dep, where, catalog)
    count_name = "nodes" if "vm_sku" in where else "machines"  # FinetuneJob's count fields
    method_col, precision_col, count_col = st.columns(3)
    with method_col:
        method = st.radio("Method", list(METHODS), index=1, format_func=METHODS.get,
                          horizontal=True, key="ft.method",
                          help="Full: every weight trained (16 bytes per parameter with AdamW). "
                               "LoRA: small adapters on frozen 16-bit weights. QLoRA: adapters on "
                               "4-bit frozen weights (less memory, ~1.6× slower).")
    with precision_col:
        precisions = [p for p in TRAIN_PRECISIONS if gpu is None or p in gpu.native_precisions]
        precisions = precisions or ["fp16"]
        precision = st.radio("Training precision", precisions, horizontal=True,
                             key=f"ft.precision.{'-'.join(precisions)}",
                             help="16-bit mixed precision; bf16 where the GPU has it.")
    with count_col:
        count = st.number_input("VMs" if count_name == "nodes" else "Machines", min_value=1,
                                max_value=1000,
                                value=1, step=1, key="ft.nodes",
                                help="Model states are sharded over all their GPUs (ZeRO-3/FSDP); "
                                     "communication between machines is not modelled.")
    examples_col, tokens_col, epochs_col, mfu_col = st.columns(4)
    with examples_col:
        examples = st.number_input("Dataset examples", min_value=1, max_value=1_000_000_000,
                                   value=20_000, step=1_000, key="ft.examples")
    with tokens_col:
        tokens = st.number_input("Tokens per example", min_value=1, max_value=1_000_000,
                                 value=600, step=100, key="ft.tokens",
                                 help="Average prompt + answer, in tokens.")
    with epochs_col:
        epochs = st.number_input("Epochs", min_value=0.1, max_value=100.0, value=3.0, step=0.5,
                                 key="ft.epochs")
    with mfu_col:
        mfu_pct = st.number_input(
            "MFU (%), optional", min_value=1.0, max_value=100.0, value=None, step=1.0,
            key="ft.mfu", placeholder="fitted (default)",
            help="Model FLOPs utilisation: the share of the GPUs' dense 16-bit peak the training "
                 "reaches. Default: fitted to published fine-tuning runs of the method (the "
                 "median MFU they imply); the range spans the lowest to highest MFU those runs "
                 "imply.")
    with st.expander("More training settings"):
        rank = st.number_input("LoRA rank", min_value=1, max_value=4096, value=16, step=8,
                               key="ft.rank", disabled=method == "full")
        targets = st.selectbox("LoRA adapts", list(LORA_TARGETS), format_func=LORA_TARGETS.get,
                               key="ft.targets", disabled=method == "full")
        checkpointing = st.toggle("Activation checkpointing", value=True, key="ft.ckpt",
                                  help="Keep only each layer's input and recompute the rest in "
                                       "the backward pass: much less activation memory (the "
                                       "extra compute is not modelled).")
    count_field = {count_name: int(count)}
    return deploy_data.job_fields(
        dep, **where, **count_field, method=method, dataset_examples=int(examples),
        tokens_per_example=int(tokens), epochs=float(epochs), precision=precision,
        mfu=None if mfu_pct is None else mfu_pct / 100, lora_rank=int(rank),
        lora_targets=targets, activation_checkpointing=checkpointing)


def _memory(est: FinetuneEstimate) -> None:
    mem = est.memory
    need = finetune_need_text(est)
    if est.fits_memory:
        st.success(f"**Fits in GPU memory**: {escape_md(need)}.", icon=":material/check_circle:")
    else:
        st.error(f"**Does not fit in GPU memory**: needs {escape_md(need)}; try "
                 f"{escape_md(finetune_suggestions_text(est))}.", icon=":material/block:")
    rows = [("Weights", mem.weights_gb), ("Gradients", mem.gradients_gb),
            ("Optimizer states", mem.optimizer_gb), ("Adapters (+ their optimizer)", mem.adapters_gb),
            ("Activations", mem.activations_gb), ("Framework overhead", mem.overhead_gb),
            ("Total per GPU", mem.total_gb), ("Usable per GPU", mem.usable_gb)]
    with st.expander(f"Memory per GPU by bucket (model states sharded over "
                     f"{mem.sharded_over_gpus} GPU{'s' if mem.sharded_over_gpus != 1 else ''})"):
        st.dataframe(pd.DataFrame(rows, columns=["Bucket", "GB"]), hide_index=True, placeholder="—",
                     column_config={"GB": st.column_config.NumberColumn(format="%.1f")},
                     key="ft.memory_table")


def _cost_lines(est: FinetuneEstimate) -> None:
    rows = [{"Cost line": line.name,
             cur("Amount (USD)"): "price missing" if line.amount_usd is None else usd(line.amount_usd),
             "Quantity": line.quantity, "Unit": line.unit, cur("Unit price (USD)"): line.unit_price_usd,
             "Price status": line.status, "Note": line.note or line.price_key}
            for line in est.cost_lines]
    if not rows:
        st.caption("No cost lines: the training time is unknown.")
        return
    st.dataframe(pd.DataFrame(rows), hide_index=True, placeholder="—", key="ft.cost_lines", column_config={
        "Quantity": st.column_config.NumberColumn(format="%.2f"),
        cur("Unit price (USD)"): st.column_config.NumberColumn(format=money_fmt("$%.4f")),
    })
    st.caption("One-off amounts for the whole job (not monthly). A missing price is flagged and "
               "never counted as $0.")


def _headline(dep: Deployment, plan: DeploymentPlan, est: FinetuneEstimate) -> None:
    """Fine-tune once beside the option's monthly serving cost, and the first year's total."""
    year = deploy_data.year_cost(plan, est)
    with st.container(horizontal=True, key="ft_headline"):
        low = est.cost_usd_at_low_mfu
        st.metric("Fine-tune (once)", money_or_missing(year.finetune_usd), border=True,
                  delta=None if low is None or year.finetune_usd is None
                  else f"up to {usd(low)}",
                  delta_color="off", delta_arrow="off", width=METRIC_WIDTH)
        serving = "does not fit" if not plan.fits else money_or_missing(year.monthly_usd)
        st.metric(f"Serving {escape_md(dep.label)} (per month)", serving, border=True,
                  width=METRIC_WIDTH)
        st.metric("First 12 months", money_or_missing(year.total_usd), border=True,
                  delta=None if year.total_low_mfu_usd is None
                  else f"up to {usd(year.total_low_mfu_usd)}",
                  delta_color="off", delta_arrow="off", width=METRIC_WIDTH,
                  help="Fine-tune once + 12 months of serving.")
    if year.total_usd is not None:
        st.caption(f"First 12 months = fine-tune + 12 months of serving "
                   f"({md_usd(year.serving_year_usd)}: {escape_md(year.basis)}); \"up to\" uses "
                   f"the fine-tune at {est.mfu_low:.1%} MFU.")
    else:
        st.markdown(":orange[12-month total unknown — price missing: "
                    + escape_md("; ".join(year.missing)) + "]")


def _figures(est: FinetuneEstimate) -> None:
    """Hours (with the low-MFU bound), GPU-hours and memory per GPU against usable."""
    with st.container(horizontal=True, key="ft_figures"):
        low, high = est.wall_clock_hours_at_low_mfu, est.wall_clock_hours_at_high_mfu
        st.metric("Training time", hours_text(est.wall_clock_hours), border=True,
                  delta=None if low is None or high is None
                  else f"range {hours_text(high)} – {hours_text(low)}",
                  delta_color="off", delta_arrow="off", width=METRIC_WIDTH,
                  help=f"Wall-clock hours at MFU {est.mfu:.1%} "
                       f"({'as given' if est.mfu_basis == 'given' else 'fitted to published runs'}"
                       f"); the range is at {est.mfu_high:.1%} to {est.mfu_low:.1%} MFU, the "
                       "highest and lowest published fine-tuning runs imply.")
        st.metric("GPU-hours", "—" if est.gpu_hours is None else f"{est.gpu_hours:,.1f}",
                  border=True, width=METRIC_WIDTH,
                  delta=f"{est.gpus} GPU{'s' if est.gpus != 1 else ''}", delta_color="off",
                  delta_arrow="off")
        mem = est.memory
        st.metric("Memory per GPU", f"{mem.total_gb:,.1f} GB", border=True, width=METRIC_WIDTH,
                  delta=f"{'fits' if est.fits_memory else 'does not fit'}: "
                        f"{mem.usable_gb:,.1f} GB usable",
                  delta_color="normal" if est.fits_memory else "inverse",
                  delta_arrow="off")


def finetune_section(scenario: Scenario, plans: list[DeploymentPlan], catalog: Catalog) -> None:
    st.subheader("Fine-tuning estimator", anchor=False)
    hosted = [(d, p) for d, p in zip(scenario.deployments, plans, strict=True)
              if is_self_hosted(d.target)]
    if not hosted:
        st.info("Every option is a hosted API, whose provider does any fine-tuning: add an Azure "
                "or own-hardware option in the editor to estimate one.", icon=":material/cloud:")
        return
    labels = [d.label for d, _ in hosted]
    if st.session_state.get("ft.deployment") not in labels:
        st.session_state["ft.deployment"] = labels[0]
    option_col, train_col = st.columns(2)
    with option_col:
        label = st.selectbox("Option to fine-tune", labels, key="ft.deployment",
                             help="Its model, and by default its VM size or machine, region and "
                                  "pricing plan.")
    dep, plan = next((d, p) for d, p in hosted if d.label == label)
    with train_col:
        where = _train_on(dep, catalog)
    fields = _inputs(dep, where, catalog)
    try:
        est = deploy_data.finetune(fields)
    except FinetuneError as exc:
        st.error(f"Cannot estimate this fine-tune: {escape_md(str(exc))}", icon=":material/error:")
        return
    st.markdown(f"**Fine-tune once, then serve monthly** — {escape_md(est.model_name)} "
                f"({est.params_b:g} B parameters, {number(est.trainable_params / 1e6, 1)} M "
                f"trainable) with {METHODS[est.job.method]} on {est.gpus} × "
                f"{escape_md(est.gpu_name)}: {number(est.training_tokens / 1e6, 1)} M training "
                f"tokens, {est.training_flops:.2e} FLOPs ({escape_md(est.flops_formula)}).")
    _headline(dep, plan, est)
    _figures(est)
    _memory(est)
    st.markdown("**Cost of the fine-tune**")
    _cost_lines(est)
    if est.findings:
        st.warning("\n".join(f"- {escape_md(finding_text(f))}" for f in est.findings),
                   icon=":material/warning:")
    with st.expander(f"Assumptions ({len(est.assumptions)})", icon=":material/info:"):
        st.markdown("\n".join(f"- {escape_md(a)}" for a in est.assumptions))


def main() -> None:
    scenario = state.current_scenario()
    catalog = cached.catalog()
    st.title("Deploy & fine-tune", anchor=False)
    st.caption(f"Scenario {escape_md(scenario.name)}: deployment files for each Azure option, and "
               "what fine-tuning a model would add to its cost.")
    try:
        result = cached.plan(scenario)
    except PlannerError as exc:
        st.error(f"The planner cannot plan this scenario: {escape_md(str(exc))}")
        return
    deploy_section(scenario, result.deployments, catalog)
    finetune_section(scenario, result.deployments, catalog)


main()
