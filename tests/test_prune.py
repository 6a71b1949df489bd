"""Pruning: masks have the stated sparsity and pattern; SparseGPT reconstructs a layer's output
better than magnitude and Wanda; `prune` copies, prunes only the blocks' linear layers, and fails
clearly on bad input."""

from __future__ import annotations

import pytest
import torch

from llmscale import data, train
from llmscale.compression import calibration
from llmscale.compression import prune as P
from llmscale.config import ModelConfig
from llmscale.model import build


def correlated_inputs(n: int, width: int, seed: int) -> torch.Tensor:
    """Activations with correlated columns of uneven scale, as a trained layer sees them."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(width, width, generator=g) / width**0.5
    scale = torch.rand(width, generator=g) * 3 + 0.1
    return (torch.randn(n, width, generator=g) @ mix + 0.3 * torch.randn(width, generator=g)) * scale


@pytest.fixture(scope="module")
def trained():
    """A 2-layer decoder briefly trained on a Markov language, and calibration windows."""
    corpus = data.load_corpus("markov", vocab_size=16, n_tokens=40_000)
    cfg = ModelConfig(n_layers=2, d_model=32, n_heads=2, vocab_size=16, seq_len=32, d_ff=64)
    hist = train.train(cfg, corpus.train, steps=60, batch_size=8, lr=3e-3, seed=0, device="cpu", progress=False)
    return hist.model.eval(), calibration.windows(corpus.train, 8, 32, seed=0)


def layer_inputs(model, windows, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, the inputs the layer `name` sees over the windows (tokens, in_features))."""
    layer = dict(model.named_modules())[name]
    seen = []
    handle = layer.register_forward_pre_hook(lambda m, args: seen.append(args[0].reshape(-1, args[0].shape[-1])))
    with torch.no_grad():
        model(windows)
    handle.remove()
    return layer.weight.detach().clone(), torch.cat(seen)


@pytest.mark.parametrize("score", P.SCORES)
@pytest.mark.parametrize("sparsity", [0.25, 0.5, 0.75])
def test_unstructured_masks_have_the_stated_sparsity(score, sparsity):
    g = torch.Generator().manual_seed(1)
    w, x = torch.randn(24, 64, generator=g), correlated_inputs(200, 64, 1)
    kept = P.mask(w, score, "unstructured", sparsity, x)
    assert kept.dtype == torch.bool and kept.shape == w.shape
    assert int((~kept).sum()) == int(sparsity * w.numel())
    if score == "wanda":  # compared per output row: every row prunes the same number
        assert ((~kept).sum(dim=1) == int(sparsity * 64)).all()


def test_magnitude_compares_over_the_whole_layer_and_keeps_the_largest():
    w = torch.tensor([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]])
    kept = P.mask(w, "magnitude", "unstructured", 0.5)
    assert kept.tolist() == [[False, False, False, False], [True, True, True, True]]


def test_wanda_scales_each_column_by_its_input_norm():
    w = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    norms = torch.tensor([10.0, 1.0, 1.0, 1.0])  # column 0 carries large activations
    assert P.mask(w, "wanda", "unstructured", 0.5, norms).tolist() == [[True, False, False, True]]


