"""Decoding is memory-bound: the page's model and sizes, and its exercises; it revisits the GPT-4
leak's inference-cost claim, whose "lower utilisation" the page's roofline explains."""

from __future__ import annotations

import math

from ... import exercises, hardware, presets
from ...config import ModelConfig
from ...inference import roofline

REVISITS = ("moe-gpt4-inference-cost",)  # registered on What experts cost

# The model the page measures: multi-head attention, so the cache is as wide as the model, and
# weights (about 71 MB in fp32) several times a laptop CPU's last-level cache (not a large server's).
CPU_MODEL = ModelConfig(n_layers=4, d_model=512, n_heads=8, vocab_size=4096, seq_len=2048)
GPU_MODEL = ModelConfig(n_layers=8, d_model=2048, n_heads=16, vocab_size=8192, seq_len=4096)
BATCHES = (1, 2, 4, 8, 16, 32, 64)
CPU_CONTEXTS = (16, 512, 1536)
GPU_CONTEXTS = (16, 1024, 3072)
STEPS = 6  # decode steps timed per point, best kept
PASSES = 2  # passes over all points, best kept per point


def gemv_features(bytes_per_value: int = 4) -> int:
    """The side of the square weight the page's matrix-vector product reads: a multiple of 1,024
    whose bytes reach `machine.stream_bytes()` (twice the last-level cache, at least 1 GiB), so the
    product reads memory, not a cache (a 4,096² fp32 weight, 64 MiB, sits inside a 480 MiB L3)."""
    from ...inference.machine import stream_bytes  # torch: only when the page measures

    return 1024 * math.ceil(math.sqrt(stream_bytes() / bytes_per_value) / 1024)


exercises.register(
    "decoding-1",
    lambda: roofline.tokens_per_s(presets.get("llama-13b"), hardware.get("h100"), 1, 2048),
    rel_tol=0.01,
    unit="tokens/s",
    hint="At batch 1 the step is memory-bound: its time is (bf16 weights read + 2,048 cached tokens' "
    "keys and values) over the H100's 3.35 TB/s; roofline.decode_step_time does it.",
)
exercises.register(
    "decoding-2",
    lambda: roofline.crossover_batch(presets.get("llama3-8b"), hardware.get("a100"), 512),
    rel_tol=0.005,  # the rounded-up batch or the unrounded B*
    unit="sequences",
    hint="B* = I*·b·N_w / (F₀ + a·S − I*·S·q), rounded up: N_w from decode.decode_weight_params, "
    "F₀ + a·S from counting.flops_per_token(cfg, context=512), q from kv_cache.bytes_per_token.",
    kind="derive",
)
exercises.register(
    "decoding-3",
    lambda: roofline.longest_compute_bound_context(presets.get("llama3-8b"), hardware.get("a100")),
    rel_tol=0.01,
    unit="tokens",
    hint="Set the large-batch limit (F₀ + a·S)/(S·q) equal to the ridge point and solve for S: "
    "S = F₀ / (I*·q − a), with a the attention FLOPs per cached token.",
    kind="derive",
)
