"""Multi-head latent attention and DeepSeek-style experts: counts exact against the built model
and transformers' DeepSeek classes, FLOPs against PyTorch's counter, the latent cache against
recomputation and its bytes against `kv_cache.bytes_per_token`."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from llmscale import counting, model, presets, published
from llmscale.config import ModelConfig
from llmscale.inference import kv_cache
from llmscale.model.mla import LatentAttention, causal_mask
from llmscale.model.moe import MoELayer


@st.composite
def mla_configs(draw, moe=None):
    n_heads = draw(st.integers(1, 4))
    is_moe = draw(st.booleans()) if moe is None else moe
    n_experts = draw(st.sampled_from([2, 4])) if is_moe else 1
    n_layers = draw(st.integers(1, 3))
    return ModelConfig(
        n_layers=n_layers,
        d_model=n_heads * draw(st.sampled_from([4, 6, 8])),
        n_heads=n_heads,
        head_dim=draw(st.sampled_from([None, 4, 6])),
        vocab_size=draw(st.integers(2, 64)),
        seq_len=draw(st.integers(4, 24)),
        d_ff=draw(st.sampled_from([None, 8, 20])),
        ffn=draw(st.sampled_from(["swiglu", "gelu"])),
        norm=draw(st.sampled_from(["rmsnorm", "layernorm"])),
        tie_embeddings=draw(st.booleans()),
        bias=draw(st.booleans()),
        kv_lora_rank=draw(st.integers(1, 12)),
        q_lora_rank=draw(st.sampled_from([None, 4, 10])),
        qk_rope_head_dim=draw(st.sampled_from([None, 2, 4])),
        qk_nope_head_dim=draw(st.sampled_from([None, 2, 6])),
        v_head_dim=draw(st.sampled_from([None, 3, 8])),
        n_experts=n_experts,
        top_k=draw(st.integers(1, n_experts)),
        n_shared_experts=draw(st.integers(0, 2)) if is_moe else 0,
        expert_d_ff=draw(st.sampled_from([None, 6, 12])) if is_moe else None,
        n_dense_layers=draw(st.integers(0, n_layers - 1)) if is_moe else 0,
        gating=draw(st.sampled_from(["topk-softmax", "softmax-topk", "sigmoid-topk"])),
        routed_scaling_factor=draw(st.sampled_from([1.0, 2.5])),
    )


# --- parameters: the built model, property over random configurations -------------------------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mla_configs())
def test_param_count_matches_built_mla_model_for_random_configs(cfg):
    with torch.device("meta"):
        built = model.Decoder(cfg)
    assert counting.param_count(cfg) == built.num_params()
    assert counting.param_breakdown(cfg).total == counting.param_count(cfg)
    # Every layer's attention is latent attention, and the latent is what it is built around.
    assert all(isinstance(b.attn, LatentAttention) for b in built.blocks)
    assert sum(p.numel() for p in built.blocks[0].attn.parameters()) == counting.attention_params(cfg)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mla_configs(moe=True))
def test_active_params_leave_out_only_the_unchosen_routed_experts(cfg):
    with torch.device("meta"):
        built = model.Decoder(cfg)
    moe_blocks = [b for b in built.blocks if isinstance(b.ffn, MoELayer)]
    assert len(moe_blocks) == cfg.n_layers - cfg.n_dense_layers == cfg.n_moe_layers
    one_expert = sum(p.numel() for p in moe_blocks[0].ffn.experts[0].parameters())
    assert one_expert == counting.expert_ffn_params(cfg)
    shared = moe_blocks[0].ffn.shared
    assert (sum(p.numel() for p in shared.parameters()) if shared is not None else 0) == counting.shared_expert_params(
        cfg
    )
    idle = len(moe_blocks) * (cfg.n_experts - cfg.top_k) * one_expert
    assert counting.active_param_count(cfg) == built.num_params() - idle
    assert counting.expert_params(cfg) == len(moe_blocks) * one_expert
    assert counting.shared_params(cfg) + cfg.n_experts * counting.expert_params(cfg) == built.num_params()
    # The leading dense layers are d_ff wide.
    for block in built.blocks[: cfg.n_dense_layers]:
        assert sum(p.numel() for p in block.ffn.parameters()) == counting.ffn_params(cfg, cfg.ff_dim)


# --- the presets against transformers' own classes ---------------------------------------------


def _hf_deepseek(cfg):
    """transformers' DeepseekV3ForCausalLM (q_lora_rank set) or DeepseekV2ForCausalLM for `cfg`, on meta."""
    transformers = pytest.importorskip("transformers")
    common = dict(
        vocab_size=cfg.vocab_size,
        hidden_size=cfg.d_model,
        intermediate_size=cfg.ff_dim,
        moe_intermediate_size=cfg.expert_ff_dim,
        num_hidden_layers=cfg.n_layers,
        num_attention_heads=cfg.n_heads,
        num_key_value_heads=cfg.n_heads,
        n_shared_experts=cfg.n_shared_experts,
        n_routed_experts=cfg.n_experts,
        num_experts_per_tok=cfg.top_k,
        first_k_dense_replace=cfg.n_dense_layers,
        kv_lora_rank=cfg.kv_lora_rank,
        q_lora_rank=cfg.q_lora_rank,
        qk_rope_head_dim=cfg.qk_rope_head_dim_,
        qk_nope_head_dim=cfg.qk_nope_head_dim_,
        v_head_dim=cfg.v_head_dim_,
        routed_scaling_factor=cfg.routed_scaling_factor,
        rms_norm_eps=cfg.norm_eps,
        tie_word_embeddings=cfg.tie_embeddings,
        max_position_embeddings=cfg.seq_len,
        n_group=1,
        topk_group=1,
    )
    if cfg.gating == "sigmoid-topk":
        hf_cfg, cls = transformers.DeepseekV3Config(**common), transformers.DeepseekV3ForCausalLM
    else:
        hf_cfg, cls = transformers.DeepseekV2Config(**common), transformers.DeepseekV2ForCausalLM
    with torch.device("meta"):
        return cls(hf_cfg)


