"""LiGO and the growth baselines (`llmscale.compression.grow`) and the savings arithmetic."""

import math

import pytest
import torch

from llmscale.compression import grow, savings
from llmscale.config import ModelConfig
from llmscale.model import build

SMALL = ModelConfig(n_layers=2, d_model=32, n_heads=2, vocab_size=16, seq_len=16, d_ff=64)
LARGE = SMALL.replace(n_layers=4, d_model=64, n_heads=4, d_ff=128)


def _small():
    model = build(SMALL, seed=0)
    with torch.no_grad():  # away from the initialisation, so copies and combinations differ
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


def _tokens(seed=0):
    return torch.randint(0, SMALL.vocab_size, (2, SMALL.seq_len), generator=torch.Generator().manual_seed(seed))


def _shapes(model):
    return {k: tuple(v.shape) for k, v in model.named_parameters()}


@pytest.mark.parametrize("grower", [grow.ligo, grow.net2net, grow.stack])
def test_grown_model_has_the_parameter_names_and_shapes_of_the_built_large_model(grower):
    grown = grower(_small(), LARGE)
    assert _shapes(grown) == _shapes(build(LARGE))


def test_ligo_operator_receives_gradients_and_the_small_model_does_not():
    small = _small()
    before = {k: v.clone() for k, v in small.state_dict().items()}
    op = grow.LiGO(small, LARGE)
    x = _tokens()
    _, loss = op(x, x)
    loss.backward()
    trained = [p for p in op.parameters() if p.requires_grad]
    assert len(trained) == len(op.depth) + len(op.width)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in trained)
    assert all(p.grad is None for p in small.parameters())
    assert all(torch.equal(before[k], v) for k, v in small.state_dict().items())


def test_ligo_training_lowers_the_grown_models_loss_and_materialises_its_weights():
    small, x = _small(), _tokens(1)
    op = grow.LiGO(small, LARGE)
    tokens = torch.randint(0, 16, (4000,), generator=torch.Generator().manual_seed(2)).numpy()
    losses = grow.train_operator(op, tokens, steps=20, batch_size=4, lr=1e-2)
    assert sum(losses[-5:]) < sum(losses[:5])
    model = op.materialise()
    with torch.no_grad():
        assert torch.allclose(model(x)[0], op(x)[0], atol=1e-5)


def test_ligo_operator_flops_match_pytorchs_counter():
    from llmscale import measure

    op = grow.LiGO(_small(), LARGE)
    counted = sum(measure.count_flops(lambda: op.weights()).values())
    assert counted == op.materialise_flops()


def test_ligo_stack_initialisation_without_noise_is_stacking_in_depth():
    op = grow.LiGO(_small(), LARGE, noise=0.0)
    for m in op.depth:
        expected = torch.zeros(4, 2)
        expected[torch.arange(4), torch.arange(4) % 2] = 1
        assert torch.equal(op.depth[m].detach(), expected)


@pytest.mark.parametrize("split", ["even", "random"])
@pytest.mark.parametrize("cfg", [SMALL, SMALL.replace(ffn="gelu", norm="layernorm", pos="learned")])
def test_net2net_growth_preserves_the_function(split, cfg):
    small = build(cfg, seed=0)
    with torch.no_grad():
        for p in small.parameters():
            p.add_(0.05 * torch.randn_like(p))
    large = cfg.replace(n_layers=4, d_model=64, n_heads=4, d_ff=128)
    grown = grow.net2net(small, large, split=split, seed=3)
    x = _tokens()
    assert grow.max_logit_gap(small, grown, x) < 1e-5
    assert grow.max_logit_gap(small, grow.ligo(small, large), x) > 1e-2  # LiGO's init does not


def test_random_split_breaks_the_copies_symmetry():
    grown = grow.net2net(_small(), LARGE, split="random")
    w = grown.blocks[0].ffn.up.weight  # columns j and j + 32 read copies of residual unit j
    assert not torch.allclose(w[:, :32], w[:, 32:])


def test_stacking_doubles_depth_with_copied_layers():
    small = _small()
    cfg = SMALL.replace(n_layers=4)
    stacked = grow.stack(small, cfg)
    assert len(stacked.blocks) == 2 * len(small.blocks)
    for layer in range(4):
        a, b = stacked.blocks[layer].state_dict(), small.blocks[layer % 2].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in b)


@pytest.mark.parametrize(
    ("large", "field"),
    [
        (SMALL.replace(n_layers=1), "n_layers"),
        (SMALL.replace(d_model=16, n_heads=2), "d_model"),
        (SMALL.replace(d_ff=32), "d_ff"),
        (SMALL.replace(vocab_size=32), "vocab_size"),
        (SMALL.replace(n_kv_heads=1), "n_kv_heads"),
    ],
)
def test_bad_large_configs_raise_naming_the_field(large, field):
    with pytest.raises(ValueError, match=field):
        grow.ligo(_small(), large)


@pytest.mark.parametrize(
    ("large", "field"),
    [
        (LARGE.replace(d_model=48, n_heads=3), "d_model"),  # 1.5× width: the norm cannot be preserved
        (LARGE.replace(n_heads=2), "head_dim"),
        (SMALL.replace(d_model=64, n_heads=3, head_dim=16), "n_heads"),  # 3 heads: 2 do not divide them
    ],
)
def test_function_preserving_growth_rejects_configs_it_cannot_preserve(large, field):
    with pytest.raises(ValueError, match=field):
        grow.net2net(_small(), large)


def test_flops_to_reach_interpolates_and_reports_never():
    flops, losses = [0, 10, 20], [3.0, 2.0, 1.0]
    assert savings.flops_to_reach(flops, losses, 1.5) == pytest.approx(15)
    assert savings.flops_to_reach(flops, losses, 3.5) == 0
    assert savings.flops_to_reach(flops, losses, 0.5) == math.inf
    assert savings.saving(5.0, 20.0) == pytest.approx(0.75)
    assert savings.saving(math.inf, 20.0) == -math.inf


def test_t_interval_is_centered_and_uses_students_t():
    mean, low, high = savings.t_interval([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2)
    assert high - mean == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-5)
