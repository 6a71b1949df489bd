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
    basis="primary-source",
)
def _():
    saved = _p("ligo.bert_base_flops_saving")
    return saved, (
        f"Read from the paper's Table 1 and Section 4.2: {saved:.1%} for BERT-Base grown from BERT-Small. "
        "A published measurement, not a computation: the FLOPs LiGO saves depend on how quickly the "
        "grown model reaches the scratch model's loss, which no formula gives."
    )


@claims.register(
    "compute-ligo-halves-llm-compute",
    claims.LIGO_HALF_COST,
    "LiGO halves the compute cost of training large language models (it saves at least half the FLOPs).",
    0.5,
    "fraction of FLOPs saved",
    basis="primary-source",
    bound=">=",
)
def _():
    gpt2 = _p("ligo.gpt2-medium.flops_saved")
    headline = _p("ligo.headline_saving")
    bert = _p("ligo.bert_base_flops_saving")
    deit = _p("ligo.deit-b.flops_saved")
    grown = counting.param_count(presets.get("gpt2-medium"))
    gpt3 = counting.param_count(presets.get("gpt3-175b"))
    return gpt2, (
        f"Read from the paper (Section 4.2, Figure 3(c)): its one language model of the GPT kind, GPT-2 Medium "
        f"grown from GPT-2 small (the paper's GPT2-Base), saves {gpt2:.1%} of the FLOPs of training it from "
        f"scratch, less than half. The {bert:.1%} the article quotes is BERT-Base, an encoder; the abstract's "
        f"'up to {headline:.0%}' is reached by its vision transformers (DeiT-B: {deit:.1%}), not by a GPT-style "
        f"language model. And GPT-2 Medium ({grown / 1e9:.2f}B "
        f"parameters) is {gpt3 / grown:,.0f}× smaller than GPT-3: nothing measured says what LiGO saves at "
        "LLM scale."
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
    lambda: counting.training_flops(presets.get("llama-13b").replace(seq_len=4096), 1e12),
    rel_tol=0.005,
    unit="FLOP",
    hint="Per token: 6 FLOPs per weight the token multiplies (attention, SwiGLU's three matrices, "
    "the LM head) plus 3·2·2·L·S·h·d_h for the attention scores and values, now with S = 4096; "
    "times 1e12 tokens. Only the attention term changes with the context.",
    kind="modify",
)
exercises.register(
    "counting-compute-2",
    lambda: _attention_equals_weights("gpt3-175b"),
    rel_tol=0.01,
    unit="tokens",
    hint="Set 2·2·L·S·h·d_h equal to 2 × (weights a token multiplies) and solve for S: "
    "about 6·d for a GPT block with 12·d² weights per layer.",
    kind="derive",
)
exercises.register(
    "counting-compute-3",
    lambda: 8 * 512 * counting.flops_per_token(presets.get("gpt2-small"), context=512, training=True),
    rel_tol=0.001,
    unit="FLOP",
    hint="Forward: 2·(12·L·d² + V·d) + 2·2·L·S·d per token with S = 512; training is 3× forward; times 8·512 tokens.",
    kind="predict",
)

# The counter cell's tiny model with a longer context: what PyTorch's counter reports for one training
# step under the default attention kernel, against three formulas (counting-compute-4).
COUNTER_EXERCISE = {"n_layers": 2, "d_model": 128, "n_heads": 4, "vocab_size": 256, "seq_len": 512}
COUNTER_EXERCISE_BATCH = 2
COUNTER_OPTIONS = {
    "a": "6·N_w·B·S: the weight products only",
    "b": "6·N_w·B·S + 12·L·S·h·d_h·B·S: the weights and every attention product",
    "c": "6·N_w·B·S + 12·L·S_eff·h·d_h·B·S with S_eff = (S+1)/2: the weights and the causal half of attention",
    "d": "none of these",
}


def default_kernel_counter_flops() -> dict[str, int]:
    """FLOPs by operator that FlopCounterMode reports for one training step of the exercise's tiny
    model (COUNTER_EXERCISE, batch COUNTER_EXERCISE_BATCH) under the default attention kernel."""
    import torch

    from ... import measure, model  # torch is imported only when the exercise is checked
    from ...config import ModelConfig

    cfg = ModelConfig(**COUNTER_EXERCISE)
    net = model.build(cfg, seed=0)
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, cfg.vocab_size, (COUNTER_EXERCISE_BATCH, cfg.seq_len), generator=gen)
    return measure.step_flops(net, tokens, attention="default")


def default_kernel_counter_label() -> str:
    """Which of COUNTER_OPTIONS the measured count equals (exactly)."""
    from ...config import ModelConfig

    cfg = ModelConfig(**COUNTER_EXERCISE)
    tokens = COUNTER_EXERCISE_BATCH * cfg.seq_len
    formulas = {
        "a": tokens * counting.flops_per_token(cfg, context=0, training=True),
        "b": tokens * counting.flops_per_token(cfg, context=cfg.seq_len, training=True),
        "c": tokens * counting.flops_per_token(cfg, context=(cfg.seq_len + 1) / 2, training=True),
    }
    counted = sum(default_kernel_counter_flops().values())
    return next((label for label, value in formulas.items() if value == counted), "d")


exercises.register_choice(
    "counting-compute-4",
    options=COUNTER_OPTIONS,
    answer=default_kernel_counter_label,
    hint="Which operator runs attention under the default kernel on this machine, and does "
    "FlopCounterMode have a formula for it? Compare the two counts of the counter cell above.",
    kind="predict",
)
