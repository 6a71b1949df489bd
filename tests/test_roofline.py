"""roofline: ridge points, prefill and decode step times, the crossover batch; machine: a measured
machine that stands in for an accelerator."""

from __future__ import annotations

import math

import pytest

from llmscale import counting, hardware, presets
from llmscale.config import ModelConfig
from llmscale.inference import decode, kv_cache, machine, roofline

A100 = hardware.get("a100")
H100 = hardware.get("h100")
# A made-up chip with round numbers: 1 TFLOP/s, 10 GB/s, ridge point 100 FLOP/byte.
TOY_CHIP = hardware.Accelerator(
    "toy", {"bf16": 1e12}, hbm_bytes=2**30, hbm_bw=1e10, interconnect_bw=1, tdp_watts=1, source="test"
)
# A tiny dense model whose counts are easy by hand: no biases, RMSNorm, GELU, d_ff = 4d, untied head.
TOY = ModelConfig(
    n_layers=2,
    d_model=64,
    n_heads=4,
    vocab_size=100,
    seq_len=128,
    ffn="gelu",
    norm="rmsnorm",
    bias=False,
    pos="rope",
    tie_embeddings=False,
)


def test_ridge_point_is_peak_over_bandwidth_for_every_accelerator():
    assert roofline.ridge_point(A100) == pytest.approx(312e12 / 2.039e12)
    assert roofline.ridge_point(TOY_CHIP) == pytest.approx(100)
    for acc in hardware.ACCELERATORS.values():
        for dtype in acc.peak_flops:
            assert roofline.ridge_point(acc, dtype) == pytest.approx(acc.ridge_flops_per_byte(dtype))


def test_decode_step_by_hand():
    d, L, V, c = 64, 2, 100, 10
    weights_flops = 2 * (L * (4 * d * d + 2 * d * 4 * d) + V * d)  # attention, FFN, LM head
    flops = weights_flops + 4 * L * c * d  # scores and weighted values over c keys
    weights_read = L * (4 * d * d + 8 * d * d) + V * d + (2 * L + 1) * d  # + norms; embedding not read
    kv_read = c * L * 2 * d * 2  # c tokens, K and V of width d per layer, bf16
    step = roofline.decode_step_time(TOY, TOY_CHIP, 1, c)
    assert step.flops == pytest.approx(flops)
    assert step.bytes == pytest.approx(2 * weights_read + kv_read)
    assert step.compute_s == pytest.approx(flops / 1e12)
    assert step.memory_s == pytest.approx(step.bytes / 1e10)
    assert step.seconds == step.memory_s and step.bound == "memory"
    assert step.intensity == pytest.approx(flops / step.bytes)
    assert roofline.tokens_per_s(TOY, TOY_CHIP, 1, c) == pytest.approx(1 / step.seconds)


def test_gpt3_at_batch_one_reads_its_weights_and_cache():
    cfg = presets.get("gpt3-175b")
    step = roofline.decode_step_time(cfg, A100, 1, 2048)
    weights = decode.decode_weight_params(cfg, 1) * 2
    assert step.bytes == pytest.approx(weights + kv_cache.kv_cache_bytes(cfg, 2048))
    assert step.bound == "memory"
    assert step.seconds == pytest.approx(step.bytes / A100.hbm_bw)


def test_prefill_by_hand_and_compute_bound_for_long_prompts():
    cfg = presets.get("llama-65b")
    step = roofline.prefill_step_time(cfg, A100, 2, 1024)
    tokens = 2 * 1024
    assert step.flops == pytest.approx(tokens * counting.flops_per_token(cfg, context=1025 / 2))
    kv = tokens * kv_cache.bytes_per_token(cfg)
    assert step.bytes == pytest.approx(decode.decode_weight_params(cfg, tokens) * 2 + kv)
    assert step.bound == "compute"
    assert roofline.prefill_step_time(cfg, A100, 1, 1).bound == "memory"  # one token is a decode step


def test_throughput_grows_with_batch_and_falls_with_context():
    cfg = presets.get("llama-13b")
    rates = [roofline.tokens_per_s(cfg, A100, b, 2048) for b in (1, 2, 4, 8, 16, 64, 256, 1024)]
    assert all(x < y for x, y in zip(rates, rates[1:]))
    times = [roofline.decode_step_time(cfg, A100, 8, c).seconds for c in (0, 128, 1024, 8192)]
    assert all(x < y for x, y in zip(times, times[1:]))


