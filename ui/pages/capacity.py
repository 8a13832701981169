"""Capacity detail of one option: memory per GPU, the batch chosen and why, throughput with its
stated error, and the arithmetic from peak traffic to nodes."""

from __future__ import annotations

import streamlit as st

from planner.api import (
    DeploymentPlan,
    PlannerError,
    Scenario,
    batch_limit_text,
    finding_text,
    fit_text,
    is_self_hosted,
)
from ui import cached, charts, state
from ui.format import accuracy_text, cur, escape_md, headline, md_usd, money_fmt, number, percent
from ui.tables import arrow_table

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
CHOICE_KEY = "capacity_choice"


LIMIT_WORDS = {"memory": "memory bound", "tpot_slo": "SLO bound", "ttft_slo": "SLO bound",
               "engine_cap": "engine cap", "unmet": "SLO unmet", "given": "batch given"}


def batch_limit_phrase(plan: DeploymentPlan) -> str:
    """What limited the batch, in one Markdown phrase (from the batch choice's ``limit``)."""
    t = plan.throughput
    if t is None:
        return ""
    text = f"**{LIMIT_WORDS[t.limit]}**: {escape_md(batch_limit_text(t))}."
    if t.limit == "unmet":
        text += " The replica runs one request at a time and is still too slow."
    return text


def _memory(plan: DeploymentPlan, scenario: Scenario) -> None:
    mem = plan.memory
    if mem is None:
        return
    st.subheader("Memory per GPU", anchor=False)
    st.plotly_chart(charts.Prevalidated(charts.memory_breakdown_spec(plan)), config=PLOTLY_CONFIG,
                    key="chart_memory")
    w = scenario.workload
    rows = [
        ("GPU memory", mem.gpu_mem_gb, "datasheet"),
        ("Usable by the server", mem.usable_gb, "90 % (vLLM's default gpu_memory_utilization)"),
        ("Weights", mem.weights_gb,
         f"{plan.precision}, split over tensor parallel {plan.tp}, ×1.02 load factor"),
        ("KV cache at the chosen batch", mem.kv_cache_gb,
         f"{mem.kv_cache_bytes_per_token / 1e3:,.0f} kB per token × "
         f"{w.input_tokens + w.output_tokens:,} tokens × batch"),
        ("Runtime overhead", mem.runtime_overhead_gb, "activations + CUDA context (KAITO, vLLM)"),
        ("Communication buffers", mem.comm_buffers_gb, "NCCL, only when tensor parallel is 2 or more"),
        ("Free", mem.free_gb, "left unused"),
    ]
    table = arrow_table([{"Bucket": bucket, "GB": gb, "How": how} for bucket, gb, how in rows])
    st.dataframe(table, hide_index=True, placeholder="—",
                 column_config={"GB": st.column_config.NumberColumn(format="%.1f")},
                 key="memory_table")
    st.caption(f"Room for {mem.max_batch:,} concurrent requests of "
               f"{w.input_tokens + w.output_tokens:,} tokens; the server reserves a context of "
               f"{mem.context_tokens:,} tokens per request for the fit check.")


def _batch(plan: DeploymentPlan, scenario: Scenario) -> None:
    t = plan.throughput
    if t is None:
        return
    w = scenario.workload
    st.subheader("Batch and latency", anchor=False)
    st.markdown(f"Each replica runs **{t.batch} concurrent requests**: {batch_limit_phrase(plan)}")
    with st.container(horizontal=True):
        ok_tpot = "✓" if t.tpot_ms <= w.tpot_slo_ms else "✗"
        ok_ttft = "✓" if t.ttft_ms <= w.ttft_slo_ms else "✗"
        st.metric("Time per output token", f"{t.tpot_ms:,.0f} ms", border=True,
                  delta=f"{ok_tpot} SLO {w.tpot_slo_ms:,.0f} ms", delta_color="off",
                  delta_arrow="off")
        st.metric("Time to first token", f"{t.ttft_ms:,.0f} ms", border=True,
                  delta=f"{ok_ttft} SLO {w.ttft_slo_ms:,.0f} ms", delta_color="off",
                  delta_arrow="off")
    curve = cached.batch_curve(scenario, plan.label)
    if curve:
        spec = charts.batch_curve_spec(curve, plan, w.tpot_slo_ms, w.ttft_slo_ms)
        st.plotly_chart(charts.Prevalidated(spec), config=PLOTLY_CONFIG, key="chart_batch")


