"""Fine-tuning time and cost: training FLOPs, memory per GPU, hours at a stated MFU, cost lines.

The pipeline for one job: tokens = examples x tokens per example x epochs -> FLOPs (full: 6 N T;
LoRA/QLoRA: 4 N T) -> hours = FLOPs / (GPUs x peak x MFU) (x the QLoRA slowdown) -> cost lines
priced like the serving plan (planner.pricing.money.cost_line; a missing price is flagged, never 0).
Memory per GPU is kept in buckets (weights, gradients, optimiser states, adapters, activations,
framework overhead) so each assumption can be read and checked; ``fits_memory`` says whether they
fit and ``fit_reason`` why (not).

Approximations, stated once here and repeated in every estimate's ``assumptions``:

* FLOPs. Full fine-tuning costs C = 6 N T (2 N T forward, 4 N T backward): Kaplan et al. 2020,
  "Scaling Laws for Neural Language Models"; EleutherAI "Transformer Math 101" (2023). With LoRA
  the frozen weights need no weight gradient, so the backward pass keeps only the activation
  gradient (2 N T): C = 4 N T, a 1.5x saving. The LoRA paper (Hu et al. 2021, section 4.2,
  footnote) measured 1.33x on GPT-3 175B (32.5 -> 43.1 tokens/s per V100): the formula is
  optimistic by ~13 %. Adapter FLOPs (< 1 % of N) and attention's sequence-quadratic term are
  ignored.
* QLoRA adds de-quantisation of the 4-bit weights in every forward and backward pass. We multiply
  time by 1.6: Lightning-AI/litgpt tutorials/resource-tables.md (2023-10-20, 1x A100 40GB) times
  Llama 2 7B LoRA at 2.36 min per 1k iterations in bf16 and 3.83 min with bnb.nf4-dq (1.62x);
  the same table gives 2.05x for 13B, 1.51x for 3B and 1.15x for 1.3B.
* MFU. Fitted, not fixed: with no MFU given, a job uses :func:`fitted_finetune_mfu`, the median
  MFU implied by the published fine-tuning runs of its method in data/finetune_runs.csv (all
  fine-tuning runs pooled when none of that method has a time), and the time range is the hours
  at the highest and lowest MFU the pool implies (3.5-13 % today). Large pre-training runs reach
  far more -- 38-43 % (Llama 3 405B, "The Llama 3 Herd of Models" 2024), 46 % (PaLM 540B,
  Chowdhery et al. 2022) -- which is why ``DEFAULT_MFU`` (0.35) remains only for checking
  pre-training runs and as the fallback when the catalog has no fine-tuning runs with times.
  benchmarks/finetune_check.py measures the fit leave-one-run-out.
* Memory. Full fine-tuning with mixed-precision AdamW keeps 16 bytes per parameter: 2 (bf16
  weights) + 2 (gradients) + 12 (fp32 master weights, Adam m and v) -- ZeRO, Rajbhandari et al.
  2020, section 3.1 ("2 Psi + 2 Psi + K Psi = 16 Psi bytes", K = 12). LoRA keeps the frozen
  weights at 2 bytes (QLoRA: NF4 4 bits + 0.127 bits of double-quantised constants per parameter,
  Dettmers et al. 2023, section 3) and the adapters at 16 bytes per trainable parameter. With more
  than one GPU, weights, gradients and optimiser states are sharded evenly (ZeRO-3 / FSDP
  FULL_SHARD); activations are per GPU.
* Activations per layer (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large
  Transformer Models", eq. 1): s b h (34 + 5 a s / h) bytes in 16-bit; the 5 a s / h term (the
  attention score matrix) is not stored by flash attention and is dropped. With activation
  checkpointing only each layer's input is kept (2 s b h bytes) plus one layer's activations
  while it is recomputed. Logits add s b V x 6 bytes (bf16 logits and an fp32 copy for the loss).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from planner.catalog import Catalog, GpuSpec, ModelSpec, PricingPlan, Row, load_rows
from planner.errors import DataError, PlannerError
from planner.findings import Finding, FindingCode, finding
from planner.physics.energy import Site, training_kwh
from planner.physics.memory import NON_TORCH_GIB_PER_GPU
from planner.physics.quantities import compute_params, memory_params
from planner.pricing.money import CostLine, known_usd, price_components, total_usd
from planner.pricing.resolver import PriceResolver
from planner.scenario import describe_validation_error
from planner.targets import AzureTarget, LocalTarget, NodeUsage, module_for
from planner.units import GB, GIB, SECONDS_PER_HOUR

Method = Literal["full", "lora", "qlora"]
LoraTargets = Literal["qv", "attention", "all-linear"]
TrainPrecision = Literal["bf16", "fp16"]

FULL_FLOPS_PER_PARAM_TOKEN = 6.0  # Kaplan et al. 2020; Transformer Math 101: C = 6 P D
LORA_FLOPS_PER_PARAM_TOKEN = 4.0  # forward 2 + activation gradient 2; no weight gradient
# LoRA paper (Hu et al. 2021) section 4.2 footnote: GPT-3 175B full fine-tuning 32.5 tokens/s per
# V100, LoRA 43.1 with the same model-parallel shards -- a measured speed-up to compare with 6/4.
LORA_PAPER_FULL_TOKENS_PER_S = 32.5
LORA_PAPER_LORA_TOKENS_PER_S = 43.1
QLORA_TIME_FACTOR = 1.6  # litgpt resource-tables.md: Llama 2 7B 3.83 / 2.36 min per 1k iterations
DEFAULT_MFU = 0.35  # pre-training checks; fine-tuning fallback when no run has a time
LOW_MFU = 0.10  # fallback slow end when no fine-tuning run has a time

WEIGHT_BYTES = {"bf16": 2.0, "fp16": 2.0}
FULL_GRADIENT_BYTES = 2.0
ADAM_MIXED_PRECISION_BYTES = 12.0  # fp32 master weights + Adam m + Adam v (ZeRO K = 12)
ADAPTER_BYTES_PER_PARAM = 2.0 + 2.0 + 12.0
ADAPTER_OPTIMIZER_BYTES_PER_PARAM = 12.0  # the Adam part of the adapters' bytes
# QLoRA (Dettmers et al. 2023, section 3): "Paged Optimizers ... use the NVIDIA unified memory
# feature which does automatic page-to-page transfers between the CPU and GPU ... the optimizer
# states are automatically evicted to CPU RAM when the GPU runs out-of-memory"; the paper trains
# a 65B model on one 48 GB GPU. The planner counts a QLoRA job's adapter optimizer states as paged.
QLORA_BYTES_PER_PARAM = (4 + 0.127) / 8  # NF4 + double-quantised constants (QLoRA section 3)
ACTIVATION_BYTES_PER_TOKEN_HIDDEN = 34.0  # Korthikanti et al. 2022 eq. 1, flash attention
CHECKPOINT_BYTES_PER_TOKEN_HIDDEN = 2.0  # one bf16 layer input per layer when checkpointing
LOGIT_BYTES_PER_TOKEN_VOCAB = 6.0  # bf16 logits + fp32 copy for the cross-entropy (assumption)
# Framework memory outside the allocator (CUDA context etc.): the 0.6 GiB per GPU KAITO measured
# for vLLM (planner.physics.memory). An assumption for training stacks.
FRAMEWORK_OVERHEAD_GB = NON_TORCH_GIB_PER_GPU * GIB / GB
# Share of device memory a training job can fill before allocator fragmentation bites. Assumption.
TRAINING_MEMORY_FRACTION = 0.95

_STRICT = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class FinetuneError(PlannerError):
    """A fine-tuning job names unknown data or cannot be estimated (message names the field)."""


class FinetuneJob(BaseModel):
    """One fine-tuning job: data, method and where it runs (an Azure SKU or local hardware)."""

    model_config = _STRICT

    model: str = Field(min_length=1, max_length=64)
    method: Method = "lora"
    dataset_examples: int = Field(ge=1, le=1_000_000_000)
    tokens_per_example: int = Field(ge=1, le=1_000_000, description="average, prompt + answer")
    epochs: float = Field(default=3.0, ge=0.01, le=100)
    precision: TrainPrecision = "bf16"
    vm_sku: str | None = Field(default=None, min_length=1, max_length=64)
    nodes: int = Field(default=1, ge=1, le=1000, description="Azure VMs of vm_sku")
    region: str = Field(default="eastus", min_length=1, max_length=40)
    pricing: PricingPlan = "payg"
    hardware: str | None = Field(default=None, min_length=1, max_length=64)
    machines: int = Field(default=1, ge=1, le=1000, description="local machines of hardware")
    amortization_years: float = Field(default=3.0, ge=0.25, le=15)
    lora_rank: int = Field(default=16, ge=1, le=4096)
    lora_targets: LoraTargets = "all-linear"
    mfu: float | None = Field(default=None, ge=0.01, le=1,
                              description="model FLOPs utilisation, 1 % to 100 % of the dense "
                                          "peak; default fitted to published fine-tuning runs")
    micro_batch_size: int = Field(default=1, ge=1, le=4096)
    max_seq_tokens: int | None = Field(default=None, ge=1, le=1_000_000,
                                       description="longest sequence; default tokens_per_example")
    activation_checkpointing: bool = True
    pue: float | None = Field(default=None, ge=1.0, le=3.0, description="own hardware's site PUE")
    electricity_usd_per_kwh: float | None = Field(default=None, gt=0, le=5.0)
    purchase_usd_per_machine: float | None = Field(default=None, gt=0, le=100_000_000)

    def target(self) -> AzureTarget | LocalTarget:
        """Where the job runs, as the same target a serving deployment would name."""
        if self.vm_sku is not None:
            return AzureTarget(vm_sku=self.vm_sku, region=self.region, pricing=self.pricing,
                               system_nodes=0)
        return LocalTarget(hardware=self.hardware or "", region=self.region,
                           amortization_years=self.amortization_years, pue=self.pue,
                           electricity_usd_per_kwh=self.electricity_usd_per_kwh,
                           purchase_usd_per_machine=self.purchase_usd_per_machine)

    def units(self) -> int:
        """Nodes (Azure) or machines (own hardware) the job runs on."""
        return self.nodes if self.vm_sku is not None else self.machines

    @model_validator(mode="after")
    def _one_target(self) -> FinetuneJob:
        if (self.vm_sku is None) == (self.hardware is None):
            raise ValueError("give exactly one of vm_sku (Azure) or hardware (local)")
        return self


class FinetuneMemory(BaseModel):
    """Memory per GPU, GB (10^9 bytes)."""

    model_config = ConfigDict(frozen=True)

    weights_gb: float
    gradients_gb: float
    optimizer_gb: float
    adapters_gb: float
    activations_gb: float
    overhead_gb: float
    total_gb: float
    gpu_mem_gb: float
    usable_gb: float
    sharded_over_gpus: int
    # QLoRA's paged optimizer: the adapters' Adam states live in paged (unified) memory that is
    # evicted to CPU RAM when the GPU runs short, so they are not counted in total_gb
    paged_to_cpu_gb: float = 0.0


class FinetuneEstimate(BaseModel):
    """Time, memory and cost of a fine-tuning job.

    Costs are one-off USD: each cost line has ``period = "once"`` and its ``amount_usd`` is the
    whole job's. ``fit_suggestions`` (empty when it fits) name what would make it fit.
    ``mfu`` is the MFU used (the job's, or with none given the fitted default, ``mfu_basis``
    says which); ``*_at_low_mfu`` / ``*_at_high_mfu`` repeat time and cost at ``mfu_low`` /
    ``mfu_high``, the lowest / highest MFU the published fine-tuning runs imply (widened to
    include ``mfu`` so the range always brackets the estimate).
    """

    model_config = ConfigDict(frozen=True)

    job: FinetuneJob
    model_name: str
    params_b: float
    target: str
    gpu: str
    gpu_name: str
    gpus: int
    training_tokens: float
    trainable_params: float
    flops_per_token: float
    training_flops: float
    flops_formula: str
    peak_tflops_per_gpu: float | None
    mfu: float
    mfu_basis: Literal["given", "fitted", "fallback"]
    mfu_low: float
    mfu_high: float
    time_factor: float
    wall_clock_hours: float | None
    gpu_hours: float | None
    wall_clock_hours_at_low_mfu: float | None
    wall_clock_hours_at_high_mfu: float | None
    memory: FinetuneMemory
    fits_memory: bool
    fit_suggestions: list[FitSuggestion]
    cost_lines: list[CostLine]
    cost_usd: float | None
    cost_known_usd: float
    cost_usd_at_low_mfu: float | None
    cost_usd_at_high_mfu: float | None
    findings: list[Finding]
    assumptions: list[str]


# --- the quantities, each a small function ---------------------------------------------------


def training_tokens(dataset_examples: float, tokens_per_example: float, epochs: float) -> float:
    """Tokens processed in training: examples x tokens per example x epochs."""
    return dataset_examples * tokens_per_example * epochs


def flops_per_param_token(method: str) -> float:
    """FLOPs per parameter per training token: 6 for full fine-tuning, 4 for LoRA/QLoRA."""
    return FULL_FLOPS_PER_PARAM_TOKEN if method == "full" else LORA_FLOPS_PER_PARAM_TOKEN


def training_flops(params: float, tokens: float, method: str) -> float:
    """Training FLOPs: 6 N T (full) or 4 N T (LoRA, QLoRA). ``params`` is a count, not billions."""
    return flops_per_param_token(method) * params * tokens


def time_factor(method: str) -> float:
    """Slowdown over the FLOPs-based time: QLoRA's de-quantisation (1.6x), else 1."""
    return QLORA_TIME_FACTOR if method == "qlora" else 1.0


