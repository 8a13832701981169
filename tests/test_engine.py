"""Engine formulas pinned to hand-computed cases."""

import math

import pytest

from planner.errors import CannotEstimateError
from planner.physics.energy import co2_kg, facility_kwh_per_month, gpu_power_w
from planner.physics.memory import (
    USABLE_MEMORY_FRACTION,
    memory_breakdown,
    smallest_fitting_tp,
    tp_divides_heads,
    weights_gb,
)
from planner.physics.quantities import kv_cache_bytes_per_token, weight_bytes, weight_bytes_read
from planner.physics.throughput import (
    DEFAULT_PROFILES,
    EngineProfile,
    choose_batch,
    throughput_curve,
)
from planner.pipeline.sizing import nodes_needed, peak_requests_per_s, replicas_needed
from planner.pricing.money import CostComponent, cost_line, total_usd
from planner.pricing.resolver import PriceResolver, vm_key
from planner.units import HOURS_PER_MONTH

# A profile with round numbers so hand computation is easy (not the calibrated one).
PLAIN = EngineProfile("plain", bandwidth_efficiency=1.0, compute_efficiency=1.0,
                      prefill_efficiency=1.0, step_overhead_ms=0.0,
                      tp_overhead_per_doubling=0.0, max_batch=256)


def test_llama3_8b_fp16_weights_and_kv(catalog):
    m = catalog.models["llama-3-8b"]
    # 8.03e9 params x 2 bytes = 16.06 GB (issue's hand-computed case)
    assert weights_gb(m, "fp16") == pytest.approx(16.06, abs=0.005)
    # 2 x 32 layers x 8 KV heads x 128 head_dim x 2 bytes = 131,072
    assert kv_cache_bytes_per_token(m) == 131_072
    assert kv_cache_bytes_per_token(m, "fp8") == 65_536


def test_int4_counts_group_scales(catalog):
    m = catalog.models["llama-3-8b"]
    # 0.5 byte + fp16 scale and zero per 128 weights (0.03125 byte) = 0.53125 byte/param
    assert weight_bytes(m.params_b, "int4") == pytest.approx(8.03e9 * 0.53125)


def test_llama3_70b_fp16_does_not_fit_one_80gb_gpu(catalog):
    m, gpu = catalog.models["llama-3-70b"], catalog.gpus["h100-sxm"]
    fit = smallest_fitting_tp(m, gpu, "fp16", max_gpus=1)
    assert not fit.fits
    [attempt] = fit.attempts  # tp=1 was tried and refused for memory
    assert attempt.tp == 1 and attempt.problem == "memory"
    assert attempt.need_gb > attempt.usable_gb
    # 141.1 GB x 1.02 load factor / 2 = 72.0 GB per GPU: tp=2 leaves nothing of the 72 GB usable
    # for runtime overhead and NCCL buffers, so the smallest fit is tp=4 (36.0 GB per GPU)
    fit8 = smallest_fitting_tp(m, gpu, "fp16", max_gpus=8)
    assert fit8.memory.tp == 4
    assert fit8.memory.weights_gb == pytest.approx(70.55 * 2 * 1.02 / 4, rel=1e-6)


def test_falcon_mqa_kv_far_smaller_than_llama2(catalog):
    falcon = kv_cache_bytes_per_token(catalog.models["falcon-7b"])
    llama2 = kv_cache_bytes_per_token(catalog.models["llama-2-7b"])
    assert falcon == 2 * 32 * 1 * 64 * 2 == 8_192
    assert llama2 == 2 * 32 * 32 * 128 * 2 == 524_288
    assert llama2 / falcon == 64


def test_tp_must_divide_attention_and_kv_heads(catalog):
    falcon = catalog.models["falcon-7b"]  # 71 heads, 1 KV head
    assert tp_divides_heads(falcon, 1)
    assert not tp_divides_heads(falcon, 2)
    llama70 = catalog.models["llama-3-70b"]  # 64 heads, 8 KV heads
    assert all(tp_divides_heads(llama70, t) for t in (1, 2, 4, 8))


