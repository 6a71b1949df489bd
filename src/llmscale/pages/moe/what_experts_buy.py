"""What experts buy: the page's exercises; it revisits the claim that 16 experts is what memory allows."""

from __future__ import annotations

from ... import counting, data, exercises
from ...experiments import moe_sweep

REVISITS = ("moe-gpt4-16-not-more",)  # checked on The arithmetic of experts


def _vocab() -> int:
    return data.load_corpus(moe_sweep.CORPUS).vocab_size


exercises.register(
    "what-experts-buy-1",
    lambda: counting.param_count(moe_sweep.config("small", 128, _vocab())),
    rel_tol=0.002,
    unit="parameters",
    hint="The dense model's parameters, minus its feed-forward blocks, plus per layer 128 "
    "experts of 3·d·(d_ff/2) (SwiGLU) and a d×128 router.",
)
exercises.register(
    "what-experts-buy-2",
    lambda: counting.tokens_per_expert(16 * moe_sweep.SIZES["small"]["seq_len"], 48, moe_sweep.TOP_K),
    rel_tol=0.001,
    unit="tokens",
    hint="A step holds batch_size·seq_len = 16·128 tokens, each sent to k = 2 experts, spread over 48 experts.",
)
exercises.register(
    "what-experts-buy-3",
    lambda: moe_sweep.steps_at_equal_flops("small", 128, _vocab()),
    rel_tol=0.0,
    unit="steps",
    hint="s_128 = round(s_1·C_1/C_128) with s_1 = 400; the router adds 3·2·d·E FLOPs per token and layer in training.",
)


def _experts_for_router_share(share: float = 0.1) -> float:
    # C_E = C_1 + 6·d·L·E in training (E ≥ 2): the E at which the router adds `share` of C_1.
    dense = moe_sweep.config("small", 1, _vocab())
    slope = counting.flops_per_token(moe_sweep.config("small", 3, _vocab()), training=True) - counting.flops_per_token(
        moe_sweep.config("small", 2, _vocab()), training=True
    )
    return share * counting.flops_per_token(dense, training=True) / slope


exercises.register(
    "what-experts-buy-4",
    _experts_for_router_share,
    rel_tol=0.01,
    unit="experts",
    hint="Each expert adds a router column: 2·d FLOPs per token and layer forward, 6·d·L in training; "
    "solve 6·d·L·E = 0.1·C_1.",
    kind="derive",
)