def gpu_hours_needed(flops: float, peak_tflops: float, mfu: float, method: str) -> float:
    """GPU-hours: FLOPs / (peak x MFU) / 3600, times the method's slowdown."""
    return flops / (peak_tflops * 1e12 * mfu) / SECONDS_PER_HOUR * time_factor(method)


def _mlp_params_per_layer(model: ModelSpec) -> float:
    attn = _attention_params_per_layer(model)
    embeddings = 2 * model.vocab_size * model.hidden_size  # input + output (untied assumed)
    per_layer = (model.params_b * 1e9 - embeddings) / model.layers - attn
    return max(per_layer, 0.0)


def _attention_params_per_layer(model: ModelSpec) -> float:
    d, q = model.hidden_size, model.attention_heads * model.head_dim
    kv = model.kv_heads * model.head_dim
    return d * q + 2 * d * kv + q * d


def lora_trainable_params(model: ModelSpec, rank: int, targets: str = "all-linear") -> float:
    """Adapter parameters: r x (d_in + d_out) per adapted matrix, per layer.

    ``qv``: query and value projections; ``attention``: q, k, v and output; ``all-linear``: those
    plus the MLP, approximated as three d x f matrices (SwiGLU) with f from the parameters left
    after embeddings and attention (exact for Llama-style models, an estimate for others).
    """
    d, q = model.hidden_size, model.attention_heads * model.head_dim
    kv = model.kv_heads * model.head_dim
    per_layer = rank * ((d + q) + (d + kv))  # q, v
    if targets in ("attention", "all-linear"):
        per_layer += rank * ((d + kv) + (q + d))  # k, o
    if targets == "all-linear":
        ffn = _mlp_params_per_layer(model) / (3 * d)
        per_layer += 3 * rank * (d + ffn)
    return per_layer * model.layers


