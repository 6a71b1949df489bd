"""Accelerators and the roofline: the page's exercises (it settles no article claim; the serving
and decoding pages use its ridge points)."""

from __future__ import annotations

from ... import exercises, hardware, presets
from ...inference import roofline

# The matmul the page places on the roofline: a weight of FEATURES × FEATURES against m rows.
FEATURES_CPU = 4096
FEATURES_GPU = 8192
ROWS = (1, 4, 16, 64, 256, 1024)


def decode_speedup_a100_to_h100(model: str = "llama-65b", context: int = 2048) -> float:
    """How much faster a batch-1 bf16 decode step of `model` runs on an H100 than on an A100 (roofline)."""
    cfg = presets.get(model)
    a100 = roofline.decode_step_time(cfg, hardware.get("a100"), 1, context)
    h100 = roofline.decode_step_time(cfg, hardware.get("h100"), 1, context)
    return a100.seconds / h100.seconds


SPEEDUP_OPTIONS = {
    "a": "about 3.2×, the ratio of the peak FLOP/s",
    "b": "about 1.6×, the ratio of the memory bandwidths",
    "c": "about 1×: batch-1 decoding is limited by the model, not the chip",
}


def _nearest_speedup_option() -> str:
    speedup = decode_speedup_a100_to_h100()
    a100, h100 = hardware.get("a100"), hardware.get("h100")
    values = {"a": h100.flops("bf16") / a100.flops("bf16"), "b": h100.hbm_bw / a100.hbm_bw, "c": 1.0}
    return min(values, key=lambda k: abs(values[k] - speedup))


exercises.register(
    "roofline-1",
    lambda: roofline.ridge_point(hardware.get("h200"), "bf16"),
    rel_tol=0.01,
    unit="FLOP/byte",
    hint="The H200 has the H100's compute (989.4 TFLOP/s dense bf16) and 4.8 TB/s of HBM3e: peak FLOP/s over bytes/s.",
)
exercises.register(
    "roofline-2",
    lambda: roofline.matmul_rows_at_ridge(8192, 8192, roofline.ridge_point(hardware.get("h100"), "bf16"), 2),
    rel_tol=0.01,
    unit="rows (tokens)",
    hint="Set 2·m·d² / (b·(2·m·d + d²)) equal to the H100's ridge point I* and solve for m: "
    "m = I*·b·d / (2·(d − I*·b)), with d = 8192 and b = 2.",
    kind="derive",
)
exercises.register_choice(
    "roofline-3",
    options=SPEEDUP_OPTIONS,
    answer=_nearest_speedup_option,
    hint="At batch 1 a decode step does about one multiply-add per weight it reads: far below "
    "either chip's ridge point. Which roof does it sit under?",
    kind="predict",
)
