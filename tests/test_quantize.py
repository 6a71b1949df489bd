"""Quantization: the grid keeps every weight within half a step, packing is exact and counted,
GPTQ beats round-to-nearest on the layer-wise loss it minimises, the activation-aware search never
loses to RTN on its calibration set, and `quantize` builds a new model, leaving the original be."""

from __future__ import annotations

import pytest
import torch

from llmscale.compression import calibration
from llmscale.compression import quantize as q
from llmscale.compression.hessian import hessian
from llmscale.config import ModelConfig
from llmscale.model import build

GROUPINGS = (None, 32, "tensor")


def correlated_inputs(n: int, cols: int, seed: int = 0) -> torch.Tensor:
    """Calibration activations with correlated columns and uneven scales (as a layer's are)."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(cols, cols, generator=g) / cols**0.5
    scale = torch.exp(torch.randn(cols, generator=g))
    return (torch.randn(n, cols, generator=g) @ mix) * scale


@pytest.mark.parametrize("bits", q.BITS)
@pytest.mark.parametrize("group_size", GROUPINGS)
@pytest.mark.parametrize("symmetric", [True, False])
def test_rtn_keeps_every_weight_within_half_a_step(bits, group_size, symmetric):
    w = torch.randn(48, 96, generator=torch.Generator().manual_seed(bits)) * 0.05
    w[3, 7] = 0.9  # an outlier weight sets its row's (or group's, or tensor's) range
    packed = q.pack(w, bits, group_size, symmetric)
    err = (w.double() - packed.dequantize(torch.float64)).abs()
    assert torch.all(err <= packed.step() / 2 * (1 + 1e-12))
    assert torch.equal(q.rtn(w, bits, group_size, symmetric), packed.dequantize(w.dtype))


@pytest.mark.parametrize("bits", q.BITS)
@pytest.mark.parametrize("n", [1, 7, 8, 9, 1000])
def test_packing_round_trips_codes_exactly(bits, n):
    codes = torch.randint(0, 2**bits, (n,), generator=torch.Generator().manual_seed(n))
    packed = q.pack_codes(codes, bits)
    assert packed.dtype == torch.uint8 and packed.numel() == -(-n // 8) * bits
    assert torch.equal(q.unpack_codes(packed, bits, n), codes)


@pytest.mark.parametrize("bits", q.BITS)
@pytest.mark.parametrize("group_size", GROUPINGS)
@pytest.mark.parametrize("symmetric", [True, False])
def test_nbytes_is_bits_times_count_over_eight_plus_scales_and_zeros(bits, group_size, symmetric):
    rows, cols = 24, 64
    packed = q.pack(torch.randn(rows, cols), bits, group_size, symmetric)
    n_scales = 1 if group_size == "tensor" else rows * (cols // (group_size or cols))
    zero_bytes = 0 if symmetric else -(-n_scales // 8) * bits
    assert packed.nbytes == bits * rows * cols // 8 + 2 * n_scales + zero_bytes
    assert packed.codes.numel() == bits * rows * cols // 8
    # the stored codes reproduce the dequantized weight exactly
    again = q.PackedWeight(
        q.pack_codes(packed.int_codes(), bits), packed.scales, packed.zeros, bits, (rows, cols),
        packed.granularity, packed.group_size, symmetric,
    )  # fmt: skip
    assert torch.equal(again.dequantize(), packed.dequantize())


def test_bad_arguments_raise_value_errors_naming_the_field():
    w = torch.randn(8, 24)
    with pytest.raises(ValueError, match="bits"):
        q.pack(w, 5)
    with pytest.raises(ValueError, match="bits"):
        q.rtn(w, True)
    with pytest.raises(ValueError, match="group_size"):
        q.pack(w, 4, 7)
    with pytest.raises(ValueError, match="group_size"):
        q.pack(w, 4, 0)
    with pytest.raises(ValueError, match="group_size"):
        q.pack(w, 4, "row")
    with pytest.raises(ValueError, match="weight"):
        q.pack(torch.randn(8), 4)
    with pytest.raises(ValueError, match="symmetric"):
        q.pack(w, 4, None, "yes")
    with pytest.raises(ValueError, match="inputs"):
        q.gptq(w, torch.randn(10, 23), 4)
    with pytest.raises(ValueError, match="hessian"):
        q.gptq(w, None, 4, hessian=torch.eye(5))
    with pytest.raises(ValueError, match="inputs"):
        q.gptq(w, None, 4)
    with pytest.raises(ValueError, match="block_size"):
        q.gptq(w, torch.randn(10, 24), 4, block_size=0)
    model = build(ModelConfig(n_layers=1, d_model=16, n_heads=2, vocab_size=8, seq_len=8, d_ff=32))
    with pytest.raises(ValueError, match="method"):
        q.quantize(model, "hqq")
    with pytest.raises(ValueError, match="calibration"):
        q.quantize(model, "gptq", 4)
    with pytest.raises(ValueError, match="group_size"):
        q.quantize(model, "rtn", 4, group_size=12)


@pytest.mark.parametrize("bits", q.BITS)
@pytest.mark.parametrize("group_size", [None, 32])
@pytest.mark.parametrize("act_order", [False, True])
def test_gptq_reconstruction_error_is_below_rtn_on_random_layers(bits, group_size, act_order):
    w = torch.randn(64, 128, generator=torch.Generator().manual_seed(1))
    x = correlated_inputs(2048, 128)
    h = hessian(x)
    err_rtn = q.output_error(w, q.rtn(w, bits, group_size), h)
    err_gptq = q.output_error(w, q.gptq(w, x, bits, group_size, act_order=act_order), h)
    assert err_gptq < 0.8 * err_rtn


def test_gptq_from_a_hessian_equals_gptq_from_the_inputs():
    w, x = torch.randn(32, 64), correlated_inputs(512, 64)
    assert torch.allclose(q.gptq(w, x, 3), q.gptq(w, None, 3, hessian=hessian(x)))


def test_gptq_result_is_on_its_own_grid_and_packs():
    w, x = torch.randn(32, 64), correlated_inputs(512, 64)
    packed = q.gptq_pack(w, x, 4, 16, symmetric=False)
    assert packed.nbytes == 4 * 32 * 64 // 8 + 2 * 32 * 4 + 32 * 4 * 4 // 8
    # every weight sits on its group's grid: ŵ/s + z is a code in [0, 15]
    zeros = q.unpack_codes(packed.zeros, 4, 32 * 4).view(32, 4).repeat_interleave(16, dim=1)
    codes = packed.dequantize(torch.float64) / packed.step() + zeros
    assert torch.allclose(codes, codes.round(), atol=1e-9) and codes.min() >= 0 and codes.max() <= 15


def test_gptq_with_an_identity_hessian_is_round_to_nearest():
    # no correlation between inputs: nothing to feed the error into
    w = torch.randn(16, 32)
    assert torch.allclose(q.gptq(w, None, 4, hessian=2 * torch.eye(32, dtype=torch.float64), damp=0.0), q.rtn(w, 4))


def _trained_layer_stats():
    from llmscale.experiments import compression_models as cm

    model = cm.load("markov")
    layers = calibration.linear_layers(model)
    stats = calibration.linear_stats(model, cm.calibration_windows("markov", 8), layers)
    return layers, stats


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_gptq_reconstruction_error_is_below_rtn_on_trained_layers(bits):
    layers, stats = _trained_layer_stats()
    for name in ("blocks.0.attn.qkv", "blocks.1.ffn.down", "blocks.3.attn.out"):
        w, h = layers[name].weight, stats[name].hessian()
        err_rtn = q.output_error(w, q.rtn(w, bits), h)
        err_gptq = q.output_error(w, q.gptq(w, None, bits, hessian=h), h)
        assert err_gptq < err_rtn, name


def test_activation_aware_scaling_never_loses_to_rtn_on_its_calibration_set():
    layers, stats = _trained_layer_stats()
    for name in ("blocks.0.ffn.gate", "blocks.2.ffn.down"):
        w, st = layers[name].weight, stats[name]
        res = q.awq_search(w, st.abs_mean(), st.hessian(), 3)
        assert res.alphas[0] == 0.0 and res.errors[0] == pytest.approx(q.output_error(w, q.rtn(w, 3), st.hessian()))
        assert q.output_error(w, res.dequantize(), st.hessian()) == min(res.errors) <= res.errors[0]


@pytest.fixture
def small_model():
    cfg = ModelConfig(n_layers=2, d_model=32, n_heads=2, vocab_size=16, seq_len=16, d_ff=64)
    return build(cfg, seed=0).eval()


@pytest.mark.parametrize(
    "method,bits,kwargs",
    [("rtn", 4, {}), ("rtn", 3, {"group_size": 16}), ("gptq", 4, {}), ("awq", 4, {}), ("int8-outlier", 8, {})],
)
def test_quantize_returns_a_new_model_and_leaves_the_original_unchanged(small_model, method, bits, kwargs):
    before = {k: v.clone() for k, v in small_model.state_dict().items()}
    ids = torch.randint(0, 16, (2, 16), generator=torch.Generator().manual_seed(0))
    calib = torch.randint(0, 16, (4, 16), generator=torch.Generator().manual_seed(1))
    ref = small_model(ids)[0].detach()
    qmodel = q.quantize(small_model, method, bits, calibration=calib, **kwargs)
    assert qmodel is not small_model
    assert all(torch.equal(before[k], v) for k, v in small_model.state_dict().items())
    assert isinstance(small_model.blocks[0].attn.qkv, torch.nn.Linear)
    assert set(q.quantized_layers(qmodel)) == set(calibration.linear_layers(small_model))
    assert isinstance(qmodel.lm_head, torch.nn.Linear)
    out = qmodel(ids)[0]
    assert out.shape == ref.shape and torch.isfinite(out).all()
    assert q.model_bytes(qmodel) < q.model_bytes(small_model)


def test_model_bytes_counts_packed_storage(small_model):
    qmodel = q.quantize(small_model, "rtn", 4, group_size=16)
    dense = q.model_bytes(small_model)
    linear = calibration.linear_layers(small_model)
    linear_fp32 = sum(m.weight.numel() * 4 for m in linear.values())
    packed = sum(q.pack(m.weight, 4, 16).nbytes for m in linear.values())
    assert q.model_bytes(qmodel) == dense - linear_fp32 + packed


def test_int8_outlier_keeps_large_activation_columns_in_16_bit():
    w = torch.randn(8, 16)
    layer = q.Int8OutlierLinear(q.pack(w, 8), None, threshold=6.0)
    x = torch.randn(5, 16)
    x[2, 3] = 40.0  # one outlier feature
    y = layer(x)
    assert layer.last_outlier_columns == 1
    exact = x @ layer.effective_weight().T
    # int8 activations: each regular entry within half its token's step, absmax(regular)/127
    regular = x.clone()
    regular[:, 3] = 0
    step = regular.abs().amax(dim=1, keepdim=True) / 127
    bound = step / 2 * layer.effective_weight().abs().sum(dim=1)[None, :] + 1e-3  # + float16 rounding of 40
    assert torch.all((y - exact).abs() <= bound)
    # without the decomposition the outlier's absmax would crush the other columns' precision
    assert (y - exact).abs().max() < (q.Int8OutlierLinear(q.pack(w, 8), None, 1e9)(x) - exact).abs().max()
