"""serving_cost: the price of a token, its inverses, and a layout priced from the roofline."""

import math

import pytest

from llmscale import counting, hardware, presets
from llmscale.inference import kv_cache, roofline
from llmscale.inference import serving_cost as sc

A100 = hardware.get("a100")


def test_dollars_per_1k_tokens_by_hand():
    # 128 GPUs at $1/h = $128/h = $0.035556/s; at 7,000 tokens/s that is $5.0794e-6 per token.
    assert sc.dollars_per_1k_tokens(128, 1.0, 7000) == pytest.approx(128 / 3600 / 7000 * 1000, rel=1e-12)
    assert sc.dollars_per_1k_tokens(128, 1.0, 7000) == pytest.approx(0.0050794, rel=1e-4)
    # one GPU at $3.6/h making 1 token/s: $0.001 per token, $1 per 1,000
    assert sc.dollars_per_1k_tokens(1, 3.6, 1) == pytest.approx(1.0)


def test_inverses_round_trip():
    price = sc.dollars_per_1k_tokens(128, 2.0, 33_000)
    assert sc.tokens_per_s_for_price(price, 128, 2.0) == pytest.approx(33_000)
    assert sc.gpus_for_price(price, 33_000, 2.0) == pytest.approx(128)
    assert sc.gpu_hour_price_for(price, 128, 33_000) == pytest.approx(2.0)
    assert sc.gpus_for_daily_bill(sc.daily_bill(29_000, 1.5), 1.5) == pytest.approx(29_000)


def test_daily_bill_by_hand():
    assert sc.gpus_for_daily_bill(700_000, 1.0) == pytest.approx(700_000 / 24)
    assert sc.tokens_per_day_for_bill(700_000, 0.002) == pytest.approx(3.5e11)


def test_compute_utilisation_by_hand():
    # 1,000 tokens/s of 312e12 FLOP each on one A100 (312 TFLOP/s bf16) is 100%
    assert sc.compute_utilisation(1000, 312e9, 1, A100) == pytest.approx(1.0)
    assert sc.compute_utilisation(1000, 312e9, 4, "a100") == pytest.approx(0.25)


def test_cluster_scales_every_roof():
    c = sc.cluster(A100, 128)
    assert c.flops("bf16") == pytest.approx(128 * 312e12)
    assert c.hbm_bw == pytest.approx(128 * A100.hbm_bw)
    assert c.hbm_bytes == pytest.approx(128 * 80 * 2**30)
    assert roofline.ridge_point(c) == pytest.approx(roofline.ridge_point(A100))


def test_layout_cost_of_a_dense_model_at_batch_one_is_its_weights_over_bandwidth():
    cfg = presets.get("gpt3-175b")
    lay = sc.layout_cost(cfg, A100, 8, 1, 1, 2048, 1.0)
    weight_bytes = 2 * (counting.param_count(cfg) - cfg.vocab_size * cfg.d_model * 0)  # tied head: read once
    step = roofline.decode_step_time(cfg, sc.cluster(A100, 8), 1, 2048)
    assert lay.step == step and lay.bound == "memory"
    assert lay.tokens_per_s == pytest.approx(1 / step.seconds)
    # by hand: about the 349 GB of weights plus a 9.7 GB cache over 8 · 2.039 TB/s
    assert step.seconds == pytest.approx((weight_bytes + kv_cache.kv_cache_bytes(cfg, 2048)) / (8 * 2.039e12), rel=0.01)
    assert lay.dollars_per_1k == pytest.approx(sc.dollars_per_1k_tokens(8, 1.0, lay.tokens_per_s))


def test_pipeline_emits_one_microbatch_per_stage_time_when_full():
    cfg = presets.get("gpt3-175b")
    full = sc.layout_cost(cfg, A100, 8, 4, 16, 1024, 1.0)
    half = sc.layout_cost(cfg, A100, 8, 4, 16, 1024, 1.0, microbatches=2)
    assert full.concurrent == 64 and half.concurrent == 32
    assert full.tokens_per_s == pytest.approx(16 / full.step.seconds)
    assert half.tokens_per_s == pytest.approx(full.tokens_per_s / 2)
    assert full.seconds_per_token == pytest.approx(4 * full.step.seconds)


def test_price_falls_with_batch_and_scales_with_efficiency():
    cfg = presets.get("gpt4-reported").replace(n_kv_heads=1)
    prices = [sc.layout_cost(cfg, "a100", 8, 16, b, 8192, 1.0).dollars_per_1k for b in (1, 8, 64, 512)]
    assert prices == sorted(prices, reverse=True)
    ideal = sc.layout_cost(cfg, "a100", 8, 16, 256, 8192, 1.0)
    half = sc.layout_cost(cfg, "a100", 8, 16, 256, 8192, 1.0, efficiency=0.5)
    assert half.dollars_per_1k == pytest.approx(2 * ideal.dollars_per_1k)
    # efficiency_for_price round-trips through layout_cost
    need = sc.efficiency_for_price(0.0049, ideal)
    again = sc.layout_cost(cfg, "a100", 8, 16, 256, 8192, 1.0, efficiency=need)
    assert again.dollars_per_1k == pytest.approx(0.0049)
    assert sc.efficiency_for_price(0.0049, again) == pytest.approx(need)


