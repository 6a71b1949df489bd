"""Counting compute: the LiGO compute claims, GPT-3's compute revisited, and the page's exercises."""

from __future__ import annotations

from ... import claims, counting, exercises, presets, published

REVISITS = ("growth-gpt3-compute",)  # GPT-3's training compute, checked on Parameter growth


def _p(key: str) -> float:
    return published.get(key).value


# --- Claims ----------------------------------------------------------------------------------


@claims.register(
    "compute-ligo-flops",
    claims.LIGO_HALF_COST,
    "Growing BERT-Base from BERT-Small with LiGO saves 44.7% of the FLOPs of training it from scratch.",
    0.447,
    "fraction of FLOPs saved",
    basis="derived",
)
def _():
    saved = _p("ligo.bert_base_flops_saving")
    return saved, (
        f"The paper reports {saved:.1%} for BERT-Base. A published measurement, not a "
        "computation: the FLOPs LiGO saves depend on how quickly the grown model reaches the "
        "scratch model's loss, which no formula gives."
    )


@claims.register(
    "compute-ligo-halves-llm-compute",
    claims.LIGO_HALF_COST,
    "LiGO halves the compute cost of training large language models.",
    0.5,
    "fraction of FLOPs saved",
    basis="none",
)
def _():
    headline = _p("ligo.headline_saving")
    bert = _p("ligo.bert_base_flops_saving")
    grown = counting.param_count(presets.get("gpt2-medium"))
    gpt3 = counting.param_count(presets.get("gpt3-175b"))
    return None, (
        f"The paper's abstract says 'up to {headline:.0%}' and its BERT-Base result is {bert:.1%}; "
        f"its largest grown language models (BERT-Large, GPT-2 Medium, about {grown / 1e9:.2f}B "
        f"parameters) are {gpt3 / grown:,.0f}× smaller than GPT-3. Nothing measured says what "
        "LiGO saves at LLM scale."
    )


# --- Exercises -------------------------------------------------------------------------------


def _attention_equals_weights(name: str) -> float:
    """Context at which the attention FLOPs of a token equal its weight FLOPs (forward)."""
    cfg = presets.get(name)
    weights = counting.flops_per_token(cfg, context=0)
    per_key = counting.flops_per_token(cfg, context=1) - weights  # 2·2·L·h·d_h
    return weights / per_key


exercises.register(
    "counting-compute-1",
    lambda: counting.training_flops(presets.get("llama-13b"), 1e12),
    rel_tol=0.01,
    unit="FLOP",
    hint="Per token: 6 FLOPs per weight the token multiplies (attention, SwiGLU's three matrices, "
    "the LM head) plus 3·2·2·L·S·h·d_h for the attention scores and values; times 1e12 tokens. "
    "6·N·D alone comes out a few percent low.",
)
exercises.register(
    "counting-compute-2",
    lambda: _attention_equals_weights("gpt3-175b"),
    rel_tol=0.01,
    unit="tokens",
    hint="Set 2·2·L·S·h·d_h equal to 2 × (weights a token multiplies) and solve for S: "
    "about 6·d for a GPT block with 12·d² weights per layer.",
)
exercises.register(
    "counting-compute-3",
    lambda: 8 * 1024 * counting.flops_per_token(presets.get("gpt2-small"), context=1024, training=True),
    rel_tol=0.001,
    unit="FLOP",
    hint="Forward: 2·(12·L·d² + V·d) + 2·2·L·S·d per token; training is 3× forward; times 8·1024 tokens.",
)