def test_memory_buckets_add_up(catalog):
    m, gpu = catalog.models["llama-3-8b"], catalog.gpus["a100-80gb-pcie"]
    mem = memory_breakdown(m, gpu, "fp16", tp=2, context_tokens=8192)
    # the card exposes 81,920 MiB (nvidia-smi on A100 80GB PCIe; data/gpus.csv), not 80 x 10^9 B
    assert mem.usable_gb == pytest.approx(81_920 * 2**20 / 1e9 * USABLE_MEMORY_FRACTION)
    assert mem.weights_gb == pytest.approx(16.06 * 1.02 / 2, rel=1e-3)
    assert mem.comm_buffers_gb > 0  # NCCL buffers only when tensor-parallel
    assert memory_breakdown(m, gpu, "fp16", tp=1).comm_buffers_gb == 0
    assert mem.kv_budget_gb == pytest.approx(
        mem.usable_gb - mem.weights_gb - mem.runtime_overhead_gb - mem.comm_buffers_gb)
    # max batch for 1,000-token requests = KV budget / (65,536 B per token per GPU x 1,000)
    assert mem.max_batch(1000) == int(mem.kv_budget_gb * 1e9 // (65_536 * 1000))


def test_decode_is_bandwidth_bound_at_batch_1(catalog):
    m, gpu = catalog.models["llama-3-8b"], catalog.gpus["h100-sxm"]
    curve = throughput_curve(m, gpu, "fp16", 1, PLAIN, 100, 100, 1)
    # weights 16.06 GB less the gathered input embedding (128,256 x 4,096 x 2 B = 1.05 GB)
    # + KV 150 tokens x 131,072 B, read at 3,350 GB/s
    expected = (16.06e9 - 128_256 * 4096 * 2 + 150 * 131_072) / 3350e9
    assert curve.decode_step_s[0] == pytest.approx(expected, rel=1e-6)


def test_prefill_is_compute_bound(catalog):
    m, gpu = catalog.models["llama-3-8b"], catalog.gpus["h100-sxm"]
    curve = throughput_curve(m, gpu, "fp16", 1, PLAIN, 2000, 100, 1)
    flops = 2 * 8.03e9 * 2000 + 4 * 32 * 32 * 128 * 1000 * 2000  # linear + causal attention
    assert curve.prefill_s == pytest.approx(flops / (gpu.fp16_tflops * 1e12), rel=1e-6)


def test_moe_reads_touched_experts_but_computes_active(catalog):
    m = catalog.models["mixtral-8x7b"]
    one = weight_bytes_read(m, "fp16", 1)
    many = weight_bytes_read(m, "fp16", 256)
    assert one < many <= weight_bytes(m.params_b, "fp16") * (1 + 1e-9)
    # one token touches 2 of 8 experts: shared + 2 experts = active params, less the input
    # embedding (32,000 x 4,096), which is gathered, not read
    assert one == pytest.approx(weight_bytes(m.active_params_b - 32_000 * 4096 / 1e9, "fp16"),
                                rel=1e-9)


def test_tpot_includes_interleaved_prefill(catalog):
    m, gpu = catalog.models["llama-3-8b"], catalog.gpus["h100-sxm"]
    curve = throughput_curve(m, gpu, "fp16", 1, PLAIN, 1000, 200, 64)
    b = 64
    assert curve.tpot_s[b - 1] == pytest.approx(
        curve.decode_step_s[b - 1] + b * curve.prefill_s / 200)
    assert curve.output_tokens_per_s[b - 1] == pytest.approx(b / curve.tpot_s[b - 1])


def test_batch_choice_stops_at_the_slo(catalog):
    m, gpu = catalog.models["llama-3-8b"], catalog.gpus["a100-80gb-pcie"]
    curve = throughput_curve(m, gpu, "fp16", 1, DEFAULT_PROFILES["vllm"], 800, 200, 256)
    loose = choose_batch(curve, 256, 256, 60_000, 10_000)
    assert loose.batch == 256 and loose.meets_slo
    tight = choose_batch(curve, 256, 256, 60_000, 40)
    assert tight.batch < 256 and tight.tpot_ms <= 40 and tight.limit == "tpot_slo"
    # the batch after the chosen one is the first to break the TPOT SLO
    assert tight.next_tpot_ms > 40
    assert tight.next_tpot_ms == pytest.approx(curve.tpot_s[tight.batch] * 1000)
    impossible = choose_batch(curve, 256, 256, 60_000, 1)
    assert impossible.batch == 1 and not impossible.meets_slo and impossible.limit == "unmet"


def test_replicas_and_nodes_hand_case():
    # 200,000 requests/day x 3 peak = 6.944 req/s; a replica serves 2 req/s at 80 % -> 1.6 -> 5
    peak = peak_requests_per_s(200_000, 3.0)
    assert peak == pytest.approx(6.944, abs=1e-3)
    assert replicas_needed(peak, 2.0, 0.8, 1) == 5
    assert replicas_needed(0.0, 2.0, 0.8, 2) == 2  # never below min_replicas
    assert nodes_needed(5, gpus_per_node=8, tp=2) == 2  # 4 replicas per node
    assert nodes_needed(5, gpus_per_node=1, tp=1) == 5
    with pytest.raises(CannotEstimateError, match="needs 2 GPUs but a node has 1"):
        nodes_needed(1, gpus_per_node=1, tp=2)


def test_monthly_cost_of_always_on_nodes(catalog):
    # N always-on nodes cost N x hourly price x 730
    key = vm_key("Standard_Priced", "eastus", "payg")
    resolver = PriceResolver(catalog, overrides={key: 3.673})
    nodes = CostComponent("nodes", "gpu_nodes", "month", 3 * HOURS_PER_MONTH, "node-hour", key)
    line = cost_line(nodes, resolver)
    assert line.amount_usd == pytest.approx(3 * 3.673 * 730)
    assert line.unit_price_usd == 3.673 and line.status == "input"
    unpriced = CostComponent("nodes", "gpu_nodes", "month", 3 * HOURS_PER_MONTH, "node-hour",
                             vm_key("Standard_Unpriced", "eastus", "payg"))
    missing = cost_line(unpriced, resolver)
    assert missing.amount_usd is None and missing.status == "missing"
    assert missing.missing_reason == "no_row"
    assert total_usd([line, missing]) is None
    assert total_usd([line]) == pytest.approx(8043.87)


def test_energy_hand_case(catalog):
    gpu = catalog.gpus["h100-sxm"]
    assert gpu_power_w(gpu, 1.0) == pytest.approx(gpu.tdp_w)
    # 1 kW IT at PUE 1.2 for 730 h = 876 kWh; at 400 g/kWh = 350.4 kg
    kwh = facility_kwh_per_month(1000, 1.2)
    assert kwh == pytest.approx(876)
    assert co2_kg(kwh, 400) == pytest.approx(350.4)


def test_infinite_values_never_appear(catalog):
    m, gpu = catalog.models["phi-2"], catalog.gpus["t4"]
    curve = throughput_curve(m, gpu, "fp16", 1, DEFAULT_PROFILES["vllm"], 1, 1, 8)
    assert all(math.isfinite(x) for x in curve.tpot_s)