def test_bound_switches_at_the_crossover_batch():
    for cfg, acc, c in [
        (presets.get("llama-65b"), A100, 128),
        (presets.get("llama3-70b"), H100, 512),
        (TOY, TOY_CHIP, 4),
        (presets.get("mixtral-8x7b"), A100, 256),
    ]:
        b = roofline.crossover_batch(cfg, acc, c)
        assert b is not None and b > 1
        assert roofline.decode_step_time(cfg, acc, b, c).bound == "compute"
        assert roofline.decode_step_time(cfg, acc, b - 1, c).bound == "memory"
        assert roofline.decode_step_time(cfg, acc, b - 1, c).intensity < roofline.ridge_point(acc)


def test_crossover_of_a_dense_model_has_a_closed_form():
    # B·f / (b·W + B·c·k) = R  ⇒  B* = R·b·W / (f − R·c·k), rounded up
    cfg, acc, c = presets.get("llama-65b"), A100, 128
    f = counting.flops_per_token(cfg, context=c)
    w = decode.decode_weight_params(cfg, 1) * 2
    k = kv_cache.bytes_per_token(cfg)
    r = roofline.ridge_point(acc)
    assert roofline.crossover_batch(cfg, acc, c) == math.ceil(r * w / (f - r * c * k))


def test_crossover_at_context_zero_is_the_weight_only_batch():
    for name in ("llama-65b", "gpt4-reported", "mixtral-8x7b"):
        cfg = presets.get(name)
        assert roofline.crossover_batch(cfg, A100, 0) == decode.min_batch_compute_bound(
            cfg, A100.ridge_flops_per_byte()
        )


