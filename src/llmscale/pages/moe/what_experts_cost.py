"""What experts cost: the page's exercises; it revisits the serving and memory claims of GPT-4's experts."""

from __future__ import annotations

from ... import counting, exercises, presets, published
from ...inference import decode
from ...parallelism import comms, memory

REVISITS = (
    "moe-gpt4-serving-node",
    "moe-gpt4-16-not-more",
    "moe-gpt4-inference-cost",
)  # checked on The arithmetic of experts


exercises.register(
    "what-experts-cost-1",
    lambda: decode.expected_distinct_experts(8, 2, 4),
    rel_tol=0.005,
    unit="experts",
    hint="E·(1 − (1 − k/E)^B) with E=8, k=2, B=4: each expert is missed by one token with probability 1 − k/E.",
)
exercises.register(
    "what-experts-cost-2",
    lambda: comms.all_to_all_bytes_per_token_layer(presets.get("mixtral-8x7b").d_model, 2, 2, training=True),
    rel_tol=0.001,
    unit="bytes",
    hint="d·b bytes to each of k experts and back (2·k·d·b), twice for the backward pass; "
    "Mixtral's d is 4096 and bf16 is 2 bytes.",
)
exercises.register(
    "what-experts-cost-3",
    lambda: (
        counting.param_count(presets.get("gpt4-reported"))
        * memory.OPTIMIZER_BYTES_ADAM_FP32
        / (published.get("gpt4.tensor_parallel").value * published.get("gpt4.pipeline_parallel").value)
        / 1e9
    ),
    rel_tol=0.01,
    unit="GB",
    hint="12 bytes per parameter (fp32 master weights and two Adam moments) for the 1/(8·15) "
    "of the parameters each GPU holds, without ZeRO sharding.",
)