def activation_bytes_per_gpu(layers: int, hidden_size: int, vocab_size: int, seq_tokens: int,
                             micro_batch: int, checkpointing: bool) -> float:
    """Activation memory of one micro-batch, bytes (Korthikanti et al. 2022, flash attention)."""
    tokens = seq_tokens * micro_batch
    one_layer = ACTIVATION_BYTES_PER_TOKEN_HIDDEN * tokens * hidden_size
    if checkpointing:
        kept = CHECKPOINT_BYTES_PER_TOKEN_HIDDEN * tokens * hidden_size * layers + one_layer
    else:
        kept = one_layer * layers
    return kept + LOGIT_BYTES_PER_TOKEN_VOCAB * tokens * vocab_size


def finetune_memory(params: float, method: str, trainable_params: float, gpus: int,
                    gpu_mem_gb: float, activations_bytes: float,
                    precision: str = "bf16") -> FinetuneMemory:
    """Memory per GPU in buckets; model states sharded over ``gpus`` (ZeRO-3 / FSDP)."""
    shards = max(gpus, 1)
    if method == "full":
        weights = params * WEIGHT_BYTES[precision]
        gradients = params * FULL_GRADIENT_BYTES
        optimizer = params * ADAM_MIXED_PRECISION_BYTES
        adapters = 0.0
    else:
        per_param = QLORA_BYTES_PER_PARAM if method == "qlora" else WEIGHT_BYTES[precision]
        weights, gradients, optimizer = params * per_param, 0.0, 0.0
        adapters = trainable_params * ADAPTER_BYTES_PER_PARAM
    paged = (trainable_params * ADAPTER_OPTIMIZER_BYTES_PER_PARAM / shards / GB
             if method == "qlora" else 0.0)
    parts = [b / shards / GB for b in (weights, gradients, optimizer, adapters)]
    activations = activations_bytes / GB
    total = sum(parts) + activations + FRAMEWORK_OVERHEAD_GB - paged
    return FinetuneMemory(
        weights_gb=parts[0], gradients_gb=parts[1], optimizer_gb=parts[2], adapters_gb=parts[3],
        activations_gb=activations, overhead_gb=FRAMEWORK_OVERHEAD_GB, total_gb=total,
        gpu_mem_gb=gpu_mem_gb, usable_gb=gpu_mem_gb * TRAINING_MEMORY_FRACTION,
        sharded_over_gpus=shards, paged_to_cpu_gb=paged)


