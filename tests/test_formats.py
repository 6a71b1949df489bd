"""Number formats and what a model weighs: bits per weight against hand arithmetic and published
figures, bytes against built models' tensors, serving memory against the inference chapter."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscale import counting, hardware, presets
from llmscale.compression import formats
from llmscale.config import ModelConfig
from llmscale.inference import kv_cache, serving_cost
from llmscale.model import build


def test_int4_with_groups_of_128_and_fp16_scales_costs_4_125_bits_and_a_zero_adds_a_32nd():
    assert formats.bits_per_weight("int4-g128") == 4 + 16 / 128 == 4.125
    assert formats.bits_per_weight("int4-g128-asym") == 4 + (16 + 4) / 128
    assert formats.Scheme("int4", 128, symmetric=False, zero_bits=16).bits_per_weight() == 4 + 32 / 128
    assert formats.bits_per_weight("int3-g128") == 3.125 and formats.bits_per_weight("int2-g64") == 2.25


def test_deepseek_v3s_fp8_blocks_cost_one_fp32_scale_per_128_by_128_weights():
    s = formats.SCHEMES["fp8-block128"]
    assert s.bits_per_weight() == 8 + 32 / (128 * 128)
    assert s.groups(7168, 18432) == 56 * 144
    assert s.tensor_bytes(7168, 18432) == 7168 * 18432 + 56 * 144 * 4
    with pytest.raises(ValueError, match="group_rows"):
        formats.Scheme("fp8", None, 32, group_rows=128)


def test_a_per_tensor_scheme_stores_one_scale():
    s = formats.Scheme("int8", "tensor")
    assert s.groups(64, 64) == 1 and s.tensor_bytes(64, 64) == 64 * 64 + 2
    assert s.bits_per_weight() == 8


def test_plain_floats_cost_their_width_and_take_no_scale():
    assert [formats.bits_per_weight(x) for x in ("fp32", "bf16", "fp16")] == [32, 16, 16]
    assert formats.get("bf16").exponent_bits == formats.get("fp32").exponent_bits == 8
    assert formats.get("fp16").max_value == 65504 and formats.get("fp8").max_value == 448
    with pytest.raises(ValueError, match="group_size=None"):
        formats.Scheme("bf16", 128)


def test_nf4_double_quantization_costs_qloras_0_127_bits_of_constants():
    # Dettmers et al. 2023, QLoRA, §3: 32/64 = 0.5 bits per parameter of fp32 absmax for blocks of
    # 64, reduced by double quantization to 8/64 + 32/(64·256) = 0.127 bits.
    assert formats.bits_per_weight("nf4-b64") - 4 == 0.5
    assert round(formats.bits_per_weight("nf4-b64-dq") - 4, 3) == 0.127


def test_per_channel_overhead_is_one_scale_per_row():
    s = formats.SCHEMES["int8-channel"]
    assert s.group_size is None and s.name == "int8 per channel"
    assert s.bits_per_weight(in_features=4096) == 8 + 16 / 4096
    assert s.tensor_bytes(1024, 4096) == 1024 * 4096 + 1024 * 2
    with pytest.raises(ValueError, match="in_features"):
        s.bits_per_weight()


def test_tensor_bytes_pack_values_and_count_a_short_last_group():
    s = formats.SCHEMES["int4-g128"]
    assert s.tensor_bytes(4096, 4096) == 4096 * 4096 / 2 + 4096 * 32 * 2
    assert s.groups(10, 200) == 10 * 2  # 200 = 128 + 72: the last group is short but has its scale
    assert formats.Scheme("int3", 128).tensor_bytes(3, 10) == math.ceil(30 / 8) * 3 + 3 * 2  # 8 codes in 3 bytes
    asym = formats.SCHEMES["int4-g128-asym"]
    assert asym.tensor_bytes(4096, 4096) == 4096 * 4096 / 2 + 4096 * 32 * (2 + 0.5)
    assert asym.tensor_bytes(3, 128) == 3 * 128 / 2 + 3 * 2 + 4  # three 4-bit zeros padded to 8: 4 bytes


def test_bad_schemes_and_inputs_name_the_field():
    with pytest.raises(ValueError, match="format='int5'"):
        formats.Scheme("int5")
    with pytest.raises(ValueError, match="symmetric=True"):
        formats.Scheme("nf4", 64, symmetric=False)
    with pytest.raises(ValueError, match="group_size"):
        formats.Scheme("int4", 0)
    with pytest.raises(ValueError, match="zero_bits"):
        formats.Scheme("int4", 128, zero_bits=4)
    with pytest.raises(ValueError, match="ModelConfig"):
        formats.model_bytes(7e9, "int8-channel")
    with pytest.raises(ValueError, match="keep_embeddings"):
        formats.model_bytes(7e9, "int4-g128", keep_embeddings=True)
    with pytest.raises(ValueError, match="usable"):
        formats.gpus_needed(presets.get("llama-7b"), "bf16", "a100", usable=1.5)


@pytest.mark.parametrize("name", [p.name for p in presets.all_presets() if not p.config.n_encoder_layers])
def test_matrices_and_vectors_add_up_to_every_presets_parameter_count(name):
    cfg = presets.get(name)
    matrices = sum(m.params for m in formats.matrix_shapes(cfg))
    assert matrices <= counting.param_count(cfg)
    assert counting.param_count(cfg) - matrices < 0.015 * counting.param_count(cfg)  # norms, biases, positions
    assert formats.model_bytes(cfg, "bf16").total_bytes == 2 * counting.param_count(cfg)
    assert formats.model_bytes(cfg, "fp32").total_bytes == 4 * counting.param_count(cfg)


configs = st.builds(
    lambda layers, heads, kv_div, width, ffn, tie, vocab: ModelConfig(
        n_layers=layers,
        d_model=heads * width,
        n_heads=heads,
        n_kv_heads=heads // kv_div,
        vocab_size=vocab,
        seq_len=64,
        ffn=ffn,
        tie_embeddings=tie,
    ),
    st.integers(1, 3),
    st.sampled_from([2, 4]),
    st.sampled_from([1, 2]),
    st.sampled_from([8, 16]),
    st.sampled_from(["swiglu", "gelu"]),
    st.booleans(),
    st.sampled_from([64, 96]),
)


@settings(max_examples=15, deadline=None)
@given(configs)
def test_model_bytes_match_the_built_models_tensors(cfg):
    model = build(cfg, seed=0)
    params = dict(model.named_parameters())  # a tied head appears once
    assert formats.model_bytes(cfg, "bf16").total_bytes == sum(p.numel() * 2 for p in params.values())
    # int8 per channel, head and embeddings included: each 2-D weight's rows·cols bytes plus one
    # fp16 scale per row; the vectors in 16 bits
    s = formats.SCHEMES["int8-channel"]
    expected = sum(s.tensor_bytes(*p.shape) if p.dim() == 2 else 2 * p.numel() for p in params.values())
    assert formats.model_bytes(cfg, s).total_bytes == expected


def test_keeping_embeddings_in_16_bits_costs_what_the_embeddings_weigh():
    cfg = presets.get("llama-7b")
    kept = formats.model_bytes(cfg, "int4-g128", keep_embeddings=True)
    quantized = formats.model_bytes(cfg, "int4-g128")
    emb = counting.param_breakdown(cfg).embeddings
    assert kept.embedding_bytes == 2 * emb
    assert quantized.embedding_bytes == formats.SCHEMES["int4-g128"].tensor_bytes(cfg.vocab_size, cfg.d_model) * 2
    assert quantized.total_bytes < kept.total_bytes


def test_a_parameter_count_is_weighed_at_the_schemes_bits():
    assert formats.model_bytes(7e9, "int4-g128").total_bytes == 7e9 * 4.125 / 8
    assert formats.model_bytes(175e9, "bf16").total_bytes == 350e9


def test_serving_memory_agrees_with_the_inference_chapter():
    cfg = presets.get("gpt3-175b")
    ours = formats.serving_memory(cfg, "bf16", batch=4, context=2048)
    theirs = kv_cache.serving_bytes(cfg, 2048, 4, 2)
    assert ours.weights_bytes == theirs.weights_bytes and ours.kv_cache_bytes == theirs.kv_cache_bytes
    assert formats.gpus_needed(cfg, "bf16", "a100-80gb", 1, 2048) == serving_cost.min_gpus_to_hold(
        cfg, "a100-80gb", 2048, 1, 2
    )


def test_gpt3_needs_five_a100s_in_bf16_and_two_in_int4():
    cfg = presets.get("gpt3-175b")
    assert formats.gpus_needed(cfg, "bf16", "a100-80gb", context=2048) == 5
    assert formats.gpus_needed(cfg, "int4-g128", "a100-80gb", context=2048) == 2
    assert not formats.fits(cfg, "int4-g128", "a100-80gb", 1, context=2048)
    assert formats.fits(cfg, "int4-g128", "h200", 1, context=2048)


def test_the_best_scheme_that_fits_has_the_most_bits_of_those_that_fit():
    llama65 = presets.get("llama-65b")
    # 65.3 GB of int8 weights and a 2,048-token cache of 5.4 GB fit in 80 GiB; bf16's 131 GB do not
    assert formats.best_scheme_that_fits(llama65, "a100-80gb", 1, schemes=["bf16", "int8-channel", "int4-g128"]) == (
        "int8-channel"
    )
    assert formats.best_scheme_that_fits(llama65, "a100-40gb", 1, schemes=["bf16", "int8-channel", "int4-g128"]) == (
        "int4-g128"
    )
    assert formats.best_scheme_that_fits(presets.get("gpt4-reported"), "a100-80gb", 1) is None
    assert formats.best_scheme_that_fits(presets.get("llama-7b"), hardware.get("h100")) == "fp32"


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([2, 3, 4, 8]),
    st.sampled_from([None, "tensor", 16, 32]),
    st.booleans(),
    st.integers(1, 9),
    st.sampled_from([32, 64, 96]),
)
def test_bytes_equal_a_real_packed_tensors_bytes(bits, group_size, symmetric, rows, cols):
    quantize = pytest.importorskip("llmscale.compression.quantize")
    w = torch.randn(rows, cols, generator=torch.Generator().manual_seed(rows * cols))
    packed = quantize.pack(w, bits, group_size, symmetric)
    scheme = formats.Scheme(f"int{bits}", group_size, symmetric=symmetric)
    assert scheme.tensor_bytes(rows, cols) == packed.nbytes
    if (
        group_size is not None
        and group_size != "tensor"
        and (rows * cols) % 8 == 0
        and (rows * cols // group_size) % 8 == 0
    ):
        assert scheme.bits_per_weight() == packed.bits_per_weight
