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
    basis="primary-source",
)
def _():
    cfg = _cfg("transformer-base")
    return cfg.n_layers, (
        f"Read from the paper's Table 3 (the preset transformer-base): {cfg.n_encoder_layers} layers in the "
        f"encoder and {cfg.n_layers} in the decoder; the article counts one stack."
    )


@claims.register(
    "growth-layers-gpt3", claims.GPT_GROWTH, "GPT-3 175B has 96 layers.", 96, "layers", basis="primary-source"
)
def _():
    return _cfg("gpt3-175b").n_layers, "Read from Table 2.1 of the GPT-3 paper (n_layers of the preset gpt3-175b)."


@claims.register(
    "growth-heads-transformer",
    claims.GPT_GROWTH,
    "The original Transformer had 8 attention heads per layer.",
    8,
    "heads",
    basis="primary-source",
)
def _():
    return _cfg("transformer-base").n_heads, (
        f"Read from the paper's Table 3: the base model has {_cfg('transformer-base').n_heads} heads, "
        f"the big one {_cfg('transformer-big').n_heads}."
    )


@claims.register(
    "growth-heads-gpt3",
    claims.GPT_GROWTH,
    "GPT-3 has 96 attention heads per layer.",
    96,
    "heads",
    basis="primary-source",
)
def _():
    return _cfg("gpt3-175b").n_heads, "Read from Table 2.1 of the GPT-3 paper (n_heads of the preset gpt3-175b)."


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
        f"The paper sets no maximum context (its positions are sinusoidal and it batches sentences, not "
        f"fixed windows), so no figure can be compared. {d} is the base model's width d_model, not a context length."
    )


@claims.register(
    "growth-context-gpt3",
    claims.GPT_GROWTH,
    "GPT-3's context is 12,288 tokens.",
    12288,
    "tokens",
    basis="primary-source",
)
def _():
    cfg = _cfg("gpt3-175b")
    return cfg.seq_len, (
        f"Read from the GPT-3 paper: its context n_ctx is {cfg.seq_len:,} tokens (Section 2.1); {cfg.d_model:,} "
        "is its width d_model (Table 2.1). The article's 'context' 512→12,288 is the growth of d_model."
    )


@claims.register(
    "growth-gpt2-layers", claims.GPT_GROWTH, "GPT-2 1542M has 40 layers.", 40, "layers", basis="primary-source"
)
def _():
    p = presets.preset("gpt2-xl")
    return p.config.n_layers, (
        f"Read from Table 2 of the GPT-2 paper: GPT-2 XL ({p.reported_params / 1e6:,.0f}M) has "
        f"{p.config.n_layers} layers, as its released checkpoint does."
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
        f"The ratio of the papers' layer counts, {big} / {small} (Table 2.1 of GPT-3, Table 2 of GPT-2): true "
        f"with GPT-2 XL's real {small} layers, not with the article's own 40 (which give {big / 40:.1f})."
    )


@claims.register(
    "growth-gpt2-gpt3-comparable",
    claims.GPT_GROWTH,
    "GPT-2 1542M and GPT-3 175B have comparable numbers of parameters (read generously: within a factor of 10).",
    10,
    "× (GPT-3 175B / GPT-2 XL parameters)",
    basis="derived",
    bound="<",
)
def _():
    big, small = counting.param_count(_cfg("gpt3-175b")), counting.param_count(_cfg("gpt2-xl"))
    ratio = big / small
    return ratio, (
        f"Both counted from their configurations: {big / 1e9:.1f}B / {small / 1e9:.2f}B = {ratio:.0f}×. "
        "'Comparable' is taken as within an order of magnitude, the most generous reading; two orders "
        "of magnitude separate them."
    )


@claims.register(
    "growth-params-transformer",
    claims.GPT_GROWTH,
    "The original Transformer had 65M parameters.",
    65e6,
    "parameters",
    basis="primary-source",
)
def _():
    n = counting.param_count(_cfg("transformer-base"))
    p = presets.preset("transformer-base")
    return p.reported_params, (
        f"Read from the paper's Table 3, which prints {p.reported_params / 1e6:.0f}M: the article repeats the "
        f"paper. The book's own count of the base configuration (shared {p.config.vocab_size:,}-token "
        f"vocabulary, tied embeddings) is {n / 1e6:.1f}M, {1 - n / p.reported_params:.1%} less, which at the "
        f"article's two digits would read {n / 1e6:.0f}M; the paper does not say what its figure counts "
        "beyond that, so the book takes the paper's figure as the reference for the article's."
    )


@claims.register(
    "growth-params-gpt3", claims.GPT_GROWTH, "GPT-3 has 175B parameters.", 175e9, "parameters", basis="derived"
)
def _():
    n = counting.param_count(_cfg("gpt3-175b"))
    return n, (
        f"Counted from its configuration (Table 2.1 and Section 2.1 of the paper): {n / 1e9:.1f}B, "
        "which rounds to the article's 175B."
    )