def _throughput(plan: DeploymentPlan) -> None:
    t = plan.throughput
    if t is None:
        return
    st.subheader("Throughput of one replica", anchor=False)
    band, ape = accuracy_text(cached.accuracy())

    def ranged(value: float, unit: str) -> str:
        if ape is None:
            return f"{value:,.0f} {unit}"
        return f"{value:,.0f} {unit} (range {value * (1 - ape):,.0f}–{value * (1 + ape):,.0f})"

    span = plan.output_tokens_per_s_range
    output = (f"{t.output_tokens_per_s:,.0f} tokens/s (80 % range {span[0]:,.0f}–{span[1]:,.0f})"
              if span else ranged(t.output_tokens_per_s, "tokens/s"))
    st.markdown(
        f"- Output: **{output}** at batch {t.batch}, prefill included\n"
        f"- Requests: **{t.requests_per_s:,.2f} per second** per replica\n"
        f"- Prefill: {ranged(t.prefill_tokens_per_s, 'input tokens/s')}\n"
        f"- Engine profile: {plan.engine_profile}, tensor parallel {plan.tp}")
    if ape is None:
        st.info(band[0].upper() + band[1:] + ".", icon=":material/science:")
    else:
        st.caption(f"Throughput error band: {band}."
                   + (" The output range is a calibrated 80 % interval: in tests that predicted "
                      "each publication from a fit without it, this kind of range held the "
                      "measured figure about four times in five." if span else ""))


def _replicas(plan: DeploymentPlan, scenario: Scenario) -> None:
    z = plan.sizing
    if z is None:
        return
    w = scenario.workload
    st.subheader("From traffic to nodes", anchor=False)
    st.markdown(
        f"1. Peak traffic: {number(w.requests_per_day)} requests/day ÷ 86,400 s × "
        f"{w.peak_to_average:g} = **{z.peak_requests_per_s:,.2f} requests/s**\n"
        f"2. Replicas: {z.peak_requests_per_s:,.2f} ÷ ({z.replica_requests_per_s:,.2f} per "
        f"replica × {percent(w.target_utilization)} target utilisation) = {z.raw_replicas:,.2f} → "
        f"**{z.replicas}** (at least {w.min_replicas})\n"
        f"3. GPUs: {z.replicas} replicas × tensor parallel {plan.tp} = **{z.gpus}**\n"
        f"4. Nodes: {z.replicas} replicas ÷ {z.replicas_per_node} per node "
        f"({plan.gpus_per_node} GPUs each) = **{z.nodes}**\n"
        f"5. Average utilisation {percent(z.utilization)}: idle capacity costs "
        f"{md_usd(plan.idle_cost_usd_per_month)}/month of the total.")


def _cost_lines(plan: DeploymentPlan) -> None:
    st.subheader("Cost lines", anchor=False)
    rows = [{"Cost line": line.name, "Quantity": line.quantity, "Unit": line.unit,
             cur("Unit price (USD)"): line.unit_price_usd, cur("Monthly (USD)"): line.amount_usd,
             "Price status": line.status, "Price key": line.price_key, "Source": line.source,
             "Note": line.note} for line in plan.cost_lines]
    st.dataframe(arrow_table(rows), hide_index=True, placeholder="—", key="cost_lines",
                 column_config={
        cur("Unit price (USD)"): st.column_config.NumberColumn(format=money_fmt("$%.4f")),
        cur("Monthly (USD)"): st.column_config.NumberColumn(format=money_fmt("dollar")),
        "Quantity": st.column_config.NumberColumn(format="localized"),
    })


def main() -> None:
    scenario = state.current_scenario()
    catalog = cached.catalog()
    st.title("Capacity detail", anchor=False)
    try:
        result = cached.plan(scenario)
    except PlannerError as exc:
        st.error(f"The planner cannot plan this scenario: {escape_md(str(exc))}")
        return
    labels = [d.label for d in scenario.deployments]
    if st.session_state.get(CHOICE_KEY) not in labels:
        hosted = [d.label for d in scenario.deployments if is_self_hosted(d.target)]
        st.session_state[CHOICE_KEY] = (hosted or labels)[0]
    label = st.selectbox("Option", labels, key=CHOICE_KEY)
    index = labels.index(label)
    dep, plan = scenario.deployments[index], result.deployments[index]
    st.markdown(headline(dep, plan, catalog, plan.label == result.cheapest_label))
    if not is_self_hosted(dep.target):
        st.info("A hosted API: the provider runs the capacity and bills per token, so there is no "
                "memory, batch or node count to plan. Its cost lines:", icon=":material/cloud:")
        _cost_lines(plan)
        return
    if not plan.fits:
        st.error(f"Does not fit: {escape_md(fit_text(plan))}", icon=":material/block:")
        st.caption("Try a larger GPU, more GPUs per node (tensor parallelism), a lower precision, "
                   "or a shorter maximum context (More settings in the editor).")
        return
    _memory(plan, scenario)
    _batch(plan, scenario)
    _throughput(plan)
    _replicas(plan, scenario)
    _cost_lines(plan)
    if plan.findings:
        st.subheader("Warnings and estimates", anchor=False)
        st.markdown("\n".join(f"- {escape_md(finding_text(f))}" for f in plan.findings))


main()
