"""Exercises of the page What experts buy."""

from .. import counting, data, moe_cost
from ..experiments import moe_sweep
from . import register


def _vocab() -> int:
    return data.load_corpus(moe_sweep.CORPUS).vocab_size


register("moe-buy-1",
         lambda: counting.param_count(moe_sweep.config("small", 64, _vocab())),
         rel_tol=0.002, unit="parameters",
         hint="The dense model's parameters, minus its feed-forward blocks, plus per layer 64 "
              "experts of 3·d·(d_ff/2) (SwiGLU) and a d×64 router.")
register("moe-buy-2",
         lambda: moe_cost.tokens_per_expert(
             moe_sweep.SIZES["small"]["batch_size"] * moe_sweep.SIZES["small"]["seq_len"], 64,
             moe_sweep.TOP_K),
         rel_tol=0.001, unit="tokens",
         hint="A step holds batch_size·seq_len tokens, each sent to k experts, spread over E experts.")
register("moe-buy-3",
         lambda: counting.flops_per_token(moe_sweep.config("small", 64, _vocab()), training=True)
         / counting.flops_per_token(moe_sweep.config("small", 1, _vocab()), training=True),
         rel_tol=0.001, unit="ratio",
         hint="Same attention and the same active feed-forward work; the difference is the router, "
              "2·d·E FLOPs per token and layer in the forward pass.")