# --- the estimate -------------------------------------------------------------------------------


def _job(job: FinetuneJob | None, fields: dict) -> FinetuneJob:
    if job is not None and not fields:
        return job
    data = {**(job.model_dump() if job is not None else {}), **fields}
    try:
        return FinetuneJob.model_validate(data)
    except ValidationError as exc:
        raise FinetuneError(describe_validation_error(exc)) from exc


def estimate_finetune(catalog: Catalog, job: FinetuneJob | None = None, /,
                      **fields) -> FinetuneEstimate:
    """Estimate a fine-tuning job given as a :class:`FinetuneJob` or as its fields by keyword.

    Raises :class:`FinetuneError` for unknown models, SKUs or hardware, and for a precision the
    GPU cannot train in.
    """
    job = _job(job, fields)
    model = catalog.models.get(job.model)
    if model is None:
        raise FinetuneError(f"model: unknown model {job.model!r}")
    target = job.target()
    module = module_for(target)
    problems = module.catalog_problems(target, job.model, catalog, "")
    if problems:
        raise FinetuneError(problems[0].lstrip(".").replace("target.", ""))
    hw = module.hardware(target, catalog)
    found: list[Finding] = []
    if hw.retired:
        found.append(finding(FindingCode.SKU_RETIRED, status="catalog", sku=hw.node_name))
    gpu, units = hw.gpu, job.units()
    if job.precision not in gpu.native_precisions:
        raise FinetuneError(f"precision: {gpu.name} cannot train in {job.precision} "
                            f"(runs {', '.join(gpu.native_precisions)}); choose fp16")
    gpus = units * hw.gpus_per_node
    tokens = training_tokens(job.dataset_examples, job.tokens_per_example, job.epochs)
    trainable = memory_params(model) if job.method == "full" else lora_trainable_params(
        model, job.lora_rank, job.lora_targets)
    # compute sees the active parameters (MoE: routed experts only), memory holds all of them
    flops = training_flops(compute_params(model), tokens, job.method)
    seq = job.max_seq_tokens or job.tokens_per_example
    if seq > model.max_context_tokens:
        found.append(finding(FindingCode.SEQUENCE_EXCEEDS_CONTEXT, status="input",
                             sequence_tokens=seq, context_tokens=model.max_context_tokens,
                             model=model.name))
    act = activation_bytes_per_gpu(model.layers, model.hidden_size, model.vocab_size, seq,
                                   job.micro_batch_size, job.activation_checkpointing)
    memory = finetune_memory(memory_params(model), job.method, trainable, gpus, gpu.mem_gb, act,
                             job.precision)
    suggestions = fit_suggestions(memory, job)

    pool = implied_finetune_mfus(catalog)
    if job.mfu is not None:
        mfu, basis = job.mfu, "given"
    else:
        fitted = fitted_finetune_mfu(job.method, pool)
        mfu, basis = (DEFAULT_MFU, "fallback") if fitted is None else (fitted, "fitted")
    mfu_low, mfu_high = finetune_mfu_range(mfu, pool)
    peak = gpu.fp16_tflops
    hours = hours_low = hours_high = gpu_hours = None
    if peak is None:
        found.append(finding(FindingCode.NO_TRAINING_PEAK, status="catalog", gpu=gpu.name))
    else:
        gpu_hours = gpu_hours_needed(flops, peak, mfu, job.method)
        hours = gpu_hours / gpus
        hours_low = gpu_hours_needed(flops, peak, mfu_low, job.method) / gpus
        hours_high = gpu_hours_needed(flops, peak, mfu_high, job.method) / gpus
    site = module.site(target, catalog)
    lines = _cost_lines(target, catalog, hw.gpus_per_node, gpu, units, hours, site, job.model)
    low_lines = _cost_lines(target, catalog, hw.gpus_per_node, gpu, units, hours_low, site,
                            job.model)
    high_lines = _cost_lines(target, catalog, hw.gpus_per_node, gpu, units, hours_high, site,
                             job.model)
    found += [finding(FindingCode.PRICE_MISSING, status="catalog", source=line.source,
                      line=line.name, price_key=line.price_key, reason=line.missing_reason)
              for line in lines if line.status == "missing"]
    found += [finding(FindingCode.PRICE_ESTIMATED, status="estimate", source=line.source,
                      line=line.name, price_key=line.price_key)
              for line in lines if line.status == "estimated"]
    if units > 1:
        found.append(finding(FindingCode.MULTI_NODE_TRAINING, status="default", units=units))
    if job.method == "qlora" and gpu.vendor != "NVIDIA":
        found.append(finding(FindingCode.QLORA_VENDOR_UNCONFIRMED, status="catalog",
                             gpu=gpu.name))
    return FinetuneEstimate(
        job=job, model_name=model.name, params_b=model.params_b,
        target=f"{module.key_text(target)} x {units}", gpu=gpu.id,
        gpu_name=gpu.name, gpus=gpus, training_tokens=tokens, trainable_params=trainable,
        flops_per_token=flops_per_param_token(job.method) * compute_params(model),
        training_flops=flops,
        flops_formula=("6 x active params x tokens" if job.method == "full"
                       else "4 x active params x tokens"),
        peak_tflops_per_gpu=peak, mfu=mfu, mfu_basis=basis, mfu_low=mfu_low, mfu_high=mfu_high,
        time_factor=time_factor(job.method),
        wall_clock_hours=hours, gpu_hours=gpu_hours, wall_clock_hours_at_low_mfu=hours_low,
        wall_clock_hours_at_high_mfu=hours_high,
        memory=memory, fits_memory=not suggestions, fit_suggestions=suggestions,
        cost_lines=lines, cost_usd=total_usd(lines) if lines else None,
        cost_known_usd=known_usd(lines),
        cost_usd_at_low_mfu=total_usd(low_lines) if low_lines else None,
        cost_usd_at_high_mfu=total_usd(high_lines) if high_lines else None,
        findings=found, assumptions=assumptions(job, mfu, basis, mfu_low, mfu_high))


