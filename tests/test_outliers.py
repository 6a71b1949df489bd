"""Planted outlier features keep the model's function and make round-to-nearest lose more on the
layers that read them than GPTQ does; the range ratio measures how far one scale must reach."""

from __future__ import annotations

import pytest
import torch

from llmscale.compression import calibration, outliers
from llmscale.compression import quantize as q
from llmscale.config import ModelConfig
from llmscale.model import build


@pytest.fixture(scope="module")
def model():
    cfg = ModelConfig(n_layers=2, d_model=64, n_heads=4, vocab_size=50, seq_len=32, d_ff=128)
    return build(cfg, seed=0).eval()


def test_planted_outliers_keep_the_function_and_leave_the_original(model):
    ids = torch.randint(0, 50, (2, 32), generator=torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    planted = outliers.with_outlier_features(model, n_channels=3, scale=20.0)
    with torch.no_grad():
        gap = (planted(ids)[0] - model(ids)[0]).abs().max().item()
    assert gap < 1e-4
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    channels = outliers.outlier_channels(64, 3)
    for block_p, block in zip(planted.blocks, model.blocks):
        ratio = block_p.norm1.weight / block.norm1.weight
        assert torch.allclose(ratio[channels], torch.full((3,), 20.0))
        others = [c for c in range(64) if c not in channels]
        assert torch.equal(block_p.norm1.weight[others], block.norm1.weight[others])
        assert torch.allclose(block_p.ffn.up.weight[:, channels] * 20.0, block.ffn.up.weight[:, channels])


def test_planted_outliers_hurt_round_to_nearest_more_than_gptq(model):
    ids = torch.randint(0, 50, (8, 32), generator=torch.Generator().manual_seed(1))
    planted = outliers.with_outlier_features(model, n_channels=3, scale=30.0)
    errors = {}
    for label, m in (("trained", model), ("planted", planted)):
        layer = m.blocks[0].attn.qkv
        stats = calibration.linear_stats(m, ids, {"blocks.0.attn.qkv": layer})["blocks.0.attn.qkv"]
        h, w = stats.hessian(), layer.weight.detach()
        errors[label] = {
            "rtn": q.output_error(w, q.rtn(w, 3), h),
            "gptq": q.output_error(w, q.gptq(w, None, 3, hessian=h), h),
        }
    assert errors["planted"]["rtn"] > 1.5 * errors["trained"]["rtn"]
    assert errors["planted"]["gptq"] < errors["planted"]["rtn"] / 2


def test_range_ratio_of_flat_and_spiked_rows():
    flat = torch.ones(2, 8)
    assert torch.allclose(outliers.range_ratio(flat), torch.ones(2, dtype=torch.float64))
    spiked = torch.ones(1, 8)
    spiked[0, 3] = 9.0
    # max 9 against rms sqrt((7 + 81) / 8) = sqrt(11)
    assert outliers.range_ratio(spiked).item() == pytest.approx(9 / 11**0.5)
    groups = outliers.range_ratio(spiked, group_size=4)
    assert groups.shape == (2,) and groups[1].item() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda m: outliers.with_outlier_features(m, n_channels=65), "n_channels"),
        (lambda m: outliers.with_outlier_features(m, scale=0.0), "scale"),
        (lambda m: outliers.with_outlier_features(torch.nn.Linear(2, 2)), "Decoder"),
        (lambda m: outliers.range_ratio(torch.ones(2, 6), group_size=4), "group_size"),
        (lambda m: outliers.range_ratio(torch.ones(6)), "2-D"),
    ],
)
def test_bad_arguments_raise_value_errors_naming_the_field(model, call, field):
    with pytest.raises(ValueError, match=field):
        call(model)
