"""Exercises of the page What experts cost."""

from .. import counting, moe_cost, presets, published
from . import register

register("moe-cost-1",
         lambda: moe_cost.expected_distinct_experts(8, 2, 4),
         rel_tol=0.005, unit="experts",
         hint="E·(1 − (1 − k/E)^B) with E=8, k=2, B=4: each expert is missed by one token with "
              "probability 1 − k/E.")
register("moe-cost-2",
         lambda: moe_cost.all_to_all_bytes_per_token_layer(presets.get("mixtral-8x7b").d_model, 2, 2,
                                                           training=True),
         rel_tol=0.001, unit="bytes",
         hint="d·b bytes to each of k experts and back (2·k·d·b), twice for the backward pass; "
              "Mixtral's d is 4096 and bf16 is 2 bytes.")
register("moe-cost-3",
         lambda: counting.param_count(presets.get("gpt4-reported"))
         * moe_cost.OPTIMIZER_BYTES_ADAM_FP32
         / (published.get("gpt4.tensor_parallel").value * published.get("gpt4.pipeline_parallel").value)
         / 1e9,
         rel_tol=0.01, unit="GB",
         hint="12 bytes per parameter (fp32 master weights and two Adam moments) for the 1/(8·15) "
              "of the parameters each GPU holds, without ZeRO sharding.")
