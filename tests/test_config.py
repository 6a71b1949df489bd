"""ModelConfig validation: invalid combinations raise ValueError naming the field and the fix."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscale.config import FFN_KINDS, GATINGS, NORM_KINDS, POS_KINDS, ModelConfig, llama_ff_dim

BASE = dict(n_layers=2, d_model=64, n_heads=4, vocab_size=100, seq_len=32)


@pytest.mark.parametrize(
    "changes,field",
    [
        (dict(d_model=66), "n_heads"),
        (dict(n_kv_heads=3), "n_kv_heads"),
        (dict(ffn="geglu"), "ffn"),
        (dict(norm="batchnorm"), "norm"),
        (dict(pos="alibi"), "pos"),
        (dict(top_k=3, n_experts=2), "top_k"),
        (dict(n_layers=0), "n_layers"),
        (dict(vocab_size=-5), "vocab_size"),
        (dict(d_ff=0), "d_ff"),
        (dict(head_dim=5, d_model=20, n_heads=4), "head_dim"),
        (dict(n_encoder_layers=-1), "n_encoder_layers"),
        (dict(seq_len=2.5), "seq_len"),
        (dict(n_layers=True), "n_layers"),
        (dict(norm_eps=0.0), "norm_eps"),
        (dict(q_lora_rank=16), "q_lora_rank"),
        (dict(kv_lora_rank=16, n_kv_heads=2), "n_kv_heads"),
        (dict(kv_lora_rank=16, pos="learned"), "pos"),
        (dict(kv_lora_rank=16, qk_rope_head_dim=5), "qk_rope_head_dim"),
        (dict(n_shared_experts=1), "n_shared_experts"),
        (dict(expert_d_ff=32), "expert_d_ff"),
        (dict(n_experts=4, top_k=2, n_dense_layers=2), "n_dense_layers"),
        (dict(routed_scaling_factor=0), "routed_scaling_factor"),
    ],
)
def test_invalid_config_names_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**{**BASE, **changes})


@given(d_model=st.integers(1, 4096), n_heads=st.integers(1, 64))
def test_heads_must_divide_width_unless_head_dim_is_given(d_model, n_heads):
    if d_model % n_heads == 0:
        cfg = ModelConfig(n_layers=1, d_model=d_model, n_heads=n_heads, vocab_size=10, seq_len=8, pos="learned")
        assert cfg.head_dim_ * n_heads == d_model
    else:
        with pytest.raises(ValueError, match=r"choose d_model a multiple of n_heads"):
            ModelConfig(n_layers=1, d_model=d_model, n_heads=n_heads, vocab_size=10, seq_len=8)


def test_defaults_resolve_as_documented():
    cfg = ModelConfig(**BASE)
    assert (cfg.kv_heads, cfg.head_dim_, cfg.ff_dim) == (4, 16, 256)
    assert not cfg.is_mla and cfg.v_head_dim_ == 16 and cfg.expert_ff_dim == 256 and cfg.n_moe_layers == 0
    # Latent attention: d_nope = d_v = head_dim, d_rope = d_nope/2; a head's query/key is d_nope + d_rope.
    mla = ModelConfig(**BASE, kv_lora_rank=32)
    assert (mla.qk_nope_head_dim_, mla.qk_rope_head_dim_, mla.v_head_dim_, mla.head_dim_) == (16, 8, 16, 24)
    assert mla.is_mla and mla.kv_heads == 4
    deep = ModelConfig(**BASE, n_experts=4, top_k=2, expert_d_ff=32, n_dense_layers=1)
    assert (deep.expert_ff_dim, deep.ff_dim, deep.n_moe_layers) == (32, 256, 1)
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


# Every field's documented good values, each valid on BASE with only that field changed. A field
# added to ModelConfig must be added here too (test_every_field_has_good_values says so).
GOOD = {
    "n_layers": [1, 2, 96, np.int64(3)],
    "d_model": [32, 64, 128, np.int64(256)],
    "n_heads": [1, 2, 4, 8, np.int32(16)],
    "vocab_size": [1, 2, 100, 50257, np.int64(8)],
    "seq_len": [1, 2, 32, 8192, np.int64(64)],
    "n_kv_heads": [None, 1, 2, 4, np.int64(2)],
    "head_dim": [None, 2, 16, 128, np.int64(8)],
    "d_ff": [None, 1, 2, 256, 14336, np.int64(64)],
    "ffn": list(FFN_KINDS),
    "norm": list(NORM_KINDS),
    "pos": list(POS_KINDS),
    "tie_embeddings": [True, False, np.bool_(True), np.bool_(False)],
    "bias": [True, False, np.bool_(True), np.bool_(False)],
    "n_experts": [1, 2, 8, np.int64(4)],
    "top_k": [1, np.int64(1)],
    "n_encoder_layers": [0, 1, 2, 6, np.int64(2)],
    "multiple_of": [1, 2, 64, 256, np.int64(128)],
    "norm_eps": [1e-5, 1e-6, 1, 1.5, 2, 2.0, np.float32(1e-5)],
    "rope_theta": [10000.0, 1e6, 500000, 1, 1.5, 2, 2.0, np.float64(1e4)],
    "capacity_factor": [None, 1, 1.0, 1.25, 1.5, 2, 2.0, np.float64(1.5)],
    "router_aux_loss_coef": [0, 0.0, 0.01, 1, 1.5, 2, 2.0, np.float64(0.02)],
    "router_z_loss_coef": [0, 0.0, 0.001, 1, 1.5, 2, 2.0, np.float64(0.01)],
    "gating": list(GATINGS),
    "kv_lora_rank": [None, 1, 2, 32, np.int64(16)],
    "q_lora_rank": [None, 1, 2, 48, np.int64(24)],
    "qk_rope_head_dim": [None, 2, 8, 64, np.int64(4)],
    "qk_nope_head_dim": [None, 1, 2, 16, np.int64(8)],
    "v_head_dim": [None, 1, 2, 16, np.int64(8)],
    "n_shared_experts": [0, 1, 2, np.int64(1)],
    "expert_d_ff": [None, 1, 2, 64, np.int64(32)],
    "n_dense_layers": [0, 1, np.int64(1)],
    "routed_scaling_factor": [1.0, 2.5, 1, 1.5, 2, 2.0, np.float64(2.5)],
}

# Fields that only mean something beside another one (latent attention's widths need
# kv_lora_rank, DeepSeek-style expert fields need experts): GOOD and BAD values are tried on
# BASE with this context added.
_MLA = dict(kv_lora_rank=32)
_MOE = dict(n_experts=4, top_k=2)
CONTEXT = {
    "q_lora_rank": _MLA,
    "qk_rope_head_dim": _MLA,
    "qk_nope_head_dim": _MLA,
    "v_head_dim": _MLA,
    "n_shared_experts": _MOE,
    "expert_d_ff": _MOE,
    "n_dense_layers": _MOE,
}

# Values of every kind; each field must reject those not among its GOOD values.
BAD = [
    0,
    -1,
    1,
    2,
    -0.0,
    0.0,
    1.5,
    2.0,
    -1e-5,
    "x",
    "",
    "1",
    "None",
    "rope",
    "swiglu",
    "RMSNorm",
    b"rope",
    None,
    True,
    False,
    np.bool_(True),
    math.nan,
    math.inf,
    -math.inf,
    1e400,
    -1e400,
    np.nan,
    np.float64(2.0),
    np.int64(-3),
    np.int64(0),
    [],
    {},
    (),
    [1],
    {"a": 1},
    {1},
    object(),
    1j,
]

# The type each field is stored in after validation, by its annotation.
STORED = {
    "int": (int,),
    "int | None": (int, type(None)),
    "float": (float,),
    "float | None": (float, type(None)),
    "bool": (bool,),
    "str": (str,),
}

FIELDS = dataclasses.fields(ModelConfig)


def _kind(value):
    """bool, int and float (NumPy's counted with Python's) are told apart: 1, 1.0 and True differ."""
    for kind in ((bool, np.bool_), (int, np.integer), (float, np.floating)):
        if isinstance(value, kind):
            return kind
    return type(value)


def _is_good(field, value):
    return any(_kind(g) == _kind(value) and g == value for g in GOOD[field.name])


def _check_rejected(name, value):
    with pytest.raises(ValueError) as info:
        cfg = ModelConfig(**{**BASE, **CONTEXT.get(name, {}), name: value})
        pytest.fail(f"{name}={value!r} accepted as {getattr(cfg, name)!r}")
    message = str(info.value)
    assert f"{name}=" in message, f"{name}={value!r}: message does not name the field: {message}"
    assert any(fix in message for fix in ("e.g.", "choose", "must be")), f"no fix in: {message}"


def test_every_field_has_good_values_and_a_known_type():
    assert set(GOOD) == {f.name for f in FIELDS}
    assert all(f.type in STORED for f in FIELDS), [f.type for f in FIELDS if f.type not in STORED]


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_documented_good_values_are_accepted_in_the_declared_type(field):
    for value in GOOD[field.name]:
        stored = getattr(ModelConfig(**{**BASE, **CONTEXT.get(field.name, {}), field.name: value}), field.name)
        assert stored == value and type(stored) in STORED[field.type], (field.name, value, stored)


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_every_bad_value_is_refused_naming_the_field(field):
    bad = [v for v in BAD if not _is_good(field, v)]
    assert bad
    for value in bad:
        _check_rejected(field.name, value)


def _bad_strategy(field):
    """Values the field cannot mean, drawn by kind (from its annotation and its GOOD values)."""
    good = [g for g in GOOD[field.name] if g is not None]
    junk = st.one_of(
        st.binary(max_size=4),
        st.lists(st.integers(), max_size=2),
        st.just(object()),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
        st.complex_numbers(),
    )
    kind = field.type
    if kind == "bool":
        return st.one_of(st.integers(), st.floats(), st.none(), st.text(), junk)
    if kind == "str":
        return st.one_of(
            st.text().filter(lambda s: s not in good), st.integers(), st.floats(), st.booleans(), st.none(), junk
        )
    maybe_none = [] if kind.endswith("| None") else [st.none()]
    if kind.startswith("int"):
        low = min(good)
        return st.one_of(
            st.just(low - 1), st.integers(max_value=low - 1), st.floats(), st.booleans(), st.text(), junk, *maybe_none
        )
    if kind.startswith("float"):
        zero_ok = any(g == 0 for g in good)
        # Huge ints (beyond float range) are left to test_huge_ints_are_refused_by_float_fields.
        edge = [-1e-300, -1] if zero_ok else [0, 0.0, -0.0]
        return st.one_of(
            st.sampled_from(edge),
            st.floats(max_value=0, exclude_max=zero_ok),
            st.sampled_from([math.nan, math.inf]),
            st.integers(-(10**300), -1 if zero_ok else 0),
            st.booleans(),
            st.text(),
            junk,
            *maybe_none,
        )
    raise AssertionError(f"no strategy for {field.name}: {kind}")


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_property_any_bad_value_of_any_field_is_refused_naming_the_field(data):
    field = data.draw(st.sampled_from(FIELDS), label="field")
    _check_rejected(field.name, data.draw(_bad_strategy(field), label=field.name))


@pytest.mark.parametrize("name", [f.name for f in FIELDS if f.type.startswith("float")])
def test_huge_ints_are_refused_by_float_fields(name):
    _check_rejected(name, -(10**400))


@pytest.mark.parametrize(
    "size,multiplier,multiple_of",
    [("8b", 1.3, 1024), ("70b", 1.3, 4096), ("405b", 1.2, 4096)],
)
def test_llama3_feed_forward_widths_follow_metas_reference_rule(size, multiplier, multiple_of):
    # meta-llama/llama3 model.py: hidden = int(2·4d/3), times ffn_dim_multiplier, rounded up to
    # multiple_of (the released params.json give 1.3/1024, 1.3/4096, 1.2/4096).
    from llmscale import presets
    from llmscale.published.llama import LLAMA3_TABLE3

    n_layers, d_model, d_ff, n_heads, n_kv_heads = LLAMA3_TABLE3[size]
    hidden = int(multiplier * int(2 * 4 * d_model / 3))
    assert d_ff == multiple_of * math.ceil(hidden / multiple_of)
    cfg = presets.get(f"llama3-{size}")
    assert (cfg.n_layers, cfg.d_model, cfg.ff_dim, cfg.n_heads, cfg.kv_heads) == (
        n_layers,
        d_model,
        d_ff,
        n_heads,
        n_kv_heads,
    )
    assert cfg.head_dim_ == 128 and cfg.vocab_size == 128_256 and not cfg.tie_embeddings
    assert cfg.rope_theta == 500_000.0 and cfg.ffn == "swiglu" and cfg.norm == "rmsnorm"