@pytest.mark.parametrize("pattern", ["2:4", "4:8"])
@pytest.mark.parametrize("score", P.SCORES)
def test_n_m_masks_keep_exactly_n_in_every_group_of_m(pattern, score):
    n, m = P.n_m(pattern)
    g = torch.Generator().manual_seed(2)
    w, x = torch.randn(16, 64, generator=g), correlated_inputs(100, 64, 2)
    kept = P.mask(w, score, pattern, 1 - n / m, x)
    assert (kept.reshape(16, 64 // m, m).sum(dim=-1) == n).all()
    pruned, kept_sgpt = P.sparsegpt(w, x, pattern, 1 - n / m)
    assert (kept_sgpt.reshape(16, 64 // m, m).sum(dim=-1) == n).all()
    assert ((pruned != 0) == kept_sgpt).all()


def test_wanda_accepts_activations_norms_or_linear_stats_alike(trained):
    model, windows = trained
    w, x = layer_inputs(model, windows, "blocks.0.ffn.down")
    stats = calibration.linear_stats(model, windows)["blocks.0.ffn.down"]
    from_x = P.mask(w, "wanda", "unstructured", 0.5, x)
    assert torch.equal(from_x, P.mask(w, "wanda", "unstructured", 0.5, torch.linalg.vector_norm(x, dim=0)))
    assert torch.equal(from_x, P.mask(w, "wanda", "unstructured", 0.5, stats))


@pytest.mark.parametrize("pattern", P.PATTERNS)
def test_sparsegpt_reaches_the_stated_sparsity_and_changes_only_kept_weights(pattern):
    g = torch.Generator().manual_seed(3)
    w, x = torch.randn(32, 256, generator=g), correlated_inputs(500, 256, 3)
    pruned, kept = P.sparsegpt(w, x, pattern, 0.5)
    assert int((pruned == 0).sum()) == w.numel() // 2 == int((~kept).sum())
    # with unstructured masks each block of 128 columns prunes half of its weights
    assert ((~kept).reshape(32, 2, 128).sum(dim=(0, 2)) == 32 * 64).all()


def test_sparsegpt_at_zero_sparsity_changes_nothing():
    g = torch.Generator().manual_seed(4)
    w, x = torch.randn(8, 32, generator=g), correlated_inputs(100, 32, 4)
    pruned, kept = P.sparsegpt(w, x, "unstructured", 0.0)
    assert kept.all() and torch.allclose(pruned, w, atol=1e-6)


def test_sparsegpt_update_beats_its_own_mask_without_the_update():
    g = torch.Generator().manual_seed(5)
    w, x = torch.randn(32, 128, generator=g), correlated_inputs(400, 128, 5)
    pruned, kept = P.sparsegpt(w, x, "unstructured", 0.5)
    assert P.reconstruction_error(w, pruned, x) < 0.8 * P.reconstruction_error(w, w * kept, x)


@pytest.mark.parametrize("pattern", P.PATTERNS)
def test_sparsegpt_error_is_below_magnitude_and_wanda_on_random_layers(pattern):
    g = torch.Generator().manual_seed(6)
    w, x = torch.randn(64, 192, generator=g), correlated_inputs(1000, 192, 6)
    errors = {s: P.reconstruction_error(w, w * P.mask(w, s, pattern, 0.5, x), x) for s in P.SCORES}
    sgpt = P.reconstruction_error(w, P.sparsegpt(w, x, pattern, 0.5)[0], x)
    assert sgpt < min(errors.values())


@pytest.mark.parametrize("name", ["blocks.0.attn.qkv", "blocks.1.attn.out", "blocks.1.ffn.down"])
def test_sparsegpt_error_is_below_magnitude_and_wanda_on_trained_layers(trained, name):
    model, windows = trained
    w, x = layer_inputs(model, windows, name)
    for pattern in ("unstructured", "2:4"):
        errors = {s: P.reconstruction_error(w, w * P.mask(w, s, pattern, 0.5, x), x) for s in P.SCORES}
        sgpt = P.reconstruction_error(w, P.sparsegpt(w, x, pattern, 0.5)[0], x)
        assert sgpt < min(errors.values()), (pattern, sgpt, errors)


@pytest.mark.parametrize("method", P.METHODS)
@pytest.mark.parametrize("pattern", ["unstructured", "2:4"])
def test_prune_returns_a_new_model_and_leaves_the_original_unchanged(trained, method, pattern):
    model, windows = trained
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pruned = P.prune(model, method, pattern, 0.5, windows)
    assert pruned is not model
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert P.sparsity_reached(model) == 0.0
    assert P.sparsity_reached(pruned) == pytest.approx(0.5, abs=1e-9)
    assert all(s == pytest.approx(0.5, abs=1e-9) for s in P.layer_sparsity(pruned).values())
    state = pruned.state_dict()
    for k in ("embed.weight", "lm_head.weight", "norm.weight"):  # left dense
        assert torch.equal(before[k], state[k])


def test_prune_one_block_with_wanda_matches_the_dense_calibration_statistics(trained):
    model, windows = trained
    # block 0 sees the dense embeddings either way, so its masks are those of linear_stats on the dense model
    stats = calibration.linear_stats(model, windows)
    pruned = P.prune(model, "wanda", "unstructured", 0.5, windows)
    for name in ("blocks.0.attn.qkv", "blocks.0.ffn.up"):
        w = dict(model.named_modules())[name].weight
        expected = w * P.mask(w, "wanda", "unstructured", 0.5, stats[name])
        assert torch.equal(dict(pruned.named_modules())[name].weight, expected)


def test_prune_calibrates_later_blocks_on_the_pruned_earlier_ones(trained):
    model, windows = trained
    pruned = P.prune(model, "wanda", "unstructured", 0.5, windows)
    name = "blocks.1.ffn.down"
    w = dict(model.named_modules())[name].weight
    dense_stats = calibration.linear_stats(model, windows)[name]
    # the statistics of the partly pruned model (block 0 pruned, block 1 dense) give the masks prune chose
    partial = P.prune(model, "wanda", "unstructured", 0.5, windows)
    partial.blocks[1].load_state_dict(model.blocks[1].state_dict())
    seq_stats = calibration.linear_stats(partial, windows)[name]
    got = dict(pruned.named_modules())[name].weight
    assert torch.equal(got, w * P.mask(w, "wanda", "unstructured", 0.5, seq_stats))
    assert not torch.equal(P.mask(w, "wanda", "unstructured", 0.5, dense_stats), got != 0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"score": "random"}, "score"),
        ({"pattern": "1:4"}, "pattern"),
        ({"sparsity": 1.0}, "sparsity"),
        ({"sparsity": -0.1}, "sparsity"),
        ({"pattern": "2:4", "sparsity": 0.6}, "sparsity"),
        ({"score": "wanda"}, "inputs"),
        ({"score": "wanda", "inputs": torch.ones(10, 7)}, "inputs"),
    ],
)
def test_bad_mask_arguments_raise_a_value_error_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        P.mask(torch.randn(4, 16), **kwargs)


def test_bad_shapes_raise_a_value_error_naming_the_field():
    with pytest.raises(ValueError, match="weight"):
        P.mask(torch.randn(16))
    with pytest.raises(ValueError, match="in_features=6"):
        P.mask(torch.randn(4, 6), pattern="2:4")
    with pytest.raises(ValueError, match="inputs"):
        P.sparsegpt(torch.randn(4, 16), torch.randn(10, 8))
    with pytest.raises(ValueError, match="blocksize"):
        P.sparsegpt(torch.randn(4, 16), torch.randn(10, 16), "4:8", 0.5, blocksize=6)


def test_bad_prune_arguments_raise_a_value_error_naming_the_field(trained):
    model, windows = trained
    with pytest.raises(ValueError, match="method"):
        P.prune(model, "lottery")
    with pytest.raises(ValueError, match="calibration"):
        P.prune(model, "sparsegpt")
    with pytest.raises(ValueError, match="magnitude"):  # block by block needs a Decoder
        P.prune(torch.nn.Sequential(torch.nn.Linear(8, 8)), "wanda", calibration=windows)
    small = build(ModelConfig(n_layers=1, d_model=12, n_heads=2, vocab_size=16, seq_len=8, d_ff=6))
    with pytest.raises(ValueError, match="in_features"):
        P.prune(small, "magnitude", "4:8", 0.5)


def test_sparse_step_dense_side_is_the_roofline_and_the_gain_is_bounded():
    from llmscale import hardware, presets
    from llmscale.compression import sparse_speed as S
    from llmscale.inference import roofline

    cfg, a100 = presets.get("llama-7b"), hardware.get("a100")
    assert S.sparse_bytes_per_weight(2) == 2 * 9 / 16  # half the bf16 values, 2 bits of index each
    decode = S.decode_step(cfg, a100, batch=1, context=2048)
    assert decode.dense.seconds == roofline.decode_step_time(cfg, a100, 1, 2048).seconds
    prefill = S.prefill_step(cfg, a100, batch=1, prompt_len=2048)
    assert prefill.dense.seconds == roofline.prefill_step_time(cfg, a100, 1, 2048).seconds
    # decode reads bytes: at most 16/9 faster; prefill does math: at most 2x faster
    assert decode.dense.bound == "memory" and 1 < decode.speedup < 16 / 9
    assert prefill.dense.bound == "compute" and 1 < prefill.speedup < 2
    built = build(ModelConfig(n_layers=2, d_model=32, n_heads=2, vocab_size=16, seq_len=8, d_ff=64))
    assert S.block_linear_params(built.cfg) == P.prunable_params(built)