# --- the fitted fine-tuning MFU -----------------------------------------------------------------


def implied_finetune_mfus(catalog: Catalog,
                          exclude: str | None = None) -> list[tuple[str, float]]:
    """(method, implied MFU as a fraction) of every published fine-tuning run with a checked time.

    Read from data/finetune_runs.csv via :func:`check_run`; pre-training runs are not included.
    ``exclude`` names a run id left out (leave-one-run-out). Empty when the catalog has no
    fine-tuning runs file.
    """
    try:
        runs = load_finetune_runs(catalog.data_dir)
    except (DataError, OSError):
        return []
    out = []
    for run in runs:
        if run.kind != "fine-tuning" or run.id == exclude:
            continue
        implied = check_run(run, catalog).implied_mfu
        if implied is not None:
            out.append((run.method, implied))
    return out


def fitted_finetune_mfu(method: str, implied: list[tuple[str, float]]) -> float | None:
    """Default fine-tuning MFU (fraction of dense 16-bit peak) for ``method``.

    The median of the implied MFUs of the runs of the same method; when no run of that method is
    in ``implied``, the median of all of them (pooled); None when ``implied`` is empty. Model size
    is deliberately not fitted: five published runs with times (one full, two LoRA, two QLoRA, at
    7B and 13B) cannot fit a size term without fitting noise, so the fit is per method only.
    """
    same = [m for kind, m in implied if kind == method]
    pool = same or [m for _, m in implied]
    return statistics.median(pool) if pool else None


