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
BYTES_PER_PARAM: dict[str, float] = {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5,
                                     "mxfp4": 0.5, "nvfp4": 0.5}

# Quantisation metadata, bytes per weight. int4 (GPTQ/AWQ, group size 128): one fp16 scale and one
# fp16 zero point per 128 weights = 32 bits / 128 = 0.25 bit = 0.03125 byte per weight.
# MXFP4 (OCP Microscaling spec v1.0): one 8-bit E8M0 scale per block of 32 = 0.25 bit per weight.
# NVFP4 (NVIDIA): one FP8 E4M3 scale per block of 16 = 0.5 bit per weight (+ one FP32 per tensor).
# int8/fp8 use per-channel (or per-tensor) scales: negligible (< 0.01 %), counted as 0.
QUANT_OVERHEAD_BYTES_PER_PARAM: dict[str, float] = {
    "fp16": 0.0, "bf16": 0.0, "fp8": 0.0, "int8": 0.0, "int4": 32 / 128 / 8,
    "mxfp4": 8 / 32 / 8, "nvfp4": 8 / 16 / 8,
}
# 4-bit floating checkpoints keep embeddings, the output head and (for MoE) attention and shared
# weights in 16-bit, as gpt-oss (MoE experts only in MXFP4) and NVIDIA ModelOpt NVFP4 exports do
FP4_FORMATS = ("mxfp4", "nvfp4")

KV_BYTES: dict[str, float] = {"fp16": 2.0, "fp8": 1.0}


def bytes_per_param(precision: str) -> float:
    """Stored bytes per weight at ``precision``, quantisation scales included."""
    return BYTES_PER_PARAM[precision] + QUANT_OVERHEAD_BYTES_PER_PARAM[precision]


def weight_bytes(params_b: float, precision: str) -> float:
    """Bytes of ``params_b`` billion weights at ``precision`` (quantisation scales included)."""
    return params_b * 1e9 * bytes_per_param(precision)


def embedding_params_b(model: ModelSpec) -> float:
    """Input embeddings plus output head (once if tied), billions."""
    return model.vocab_size * model.hidden_size * (1 if model.tie_word_embeddings else 2) / 1e9


def quantized_params_b(model: ModelSpec, precision: str) -> float:
    """Parameters stored at ``precision``; the rest stay 16-bit (billions).

    Integer and FP8 formats quantise every weight (the planner's convention for GPTQ/AWQ/FP8
    checkpoints). 4-bit floating formats quantise the routed experts of a MoE model, or every
    linear weight of a dense one: not embeddings, output head or vision tower."""
    if precision not in FP4_FORMATS:
        return model.params_b
    if model.experts > 1:
        return model.experts * expert_params_b(model)
    return max(0.0, model.params_b - embedding_params_b(model) - (model.vision_params_b or 0.0))


def model_weight_bytes(model: ModelSpec, precision: str) -> float:
    """Bytes of the whole model's weights (every expert, vision tower included) at ``precision``."""
    narrow = quantized_params_b(model, precision)
    return weight_bytes(narrow, precision) + weight_bytes(model.params_b - narrow, "bf16")


def memory_params(model: ModelSpec) -> float:
    """Parameters held in memory: every expert, in units (not billions)."""
    return model.params_b * 1e9


def compute_params(model: ModelSpec) -> float:
    """Parameters one token is multiplied through (active experts + shared), in units."""
    return model.active_params_b * 1e9


def text_params_b(model: ModelSpec) -> float:
    """Parameters of the language model, billions (a vision tower left out)."""
    return model.params_b - (model.vision_params_b or 0.0)


def expert_params_b(model: ModelSpec) -> float:
    """Parameters of one routed expert (all layers), billions; 0 for a dense model.

    From text = shared + E x expert and active = shared + k x expert, where shared holds
    attention, embeddings, dense layers and shared experts."""
    if model.experts <= 1:
        return 0.0
    return ((text_params_b(model) - model.active_params_b)
            / (model.experts - model.experts_per_token))


def shared_params_b(model: ModelSpec) -> float:
    """Parameters every token uses (attention, embeddings, shared experts), billions."""
    return text_params_b(model) - model.experts * expert_params_b(model)


def experts_touched(model: ModelSpec, tokens: np.ndarray | float) -> np.ndarray | float:
    """Expected number of routed experts that ``tokens`` tokens touch: with k of E chosen per token
    (uniform routing) a given expert is missed by all n tokens with probability (1 - k/E)^n."""
    return experts_touched_of(model.experts, model.experts_per_token, tokens)


def experts_touched_of(experts: float | np.ndarray, experts_per_token: float | np.ndarray,
                       tokens: np.ndarray | float) -> np.ndarray | float:
    """:func:`experts_touched` from numbers (floats or arrays broadcast together)."""
    e = np.asarray(experts, dtype=float)
    return e * (1 - (1 - experts_per_token / e) ** np.asarray(tokens, dtype=float))


def gathered_embedding_params_b(model: ModelSpec) -> float:
    """Input-embedding parameters a step does not stream, billions: an untied input embedding
    table is gathered (one row per token in the step, a few KB), not read whole; a tied table is
    read whole anyway as the output head."""
    return 0.0 if model.tie_word_embeddings else model.vocab_size * model.hidden_size / 1e9