def test_the_kv_read_caps_the_intensity_so_long_contexts_never_cross():
    cfg = presets.get("gpt3-175b")  # multi-head attention: the cache is as wide as the model
    limit = roofline.decode_intensity_limit(cfg, 2048)
    assert limit < roofline.ridge_point(A100)
    assert roofline.crossover_batch(cfg, A100, 2048) is None
    big = roofline.decode_step_time(cfg, A100, 10**6, 2048)
    assert big.bound == "memory" and big.intensity == pytest.approx(limit, rel=0.01)
    assert roofline.decode_intensity_limit(cfg, 0) == math.inf
    # grouped-query attention shrinks the cache 8× (and the K, V weights), and moves the limit up almost 7×
    gqa = cfg.replace(n_kv_heads=cfg.n_heads // 8)
    assert roofline.decode_intensity_limit(gqa, 2048) > 6 * limit


def test_mixture_reads_the_experts_its_batch_touches():
    cfg = presets.get("mixtral-8x7b")
    dense_twin = cfg.replace(n_experts=1, top_k=1, d_ff=cfg.top_k * cfg.ff_dim)
    one = roofline.decode_step_time(cfg, A100, 1, 0)
    assert one.bytes == pytest.approx(roofline.decode_step_time(dense_twin, A100, 1, 0).bytes, rel=1e-3)
    for b in (2, 8, 64):
        step = roofline.decode_step_time(cfg, A100, b, 0)
        assert step.bytes == pytest.approx(decode.decode_weight_params(cfg, b) * 2)
        assert step.bytes > roofline.decode_step_time(dense_twin, A100, b, 0).bytes
    assert roofline.crossover_batch(cfg, A100, 0) > 2 * roofline.crossover_batch(dense_twin, A100, 0)


def test_latent_attention_reads_its_latent_not_keys_and_values():
    mla = ModelConfig(
        n_layers=4,
        d_model=512,
        n_heads=8,
        vocab_size=1000,
        seq_len=512,
        kv_lora_rank=64,
        qk_rope_head_dim=16,
        pos="rope",
    )
    step = roofline.decode_step_time(mla, A100, 4, 100)
    latent = 4 * 100 * mla.n_layers * (64 + 16) * 2
    assert step.bytes == pytest.approx(decode.decode_weight_params(mla, 4) * 2 + latent)
    assert kv_cache.bytes_per_token(mla) < kv_cache.mha_bytes_per_token(mla) / 10


def test_efficiency_scales_the_roofs():
    cfg = presets.get("llama-13b")
    full = roofline.decode_step_time(cfg, A100, 4, 1024)
    half = roofline.decode_step_time(cfg, A100, 4, 1024, efficiency=0.5)
    assert half.seconds == pytest.approx(2 * full.seconds)
    split = roofline.decode_step_time(cfg, A100, 4, 1024, efficiency=0.5, bandwidth_efficiency=1.0)
    assert split.memory_s == pytest.approx(full.memory_s) and split.compute_s == pytest.approx(2 * full.compute_s)
    # a lower compute roof lowers the effective ridge point: compute binds from a smaller batch
    slow = roofline.crossover_batch(cfg, A100, 128, efficiency=0.5, bandwidth_efficiency=1.0)
    assert slow < roofline.crossover_batch(cfg, A100, 128)
    assert roofline.decode_step_time(cfg, A100, slow, 128, efficiency=0.5, bandwidth_efficiency=1.0).bound == "compute"


def test_attainable_flops_and_matmul_intensity():
    assert roofline.attainable_flops(TOY_CHIP, 10) == pytest.approx(1e11)
    assert roofline.attainable_flops(TOY_CHIP, 1000) == pytest.approx(1e12)
    assert roofline.matmul_intensity(64, 64, 64, 4) == pytest.approx(2 * 64 / (3 * 4))
    # one token against a big weight: about one multiply-add per weight, 2/b FLOP per byte
    assert roofline.matmul_intensity(1, 8192, 8192, 2) == pytest.approx(1.0, rel=1e-3)
    assert roofline.matmul_intensity(4096, 8192, 8192, 2) > 100 * roofline.matmul_intensity(1, 8192, 8192, 2)


def test_rows_at_the_ridge_solve_the_intensity():
    m = roofline.matmul_rows_at_ridge(8192, 8192, roofline.ridge_point(A100))
    assert roofline.matmul_intensity(math.ceil(m), 8192, 8192) >= roofline.ridge_point(A100)
    assert roofline.matmul_intensity(math.floor(m), 8192, 8192) < roofline.ridge_point(A100)
    assert m == pytest.approx(roofline.ridge_point(A100), rel=0.05)  # about I*·b/2 rows when m ≪ d
    assert roofline.matmul_rows_at_ridge(64, 64, 100) is None  # a 64×64 weight never reaches 100 FLOP/byte


def test_longest_compute_bound_context_is_where_the_limit_meets_the_ridge():
    for name, acc in [("llama-65b", A100), ("gpt3-175b", H100), ("llama3-70b", A100)]:
        cfg = presets.get(name)
        c = roofline.longest_compute_bound_context(cfg, acc)
        assert roofline.decode_intensity_limit(cfg, c) == pytest.approx(roofline.ridge_point(acc))
        assert roofline.crossover_batch(cfg, acc, math.floor(0.9 * c)) is not None
        assert roofline.crossover_batch(cfg, acc, math.ceil(1.1 * c)) is None


def test_a_measured_machine_stands_in_for_an_accelerator():
    m = machine.Machine("toy cpu", {"fp32": 1e11}, memory_bw=1e10, copy_bw=1e10, read_bw=8e9, method="by hand")
    assert m.hbm_bw == 1e10 and m.flops("fp32") == 1e11
    assert roofline.ridge_point(m, "fp32") == pytest.approx(10) == m.ridge_flops_per_byte("fp32")
    step = roofline.decode_step_time(TOY, m, 1, 10, bytes_per_value=4, dtype="fp32")
    assert step.bound == "memory"
    with pytest.raises(ValueError, match="bf16"):
        m.flops("bf16")


def test_best_of_keeps_the_highest_rate_of_each_roof():
    a = machine.Machine("cpu", {"fp32": 1e11}, memory_bw=1e10, copy_bw=1e10, read_bw=8e9, method="m")
    b = machine.Machine("cpu", {"fp32": 2e11, "bf16": 3e11}, memory_bw=9e9, copy_bw=7e9, read_bw=9e9, method="m")
    best = machine.best_of(a, b)
    assert best.matmul_flops == {"bf16": 3e11, "fp32": 2e11}
    assert (best.copy_bw, best.read_bw, best.memory_bw) == (1e10, 9e9, 1e10)
    with pytest.raises(ValueError, match="Machine"):
        machine.best_of()
    with pytest.raises(ValueError, match="device"):
        machine.best_of(a, machine.Machine("gpu", {}, 1, 1, 1, "m", device="cuda"))


def test_measure_machine_returns_positive_rates_and_states_its_method():
    m = machine.measure_machine(matmul_size=64, tensor_bytes=2**20, repeats=1, dtypes=("fp32",))
    assert m.flops("fp32") > 0 and m.memory_bw == max(m.copy_bw, m.read_bw) > 0
    assert "read + write" in m.method and m.tensor_bytes == 2**20
    p = machine.measure_matmul(4, 32, 32, repeats=1)
    assert p.flops == 2 * 4 * 32 * 32 and p.bytes == 4 * (4 * 32 + 32 * 32 + 4 * 32) and p.seconds > 0
    assert p.intensity == pytest.approx(roofline.matmul_intensity(4, 32, 32, 4))


def test_measure_decode_step_times_a_step_over_a_filled_cache():
    from llmscale.model import build

    cfg = ModelConfig(n_layers=1, d_model=32, n_heads=2, vocab_size=64, seq_len=64)
    model = build(cfg, seed=0).eval()
    assert machine.measure_decode_step(model, 2, 16, steps=2) > 0
    with pytest.raises(ValueError, match="seq_len"):
        machine.measure_decode_step(model, 1, 60, steps=5)
    nbytes, seconds = machine.measure_weight_products(model, batch=2, repeats=1)
    embed = cfg.vocab_size * cfg.d_model
    assert nbytes == 4 * (sum(p.numel() for p in model.parameters() if p.dim() == 2) - embed) and seconds > 0
    with pytest.raises(ValueError, match="batch"):
        machine.measure_decode_step(model, 0, 8)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: roofline.decode_step_time(TOY, A100, 0, 10), "batch"),
        (lambda: roofline.decode_step_time(TOY, A100, 1, -1), "context"),
        (lambda: roofline.decode_step_time(TOY, A100, 1, 10, efficiency=0), "efficiency"),
        (lambda: roofline.decode_step_time(TOY, A100, 1, 10, efficiency=1.5), "efficiency"),
        (lambda: roofline.decode_step_time(TOY, A100, 1, 10, bandwidth_efficiency=2), "bandwidth_efficiency"),
        (lambda: roofline.decode_step_time(TOY, A100, 1, 10, bytes_per_value=0), "bytes_per_value"),
        (lambda: roofline.decode_step_time(TOY, "a100", 1, 10), "accelerator"),
        (lambda: roofline.decode_step_time(TOY, A100, 1, 10, dtype="fp4"), "dtype"),
        (lambda: roofline.decode_step_time(presets.get("transformer-base"), A100, 1, 10), "n_encoder_layers"),
        (lambda: roofline.prefill_step_time(TOY, A100, 1, 0), "prompt_len"),
        (lambda: roofline.crossover_batch(TOY, A100, 10, max_batch=0), "max_batch"),
        (lambda: roofline.matmul_intensity(0, 4, 4), "m"),
        (lambda: roofline.attainable_flops(A100, 0), "intensity"),
        (lambda: roofline.matmul_rows_at_ridge(8, 8, -1), "ridge_flops_per_byte"),
        (lambda: roofline.longest_compute_bound_context(TOY, A100, bytes_per_value=-2), "bytes_per_value"),
        (lambda: machine.measure_machine(dtypes=("fp64",)), "dtypes"),
        (lambda: machine.measure_machine(dtypes="fp32"), "dtypes"),
        (lambda: machine.measure_matmul(1, 1, 1, repeats=0), "repeats"),
    ],
)
def test_bad_input_raises_a_value_error_naming_the_field(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_decode_of_latent_attention_counts_the_absorbed_form():
    from llmscale import counting, hardware, presets

    cfg = presets.get("deepseek-v3")
    st = roofline.decode_step_time(cfg, hardware.get("h100"), 4, 1024)
    assert st.flops == 4 * counting.latent_decode_flops_per_token(cfg, context=1024)
    assert st.flops != 4 * counting.flops_per_token(cfg, context=1024)