@claims.register(
    "growth-params-factor",
    claims.GPT_GROWTH,
    "From 2017 to 2020 parameters grew from 65M to 175B (a factor of 175B / 65M ≈ 2,700, formed by the book).",
    175e9 / 65e6,
    "ratio",
    basis="derived",
    digits=2,
)
def _():
    big, small = _cfg("gpt3-175b"), _cfg("transformer-base")
    ratio = counting.param_count(big) / counting.param_count(small)
    printed = presets.preset("gpt3-175b").reported_params / presets.preset("transformer-base").reported_params
    return ratio, (
        f"The article states the two ends, not the factor; the book forms it, to the two digits of the "
        f"article's 65M. From the counted configurations: {counting.param_count(big) / 1e9:.1f}B / "
        f"{counting.param_count(small) / 1e6:.2f}M = {ratio:,.0f}, which at two digits is {round(ratio, -2):,.0f}, not "
        f"{round(175e9 / 65e6, -2):,.0f}. The gap is the Transformer's count, {counting.param_count(small) / 1e6:.1f}M "
        f"against the 65M its paper prints (growth-params-transformer); the papers' printed figures give "
        f"{printed:,.0f}."
    )


@claims.register(
    "growth-transformer-data",
    claims.GPT_GROWTH,
    "The 2017 Transformer was trained on 36M sentences.",
    36e6,
    "sentences",
    basis="primary-source",
)
def _():
    fig = published.get("transformer.wmt14_en_fr_sentences")
    de = published.get("transformer.wmt14_en_de_sentences").value
    return fig.value, (
        f"True of the English-French model (WMT14 En-Fr, {fig.value / 1e6:.0f}M sentence "
        f"pairs); the English-German one used {de / 1e6:.1f}M. Read from the paper's Section 5.1, not "
        "computed."
    )


@claims.register(
    "growth-gpt3-tokens",
    claims.GPT_GROWTH,
    "GPT-3's Common Crawl data (the filtered set) came to 400B BPE tokens.",
    400e9,
    "tokens",
    basis="primary-source",
)
def _():
    cc = published.get("gpt3.common_crawl_tokens").value
    trained = published.get("gpt3.train_tokens").value
    weight = published.get("gpt3.common_crawl_weight").value
    epochs = published.get("gpt3.common_crawl_epochs").value
    return cc, (
        f"The article's 400B is the size of the filtered Common Crawl set: Table 2.2 of the GPT-3 paper lists "
        f"{cc / 1e9:.0f}B tokens for it (Section 2.2: 'roughly equivalent to 400 billion byte-pair-encoded "
        f"tokens'), which rounds to 400B at the article's one digit. Its verb is wrong: GPT-3 trained on "
        f"{trained / 1e9:.0f}B tokens in all (Table 2.1), of which Common Crawl, at {weight:.0%} of the mix, "
        f"supplied {weight * trained / 1e9:.0f}B ({epochs:g} of an epoch of the set)."
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
        f"6·N·D with N = {counting.param_count(cfg) / 1e9:.1f}B counted from the paper's configuration and "
        f"D = {tokens / 1e9:.0f}B tokens gives {c6nd:.3g} FLOPs, as the paper's Table D.1 prints "
        f"({printed:.3g}): the article's 2.14 is a typo for 3.14."
    )


# A GPT-2-style model the page does not show: 20 layers of width 1536 (24 heads of 64), a 2048-token context.
GPT2_STYLE_EXERCISE = {"n_layers": 20, "d_model": 1536, "n_heads": 24, "seq_len": 2048}
# Llama 3.2 3B's shape (its released config.json): GQA with 8 key/value heads, SwiGLU, tied embeddings.
LLAMA32_3B_SHAPE = {"n_layers": 28, "d_model": 3072, "n_heads": 24, "n_kv_heads": 8, "d_ff": 8192}


def gpt2_style_exercise_config():
    """The GPT-2-style configuration of exercise parameter-growth-1 (GPT-2's vocabulary, biases, tied embeddings)."""
    return presets.get("gpt2-medium").replace(**GPT2_STYLE_EXERCISE)


def llama32_3b_config():
    """Llama 3.2 3B's shape on Llama 3's vocabulary, with input and output embeddings tied (exercise
    parameter-growth-4)."""
    return presets.get("llama3-8b").replace(**LLAMA32_3B_SHAPE, tie_embeddings=True)


exercises.register(
    "parameter-growth-1",
    lambda: counting.param_count(gpt2_style_exercise_config()),
    rel_tol=0.0005,
    unit="parameters",
    hint="12·L·d² for the blocks' matrices, plus V·d for the tied embedding and S·d for learned positions; "
    "biases and LayerNorms add 13·d per layer (Q, K, V, output: 4·d; feed-forward: 4·d + d; two "
    "LayerNorms: 4·d) and 2·d for the final LayerNorm.",
    kind="derive",
)
exercises.register(
    "parameter-growth-2",
    lambda: (lambda b: b.embeddings / b.total)(counting.param_breakdown(presets.get("llama3-8b"))),
    rel_tol=0.005,
    unit="fraction",
    hint="Llama 3's embeddings are untied: the input table and the output layer are two V×d matrices, "
    "2·128256·4096, with no position table (RoPE has no parameters); divide by the exact count.",
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
exercises.register(
    "parameter-growth-4",
    lambda: counting.param_count(llama32_3b_config()),
    rel_tol=0.0005,
    unit="parameters",
    hint="Per layer: d·h·d_h for Q, 2·d·h_kv·d_h for K and V, h·d_h·d for the output, 3·d·d_ff for "
    "SwiGLU and 2·d for the two RMSNorms (no biases); then V·d once (tied) and d for the final norm.",
    kind="derive",
)