# What transformers' classes instantiate for the presets (the tests below rebuild them).
HF_COUNTS = {"deepseek-v3": 671_026_404_352, "deepseek-v2-lite": 15_706_484_224}


@pytest.mark.parametrize("name", sorted(HF_COUNTS))
def test_deepseek_preset_count_equals_transformers_class_on_meta(name):
    cfg = presets.get(name)
    hf = _hf_deepseek(cfg)
    n = presets.preset(name).n_params
    assert n == counting.param_count(cfg) == HF_COUNTS[name]
    assert sum(p.numel() for p in hf.parameters()) == n
    # The router's selection bias of V3 is a buffer, not a parameter (nor is the book's).
    if name == "deepseek-v3":
        assert any("e_score_correction_bias" in k for k, _ in hf.named_buffers())
        assert hf.config.q_lora_rank == 1536 and hf.config.first_k_dense_replace == 3
    # And the book's own decoder builds the same count.
    with torch.device("meta"):
        assert model.Decoder(cfg).num_params() == n


def test_deepseek_v3_count_is_the_papers_671b_and_its_active_37b():
    p = presets.preset("deepseek-v3")
    assert p.n_params == pytest.approx(published.get("deepseek-v3.total_params").value, rel=5e-4)  # "671B"
    active = counting.active_param_count(p.config)
    assert active == pytest.approx(published.get("deepseek-v3.active_params").value, rel=0.02)  # "37B"
    # The released weights' note counts 36.6B active with the output head but not the input embedding.
    embedding = p.config.vocab_size * p.config.d_model
    assert active - embedding == pytest.approx(published.get("deepseek-v3.released_active_params").value, rel=2e-3)
    # The checkpoint's 685B adds the multi-token-prediction module (not in the main model).
    mtp = published.get("deepseek-v3.mtp_params").value
    assert p.n_params + mtp + 2 * embedding == pytest.approx(
        published.get("deepseek-v3.checkpoint_params").value, rel=0.01
    )
    assert p.train_tokens == 14.8e12


