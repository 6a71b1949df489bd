"""The decoder: trains, is causal, and refuses what it cannot build with a clear error."""

import pytest
import torch

from llmscale import model, presets
from llmscale.config import ModelConfig
from llmscale.model import layers

CFG = ModelConfig(n_layers=2, d_model=32, n_heads=4, n_kv_heads=2, vocab_size=50, seq_len=16)


def test_logits_shape_and_loss_of_untrained_model_is_near_log_vocab():
    m = model.build(CFG, seed=0)
    x = torch.randint(0, 50, (4, 16))
    logits, loss = m(x, x)
    assert logits.shape == (4, 16, 50)
    assert loss.item() == pytest.approx(torch.log(torch.tensor(50.0)).item(), rel=0.05)


@pytest.mark.parametrize(
    "cfg", [CFG, CFG.replace(pos="learned", ffn="gelu", norm="layernorm", bias=True), CFG.replace(n_experts=4, top_k=2)]
)
def test_decoder_is_causal(cfg):
    m = model.build(cfg, seed=0).eval()
    x = torch.randint(0, 50, (1, 16))
    y = x.clone()
    y[0, 10:] = (y[0, 10:] + 1) % 50
    with torch.no_grad():
        a, _ = m(x)
        b, _ = m(y)
    torch.testing.assert_close(a[0, :10], b[0, :10])
    assert not torch.allclose(a[0, 10:], b[0, 10:])


def test_tied_embeddings_share_storage():
    m = model.build(CFG.replace(tie_embeddings=True))
    assert m.lm_head.weight.data_ptr() == m.embed.weight.data_ptr()


def test_same_seed_same_weights():
    a, b = model.build(CFG, seed=3), model.build(CFG, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("name,match", [("transformer-base", "n_encoder_layers"), ("gopher-280b", "relative")])
def test_counted_but_unbuildable_configs_raise_clear_errors(name, match):
    with pytest.raises(ValueError, match=match):
        with torch.device("meta"):
            model.Decoder(presets.get(name))


def test_too_long_input_names_seq_len():
    m = model.build(CFG)
    with pytest.raises(ValueError, match="seq_len=16"):
        m(torch.zeros(1, 17, dtype=torch.long))


def test_rope_matches_complex_rotation():
    cfg = ModelConfig(n_layers=1, d_model=8, n_heads=1, vocab_size=5, seq_len=6)
    cos, sin = layers.rope_tables(cfg)
    x = torch.randn(1, 1, 6, 8)
    got = layers.apply_rope(x, cos, sin)
    # Pairs (i, i+4) rotate by angle t·θ_i, like multiplying x_i + j·x_{i+4} by e^{j t θ_i}.
    z = torch.complex(x[..., :4], x[..., 4:])
    theta = 1.0 / (10000 ** (torch.arange(0, 8, 2) / 8))
    rot = z * torch.polar(torch.ones(6, 4), torch.arange(6)[:, None] * theta)
    torch.testing.assert_close(got, torch.cat([rot.real, rot.imag], dim=-1))
