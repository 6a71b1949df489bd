"""Exercises of the page Parameter growth."""

from .. import counting, presets
from . import register

register("growth-1",
         lambda: counting.param_count(presets.get("gpt2-medium")),
         rel_tol=0.002, unit="parameters",
         hint="12·L·d² for the blocks, plus V·d for the tied embedding and S·d for positions; "
              "biases and LayerNorms add 13·d per layer and 2·d at the end.")
register("growth-2",
         lambda: (lambda b: b.embeddings / b.total)(counting.param_breakdown(presets.get("gpt2-small"))),
         rel_tol=0.01, unit="fraction",
         hint="The tied embedding is V·d = 50257·768 plus 1024·768 for positions; divide by the total.")
register("growth-3",
         lambda: counting.param_count(presets.get("llama-7b").replace(n_kv_heads=1))
         / counting.param_count(presets.get("llama-7b")),
         rel_tol=0.002, unit="ratio",
         hint="With one K/V head, K and V shrink from d×d to d×d_h each, in every one of the 32 layers.")
