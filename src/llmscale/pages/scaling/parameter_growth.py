"""Parameter growth: the claims of the GPT-growth article and the page's exercises."""

from __future__ import annotations

from ... import claims, counting, exercises, presets, published


def _cfg(name):
    return presets.get(name)


@claims.register(
    "growth-layers-transformer",
    claims.GPT_GROWTH,
    "The original Transformer had 6 layers.",
    6,
    "layers",
    basis="derived",
)
def _():
    cfg = _cfg("transformer-base")
    return cfg.n_layers, (
        f"6 in the encoder and 6 in the decoder ({cfg.n_encoder_layers}+{cfg.n_layers}); the article counts one stack."
    )


@claims.register("growth-layers-gpt3", claims.GPT_GROWTH, "GPT-3 175B has 96 layers.", 96, "layers", basis="derived")
def _():
    return _cfg("gpt3-175b").n_layers, "Table 2.1 of the GPT-3 paper."


@claims.register(
    "growth-heads-transformer",
    claims.GPT_GROWTH,
    "The original Transformer had 8 attention heads per layer.",
    8,
    "heads",
    basis="derived",
)
def _():
    return _cfg("transformer-base").n_heads, f"Transformer base; the big model has {_cfg('transformer-big').n_heads}."


@claims.register(
    "growth-heads-gpt3", claims.GPT_GROWTH, "GPT-3 has 96 attention heads per layer.", 96, "heads", basis="derived"
)
def _():
    return _cfg("gpt3-175b").n_heads, "Table 2.1 of the GPT-3 paper."


@claims.register(
    "growth-context-transformer",
    claims.GPT_GROWTH,
    "The original Transformer's context was 512 tokens.",
    512,
    "tokens",
    basis="none",
)
def _():
    d = _cfg("transformer-base").d_model
    return None, (
        f"The paper sets no maximum context (sinusoidal positions). {d} is the base model's "
        "width d_model, not a context length."
    )


@claims.register(
    "growth-context-gpt3", claims.GPT_GROWTH, "GPT-3's context is 12,288 tokens.", 12288, "tokens", basis="derived"
)
def _():
    cfg = _cfg("gpt3-175b")
    return cfg.seq_len, (
        f"GPT-3's context is {cfg.seq_len} tokens; {cfg.d_model:,} is its width d_model. "
        "The article's 'context' 512→12,288 is the growth of d_model."
    )


@claims.register("growth-gpt2-layers", claims.GPT_GROWTH, "GPT-2 1542M has 40 layers.", 40, "layers", basis="derived")
def _():
    p = presets.preset("gpt2-xl")
    return p.config.n_layers, (
        f"GPT-2 XL ({p.reported_params / 1e6:,.0f}M in the paper) has {p.config.n_layers} layers."
    )


@claims.register(
    "growth-gpt3-double-layers",
    claims.GPT_GROWTH,
    "GPT-3 175B has twice the layers of GPT-2 1542M.",
    2,
    "ratio",
    basis="derived",
)
def _():
    big, small = _cfg("gpt3-175b").n_layers, _cfg("gpt2-xl").n_layers
    return big / small, (
        f"{big} / {small}: true with GPT-2's real {small} layers, not with the "
        f"article's 40 (which gives {big / 40:.1f})."
    )


@claims.register(
    "growth-gpt2-gpt3-comparable",
    claims.GPT_GROWTH,
    "GPT-2 1542M and GPT-3 175B have comparable numbers of parameters.",
    1,
    "ratio",
    basis="derived",
)
def _():
    ratio = counting.param_count(_cfg("gpt3-175b")) / counting.param_count(_cfg("gpt2-xl"))
    return ratio, f"GPT-3 175B has {ratio:.0f}× the parameters of GPT-2 XL: they are not comparable."


@claims.register(
    "growth-params-transformer",
    claims.GPT_GROWTH,
    "The original Transformer had 65M parameters.",
    65e6,
    "parameters",
    basis="derived",
)
def _():
    n = counting.param_count(_cfg("transformer-base"))
    p = presets.preset("transformer-base")
    return n, (
        f"Counted from the base configuration with a shared {p.config.vocab_size:,}-token "
        f"vocabulary: {n / 1e6:.1f}M; the paper's Table 3 prints {p.reported_params / 1e6:.0f}M."
    )