def test_batch_for_price_is_the_smallest_batch_that_reaches_it():
    cfg = presets.get("gpt4-reported").replace(n_kv_heads=1)
    b = sc.batch_for_price(0.0049, cfg, "a100", 8, 16, 8192, 1.0)
    assert sc.layout_cost(cfg, "a100", 8, 16, b, 8192, 1.0).dollars_per_1k <= 0.0049
    assert sc.layout_cost(cfg, "a100", 8, 16, b - 1, 8192, 1.0).dollars_per_1k > 0.0049
    # below the compute roof no batch reaches the price
    assert sc.batch_for_price(0.0049 / 100, cfg, "a100", 8, 16, 8192, 1.0) is None


def test_memory_of_gpt3_on_a100s_by_hand():
    cfg = presets.get("gpt3-175b")
    need = (2 * counting.param_count(cfg) + kv_cache.kv_cache_bytes(cfg, 2048)) / (80 * 2**30)
    assert sc.min_gpus_to_hold(cfg, "a100", 2048) == math.ceil(need) == 5
    assert sc.min_gpus_to_hold(cfg, "a100-40gb", 2048) == 9
    free = 8 * 80 * 2**30 - 2 * counting.param_count(cfg)
    assert sc.max_concurrent_sequences(cfg, "a100", 8, 2048) == math.floor(free / kv_cache.kv_cache_bytes(cfg, 2048))
    assert sc.max_concurrent_sequences(cfg, "a100", 4, 2048) == 0


def test_layout_fits_follows_memory():
    cfg = presets.get("gpt3-175b")
    most = sc.max_concurrent_sequences(cfg, "a100", 8, 2048)
    assert sc.layout_cost(cfg, "a100", 8, 1, most, 2048, 1.0).fits
    assert not sc.layout_cost(cfg, "a100", 8, 1, most + 1, 2048, 1.0).fits


def test_prefill_tokens_cost_less_than_decode_tokens():
    cfg = presets.get("gpt3-175b")
    prefill = sc.prefill_dollars_per_1k(cfg, "a100", 8, 4, 1024, 1.0)
    decode = sc.layout_cost(cfg, "a100", 8, 1, 4, 1024, 1.0).dollars_per_1k
    assert prefill < decode / 10
    # prefill of 4 × 1,024 tokens is compute-bound: its seconds are its FLOPs over 8 · 312 TFLOP/s
    seconds = 4 * 1024 * counting.flops_per_token(cfg, context=1025 / 2) / (8 * 312e12)
    assert prefill == pytest.approx(sc.dollars_per_1k_tokens(8, 1.0, 4 * 1024 / seconds))


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: sc.dollars_per_1k_tokens(0, 1.0, 100), "n_gpus"),
        (lambda: sc.dollars_per_1k_tokens(8, -1.0, 100), "dollars_per_gpu_hour"),
        (lambda: sc.dollars_per_1k_tokens(8, 1.0, 0), "tokens_per_s"),
        (lambda: sc.tokens_per_s_for_price(0, 8, 1.0), "dollars_per_1k"),
        (lambda: sc.gpus_for_daily_bill(700_000, 0), "dollars_per_gpu_hour"),
        (lambda: sc.cluster("a100", 0), "n_gpus"),
        (lambda: sc.cluster(object(), 8), "accelerator"),
        (lambda: sc.layout_cost(presets.get("gpt3-175b"), "a100", 8, 2, 4, 2048, 1.0, microbatches=3), "microbatches"),
        (lambda: sc.layout_cost(presets.get("gpt3-175b"), "a100", 8, 1, 0, 2048, 1.0), "batch"),
        (lambda: sc.min_gpus_to_hold(presets.get("gpt3-175b"), "a100", 2048, usable=1.5), "usable"),
        (lambda: sc.efficiency_for_price(0.001, 0.5), "priced"),
    ],
)
def test_bad_input_names_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


def test_the_leak_price_checks_can_fail():
    # The page checks each price as attainable (at least the roofline's floor). Read as the
    # SemiAnalysis original's "cents", the A100 price falls below the floor and fails.
    from llmscale import claims
    from llmscale.pages.inference import serving_cost as page

    floor = page.leak_layout("a100").dollars_per_1k
    assert claims.verdict(0.0049, floor, bound="<=") == "consistent"
    assert claims.verdict(0.0049 / 100, floor, bound="<=") == "inconsistent"
    # and a slower chip at the same rent cannot reach the H100 figure in bf16
    assert claims.verdict(0.0021, page.leak_layout("h100").dollars_per_1k, bound="<=") == "inconsistent"
    assert claims.verdict(0.0021, page.leak_layout("h100", "fp8").dollars_per_1k, bound="<=") == "consistent"