def finetune_mfu_range(mfu: float, implied: list[tuple[str, float]]) -> tuple[float, float]:
    """(low, high) MFU of the time range: lowest and highest implied MFU of all published
    fine-tuning runs, widened to include ``mfu``; (min(LOW_MFU, mfu), mfu) without runs."""
    values = [m for _, m in implied]
    if not values:
        return min(LOW_MFU, mfu), mfu
    return min(min(values), mfu), max(max(values), mfu)


def assumptions(job: FinetuneJob, mfu: float | None = None, basis: str = "given",
                mfu_low: float | None = None, mfu_high: float | None = None) -> list[str]:
    """The approximations behind an estimate, in words."""
    out = [
        f"FLOPs = {flops_per_param_token(job.method):g} x params x tokens "
        + ("(Kaplan et al. 2020)" if job.method == "full" else
           "(forward + activation gradients; frozen weights get no weight gradient)"),
        _mfu_assumption(job, mfu, basis, mfu_low, mfu_high),
        "no packing: every example is a sequence of tokens_per_example tokens",
    ]
    if job.method == "qlora":
        out.append(f"QLoRA de-quantisation slows training {QLORA_TIME_FACTOR}x (litgpt tables)")
    if job.method == "full":
        out.append("mixed-precision AdamW: 16 bytes per parameter (ZeRO), sharded over all GPUs")
    else:
        out.append(f"LoRA rank {job.lora_rank} on {job.lora_targets} matrices, adapters at 16 "
                   "bytes per parameter; frozen weights at "
                   + ("4.127 bits (NF4 + double quantisation)" if job.method == "qlora"
                      else "16 bits"))
    out.append("activation checkpointing on" if job.activation_checkpointing
               else "activation checkpointing off")
    return out


