"""Methodology: how every number is worked out, in plain language, with the constants read from
the engine (so this page cannot drift from the code) and links to the sources."""

from __future__ import annotations

import streamlit as st

from planner.api import methodology_constants
from ui import cached
from ui.format import accuracy_text
from ui.tables import arrow_table

SOURCES = {
    "KAITO's SKU calculation (memory overheads)":
        "https://github.com/kaito-project/kaito/blob/main/presets/workspace/generator/model-sku-calculation.md",
    "vLLM engine arguments (gpu_memory_utilization, max_num_seqs)":
        "https://docs.vllm.ai/en/latest/serving/engine_args.html",
    "Azure Retail Prices API": "https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices",
    "AKS pricing tiers": "https://learn.microsoft.com/azure/aks/free-standard-pricing-tiers",
    "EcoLogits methodology (server power without GPUs; embodied GPU and server factors, 3-year life)":
        "https://ecologits.ai/latest/methodology/llm_inference/",
    "The ML.ENERGY Leaderboard v3.0 (measured GPU power and J/token by model, GPU and batch)":
        "https://ml.energy/leaderboard",
    "Google Cloud region-carbon-info (location-based grid intensity 2024-2025)":
        "https://github.com/GoogleCloudPlatform/region-carbon-info",
    "NVIDIA HGX H100 product carbon footprint (164 kg CO2e per GPU, via EcoLogits)":
        "https://images.nvidia.com/aem-dam/Solutions/documents/HGX-H100-PCF-Summary.pdf",
    "Green Software Foundation real-time-cloud (PUE, grid carbon)":
        "https://github.com/Green-Software-Foundation/real-time-cloud",
    "EIA Electric Power Annual (electricity prices)":
        "https://www.eia.gov/electricity/annual/",
    "Uptime Institute 2023 (average PUE 1.58)":
        "https://uptimeinstitute.com/resources/research-and-reports",
    "infracost (730 hours per month, unknown is not zero)": "https://github.com/infracost/infracost",
}


GLOSSARY = """
#### Words used on these pages
- **TTFT — time to first token**: how long a person waits before the first word of an answer
  appears (prefill of the prompt plus queueing), in milliseconds.
- **TPOT — time per output token**: the time between two words (tokens) of an answer once it
  is streaming, in milliseconds; 100 ms is about 10 tokens a second, faster than reading.
- **TP — tensor parallel**: how many GPUs one copy of the model is split across (1, 2, 4 or 8).
  "2 copies × tensor parallel 2" is 4 GPUs. A larger split fits bigger models and answers faster,
  but costs more GPUs per copy.
- **KV cache**: the memory a GPU keeps for every request in flight (the attention keys and values
  of its tokens so far). It grows with the context length and the number of concurrent requests,
  so it, with the weights, sets how many requests one copy can serve at once (the batch).
- **Batch**: requests one copy of the model serves at the same time.
- **Replica**: one running copy of the model; **node**: one VM or machine holding GPUs.
- **Pricing plans**: *pay-as-you-go* (by the hour, no commitment), *spot* (spare capacity at a
  discount, can be taken back at 30 s notice), *1- or 3-year reservation* and *savings plan*
  (a discount for committing to a year or three, billed every hour whether used or not: with
  the autoscaler, the planner commits each node that is in service in more than the
  commitment's share of the pay-as-you-go price of the day's hours, and pays the rest
  pay-as-you-go).
- **Per 1M output tokens**: the monthly cost divided by the output tokens served in the month;
  the *busy share* leaves out what idle capacity costs.
"""