def test_deepseek_v2_lite_count_is_the_papers_15_7b():
    cfg = presets.get("deepseek-v2-lite")
    assert counting.param_count(cfg) == pytest.approx(published.get("deepseek-v2-lite.total_params").value, rel=5e-3)
    active_without_embedding = counting.active_param_count(cfg) - cfg.vocab_size * cfg.d_model
    assert active_without_embedding == pytest.approx(published.get("deepseek-v2-lite.active_params").value, rel=0.03)


def test_book_latent_attention_equals_transformers_deepseek_v3_numerically():
    """A small DeepSeek-V3 built by transformers and by the book, same weights: same logits."""
    transformers = pytest.importorskip("transformers")
    cfg = ModelConfig(
        n_layers=2,
        d_model=32,
        n_heads=4,
        vocab_size=50,
        seq_len=16,
        d_ff=48,
        kv_lora_rank=12,
        q_lora_rank=10,
        qk_rope_head_dim=4,
        qk_nope_head_dim=6,
        v_head_dim=5,
        n_experts=4,
        top_k=2,
        n_shared_experts=1,
        expert_d_ff=8,
        n_dense_layers=1,
        gating="sigmoid-topk",
        routed_scaling_factor=2.5,
        norm_eps=1e-6,
    )
    hf_cfg = transformers.DeepseekV3Config(
        vocab_size=50,
        hidden_size=32,
        intermediate_size=48,
        moe_intermediate_size=8,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        n_shared_experts=1,
        n_routed_experts=4,
        num_experts_per_tok=2,
        first_k_dense_replace=1,
        kv_lora_rank=12,
        q_lora_rank=10,
        qk_rope_head_dim=4,
        qk_nope_head_dim=6,
        v_head_dim=5,
        routed_scaling_factor=2.5,
        rms_norm_eps=1e-6,
        n_group=1,
        topk_group=1,
        max_position_embeddings=16,
        rope_interleave=False,  # the book's half-rotation layout
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    hf = transformers.DeepseekV3ForCausalLM(hf_cfg).eval()
    hf.config._attn_implementation = "eager"
    ours = model.build(cfg, seed=1).eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.normal_(0, 0.3)
        ours.embed.weight.copy_(hf.model.embed_tokens.weight)
        ours.lm_head.weight.copy_(hf.lm_head.weight)
        ours.norm.weight.copy_(hf.model.norm.weight)
        for block, layer in zip(ours.blocks, hf.model.layers):
            a, h = block.attn, layer.self_attn
            block.norm1.weight.copy_(layer.input_layernorm.weight)
            block.norm2.weight.copy_(layer.post_attention_layernorm.weight)
            a.q_down.weight.copy_(h.q_a_proj.weight)
            a.q_norm.weight.copy_(h.q_a_layernorm.weight)
            a.q_up.weight.copy_(h.q_b_proj.weight)
            a.kv_down.weight.copy_(h.kv_a_proj_with_mqa.weight)
            a.kv_norm.weight.copy_(h.kv_a_layernorm.weight)
            a.kv_up.weight.copy_(h.kv_b_proj.weight)
            a.out.weight.copy_(h.o_proj.weight)
            if isinstance(block.ffn, MoELayer):
                block.ffn.router.weight.copy_(layer.mlp.gate.weight)
                f = cfg.expert_ff_dim
                for e, expert in enumerate(block.ffn.experts):
                    expert.gate.weight.copy_(layer.mlp.experts.gate_up_proj[e, :f])
                    expert.up.weight.copy_(layer.mlp.experts.gate_up_proj[e, f:])
                    expert.down.weight.copy_(layer.mlp.experts.down_proj[e])
                mlps = [(block.ffn.shared, layer.mlp.shared_experts)]
            else:
                mlps = [(block.ffn, layer.mlp)]
            for mine, theirs in mlps:
                mine.gate.weight.copy_(theirs.gate_proj.weight)
                mine.up.weight.copy_(theirs.up_proj.weight)
                mine.down.weight.copy_(theirs.down_proj.weight)
        idx = torch.randint(0, 50, (2, 12), generator=torch.Generator().manual_seed(0))
        expected = hf(idx).logits
        got, _ = ours(idx)
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4), (got - expected).abs().max()


