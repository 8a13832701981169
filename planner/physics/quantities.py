"""Model quantities: how many parameters compute and memory see, weight and KV-cache bytes.

One home for the numbers throughput, memory and fine-tuning all read from a model's config:

* **total** parameters (every expert) set memory: weights stored, optimiser states kept;
* **active** parameters (the experts a token is routed to, plus shared weights) set FLOPs:
  2 x active per generated token, 6 x active per trained token;
* a step over n tokens reads the shared weights plus every expert any of its tokens touches.

Bytes are bytes (10^0); parameters are given in billions (``params_b``) as in ``models.csv``.
"""

from __future__ import annotations

import numpy as np

from planner.catalog import ModelSpec

# Bytes per weight by serving precision.
BYTES_PER_PARAM: dict[str, float] = {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}

# Quantisation metadata, bytes per weight. int4 (GPTQ/AWQ, group size 128): one fp16 scale and one
# fp16 zero point per 128 weights = 32 bits / 128 = 0.25 bit = 0.03125 byte per weight.
# int8/fp8 use per-channel (or per-tensor) scales: negligible (< 0.01 %), counted as 0.
QUANT_OVERHEAD_BYTES_PER_PARAM: dict[str, float] = {
    "fp16": 0.0, "bf16": 0.0, "fp8": 0.0, "int8": 0.0, "int4": 32 / 128 / 8,
}

KV_BYTES: dict[str, float] = {"fp16": 2.0, "fp8": 1.0}


def bytes_per_param(precision: str) -> float:
    """Stored bytes per weight at ``precision``, quantisation scales included."""
    return BYTES_PER_PARAM[precision] + QUANT_OVERHEAD_BYTES_PER_PARAM[precision]


def weight_bytes(params_b: float, precision: str) -> float:
    """Bytes of ``params_b`` billion weights at ``precision`` (quantisation scales included)."""
    return params_b * 1e9 * bytes_per_param(precision)


def model_weight_bytes(model: ModelSpec, precision: str) -> float:
    """Bytes of the whole model's weights (every expert) at ``precision``."""
    return weight_bytes(model.params_b, precision)


def memory_params(model: ModelSpec) -> float:
    """Parameters held in memory: every expert, in units (not billions)."""
    return model.params_b * 1e9


def compute_params(model: ModelSpec) -> float:
    """Parameters one token is multiplied through (active experts + shared), in units."""
    return model.active_params_b * 1e9


def expert_params_b(model: ModelSpec) -> float:
    """Parameters of one routed expert (all layers), billions; 0 for a dense model.

    From total = shared + E x expert and active = shared + k x expert."""
    if model.experts <= 1:
        return 0.0
    return (model.params_b - model.active_params_b) / (model.experts - model.experts_per_token)


def shared_params_b(model: ModelSpec) -> float:
    """Parameters every token uses (attention, embeddings, shared experts), billions."""
    return model.params_b - model.experts * expert_params_b(model)


def experts_touched(model: ModelSpec, tokens: np.ndarray | float) -> np.ndarray | float:
    """Expected number of routed experts that ``tokens`` tokens touch: with k of E chosen per token
    (uniform routing) a given expert is missed by all n tokens with probability (1 - k/E)^n."""
    e, k = model.experts, model.experts_per_token
    return e * (1 - (1 - k / e) ** np.asarray(tokens, dtype=float))


def weight_bytes_read(model: ModelSpec, precision: str,
                      tokens_in_step: np.ndarray | float) -> np.ndarray | float:
    """Weight bytes one step reads for ``tokens_in_step`` tokens (whole model, before TP split).

    Dense: all weights. MoE: shared weights plus the experts the step's tokens touch.
    Takes and returns a scalar or an array of token counts."""
    tokens = np.asarray(tokens_in_step, dtype=float)
    if model.experts <= 1:
        out = np.full_like(tokens, model_weight_bytes(model, precision))
    else:
        params_b = shared_params_b(model) + experts_touched(model, tokens) * expert_params_b(model)
        out = weight_bytes(1.0, precision) * params_b
    return float(out) if out.ndim == 0 else out


def kv_cache_bytes_per_token(model: ModelSpec, kv_dtype: str = "fp16") -> float:
    """KV cache per token, whole model: 2 (K and V) x layers x KV heads x head_dim x bytes.

    Grouped-query and multi-query attention count through ``kv_heads``."""
    return 2 * model.layers * model.kv_heads * model.head_dim * KV_BYTES[kv_dtype]


def attention_flops_per_token(model: ModelSpec, context_tokens: float | np.ndarray) -> float:
    """Attention score and value FLOPs for one token attending to ``context_tokens``:
    4 x layers x heads x head_dim x context (QK^T and AV, 2 FLOPs per multiply-add)."""
    return 4 * model.layers * model.attention_heads * model.head_dim * context_tokens
