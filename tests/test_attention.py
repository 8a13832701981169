"""Attention designs and weight formats of 2025-2026 models, pinned to their config math.

Each expected figure is worked out by hand from the model's config.json values (quoted in
data/models.csv and its source column); the planner must reproduce it exactly (KV bytes are
integer arithmetic) or within the stated tolerance (checkpoint sizes).
"""

import pytest

from planner.errors import ScenarioError
from planner.physics.memory import memory_breakdown, smallest_fitting_tp
from planner.physics.quantities import (
    attention_flops_per_token,
    kv_cache_bytes,
    kv_cache_bytes_per_token,
    model_weight_bytes,
    weight_bytes_read,
)
from planner.pipeline.estimate import estimate_throughput


def test_mla_keeps_one_latent_per_token_and_layer(catalog):
    # deepseek-ai/DeepSeek-V3 config.json: num_hidden_layers 61, kv_lora_rank 512,
    # qk_rope_head_dim 64 -> 61 x (512 + 64) x 2 bytes = 70,272 B/token at 16-bit, whatever the
    # context (a full-attention reading of num_key_value_heads 128 x head 192 would be ~4 MB)
    v3 = catalog.models["deepseek-v3"]
    for context in (1, 4096, 131_072):
        assert kv_cache_bytes_per_token(v3, "fp16", context) == 70_272
    assert kv_cache_bytes_per_token(v3, "fp8", 4096) == 35_136
    # the latent is shared by all heads, so tensor parallelism does not split it
    mem = memory_breakdown(v3, catalog.gpus["h200"], "fp8", 8, "fp16", 8192)
    assert mem.kv_shards == 1
    assert mem.request_kv_bytes_per_gpu(8192) == 70_272 * 8192


def test_gpt_oss_alternates_sliding_and_full_attention(catalog):
    # openai/gpt-oss-120b config.json: 36 layers, layer_types alternating sliding_attention /
    # full_attention (18 + 18), sliding_window 128, num_key_value_heads 8, head_dim 64:
    # per layer and token 2 x 8 x 64 x 2 = 2,048 B; at 8,192 tokens the request holds
    # 18 x 8,192 x 2,048 + 18 x 128 x 2,048 bytes = 37,440 B per token (full attention: 73,728)
    m = catalog.models["gpt-oss-120b"]
    assert kv_cache_bytes(m, 8192) == 18 * 8192 * 2048 + 18 * 128 * 2048
    assert kv_cache_bytes_per_token(m, "fp16", 8192) == 37_440
    assert kv_cache_bytes_per_token(m, "fp16", 100) == 36 * 2048  # inside the window: all layers


def test_gemma_3_keeps_five_local_layers_per_global_one(catalog):
    # google/gemma-3-27b-it text_config: 62 layers, sliding_window 1024, sliding_window_pattern 6
    # (52 local + 10 global), num_key_value_heads 16, head_dim 128 -> 8,192 B per layer and token;
    # at 32,768 tokens: (10 x 32,768 + 52 x 1,024) x 8,192 / 32,768 = 95,232 B/token, 5.3x below
    # a full-attention reading (62 x 8,192 = 507,904)
    m = catalog.models["gemma-3-27b"]
    assert kv_cache_bytes_per_token(m, "fp16", 32_768) == 95_232
    assert 62 * 8192 / kv_cache_bytes_per_token(m, "fp16", 32_768) == pytest.approx(5.33, abs=0.01)


def test_llama_4_chunks_three_of_four_layers(catalog):
    # meta-llama/Llama-4-Scout-17B-16E-Instruct: 48 layers, attention_chunk_size 8192 on 36 of
    # them (every 4th layer global), num_key_value_heads 8, head_dim 128 -> 4,096 B per layer and
    # token; at 131,072 tokens (12 x 131,072 + 36 x 8,192) x 4,096 / 131,072 = 58,368 B/token
    m = catalog.models["llama-4-scout"]
    assert kv_cache_bytes_per_token(m, "fp16", 131_072) == 58_368


def test_local_layers_cap_attention_flops(catalog):
    m = catalog.models["gemma-3-27b"]
    # 2 x heads 32 x (2 x head_dim 128) per attended token and layer
    assert attention_flops_per_token(m, 32_768) == 2 * 32 * 256 * (10 * 32_768 + 52 * 1024)


def test_gpt_oss_120b_mxfp4_weights_match_the_checkpoint(catalog):
    # MoE experts in MXFP4 (4.25 bits/weight: E8M0 scale per 32), the rest bf16. The published
    # checkpoint is 60.77 GiB = 65.25 GB (see data/models.csv notes); within 3 %.
    m = catalog.models["gpt-oss-120b"]
    assert model_weight_bytes(m, "mxfp4") / 1e9 == pytest.approx(65.25, rel=0.03)
    # one token reads the shared weights and 4 of 128 experts per layer: ~5.1B active params
    assert weight_bytes_read(m, "mxfp4", 1) < model_weight_bytes(m, "mxfp4") / 10


