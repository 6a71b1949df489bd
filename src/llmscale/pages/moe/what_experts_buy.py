"""What experts buy: the page's exercises; it revisits the claim that 16 experts is what memory allows."""

from __future__ import annotations

from ... import counting, data, exercises
from ...experiments import moe_sweep

REVISITS = ("moe-gpt4-16-not-more",)  # checked on The arithmetic of experts


def _vocab() -> int:
    return data.load_corpus(moe_sweep.CORPUS).vocab_size


exercises.register(
    "what-experts-buy-1",
    lambda: counting.param_count(moe_sweep.config("small", 64, _vocab())),
    rel_tol=0.002,
    unit="parameters",
    hint="The dense model's parameters, minus its feed-forward blocks, plus per layer 64 "
    "experts of 3·d·(d_ff/2) (SwiGLU) and a d×64 router.",
)
exercises.register(
    "what-experts-buy-2",
    lambda: counting.tokens_per_expert(
        moe_sweep.SIZES["small"]["batch_size"] * moe_sweep.SIZES["small"]["seq_len"], 64, moe_sweep.TOP_K
    ),
    rel_tol=0.001,
    unit="tokens",
    hint="A step holds batch_size·seq_len tokens, each sent to k experts, spread over E experts.",
)
exercises.register(
    "what-experts-buy-3",
    lambda: (
        counting.flops_per_token(moe_sweep.config("small", 64, _vocab()), training=True)
        / counting.flops_per_token(moe_sweep.config("small", 1, _vocab()), training=True)
    ),
    rel_tol=0.001,
    unit="ratio",
    hint="Same attention and the same active feed-forward work; the difference is the router, "
    "2·d·E FLOPs per token and layer in the forward pass.",
)