# --- FLOPs against PyTorch's counter --------------------------------------------------------------


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize(
    "cfg",
    [
        ModelConfig(n_layers=2, d_model=32, n_heads=4, vocab_size=40, seq_len=16, kv_lora_rank=8, qk_rope_head_dim=4),
        ModelConfig(
            n_layers=3,
            d_model=48,
            n_heads=3,
            vocab_size=30,
            seq_len=12,
            kv_lora_rank=10,
            q_lora_rank=14,
            qk_rope_head_dim=6,
            qk_nope_head_dim=8,
            v_head_dim=5,
            bias=True,
            ffn="gelu",
        ),
        ModelConfig(
            n_layers=3,
            d_model=32,
            n_heads=2,
            vocab_size=30,
            seq_len=12,
            kv_lora_rank=6,
            q_lora_rank=8,
            qk_rope_head_dim=2,
            n_experts=4,
            top_k=2,
            n_shared_experts=2,
            expert_d_ff=12,
            n_dense_layers=1,
            gating="sigmoid-topk",
            routed_scaling_factor=2.5,
        ),
    ],
)
def test_mla_flops_per_token_equal_pytorch_flop_counter(cfg, training):
    batch, seq = 3, cfg.seq_len
    m = model.build(cfg, seed=0)
    x = torch.randint(0, cfg.vocab_size, (batch, seq))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        _, loss = m(x, x)
        if training:
            loss.backward()
    assert counting.flops_per_token(cfg, context=seq, training=training) * batch * seq == counter.get_total_flops()


@pytest.mark.parametrize("cached", [0, 5, 11])
def test_latent_decode_flops_equal_pytorch_flop_counter_on_a_decode_step(cached):
    cfg = ModelConfig(
        n_layers=2,
        d_model=32,
        n_heads=4,
        vocab_size=30,
        seq_len=16,
        kv_lora_rank=10,
        q_lora_rank=12,
        qk_rope_head_dim=4,
        qk_nope_head_dim=6,
        v_head_dim=5,
        n_experts=4,
        top_k=2,
        n_shared_experts=1,
        expert_d_ff=8,
        n_dense_layers=1,
    )
    m = model.build(cfg, seed=0).eval()
    batch = 3
    x = torch.randint(0, cfg.vocab_size, (batch, cached + 1))
    with torch.no_grad():
        cache = m.new_cache()
        if cached:
            m(x[:, :cached], cache=cache)
        with FlopCounterMode(display=False) as counter:
            m(x[:, cached:], cache=cache)
    # The new token meets the cached ones and itself.
    assert counting.latent_decode_flops_per_token(cfg, context=cached + 1) * batch == counter.get_total_flops()
    with pytest.raises(ValueError, match="kv_lora_rank"):
        counting.latent_decode_flops_per_token(presets.get("llama-7b"))


def test_mla_flops_attention_term_is_h_times_qk_plus_v_per_key():
    cfg = presets.get("deepseek-v3")
    per_key = counting.flops_per_token(cfg, context=1) - counting.flops_per_token(cfg, context=0)
    assert per_key == 2 * cfg.n_layers * cfg.n_heads * ((128 + 64) + 128)
    # 2·N_active FLOPs per token, the embedding lookup aside, at zero context.
    assert counting.flops_per_token(cfg, context=0) == 2 * (
        counting.active_param_count(cfg)
        - cfg.vocab_size * cfg.d_model
        - counting.param_breakdown(cfg).norms
        - cfg.n_layers * (cfg.kv_lora_rank + cfg.q_lora_rank)
    )


