"""Exercises of the page Training versus inference budgets."""

from .. import budgets, counting, presets, scaling
from . import register


def _llama13b_trade_off():
    return budgets.compare_to_compute_optimal(
        scaling.BESIROGLU, counting.param_count(presets.get("llama-13b")),
        presets.preset("llama-13b").train_tokens)


register("inference-budgets-1",
         lambda: _llama13b_trade_off().break_even_tokens,
         rel_tol=0.02, unit="served tokens",
         hint="Find LLaMA-13B's loss L* = L(N, 1T); the compute-optimal model of that loss has "
              "A/N^α = a·(L* − E) and B/D^β = b·(L* − E); then T = 6·(N·D − N_opt·D_opt) / "
              "(2·(N_opt − N)).")
register("inference-budgets-2",
         lambda: budgets.optimal_params(
             scaling.BESIROGLU,
             float(scaling.BESIROGLU.loss(counting.param_count(presets.get("llama-7b")), 1e12)),
             1e13),
         rel_tol=0.02, unit="parameters",
         hint="Minimise 6·N·D(N) + 2·N·T over N, with D(N) the tokens that bring N parameters to "
              "LLaMA-7B's loss; budgets.lifetime_flops evaluates the sum on a grid of N.")
register("inference-budgets-3",
         lambda: budgets.tokens_to_reach(
             scaling.BESIROGLU, 3e9,
             float(scaling.BESIROGLU.loss(counting.param_count(presets.get("llama-7b")), 1e12))),
         rel_tol=0.02, unit="tokens",
         hint="Solve E + A/N^α + B/D^β = L* for D with N = 3e9: D = (B / (L* − E − A/N^α))^(1/β).")
