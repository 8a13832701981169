"""Registries: the closed sets the planner chooses from, each defined once.

Precisions, KV-cache dtypes, pricing plans, serving engines and tensor-parallel degrees are listed
here and nowhere else; scenario validation, CLI choices, dashboard options, the advisor's search
space and calibration all derive from these tuples. Adding an engine is one :class:`EngineInfo`
row here plus its prior in :data:`planner.physics.throughput.DEFAULT_PROFILES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Precision = Literal["fp16", "bf16", "fp8", "int8", "int4", "mxfp4", "nvfp4"]
PRECISIONS: tuple[Precision, ...] = get_args(Precision)
# weight-only quantisation formats (GPTQ/AWQ, GGUF Q8_0/Q4_*): stored narrow, computed in 16-bit
WEIGHT_ONLY_PRECISIONS: tuple[Precision, ...] = ("int8", "int4")
# 4-bit floating formats with block scales: native on Blackwell tensor cores; MXFP4 also runs
# elsewhere through dequantising kernels (computed in 16-bit, like int4)
FP4_PRECISIONS: tuple[Precision, ...] = ("mxfp4", "nvfp4")

KvDtype = Literal["fp16", "fp8"]
KV_DTYPES: tuple[KvDtype, ...] = get_args(KvDtype)

PricingPlan = Literal["payg", "spot", "reserved-1y", "reserved-3y", "savings-1y", "savings-3y"]
PRICING_PLANS: tuple[PricingPlan, ...] = get_args(PricingPlan)
PLAN_NAMES: dict[PricingPlan, str] = {
    "payg": "pay-as-you-go", "spot": "spot", "reserved-1y": "1-year reservation",
    "reserved-3y": "3-year reservation", "savings-1y": "1-year savings plan",
    "savings-3y": "3-year savings plan",
}
# Plans that commit to pay for the capacity whatever it is used for (1 or 3 years)
COMMITMENT_PLANS: tuple[PricingPlan, ...] = ("reserved-1y", "reserved-3y", "savings-1y",
                                             "savings-3y")

# A workload's traffic over the day (planner.pipeline.traffic holds the preset shapes)
TrafficShape = Literal["flat", "business-hours", "consumer-evening", "follow-the-sun", "custom"]
TRAFFIC_SHAPES: tuple[TrafficShape, ...] = get_args(TrafficShape)
# How a self-hosted option's node pool follows traffic (planner.pipeline.scaling)
ScalingPolicy = Literal["fixed", "autoscale", "scale-to-zero"]
SCALING_POLICIES: tuple[ScalingPolicy, ...] = get_args(ScalingPolicy)
# the policies the advisor searches unless told otherwise (scale-to-zero is for dev/test: it drops
# the min_replicas floor)
ADVISOR_SCALING: tuple[ScalingPolicy, ...] = ("fixed", "autoscale")

TpDegree = Literal[1, 2, 4, 8]
TP_DEGREES: tuple[TpDegree, ...] = get_args(TpDegree)

EngineId = Literal["vllm", "tensorrt-llm", "llama.cpp"]
ENGINE_IDS: tuple[EngineId, ...] = get_args(EngineId)


@dataclass(frozen=True)
class EngineInfo:
    """A serving engine: its id, the name people know it by, and the throughput profile it uses
    by default (AMD GPUs may switch to ``<profile>@rocm``: see
    :func:`planner.physics.throughput.profile_key`)."""

    id: EngineId
    name: str
    default_profile: str
    default_max_batch: int  # concurrent sequences when the profile does not say


ENGINES: dict[EngineId, EngineInfo] = {
    # vLLM engine arguments: max_num_seqs defaults to 256
    "vllm": EngineInfo("vllm", "vLLM", "vllm", 256),
    "tensorrt-llm": EngineInfo("tensorrt-llm", "TensorRT-LLM", "tensorrt-llm", 256),
    # llama.cpp's server runs few parallel slots in practice
    "llama.cpp": EngineInfo("llama.cpp", "llama.cpp", "llama.cpp", 16),
}
assert tuple(ENGINES) == ENGINE_IDS  # one list, two views (checked at import, not user input)

# KAITO's vLLM runtime needs CUDA compute capability >= 8.0 (Ampere or newer) and fails on T4 and
# V100 nodes (kaito-project/kaito#2114); the KAITO export warns and the advisor rejects such GPUs
# for AKS options.
KAITO_MIN_COMPUTE_CAPABILITY = 8.0
KAITO_CC_SOURCE = "kaito-project/kaito#2114"

# The advisor's quality floor (MMLU 5-shot, %) when a scenario states none in workload.min_mmlu.
# A stated planner default, not a published threshold: it keeps 1-2B models (MMLU in the 40s)
# out of a default answer. A scenario sets its own floor, and 0 means "any quality" (no floor).
DEFAULT_MIN_MMLU = 60.0