def weight_read_split(model: ModelSpec, precision: str) -> tuple[float, float]:
    """(bytes every step reads, bytes of one routed expert) of the model's weights: a step over
    n tokens reads the first plus the second times the experts the tokens touch. Dense: all
    weights but a vision tower (not read to generate text) and an untied input embedding table
    (gathered, :func:`gathered_embedding_params_b`), and 0 per expert. MoE: the shared weights
    (16-bit under a 4-bit floating format) less the gathered embeddings, and one expert at
    ``precision``."""
    unquantized = "bf16" if precision in FP4_FORMATS else precision
    # the input embedding is stored at the embeddings' precision (16-bit under FP4 formats)
    gathered = weight_bytes(gathered_embedding_params_b(model), unquantized)
    if model.experts <= 1:
        return (model_weight_bytes(model, precision)
                - weight_bytes(model.vision_params_b or 0.0, unquantized) - gathered), 0.0
    return (weight_bytes(shared_params_b(model), unquantized) - gathered,
            weight_bytes(expert_params_b(model), precision))


def weight_bytes_read(model: ModelSpec, precision: str,
                      tokens_in_step: np.ndarray | float) -> np.ndarray | float:
    """Weight bytes one step reads for ``tokens_in_step`` tokens (whole model, before TP split).

    Dense: all weights. MoE: shared weights plus the experts the step's tokens touch.
    Takes and returns a scalar or an array of token counts."""
    tokens = np.asarray(tokens_in_step, dtype=float)
    fixed, per_expert = weight_read_split(model, precision)
    out = fixed + per_expert * experts_touched(model, tokens) + np.zeros_like(tokens)
    return float(out) if out.ndim == 0 else out


def kv_bytes_per_token_layer(model: ModelSpec, kv_dtype: str = "fp16") -> float:
    """KV cache one attention layer keeps per token: K and V of every KV head (GQA/MQA through
    ``kv_heads``), or the shared latent plus rotary key of multi-head latent attention."""
    if model.kv_lora_rank is not None:
        return (model.kv_lora_rank + (model.qk_rope_head_dim or 0)) * KV_BYTES[kv_dtype]
    return 2 * model.kv_heads * model.head_dim * KV_BYTES[kv_dtype]


def global_attention_layers(model: ModelSpec) -> int:
    """Layers whose KV cache grows with the whole context."""
    return model.layers - model.local_layers - model.linear_attention_layers


def attended_tokens(model: ModelSpec, context_tokens: float | np.ndarray) -> float | np.ndarray:
    """Tokens the layers attend to in all (sum over attention layers) for one token at
    ``context_tokens``: global layers see the whole context, local ones at most their window."""
    ctx = np.asarray(context_tokens, dtype=float)
    local = np.minimum(ctx, model.sliding_window or 0) * model.local_layers
    out = global_attention_layers(model) * ctx + local
    return float(out) if out.ndim == 0 else out


def kv_cache_bytes(model: ModelSpec, context_tokens: float | np.ndarray,
                   kv_dtype: str = "fp16") -> float | np.ndarray:
    """KV cache (and recurrent state) of one request holding ``context_tokens`` tokens, bytes,
    whole model: local layers keep at most their window; linear-attention layers keep a state
    that does not grow."""
    state = model.state_bytes_per_request or 0.0
    return (attended_tokens(model, context_tokens) * kv_bytes_per_token_layer(model, kv_dtype)
            + state * KV_BYTES[kv_dtype] / 2)


def kv_cache_bytes_per_token(model: ModelSpec, kv_dtype: str = "fp16",
                             context_tokens: float | None = None) -> float:
    """KV cache per token, whole model, averaged over a request of ``context_tokens`` tokens
    (None: what one more token of a long context costs, i.e. the global layers' share). For full
    attention both are 2 (K and V) x layers x KV heads x head_dim x bytes."""
    if context_tokens is None:
        return global_attention_layers(model) * kv_bytes_per_token_layer(model, kv_dtype)
    return float(kv_cache_bytes(model, context_tokens, kv_dtype)) / context_tokens


def attention_flops_per_token(model: ModelSpec, context_tokens: float | np.ndarray) -> float:
    """Attention score and value FLOPs for one token attending to ``context_tokens``:
    2 x heads x (query-key dim + value dim) per attended token and layer (full attention:
    4 x heads x head_dim; absorbed MLA: keys and values are the latent, 2 x heads x
    (2 kv_lora_rank + qk_rope_head_dim)), local layers capped at their window."""
    if model.kv_lora_rank is not None:
        dims = 2 * model.kv_lora_rank + (model.qk_rope_head_dim or 0)
    else:
        dims = 2 * model.head_dim
    return 2 * model.attention_heads * dims * attended_tokens(model, context_tokens)


def kv_splits_over_tp(model: ModelSpec) -> bool:
    """Whether tensor parallelism splits the KV cache across GPUs: KV heads are sharded, but an
    MLA latent is shared by all heads and so held whole on every GPU."""
    return model.kv_lora_rank is None
