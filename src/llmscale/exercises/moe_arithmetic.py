"""Exercises of the page The arithmetic of experts."""

from .. import counting, moe_cost, presets
from . import register


def _experts_for_ratio(ratio: float) -> float:
    # (N_s + E·N_e) / (N_s + k·N_e) = ratio, solved for E with GPT-4's reported shape.
    cfg = presets.get("gpt4-reported")
    r = moe_cost.shared_params(cfg) / moe_cost.expert_params(cfg)
    return ratio * (r + cfg.top_k) - r


register("moe-arithmetic-1",
         lambda: counting.active_param_count(presets.get("mixtral-8x7b").replace(top_k=1)),
         rel_tol=0.002, unit="parameters",
         hint="Shared parameters (embeddings, attention, routers, norms) plus ONE expert: 32 layers "
              "of 3·d·d_ff with d=4096 and d_ff=14336.")
register("moe-arithmetic-2", lambda: _experts_for_ratio(10.0), rel_tol=0.01, unit="experts",
         hint="Solve (N_s + E·N_e) / (N_s + 2·N_e) = 10 for E, with N_s and N_e from "
              "moe_cost.shared_params and moe_cost.expert_params.")
register("moe-arithmetic-3",
         lambda: counting.flops_per_token(presets.get("mixtral-8x7b"), context=0) / 1e9,
         rel_tol=0.01, unit="GFLOP",
         hint="2 FLOPs per active weight a token multiplies by: not the input embedding (a lookup), "
              "but the LM head, attention, routers and two experts per layer.")