def test_gpt_oss_120b_mxfp4_fits_one_80gb_card(catalog):
    out = estimate_throughput(catalog, model_id="gpt-oss-120b", gpu_id="h100-sxm",
                              precision="mxfp4", context_tokens=None)
    assert out["fits"] and out["tp"] == 1


def test_deepseek_v3_fp8_fits_one_8x_h200_node(catalog):
    v3 = catalog.models["deepseek-v3"]
    fit = smallest_fitting_tp(v3, catalog.gpus["h200"], "fp8", 8)
    assert fit.fits and fit.memory.tp == 8
    assert not smallest_fitting_tp(v3, catalog.gpus["h200"], "fp8", 4).fits


def test_nvfp4_needs_fp4_tensor_cores(catalog):
    with pytest.raises(ScenarioError, match="cannot run nvfp4"):
        estimate_throughput(catalog, model_id="llama-3.3-70b", gpu_id="h100-sxm",
                            precision="nvfp4")


def test_linear_attention_layers_keep_a_state_that_does_not_grow(catalog):
    """A hybrid model (no catalog row has one yet: a Qwen3-8B shape with three of every four
    layers made linear-attention, 1 MiB of recurrent state per request, stated at 16-bit)."""
    base = catalog.models["qwen3-8b"]
    hybrid = base.model_copy(update={"linear_attention_layers": 27,
                                     "state_bytes_per_request": 2**20})
    per_layer = 2 * base.kv_heads * base.head_dim * 2  # K and V, 16-bit
    for context in (1_000, 32_000):
        assert kv_cache_bytes(hybrid, context) == (base.layers - 27) * per_layer * context + 2**20
    assert kv_cache_bytes(hybrid, 32_000, "fp8") == (base.layers - 27) * per_layer / 2 * 32_000 \
        + 2**19
    # at long context the hybrid keeps about a quarter of the full model's cache
    ratio = kv_cache_bytes(hybrid, 32_000) / kv_cache_bytes(base, 32_000)
    assert ratio == pytest.approx(9 / 36, abs=0.01)


def test_moe_with_a_shared_expert_reads_its_active_parameters_for_one_token(catalog):
    # DeepSeek-V3: 671B total, 37B active (256 routed experts, top-8, plus 1 shared expert and 3
    # dense layers, all inside the active count); at fp8 one token reads ~37 GB of weights less
    # the untied input embedding (129280 x 7168 = 0.927B, gathered, not read), and a large batch
    # touches nearly every expert
    v3 = catalog.models["deepseek-v3"]
    assert v3.shared_experts == 1 and v3.experts == 256 and v3.experts_per_token == 8
    embedding_b = 129280 * 7168 / 1e9
    assert weight_bytes_read(v3, "fp8", 1) / 1e9 == pytest.approx(37.0 - embedding_b, rel=1e-6)
    assert weight_bytes_read(v3, "fp8", 4096) / 1e9 == pytest.approx(671.0 - embedding_b,
                                                                      rel=1e-3)


def test_an_untied_input_embedding_is_gathered_not_read(catalog):
    # Qwen2.5-7B (untied, vocab 152064 x hidden 3584 = 0.545B): a decode step streams every weight
    # but the input embedding table, whose rows it gathers: (7.61 - 0.545) x 2 bytes = 14.13 GB.
    # Qwen2.5-1.5B ties it to the output head, which is read whole: all 1.54B x 2 = 3.08 GB.
    q7 = catalog.models["qwen2.5-7b"]
    assert not q7.tie_word_embeddings
    assert weight_bytes_read(q7, "bf16", 1) / 1e9 == pytest.approx((7.61 - 0.545) * 2, rel=1e-3)
    q15 = catalog.models["qwen2.5-1.5b"]
    assert q15.tie_word_embeddings
    assert weight_bytes_read(q15, "bf16", 1) / 1e9 == pytest.approx(1.54 * 2, rel=1e-6)


def test_a_vision_tower_is_held_in_memory_but_not_read_to_generate(catalog):
    # google/gemma-3-27b-it: 27.432B with its 0.417B SigLIP tower (report: 417M)
    g = catalog.models["gemma-3-27b"]
    assert g.vision_params_b == pytest.approx(0.417)
    assert model_weight_bytes(g, "bf16") == pytest.approx(27.432e9 * 2)
    assert weight_bytes_read(g, "bf16", 1) == pytest.approx((27.432 - 0.417) * 1e9 * 2)
