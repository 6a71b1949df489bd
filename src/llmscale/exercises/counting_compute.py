"""Exercises of the page Counting compute."""

from .. import counting, presets
from . import register


def _attention_equals_weights(name: str) -> float:
    """Context at which the attention FLOPs of a token equal its weight FLOPs (forward)."""
    cfg = presets.get(name)
    weights = counting.flops_per_token(cfg, context=0)
    per_key = counting.flops_per_token(cfg, context=1) - weights  # 2·2·L·h·d_h
    return weights / per_key


register("counting-compute-1",
         lambda: counting.training_flops(presets.get("llama-13b"), 1e12),
         rel_tol=0.01, unit="FLOP",
         hint="Per token: 6 FLOPs per weight the token multiplies (attention, SwiGLU's three matrices, "
              "the LM head) plus 3·2·2·L·S·h·d_h for the attention scores and values; times 1e12 tokens. "
              "6·N·D alone comes out a few percent low.")
register("counting-compute-2",
         lambda: _attention_equals_weights("gpt3-175b"),
         rel_tol=0.01, unit="tokens",
         hint="Set 2·2·L·S·h·d_h equal to 2 × (weights a token multiplies) and solve for S: "
              "about 6·d for a GPT block with 12·d² weights per layer.")
register("counting-compute-3",
         lambda: 8 * 1024 * counting.flops_per_token(presets.get("gpt2-small"), context=1024, training=True),
         rel_tol=0.001, unit="FLOP",
         hint="Forward: 2·(12·L·d² + V·d) + 2·2·L·S·d per token; training is 3× forward; times 8·1024 tokens.")
