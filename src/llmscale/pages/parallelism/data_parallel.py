"""Data parallelism and ZeRO: the page's helpers and exercises; it revisits the ZeRO-1 claim of
the GPT-4 leak (checked on 3D layouts and GPT-4)."""

from __future__ import annotations

import math

from ... import counting, exercises, hardware, presets
from ...config import ModelConfig
from ...parallelism.comms import bus_bytes
from ...parallelism.layout import Layout
from ...parallelism.memory import training_bytes

REVISITS = ("layout-gpt4-zero1",)  # registered on parallelism/layouts_gpt4

# The data-parallel and ZeRO labs' decoder (their SIZES; a page module imports no lab, and the
# notebook asserts that the labs' RESULT reports these sizes).
LAB_SIZES = dict(n_layers=2, d_model=32, n_heads=4, vocab_size=128, seq_len=16, d_ff=64)
FP32_BYTES = 4


def lab_config(n_layers: int = LAB_SIZES["n_layers"]) -> ModelConfig:
    """The labs' decoder, with `n_layers` blocks instead of two."""
    return ModelConfig(**{**LAB_SIZES, "n_layers": n_layers})


def fsdp2_root_params(cfg: ModelConfig) -> int:
    """Parameters of FSDP2's root unit when each block is a unit of its own: the embeddings (and
    the output layer, if untied) and the final norm."""
    parts = counting.param_breakdown(counting.check_decoder_only(cfg))
    return parts.embeddings + parts.norms // (2 * cfg.n_layers + 1)


def fsdp2_all_gather_bytes(cfg: ModelConfig, param_bytes: float = FP32_BYTES) -> float:
    """Full-buffer bytes FSDP2 all-gathers per step with one unit per block and the rest in the
    root: each block gathered for its forward and again for its backward, the root once, since
    it is not freed between its forward and its backward."""
    return param_bytes * (2 * counting.param_count(cfg) - fsdp2_root_params(cfg))


def fsdp2_over_zero3(cfg: ModelConfig) -> float:
    """FSDP2's all-gathered bytes over ZeRO-3's formula (every parameter gathered twice)."""
    return fsdp2_all_gather_bytes(cfg, 1.0) / (2 * counting.param_count(cfg))


def zero3_min_dp(model: ModelConfig | float, hbm_bytes: float) -> int:
    """The smallest data-parallel degree at which ZeRO-3's model state (mixed-precision Adam,
    2 + 2 + 12 bytes per parameter) fits in `hbm_bytes` (activations not counted)."""
    n = float(counting.param_count(model)) if isinstance(model, ModelConfig) else float(model)
    dp = max(1, math.ceil(16 * n / hbm_bytes))
    while training_bytes(n, Layout(dp=dp, zero=3)).model_state > hbm_bytes:
        dp += 1
    return dp


# --- exercises ---------------------------------------------------------------------------------

exercises.register(
    "data-parallel-1",
    lambda: fsdp2_all_gather_bytes(lab_config(4)),
    rel_tol=0.0,
    unit="bytes per step (full buffers, float32)",
    hint="Every block is gathered twice (forward, then backward) and the root once: "
    "4 bytes · (all parameters + the parameters of the four blocks).",
    kind="derive",
)

SENT_OPTIONS = {"a": "halve", "b": "stay the same", "c": "grow by half (×1.5)", "d": "double"}


def _sent_two_to_four() -> str:
    grads = FP32_BYTES * counting.param_count(lab_config())
    ratio = bus_bytes("all_reduce", grads, 4) / bus_bytes("all_reduce", grads, 2)
    for label, value in (("a", 0.5), ("b", 1.0), ("c", 1.5), ("d", 2.0)):
        if math.isclose(ratio, value):
            return label
    raise ValueError(f"the ratio {ratio} is none of the options {SENT_OPTIONS}")


exercises.register_choice(
    "data-parallel-2",
    options=SENT_OPTIONS,
    answer=_sent_two_to_four,
    hint="A ring all-reduce is a reduce-scatter then an all-gather: each rank sends 2(n−1)/n of the "
    "buffer. Compare n = 2 with n = 4.",
    kind="predict",
)

exercises.register(
    "data-parallel-3",
    lambda: zero3_min_dp(presets.get("llama-65b"), hardware.get("a100").hbm_bytes),
    rel_tol=0.0,
    unit="replicas",
    hint="ZeRO-3 divides all 16 bytes per parameter by dp: the smallest dp with 16·N/dp ≤ 80 GiB.",
    kind="derive",
)