def _mfu_assumption(job: FinetuneJob, mfu: float | None, basis: str, low: float | None,
                    high: float | None) -> str:
    mfu = job.mfu if mfu is None else mfu
    if mfu is None:
        return "MFU fitted to published fine-tuning runs (data/finetune_runs.csv)"
    how = {"given": "as given",
           "fitted": f"the median of published {job.method} fine-tuning runs' implied MFU "
                     "(all fine-tuning runs when none of this method)",
           "fallback": "no published fine-tuning run to fit, fixed default"}.get(basis, basis)
    text = f"MFU {mfu:.1%} of dense 16-bit peak ({how})"
    if low is not None and high is not None:
        text += f"; the time range is at {high:.1%} to {low:.1%} MFU"
    return text


FitSuggestion = Literal["lora", "qlora", "activation_checkpointing", "more_gpus"]


def fit_suggestions(memory: FinetuneMemory, job: FinetuneJob) -> list[FitSuggestion]:
    """What would make a job that does not fit fit (empty when it fits)."""
    if memory.total_gb <= memory.usable_gb:
        return []
    out: list[FitSuggestion] = []
    if job.method == "full":
        out.append("lora")
    elif job.method == "lora":
        out.append("qlora")
    if not job.activation_checkpointing:
        out.append("activation_checkpointing")
    out.append("more_gpus")
    return out


def _cost_lines(target: AzureTarget | LocalTarget, catalog: Catalog, gpus_per_node: int,
                gpu: GpuSpec, units: int, hours: float | None, site: Site | None,
                model_id: str) -> list[CostLine]:
    """The job's node-hours priced like serving (the target's components, the one resolver)."""
    if hours is None:
        return []
    module = module_for(target)
    energy = training_kwh(gpu, gpus_per_node, units, hours, site) if site else None
    usage = NodeUsage(units, hours, "once", "training", energy)
    return price_components(module.cost_components(target, usage, catalog, model_id),
                            PriceResolver(catalog).with_overrides(module.price_overrides(target)))


# --- published runs and the check against them --------------------------------------------------

FINETUNE_RUNS_FILE = "finetune_runs.csv"


class FinetuneRun(Row):
    """A published training run with its reported duration and/or memory, to check against."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    description: str
    kind: Literal["pretraining", "fine-tuning"]
    model_id: str = ""
    params_b: float = Field(gt=0)
    layers: int | None = Field(default=None, gt=0)
    hidden_size: int | None = Field(default=None, gt=0)
    vocab_size: int | None = Field(default=None, gt=0)
    method: Method
    lora_rank: int | None = Field(default=None, gt=0)
    lora_targets: LoraTargets | None = None
    trainable_params: float | None = Field(default=None, gt=0)
    gpu: str = ""
    gpu_count: int | None = Field(default=None, gt=0)
    gpu_mem_gb: float | None = Field(default=None, gt=0)
    examples: float | None = Field(default=None, gt=0)
    tokens_per_example: float | None = Field(default=None, gt=0)
    epochs: float | None = Field(default=None, gt=0)
    training_tokens: float | None = Field(default=None, gt=0)
    seq_tokens: int | None = Field(default=None, gt=0)
    micro_batch: int = Field(default=1, gt=0)
    activation_checkpointing: bool = True
    reported_hours: float | None = Field(default=None, gt=0)
    reported_gpu_hours: float | None = Field(default=None, gt=0)
    reported_peak_mem_gb: float | None = Field(default=None, gt=0)
    reported_fits: bool | None = None

    @model_validator(mode="after")
    def _tokens_given(self) -> FinetuneRun:
        if self.training_tokens is None and None in (self.examples, self.tokens_per_example,
                                                     self.epochs):
            raise ValueError("give training_tokens or examples, tokens_per_example and epochs")
        return self

    @property
    def tokens(self) -> float:
        if self.training_tokens is not None:
            return self.training_tokens
        return training_tokens(self.examples or 0, self.tokens_per_example or 0, self.epochs or 0)


def load_finetune_runs(data_dir: Path) -> list[FinetuneRun]:
    rows = load_rows(data_dir / FINETUNE_RUNS_FILE, FinetuneRun)
    ids = [r.id for r in rows]
    if len(ids) != len(set(ids)):
        raise DataError(f"{FINETUNE_RUNS_FILE}: duplicate id")
    return rows


class RunCheck(BaseModel):
    """Predicted against reported for one published run (errors: predicted / reported - 1)."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    method: str
    predicted_gpu_hours: float | None = None
    reported_gpu_hours: float | None = None
    time_error: float | None = None
    implied_mfu: float | None = None
    predicted_mem_gb: float | None = None
    reported_mem_gb: float | None = None
    mem_error: float | None = None
    predicted_fits: bool | None = None
    reported_fits: bool | None = None
    note: str = ""


