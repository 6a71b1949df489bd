"""ModelConfig validation: invalid combinations raise ValueError naming the field and the fix."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmscale.config import ModelConfig, llama_ff_dim

BASE = dict(n_layers=2, d_model=64, n_heads=4, vocab_size=100, seq_len=32)


@pytest.mark.parametrize("changes,field", [
    (dict(d_model=66), "n_heads"), (dict(n_kv_heads=3), "n_kv_heads"), (dict(ffn="geglu"), "ffn"),
    (dict(norm="batchnorm"), "norm"), (dict(pos="alibi"), "pos"), (dict(top_k=3, n_experts=2), "top_k"),
    (dict(n_layers=0), "n_layers"), (dict(vocab_size=-5), "vocab_size"), (dict(d_ff=0), "d_ff"),
    (dict(head_dim=5, d_model=20, n_heads=4), "head_dim"), (dict(n_encoder_layers=-1), "n_encoder_layers"),
    (dict(seq_len=2.5), "seq_len"), (dict(n_layers=True), "n_layers"), (dict(norm_eps=0.0), "norm_eps")])
def test_invalid_config_names_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**{**BASE, **changes})


@given(d_model=st.integers(1, 4096), n_heads=st.integers(1, 64))
def test_heads_must_divide_width_unless_head_dim_is_given(d_model, n_heads):
    if d_model % n_heads == 0:
        cfg = ModelConfig(n_layers=1, d_model=d_model, n_heads=n_heads, vocab_size=10, seq_len=8,
                          pos="learned")
        assert cfg.head_dim_ * n_heads == d_model
    else:
        with pytest.raises(ValueError, match=r"choose d_model a multiple of n_heads"):
            ModelConfig(n_layers=1, d_model=d_model, n_heads=n_heads, vocab_size=10, seq_len=8)


def test_defaults_resolve_as_documented():
    cfg = ModelConfig(**BASE)
    assert (cfg.kv_heads, cfg.head_dim_, cfg.ff_dim) == (4, 16, 256)
    assert ModelConfig(**BASE, ffn="gelu").ff_dim == 256
    assert ModelConfig(**BASE, n_kv_heads=1).kv_heads == 1


@pytest.mark.parametrize("d_model,expected", [(4096, 11008), (5120, 13824), (6656, 17920), (8192, 22016)])
def test_llama_feed_forward_rule(d_model, expected):
    assert llama_ff_dim(d_model) == expected


def test_replace_validates_and_rejects_unknown_fields():
    cfg = ModelConfig(**BASE)
    assert cfg.replace(n_layers=3).n_layers == 3
    with pytest.raises(ValueError, match="unknown ModelConfig field"):
        cfg.replace(layers=3)
    with pytest.raises(ValueError, match="n_kv_heads"):
        cfg.replace(n_kv_heads=3)


def test_config_is_frozen():
    cfg = ModelConfig(**BASE)
    with pytest.raises(AttributeError):
        cfg.n_layers = 3
