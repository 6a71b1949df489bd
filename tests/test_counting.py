"""param_count, active_param_count and flops_per_token: exact against built models and references."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from llmscale import counting, model, presets
from llmscale.config import ModelConfig


@st.composite
def buildable_configs(draw):
    n_kv = draw(st.sampled_from([1, 2, 4]))
    n_heads = n_kv * draw(st.integers(1, 3))
    head_dim = draw(st.sampled_from([4, 8, 16]))
    explicit_head_dim = draw(st.booleans())
    d_model = draw(st.integers(2, 24)) * 4 if explicit_head_dim else n_heads * head_dim
    n_experts = draw(st.sampled_from([1, 1, 2, 4]))
    return ModelConfig(
        n_layers=draw(st.integers(1, 3)),
        d_model=d_model,
        n_heads=n_heads,
        n_kv_heads=draw(st.sampled_from([None, n_kv])),
        head_dim=head_dim if explicit_head_dim else None,
        vocab_size=draw(st.integers(2, 300)),
        seq_len=draw(st.integers(1, 64)),
        d_ff=draw(st.sampled_from([None, 8, 40])),
        ffn=draw(st.sampled_from(["swiglu", "gelu", "relu"])),
        norm=draw(st.sampled_from(["rmsnorm", "layernorm"])),
        pos=draw(st.sampled_from(["rope", "learned"])),
        tie_embeddings=draw(st.booleans()),
        bias=draw(st.booleans()),
        n_experts=n_experts,
        top_k=draw(st.integers(1, n_experts)),
        multiple_of=draw(st.sampled_from([1, 8, 256])),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(buildable_configs())
def test_param_count_matches_built_model_for_random_configs(cfg):
    with torch.device("meta"):
        built = model.Decoder(cfg)
    assert counting.param_count(cfg) == built.num_params()
    assert counting.param_breakdown(cfg).total == counting.param_count(cfg)


@settings(max_examples=60, deadline=None)
@given(buildable_configs())
def test_active_params_equal_total_minus_unchosen_experts(cfg):
    with torch.device("meta"):
        built = model.Decoder(cfg)
    if cfg.is_moe:
        one_expert = sum(p.numel() for p in built.blocks[0].ffn.experts[0].parameters())
        idle = cfg.n_layers * (cfg.n_experts - cfg.top_k) * one_expert
    else:
        idle = 0
    assert counting.active_param_count(cfg) == built.num_params() - idle


# Reference implementations: what Hugging Face's model classes instantiate for the same configs.
HF_COUNTS = {
    "gpt2-small": 124_439_808,
    "gpt2-medium": 354_823_168,
    "gpt2-large": 774_030_080,
    "gpt2-xl": 1_557_611_200,
    "llama-7b": 6_738_415_616,
    "llama-13b": 13_015_864_320,
    "llama-33b": 32_528_943_616,
    "llama-65b": 65_285_660_672,
    "mixtral-8x7b": 46_702_792_704,
    # The released Llama 3 checkpoints (Meta-Llama-3-8B, -70B, Llama-3.1-405B).
    "llama3-8b": 8_030_261_248,
    "llama3-70b": 70_553_706_496,
    "llama3-405b": 405_853_388_800,
}


@pytest.mark.parametrize("name", sorted(HF_COUNTS))
def test_preset_param_count_matches_reference_implementation(name):
    assert counting.param_count(presets.get(name)) == HF_COUNTS[name]


def _hf_model(name):
    transformers = pytest.importorskip("transformers")
    cfg = presets.get(name)
    if name.startswith("gpt2"):
        hf = transformers.GPT2Config(
            n_layer=cfg.n_layers,
            n_embd=cfg.d_model,
            n_head=cfg.n_heads,
            vocab_size=cfg.vocab_size,
            n_positions=cfg.seq_len,
        )
        cls = transformers.GPT2LMHeadModel
    elif name.startswith("llama"):
        # The benchmark's mapping of a ModelConfig onto LlamaConfig (one place for it).
        from llmscale.benchmarks.decoder_vs_transformers import hf_llama

        with torch.device("meta"):
            return hf_llama(cfg)
    else:
        hf = transformers.MixtralConfig(
            hidden_size=cfg.d_model,
            intermediate_size=cfg.ff_dim,
            num_hidden_layers=cfg.n_layers,
            num_attention_heads=cfg.n_heads,
            num_key_value_heads=cfg.kv_heads,
            vocab_size=cfg.vocab_size,
            num_local_experts=cfg.n_experts,
            num_experts_per_tok=cfg.top_k,
            tie_word_embeddings=False,
        )
        cls = transformers.MixtralForCausalLM
    with torch.device("meta"):
        return cls(hf)


@pytest.mark.parametrize(
    "name",
    ["gpt2-small", "gpt2-xl", "llama-7b", "llama-65b", "mixtral-8x7b", "llama3-8b", "llama3-70b", "llama3-405b"],
)
def test_reference_implementation_instantiates_the_counted_parameters(name):
    hf = _hf_model(name)
    assert hf.num_parameters() == counting.param_count(presets.get(name))


@pytest.mark.parametrize("name", ["llama3-8b", "llama3-70b", "llama3-405b"])
def test_llama3_preset_count_is_the_released_checkpoints_and_the_built_reference(name):
    from llmscale import published

    # The meta device allocates nothing: even 405B builds in a fraction of a second.
    hf = _hf_model(name)
    n = presets.preset(name).n_params
    assert n == hf.num_parameters() == published.get(f"{name}.released_params").value
    # The mapping carries what the count depends on (and RoPE's base, which it does not).
    cfg = presets.get(name)
    assert hf.config.num_key_value_heads == cfg.kv_heads == 8 < cfg.n_heads
    assert hf.config.head_dim == cfg.head_dim_ == 128
    assert hf.config.tie_word_embeddings is False and not cfg.tie_embeddings
    assert hf.config.rope_parameters["rope_theta"] == cfg.rope_theta == 500_000
    assert hf.model.embed_tokens.weight.shape == hf.lm_head.weight.shape == (128_256, cfg.d_model)
    # And the book's own decoder builds the same count.
    with torch.device("meta"):
        assert model.Decoder(cfg).num_params() == n


def test_llama3_names_round_the_counts_and_6nd_gives_the_papers_compute():
    from llmscale import published

    for name, reported in [("llama3-8b", 8e9), ("llama3-70b", 70e9), ("llama3-405b", 405e9)]:
        p = presets.preset(name)
        assert p.reported_params == reported
        assert p.n_params == pytest.approx(reported, rel=0.01)
    p = presets.preset("llama3-405b")
    assert p.train_tokens == published.get("llama3-405b.train_tokens").value == 15.6e12
    # The paper's 3.8e25 FLOPs is 6·N·D with N = 405.85B, D = 15.6T (3.799e25).
    c6 = counting.approx_training_flops(p.n_params, p.train_tokens)
    assert c6 == pytest.approx(published.get("llama3-405b.train_flops").value, rel=0.01)  # 2 digits printed
    assert counting.training_flops(p.config, p.train_tokens) > c6  # the attention term over 8K keys


@pytest.mark.parametrize(
    "name,reported,tol",
    [
        ("transformer-base", 65e6, 0.05),
        ("transformer-big", 213e6, 0.01),
        ("gpt3-175b", 175e9, 0.005),
        ("gpt3-13b", 13e9, 0.01),
        ("gopher-280b", 280e9, 0.005),
        ("chinchilla-70b", 70e9, 0.01),
        ("palm-540b", 540.35e9, 0.0002),
        ("gpt4-reported", 1.8e12, 0.03),
    ],
)
def test_preset_counts_agree_with_papers(name, reported, tol):
    assert counting.param_count(presets.get(name)) == pytest.approx(reported, rel=tol)


def test_mixtral_active_parameters_match_the_paper():
    # Jiang et al. 2024: 13B active of 47B.
    assert counting.active_param_count(presets.get("mixtral-8x7b")) == pytest.approx(12.9e9, rel=0.01)


def test_gpt4_reported_config_reproduces_the_leaked_split():
    cfg = presets.get("gpt4-reported")
    one_expert = cfg.n_layers * counting.ffn_params(cfg)
    assert one_expert == pytest.approx(111e9, rel=0.01)
    assert counting.param_breakdown(cfg).attention == pytest.approx(55e9, rel=0.02)
    assert counting.active_param_count(cfg) == pytest.approx(280e9, rel=0.01)


def test_breakdown_moves_to_feed_forward_with_width():
    narrow = counting.param_breakdown(presets.get("gpt2-small"))
    wide = counting.param_breakdown(presets.get("gpt3-175b"))
    assert narrow.embeddings / narrow.total > 0.3
    assert wide.embeddings / wide.total < 0.01
    assert wide.feed_forward == pytest.approx(2 * wide.attention, rel=0.01)


def _counted_flops(cfg, batch, seq, training):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    m = model.build(cfg, seed=0)
    x = torch.randint(0, cfg.vocab_size, (batch, seq))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        logits, loss = m(x, x)
        if training:
            loss.backward()
    return counter.get_total_flops()


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize(
    "cfg",
    [
        ModelConfig(n_layers=2, d_model=64, n_heads=4, vocab_size=97, seq_len=32),
        ModelConfig(
            n_layers=3,
            d_model=96,
            n_heads=6,
            n_kv_heads=2,
            vocab_size=50,
            seq_len=48,
            ffn="gelu",
            norm="layernorm",
            pos="learned",
            bias=True,
            tie_embeddings=True,
        ),
        ModelConfig(n_layers=1, d_model=32, n_heads=2, vocab_size=40, seq_len=16, head_dim=24, n_kv_heads=1),
    ],
)
def test_flops_per_token_equals_pytorch_flop_counter(cfg, training):
    batch, seq = 3, cfg.seq_len
    counted = _counted_flops(cfg, batch, seq, training)
    assert counting.flops_per_token(cfg, context=seq, training=training) * batch * seq == counted


def test_training_flops_approach_6nd_for_wide_models():
    cfg = presets.get("gpt3-175b")
    exact = counting.training_flops(cfg, 300e9)
    approx = counting.approx_training_flops(counting.param_count(cfg), 300e9)
    assert exact == pytest.approx(approx, rel=0.03)
    assert exact > approx  # the attention term is extra


def test_flops_reject_negative_context():
    with pytest.raises(ValueError, match="context"):
        counting.flops_per_token(presets.get("gpt2-small"), context=-1)