@claims.register(
    "growth-params-gpt3", claims.GPT_GROWTH, "GPT-3 has 175B parameters.", 175e9, "parameters", basis="derived"
)
def _():
    n = counting.param_count(_cfg("gpt3-175b"))
    return n, f"Counted from Table 2.1's configuration: {n / 1e9:.1f}B."


@claims.register(
    "growth-params-factor",
    claims.GPT_GROWTH,
    "From 2017 to 2020 parameters grew from 65M to 175B, a factor of about 2,700.",
    175e9 / 65e6,
    "ratio",
    basis="derived",
)
def _():
    ratio = counting.param_count(_cfg("gpt3-175b")) / counting.param_count(_cfg("transformer-base"))
    return ratio, "Ratio of the counted GPT-3 175B and Transformer base."


@claims.register(
    "growth-transformer-data",
    claims.GPT_GROWTH,
    "The 2017 Transformer was trained on 36M sentences.",
    36e6,
    "sentences",
    basis="derived",
)
def _():
    fig = published.get("transformer.wmt14_en_fr_sentences")
    de = published.get("transformer.wmt14_en_de_sentences").value
    return fig.value, (
        f"True of the English-French model (WMT14 En-Fr, {fig.value / 1e6:.0f}M sentence "
        f"pairs); the English-German one used {de / 1e6:.1f}M. A published figure, not a "
        "computation."
    )


@claims.register(
    "growth-gpt3-tokens",
    claims.GPT_GROWTH,
    "GPT-3 was trained on 400B BPE tokens taken from Common Crawl.",
    400e9,
    "tokens",
    basis="derived",
)
def _():
    n = counting.param_count(_cfg("gpt3-175b"))
    flops = published.get("gpt3-175b.train_flops").value
    tokens = flops / (6 * n)
    cc = published.get("gpt3.common_crawl_tokens").value
    weight = published.get("gpt3.common_crawl_weight").value
    return tokens, (
        f"The filtered Common Crawl set holds {cc / 1e9:.0f}B tokens, but the paper's own "
        f"compute, {flops:.3g} FLOPs = 6·N·D, implies D = {tokens / 1e9:.0f}B tokens trained on, "
        f"of which {weight:.0%} ({weight * tokens / 1e9:.0f}B) came from Common Crawl."
    )


@claims.register(
    "growth-gpt3-compute",
    claims.GPT_GROWTH,
    "Training GPT-3 175B took 2.14e23 FLOPs.",
    2.14e23,
    "FLOP",
    basis="derived",
)
def _():
    cfg = _cfg("gpt3-175b")
    tokens = published.get("gpt3.train_tokens").value
    c6nd = counting.approx_training_flops(counting.param_count(cfg), tokens)
    printed = published.get("gpt3-175b.train_flops").value
    return c6nd, (
        f"6·N·D with N = {counting.param_count(cfg) / 1e9:.1f}B and D = {tokens / 1e9:.0f}B gives "
        f"{c6nd:.3g} FLOPs, as the paper's Table D.1 prints ({printed:.3g}): the article's "
        "2.14 is a typo."
    )


exercises.register(
    "parameter-growth-1",
    lambda: counting.param_count(presets.get("gpt2-medium")),
    rel_tol=0.002,
    unit="parameters",
    hint="12·L·d² for the blocks, plus V·d for the tied embedding and S·d for positions; "
    "biases and LayerNorms add 13·d per layer and 2·d at the end.",
)
exercises.register(
    "parameter-growth-2",
    lambda: (lambda b: b.embeddings / b.total)(counting.param_breakdown(presets.get("gpt2-small"))),
    rel_tol=0.01,
    unit="fraction",
    hint="The tied embedding is V·d = 50257·768 plus 1024·768 for positions; divide by the total.",
)
exercises.register(
    "parameter-growth-3",
    lambda: (
        counting.param_count(presets.get("llama-7b").replace(n_kv_heads=1))
        / counting.param_count(presets.get("llama-7b"))
    ),
    rel_tol=0.002,
    unit="ratio",
    hint="With one K/V head, K and V shrink from d×d to d×d_h each, in every one of the 32 layers.",
)