# --- the latent cache ----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=mla_configs(), data=st.data())
def test_latent_cache_equals_recomputation_and_holds_the_counted_bytes(cfg, data):
    cfg = cfg.replace(capacity_factor=None)
    m = model.build(cfg, seed=0).eval()
    batch = data.draw(st.integers(1, 2), label="batch")
    S = data.draw(st.integers(1, cfg.seq_len), label="tokens")
    idx = torch.randint(0, cfg.vocab_size, (batch, S), generator=torch.Generator().manual_seed(S))
    cut = data.draw(st.integers(0, S), label="prefill")
    with torch.no_grad():
        full, _ = m(idx)
        cache = m.new_cache()
        pieces = [m(idx[:, :cut], cache=cache)[0]] if cut else []
        for i in range(cut, S):
            pieces.append(m(idx[:, i : i + 1], cache=cache)[0])
    assert torch.allclose(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=1e-4)
    assert cache.length == S
    # The cache holds the latent and the rotary key, preallocated for max_len tokens, in float32.
    assert cache.nbytes == kv_cache.bytes_per_token(cfg, bytes_per_value=4) * cache.max_len * batch
    widths = [tuple(b.shape[2:]) for b in cache.layers[0].buffers]
    assert widths == [(cfg.kv_lora_rank,), (cfg.qk_rope_head_dim_,)]


def test_generation_with_the_latent_cache_equals_recomputation():
    from llmscale.inference import generate

    cfg = ModelConfig(
        n_layers=2,
        d_model=32,
        n_heads=4,
        vocab_size=40,
        seq_len=32,
        kv_lora_rank=8,
        q_lora_rank=12,
        qk_rope_head_dim=4,
        n_experts=4,
        top_k=2,
        n_shared_experts=1,
        expert_d_ff=16,
        n_dense_layers=1,
        gating="sigmoid-topk",
    )
    m = model.build(cfg, seed=3).eval()
    prompt = torch.randint(0, 40, (2, 5), generator=torch.Generator().manual_seed(0))
    cached = generate(m, prompt, 20, use_cache=True)
    recomputed = generate(m, prompt, 20, use_cache=False)
    assert torch.equal(cached, recomputed)
    assert cached.shape == (2, 25)


def test_causal_mask_offsets_new_tokens_on_a_cache():
    assert causal_mask(4, 4) is None and causal_mask(1, 9) is None
    mask = causal_mask(2, 5)
    assert mask.tolist() == [[True, True, True, True, False], [True, True, True, True, True]]


def test_bytes_per_token_of_mla_is_latent_plus_rotary_key_per_layer():
    cfg = presets.get("deepseek-v3")
    assert kv_cache.bytes_per_token(cfg) == 61 * (512 + 64) * 2
    assert kv_cache.bytes_per_sequence(cfg, 1000) == 1000 * kv_cache.bytes_per_token(cfg)
    assert kv_cache.kv_cache_bytes_per_token(cfg) == kv_cache.bytes_per_token(cfg)
    assert kv_cache.kv_cache_bytes(cfg, context=1000, batch=3) == 3 * kv_cache.bytes_per_sequence(cfg, 1000)
    # Against the multi-head cache of the keys and values it expands: h·(d_nope+d_rope+d_v) per layer.
    expanded = cfg.n_layers * cfg.n_heads * (cfg.head_dim_ + cfg.v_head_dim_) * 2
    assert kv_cache.mha_bytes_per_token(cfg) == expanded
    assert expanded / kv_cache.bytes_per_token(cfg) == pytest.approx(71.1, abs=0.05)
    # DeepSeek-V2's comparison: the latent holds what GQA with 2.25 groups of d_h = 128 would.
    assert (cfg.kv_lora_rank + cfg.qk_rope_head_dim) / (2 * 128) == 2.25


