"""The KV cache and generation: with the cache the decoder computes what it computes without it.

Property tests over random small configurations (MHA, GQA, MQA; RoPE and learned positions; dense
and mixture of experts), then sampling, the Hugging Face copy and the argument checks.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmscale.config import ModelConfig
from llmscale.inference import generate
from llmscale.inference.generation import filter_logits, next_token_probs
from llmscale.model import KVCache, LayerCache, build
from llmscale.model.hf import save_pretrained, to_transformers

PROPERTY = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def small_configs(draw):
    """Small decoders of every attention kind the model builds."""
    n_heads = draw(st.sampled_from([1, 2, 4, 6]))
    kv_heads = draw(st.sampled_from([d for d in range(1, n_heads + 1) if n_heads % d == 0]))
    head_dim = draw(st.sampled_from([4, 8]))
    pos = draw(st.sampled_from(["rope", "learned"]))
    experts = draw(st.sampled_from([1, 1, 4]))
    ffn = draw(st.sampled_from(["swiglu", "gelu"]))
    return ModelConfig(
        n_layers=draw(st.integers(1, 3)),
        d_model=n_heads * head_dim,
        n_heads=n_heads,
        n_kv_heads=kv_heads,
        vocab_size=draw(st.integers(5, 40)),
        seq_len=draw(st.integers(8, 24)),
        pos=pos,
        ffn=ffn,
        d_ff=16,
        n_experts=experts,
        top_k=draw(st.integers(1, 2)) if experts > 1 else 1,
        bias=draw(st.booleans()),
        norm=draw(st.sampled_from(["rmsnorm", "layernorm"])),
    )


def _model(cfg, seed=0):
    return build(cfg, seed=seed).eval()


@PROPERTY
@given(cfg=small_configs(), seed=st.integers(0, 10_000), data=st.data())
def test_greedy_generation_with_the_cache_equals_recomputation(cfg, seed, data):
    model = _model(cfg, seed)
    batch = data.draw(st.integers(1, 3))
    prompt_len = data.draw(st.integers(1, cfg.seq_len - 1))
    new = data.draw(st.integers(1, cfg.seq_len - prompt_len))
    prompt = torch.randint(0, cfg.vocab_size, (batch, prompt_len), generator=torch.Generator().manual_seed(seed))
    cached = generate(model, prompt, new, use_cache=True)
    recomputed = generate(model, prompt, new, use_cache=False)
    assert cached.shape == (batch, prompt_len + new)
    assert torch.equal(cached[:, :prompt_len], prompt)
    assert torch.equal(cached, recomputed)


@PROPERTY
@given(cfg=small_configs(), seed=st.integers(0, 10_000), data=st.data())
def test_logits_fed_in_chunks_through_the_cache_equal_one_shot(cfg, seed, data):
    """Chunked prefill, single-token decode and several tokens on a non-empty cache (the offset mask)."""
    model = _model(cfg, seed)
    S = data.draw(st.integers(2, cfg.seq_len))
    cuts = sorted(set(data.draw(st.lists(st.integers(1, S - 1), max_size=4))))
    ids = torch.randint(0, cfg.vocab_size, (2, S), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        full = model(ids)[0]
        cache = model.new_cache()
        pieces, start = [], 0
        for end in [*cuts, S]:
            pieces.append(model(ids[:, start:end], cache=cache)[0])
            assert cache.length == end
            start = end
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, rtol=1e-4, atol=1e-5)


@PROPERTY
@given(cfg=small_configs(), seed=st.integers(0, 10_000), data=st.data())
def test_truncating_the_cache_then_refeeding_equals_never_having_fed(cfg, seed, data):
    model = _model(cfg, seed)
    S = data.draw(st.integers(2, cfg.seq_len))
    keep = data.draw(st.integers(1, S - 1))
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, cfg.vocab_size, (1, S), generator=gen)
    other = torch.randint(0, cfg.vocab_size, (1, S - keep), generator=gen)
    with torch.no_grad():
        clean = model.new_cache()
        model(ids[:, :keep], cache=clean)
        expect = model(ids[:, keep:], cache=clean)[0]
        rolled = model.new_cache()
        model(torch.cat([ids[:, :keep], other], dim=1), cache=rolled)  # speculative tokens, rejected
        rolled.truncate(keep)
        assert rolled.length == keep
        got = model(ids[:, keep:], cache=rolled)[0]
    torch.testing.assert_close(got, expect, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "kind",
    [
        dict(n_kv_heads=None),
        dict(n_kv_heads=2),
        dict(n_kv_heads=1),
        dict(pos="learned"),
        dict(n_experts=4, top_k=2),
        dict(n_experts=4, top_k=1, n_kv_heads=1, pos="learned"),
    ],
    ids=["mha", "gqa", "mqa", "learned", "moe", "moe-mqa-learned"],
)
def test_each_attention_kind_decodes_identically_over_a_long_generation(kind):
    cfg = ModelConfig(n_layers=2, d_model=32, n_heads=4, vocab_size=64, seq_len=48, **kind)
    model = _model(cfg)
    prompt = torch.randint(0, 64, (3, 5), generator=torch.Generator().manual_seed(1))
    assert torch.equal(generate(model, prompt, 40), generate(model, prompt, 40, use_cache=False))
    # the logits of the cached decode steps against one pass over the generated sequence
    out = generate(model, prompt, 40)
    with torch.no_grad():
        full = model(out)[0]
        cache = model.new_cache()
        steps = [model(out[:, :5], cache=cache)[0]]
        steps += [model(out[:, i : i + 1], cache=cache)[0] for i in range(5, out.shape[1])]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-4, atol=1e-5)


def test_the_fast_path_without_a_cache_is_unchanged_and_causal():
    cfg = ModelConfig(n_layers=2, d_model=32, n_heads=4, n_kv_heads=2, vocab_size=64, seq_len=16)
    model = _model(cfg)
    ids = torch.randint(0, 64, (2, 16))
    with torch.no_grad():
        full = model(ids)[0]
        prefix = model(ids[:, :7])[0]
    torch.testing.assert_close(full[:, :7], prefix, rtol=1e-5, atol=1e-6)


def test_cache_buffers_are_preallocated_and_hold_the_computed_bytes():
    cfg = ModelConfig(n_layers=3, d_model=32, n_heads=4, n_kv_heads=2, vocab_size=64, seq_len=16)
    model = _model(cfg)
    cache = model.new_cache(12)
    with torch.no_grad():
        model(torch.zeros(2, 3, dtype=torch.long), cache=cache)
        first = [b.data_ptr() for layer in cache.layers for b in layer.buffers]
        model(torch.zeros(2, 1, dtype=torch.long), cache=cache)
    assert [b.data_ptr() for layer in cache.layers for b in layer.buffers] == first
    # L · 2 · h_kv · d_h · max_len · B values of 4 bytes
    assert cache.nbytes == 3 * 2 * 2 * 8 * 12 * 2 * 4
    assert cache.length == 4 and cache.batch_size == 2


def test_a_layer_cache_returns_views_of_any_tensors_and_appends_along_dim_1():
    cache = LayerCache(6)
    latent = torch.randn(2, 3, 5)
    (full,) = cache.update(latent)
    assert torch.equal(full, latent)
    cache.advance(3)
    assert cache.length == 3
    more = torch.randn(2, 2, 5)
    (full,) = cache.update(more)
    assert full.shape == (2, 5, 5) and torch.equal(full[:, 3:], more) and torch.equal(full[:, :3], latent)
    assert full.data_ptr() == cache.buffers[0].data_ptr()
    with pytest.raises(ValueError, match="max_len"):
        cache.update(torch.randn(2, 4, 5))
    with pytest.raises(ValueError, match="shape"):
        cache.update(torch.randn(3, 1, 5))


def test_cache_errors_name_the_field_and_the_fix():
    cfg = ModelConfig(n_layers=2, d_model=16, n_heads=2, vocab_size=32, seq_len=8)
    model = _model(cfg)
    with pytest.raises(ValueError, match="seq_len=8"):
        model.new_cache(9)
    with pytest.raises(ValueError, match="max_len"):
        model.new_cache(0)
    cache = model.new_cache()
    with torch.no_grad():
        model(torch.zeros(1, 6, dtype=torch.long), cache=cache)
        with pytest.raises(ValueError, match="6 cached \\+ 3 exceeds seq_len=8"):
            model(torch.zeros(1, 3, dtype=torch.long), cache=cache)
        with pytest.raises(ValueError, match="layers"):
            model(torch.zeros(1, 1, dtype=torch.long), cache=KVCache(3, 8))
        with pytest.raises(ValueError, match="seq_len=8"):
            model(torch.zeros(1, 9, dtype=torch.long))
    small = model.new_cache(4)
    with torch.no_grad(), pytest.raises(ValueError, match="max_len=4"):
        model(torch.zeros(1, 5, dtype=torch.long), cache=small)
    with pytest.raises(ValueError, match="truncate"):
        cache.truncate(7)
    with pytest.raises(ValueError, match="truncate"):
        cache.truncate(-1)


# --- sampling ---------------------------------------------------------------------------------


def _sampling_model():
    cfg = ModelConfig(n_layers=1, d_model=16, n_heads=2, vocab_size=50, seq_len=40)
    return build(cfg, seed=3).eval()


def test_sampling_with_a_seed_is_reproducible_and_seeds_differ():
    model = _sampling_model()
    prompt = torch.zeros(4, 2, dtype=torch.long)
    a = generate(model, prompt, 30, temperature=1.0, seed=7)
    b = generate(model, prompt, 30, temperature=1.0, seed=7)
    c = generate(model, prompt, 30, temperature=1.0, seed=8)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # sampling with and without the cache draws the same tokens from the same seed
    assert torch.equal(a, generate(model, prompt, 30, temperature=1.0, seed=7, use_cache=False))


@settings(max_examples=50, deadline=None)
@given(
    logits=st.lists(st.floats(-5, 5), min_size=2, max_size=20),
    k=st.integers(1, 20),
    p=st.floats(0.01, 1.0),
)
def test_top_k_and_top_p_keep_exactly_the_allowed_set(logits, k, p):
    x = torch.tensor([logits])
    probs = x.softmax(-1)[0]
    kept = torch.isfinite(filter_logits(x, top_k=k))[0]
    assert int(kept.sum()) == min(k, len(logits))
    if (~kept).any():
        assert float(probs[kept].min()) >= float(probs[~kept].max())
    nucleus = torch.isfinite(filter_logits(x, top_p=p))[0]
    # the nucleus: the most probable tokens, as few as reach p
    if (~nucleus).any():
        assert float(probs[nucleus].min()) >= float(probs[~nucleus].max())
    assert float(probs[nucleus].sum()) >= p - 1e-6
    assert int(nucleus.sum()) == 1 or float(probs[nucleus].sum() - probs[nucleus].min()) < p + 1e-6


def test_generated_tokens_never_leave_the_top_k_or_nucleus_set():
    model = _sampling_model()
    prompt = torch.randint(0, 50, (8, 3), generator=torch.Generator().manual_seed(0))
    for top_k, top_p in [(3, None), (None, 0.5), (5, 0.7), (1, None)]:
        out = generate(model, prompt, 20, temperature=1.5, top_k=top_k, top_p=top_p, seed=1)
        with torch.no_grad():
            logits = model(out[:, :-1])[0][:, 2:]  # the logits each new token was drawn from
        allowed = next_token_probs(logits.reshape(-1, 50), 1.5, top_k, top_p) > 0
        drawn = out[:, 3:].reshape(-1)
        assert bool(allowed[torch.arange(drawn.numel()), drawn].all()), (top_k, top_p)
    greedy = generate(model, prompt, 20)
    assert torch.equal(generate(model, prompt, 20, temperature=1.0, top_k=1, seed=0), greedy)


def test_next_token_probs_follow_the_temperature():
    logits = torch.tensor([[2.0, 1.0, 0.0]])
    torch.testing.assert_close(next_token_probs(logits, 0.5), (logits / 0.5).softmax(-1))
    with pytest.raises(ValueError, match="temperature"):
        next_token_probs(logits, 0.0)


# --- the transformers copy ----------------------------------------------------------------------


@pytest.mark.parametrize("kv_heads,tie", [(None, False), (2, True), (1, False)])
def test_the_transformers_copy_gives_the_same_logits_and_greedy_tokens(kv_heads, tie):
    cfg = ModelConfig(
        n_layers=2, d_model=32, n_heads=4, n_kv_heads=kv_heads, vocab_size=64, seq_len=32, tie_embeddings=tie
    )
    model = build(cfg, seed=1).eval()
    hf = to_transformers(model)
    assert sum(p.numel() for p in hf.parameters()) == model.num_params()
    # no special tokens: transformers' generate (and vLLM) must not stop at LlamaConfig's default eos 2
    assert hf.config.eos_token_id is None and hf.generation_config.eos_token_id is None
    ids = torch.randint(0, 64, (2, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(hf(input_ids=ids).logits, model(ids)[0], rtol=1e-4, atol=1e-5)
        theirs = hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=15, do_sample=False)
    assert torch.equal(theirs, generate(model, ids, 15))


def test_save_pretrained_writes_a_local_checkpoint_transformers_loads(tmp_path):
    import transformers

    cfg = ModelConfig(n_layers=1, d_model=16, n_heads=2, vocab_size=32, seq_len=16)
    model = build(cfg, seed=0).eval()
    path = save_pretrained(model, tmp_path / "ckpt")
    assert (path / "config.json").exists() and (path / "model.safetensors").exists()
    loaded = transformers.LlamaForCausalLM.from_pretrained(path)
    ids = torch.arange(10)[None]
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=ids).logits, model(ids)[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "change",
    [dict(n_experts=4, top_k=2), dict(pos="learned"), dict(ffn="gelu"), dict(bias=True), dict(norm="layernorm")],
)
def test_configs_llama_cannot_express_are_refused(change):
    cfg = ModelConfig(n_layers=1, d_model=16, n_heads=2, vocab_size=32, seq_len=16, **change)
    with pytest.raises(ValueError, match="LlamaForCausalLM cannot express"):
        to_transformers(build(cfg))


# --- generate's arguments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(max_new_tokens=30), "exceeds seq_len=16"),
        (dict(max_new_tokens=-1), "max_new_tokens"),
        (dict(max_new_tokens=2.5), "max_new_tokens"),
        (dict(max_new_tokens=4, temperature=-1.0), "temperature"),
        (dict(max_new_tokens=4, temperature=float("nan")), "temperature"),
        (dict(max_new_tokens=4, temperature=1.0, top_k=0), "top_k"),
        (dict(max_new_tokens=4, temperature=1.0, top_p=0.0), "top_p"),
        (dict(max_new_tokens=4, temperature=1.0, top_p=1.5), "top_p"),
        (dict(max_new_tokens=4, use_cache="yes"), "use_cache"),
        (dict(max_new_tokens=4, seed=-3), "seed"),
    ],
)
def test_generate_refuses_bad_arguments_with_the_fix(kwargs, match):
    cfg = ModelConfig(n_layers=1, d_model=16, n_heads=2, vocab_size=32, seq_len=16)
    model = build(cfg)
    with pytest.raises(ValueError, match=match):
        generate(model, torch.zeros(1, 4, dtype=torch.long), **kwargs)


@pytest.mark.parametrize(
    "prompt,match",
    [
        (torch.zeros(4, dtype=torch.long), "ids\\[None\\]"),
        (torch.zeros(1, 0, dtype=torch.long), "prompt_len >= 1"),
        (torch.zeros(1, 3), "integer"),
        (torch.full((1, 3), 32), "vocab_size=32"),
        ([[1, 2]], "tensor"),
    ],
)
def test_generate_refuses_bad_prompts(prompt, match):
    cfg = ModelConfig(n_layers=1, d_model=16, n_heads=2, vocab_size=32, seq_len=16)
    with pytest.raises(ValueError, match=match):
        generate(build(cfg), prompt, 2)


def test_zero_new_tokens_returns_the_prompt():
    cfg = ModelConfig(n_layers=1, d_model=16, n_heads=2, vocab_size=32, seq_len=16)
    prompt = torch.tensor([[1, 2, 3]])
    assert torch.equal(generate(build(cfg), prompt, 0), prompt)