def check_run(run: FinetuneRun, catalog: Catalog, mfu: float = DEFAULT_MFU) -> RunCheck:
    """Predict a published run with the same formulas as :func:`estimate_finetune`."""
    model = catalog.models.get(run.model_id) if run.model_id else None
    gpu = catalog.gpus.get(run.gpu) if run.gpu else None
    params = run.params_b * 1e9
    out: dict = {"id": run.id, "kind": run.kind, "method": run.method}
    notes = []
    reported_gpu_h = run.reported_gpu_hours
    if reported_gpu_h is None and run.reported_hours is not None and run.gpu_count:
        reported_gpu_h = run.reported_hours * run.gpu_count
    if gpu is not None and gpu.fp16_tflops and reported_gpu_h:
        predicted = gpu_hours_needed(training_flops(params, run.tokens, run.method),
                                     gpu.fp16_tflops, mfu, run.method)
        out.update(predicted_gpu_hours=predicted, reported_gpu_hours=reported_gpu_h,
                   time_error=predicted / reported_gpu_h - 1,
                   implied_mfu=mfu * predicted / reported_gpu_h)
    elif reported_gpu_h or run.reported_hours:
        notes.append("time not checked: GPU not named or not in the catalog")
    if run.reported_peak_mem_gb is not None or run.reported_fits is not None:
        layers = run.layers or (model.layers if model else None)
        hidden = run.hidden_size or (model.hidden_size if model else None)
        vocab = run.vocab_size or (model.vocab_size if model else None)
        trainable = run.trainable_params
        if trainable is None and run.method != "full" and model is not None:
            trainable = lora_trainable_params(model, run.lora_rank or 16,
                                              run.lora_targets or "all-linear")
        mem_gb = run.gpu_mem_gb or (gpu.mem_gb if gpu else None)
        seq = run.seq_tokens or int(run.tokens_per_example or 0)
        if None in (layers, hidden, vocab, mem_gb) or not seq:
            notes.append("memory not checked: architecture or GPU memory unknown")
        else:
            act = activation_bytes_per_gpu(layers, hidden, vocab, seq, run.micro_batch,  # type: ignore[arg-type]
                                           run.activation_checkpointing)
            mem = finetune_memory(params, run.method, trainable or params, run.gpu_count or 1,
                                  mem_gb, act)  # type: ignore[arg-type]
            if run.reported_peak_mem_gb is not None:
                # Reported peaks are the PyTorch allocator's maximum (no CUDA context).
                allocated = mem.total_gb - mem.overhead_gb
                out.update(predicted_mem_gb=allocated, reported_mem_gb=run.reported_peak_mem_gb,
                           mem_error=allocated / run.reported_peak_mem_gb - 1)
            if run.reported_fits is not None:
                out.update(predicted_fits=mem.total_gb <= mem.usable_gb,
                           reported_fits=run.reported_fits)
    out["note"] = "; ".join(notes)
    return RunCheck(**out)


def check_runs(catalog: Catalog, runs: list[FinetuneRun] | None = None,
               mfu: float = DEFAULT_MFU) -> list[RunCheck]:
    runs = runs if runs is not None else load_finetune_runs(catalog.data_dir)
    return [check_run(run, catalog, mfu) for run in runs]


def median_abs_error(values: list[float | None]) -> float | None:
    """Median of |error| over the values that exist."""
    present = [abs(v) for v in values if v is not None]
    return statistics.median(present) if present else None


def lora_speedup_check() -> tuple[float, float]:
    """(speed-up the 4 N T formula implies, speed-up the LoRA paper measured on GPT-3 175B)."""
    return (FULL_FLOPS_PER_PARAM_TOKEN / LORA_FLOPS_PER_PARAM_TOKEN,
            LORA_PAPER_LORA_TOKENS_PER_S / LORA_PAPER_FULL_TOKENS_PER_S)