def test_bytes_per_token_of_mha_and_gqa_keep_their_rule():
    cfg = presets.get("llama3-70b")
    assert kv_cache.bytes_per_token(cfg) == 80 * 2 * 8 * 128 * 2
    assert kv_cache.bytes_per_token(cfg, bytes_per_value=1) == kv_cache.kv_cache_bytes_per_token(cfg, 1)
    assert kv_cache.mha_bytes_per_token(cfg) / kv_cache.bytes_per_token(cfg) == cfg.n_heads / cfg.kv_heads == 8
    assert kv_cache.bytes_per_sequence(cfg, 0) == 0
    with pytest.raises(ValueError, match="context"):
        kv_cache.bytes_per_sequence(cfg, -1)
    with pytest.raises(ValueError, match="bytes_per_value"):
        kv_cache.bytes_per_token(cfg, bytes_per_value=0)


# --- DeepSeek-style experts: gating and shared experts ------------------------------------------


def test_sigmoid_gating_renormalises_and_scales_the_chosen_scores():
    cfg = ModelConfig(
        n_layers=1,
        d_model=16,
        n_heads=2,
        vocab_size=10,
        seq_len=8,
        n_experts=8,
        top_k=3,
        gating="sigmoid-topk",
        routed_scaling_factor=2.5,
    )
    layer = MoELayer(cfg)
    x = torch.randn(20, 16)
    r = layer.route(x)
    assert torch.allclose(r.weights.sum(-1), torch.full((20,), 2.5))
    scores = layer.router(x).sigmoid()
    assert torch.equal(r.experts.sort(-1).values, scores.topk(3, -1).indices.sort(-1).values)


def test_shared_experts_process_every_token():
    cfg = ModelConfig(
        n_layers=1,
        d_model=16,
        n_heads=2,
        vocab_size=10,
        seq_len=8,
        n_experts=4,
        top_k=1,
        n_shared_experts=2,
        expert_d_ff=6,
    )
    layer = MoELayer(cfg)
    assert layer.shared.up.out_features == 12 and layer.experts[0].up.out_features == 6
    with torch.no_grad():
        for e in layer.experts:
            e.down.weight.zero_()
        x = torch.randn(2, 5, 16)
        assert torch.allclose(layer(x), layer.shared(x))


def test_deepseek_fields_outside_their_setting_are_refused():
    base = dict(n_layers=2, d_model=32, n_heads=4, vocab_size=10, seq_len=8)
    with pytest.raises(ValueError, match="q_lora_rank=8.*kv_lora_rank"):
        ModelConfig(**base, q_lora_rank=8)
    with pytest.raises(ValueError, match="n_kv_heads=2"):
        ModelConfig(**base, kv_lora_rank=8, n_kv_heads=2)
    with pytest.raises(ValueError, match="pos='learned'"):
        ModelConfig(**base, kv_lora_rank=8, pos="learned")
    with pytest.raises(ValueError, match="qk_rope_head_dim=3"):
        ModelConfig(**base, kv_lora_rank=8, qk_rope_head_dim=3)
    with pytest.raises(ValueError, match="n_shared_experts=1.*n_experts"):
        ModelConfig(**base, n_shared_experts=1)
    with pytest.raises(ValueError, match="n_dense_layers=2 must be less than n_layers=2"):
        ModelConfig(**base, n_experts=4, top_k=2, n_dense_layers=2)
    with pytest.raises(ValueError, match="kv_lora_rank"):
        LatentAttention(ModelConfig(**base))


def test_costs_that_assume_uniform_experts_refuse_deepseek_configs_clearly():
    cfg = presets.get("deepseek-v3")
    with pytest.raises(ValueError, match="ambiguous"):
        counting.ffn_params(cfg)
    # (decode.decode_weight_params reads DeepSeek-style experts: tests/test_inference.py)
    # Mixtral-style configs are unchanged.
    mixtral = presets.get("mixtral-8x7b")
    assert counting.ffn_params(mixtral) == counting.expert_ffn_params(mixtral) == 3 * 4096 * 14336