def main() -> None:
    profiles = cached.profiles()
    k = methodology_constants()
    band, _ = accuracy_text(cached.accuracy())
    check = k.energy_check
    energy_check = (
        f"predicted J per output token is within a median {check['median_abs_error']:.0%} of "
        f"{check['points']} published points ({check['models']} models, batch "
        f"{check['batch_min']}-{check['batch_max']}; by GPU: "
        + ", ".join(f"{gpu} {err:.0%}" for gpu, err in check["median_abs_error_by_gpu"].items())
        + "), each model's runs predicted from a power table built without them "
          "(`benchmarks/energy_check.py`). The end-to-end figure over the planner's own "
          "throughput is printed by the same script." if check else
        "not recorded (run `benchmarks/energy_check.py --write`).")
    st.title("Methodology", anchor=False)
    st.markdown(GLOSSARY)
    st.markdown(f"""
Every figure follows one pipeline: **workload → memory fit → throughput at the SLOs → replicas →
GPUs → nodes → cost lines → totals → energy and CO2**. Each step is a small function of the
`planner` package, which the command line uses too; the numbers on every page come from it.

#### 1. Does the model fit?
Per GPU, with the model split over *TP* GPUs (tensor parallelism: 1, 2, 4 or 8, dividing the
model's attention and KV heads):

- **weights** = parameters × bytes per parameter (fp16/bf16 2, fp8/int8 1, int4 0.5 plus
  group-scale metadata) × {k.weight_load_factor} ÷ TP
- **runtime overhead** = {k.activation_gib_per_gpu} GiB activations +
  {k.non_torch_gib_per_gpu} GiB CUDA context and other non-PyTorch memory
- **communication buffers** = {k.nccl_gib_per_gpu_tp} GiB NCCL when TP ≥ 2
- **KV cache** = 2 (K and V) × layers × KV heads × head size × bytes (fp16 2, fp8 1) per token,
  ÷ TP
- The server may use {k.usable_memory_fraction:.0%} of GPU memory. The model fits if
  weights, overheads and the KV cache of one request at the full context fit in it; the smallest
  TP that fits is chosen unless you set one.

#### 2. How many requests can one replica serve?
A roofline model: a decode step reads the weights and every running request's KV cache from
memory and does 2 × active parameters FLOPs per token; it takes the longer of the memory time and
the compute time, plus a fixed per-step overhead, slowed by tensor-parallel communication. Prefill
is compute-bound. With continuous batching each user's **time per output token** includes their
share of other requests' prefills.

The **batch** (concurrent requests per replica) is the largest that (a) fits the KV cache in
memory, (b) keeps time per output token and time to first token within the SLOs, and (c) the
engine allows. The Capacity page says which of these stopped it.

Efficiency factors per engine (share of peak bandwidth / compute reached, per-step overhead):
""")
    # built once per process and price snapshot: a list of dicts is turned into pandas, then
    # Arrow, on every run
    st.dataframe(cached.per_catalog("arrow.profiles", lambda: arrow_table([
        {"engine": p.name, "bandwidth": p.bandwidth_efficiency,
         "decode compute": p.compute_efficiency, "prefill compute": p.prefill_efficiency,
         "step overhead (ms)": p.step_overhead_ms,
         "slowdown per TP doubling": p.tp_overhead_per_doubling,
         "max batch": p.max_batch, "source": p.source} for p in profiles.values()])),
                 hide_index=True, placeholder="—", key="profiles")
    st.markdown(f"""
**Accuracy:** {band}. Published roofline tools have been 1.4–2× off against real serving engines,
so treat throughput as an estimate with that band, and calibrate with your own measurements.

#### 3. Replicas, GPUs, nodes
- peak requests/s = requests per day ÷ 86,400 × peak-to-average ratio
- replicas = ⌈ peak requests/s ÷ (one replica's requests/s × target utilisation) ⌉, at least the
  minimum replicas
- GPUs = replicas × TP; nodes = ⌈ replicas ÷ ⌊GPUs per node ÷ TP⌋ ⌉
- Growth: month *m* traffic = today × (1 + growth)^*m*, planned the same way for 12 months.

#### 4. Cost
- One place multiplies price × quantity. A month is **{k.hours_per_month} hours** (8,760 ÷ 12, the
  Azure calculator's convention).
- **Azure**: GPU nodes × node-hours × the VM's hourly Linux price in the region and plan, plus the
  AKS cluster tier and the system node pool. Prices are the VM's, not per GPU: the same GPU costs
  different amounts on different VM shapes.
- **Own hardware**: purchase price ÷ months of amortisation per machine, plus electricity at the
  site's price. No hosting, staff or network costs are added.
- **API**: requests × tokens × the provider's price per million input and output tokens.
- **Unknown is not zero**: a missing price makes the total "price missing" and is listed; it is
  never counted as $0. Such an option cannot be the cheapest.
- **Per 1M output tokens** = monthly cost ÷ output tokens served per month × 10⁶ (what you pay,
  idle capacity included); the "used share only" figure multiplies by the average utilisation.
- **Cheapest** = lowest complete monthly cost among options that fit and meet the SLOs.
- **Break-even**: the cost of each option is computed at 25 traffic levels from 1,000 to 100
  million requests per day (log-spaced); where a self-hosted option's cost crosses an API's, the
  crossing is narrowed by bisection and printed.

#### 5. Energy and CO2
- **GPU power is measured, not nameplate.** Serving power per GPU by batch is the median of the
  published runs in `data/benchmarks/measured_energy.csv` (The ML.ENERGY Leaderboard v3.0: vLLM
  on H100 SXM and B200, batch 8 to saturated), interpolated on a log batch scale: an H100 draws
  about 440 W at batch 8 and about 590 W near saturation, not its 700 W TDP. A GPU without
  measurements takes the {k.energy_reference_gpu}'s measured share of TDP at the same batch
  (flagged). Idle power is measured where published, else {k.idle_power_fraction_of_tdp:.0%} of
  TDP (flagged).
- **Check against measurements:** {energy_check}
- **Lines per month:** GPUs serving (at the plan's batch for the share of time traffic keeps them
  busy), GPUs idle (the rest of that time, and every GPU held but not serving), host
  ({k.azure_host_power_w_per_gpu_slot:.0f} W per GPU slot on Azure; own machines their catalogued
  host power), facility overhead (IT energy × (PUE − 1): the Azure region's published PUE, or
  {k.on_prem_default_pue} on premises unless you enter your site's), and embodied emissions.
- **Range:** the low and high figures cover the two ways the same traffic can arrive, in bursts
  (full batch, then idle; the central figure) or spread out (a smaller batch all the time), and
  the throughput model's calibrated interval (a slower replica is busy longer for the same work).
- **Scaling:** GPUs and hosts draw power only for the node-hours the option's scaling policy
  holds; scaled-down nodes draw none.
- **Carbon and its method.** Location-based: kWh × the grid's average intensity for the region,
  newest year in `data/grid_carbon.csv` (Google Cloud's region-carbon-info 2025 and 2024 figures
  for the same grid where one exists, else Electricity Maps 2023 via the Green Software
  Foundation); the year is shown with each plan. Market-based: set the scenario's
  `market_gco2_per_kwh` (0 for a 100 % renewable contract) and CO2 is counted at that figure,
  with the location-based figure beside it. Embodied: 164 kg CO2e per GPU (NVIDIA's H100
  footprint) and 5,700 kg per 8-GPU server without its GPUs (EcoLogits with Boavizta), written
  off over 3 years, for every GPU held. Hosted APIs publish no energy figures, so none is shown
  for them.
- **Water (Azure):** IT energy × Microsoft's WUE, litres per kWh, FY2025 by macro-region
  (Americas 0.34, EMEA 0.03, Asia Pacific 0.25; Microsoft has published no per-region WUE since
  2022), in `data/datacenter_water.csv`. Own hardware: not known, not shown.

#### Share links and exports
The address bar always holds the whole scenario (format described in `planner/io/sharelink.py`), so
a link reproduces the scenario and its numbers exactly. The CSV export has one row per option and
one per cost line, units in the headers, the scenario and the price snapshot date, and neutralises
spreadsheet formulas in labels.

#### Sources
""")
    st.markdown("\n".join(f"- [{name}]({url})" for name, url in SOURCES.items()))
    cat = cached.catalog()
    st.caption(f"Every catalog row carries its own source and date (Catalog page). Prices in the "
               f"snapshot date from {cat.prices_as_of} (oldest) to {cat.prices_newest} (newest).")


main()
