"""Model-state memory per GPU in training: weights, gradients and optimizer state under
tensor, pipeline and data parallelism with ZeRO sharding (Rajbhandari et al. 2020).

Bytes are decimal counts; `llmscale.units` formats them. Activations are not counted here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._validate import non_negative_number, positive_int, positive_number

# Mixed-precision AdamW (ZeRO paper, Section 3.1): bf16 weights and gradients, and an fp32
# master copy of the weights plus Adam's two fp32 moments: 2 + 2 + (4 + 4 + 4) bytes per parameter.
WEIGHT_BYTES_BF16 = 2
GRAD_BYTES_BF16 = 2
OPTIMIZER_BYTES_ADAM_FP32 = 12


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes per GPU of model state in training: weights, gradients and optimizer state."""

    weights: float
    gradients: float
    optimizer: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer


def training_memory_per_gpu(
    n_params: float,
    tensor_parallel: int = 1,
    pipeline_parallel: int = 1,
    data_parallel: int = 1,
    zero_stage: int = 0,
    weight_bytes: float = WEIGHT_BYTES_BF16,
    grad_bytes: float = GRAD_BYTES_BF16,
    optimizer_bytes: float = OPTIMIZER_BYTES_ADAM_FP32,
) -> TrainingMemory:
    """Model-state bytes per GPU when `n_params` are split evenly over tensor × pipeline ranks.

    ZeRO stage 1 also shards the optimizer state over the data-parallel ranks, stage 2 the
    gradients too, stage 3 the weights too (Rajbhandari et al. 2020). Activations are not counted.
    """
    n_params = positive_number("n_params", n_params, "1.8e12")
    tp = positive_int("tensor_parallel", tensor_parallel, "8")
    pp = positive_int("pipeline_parallel", pipeline_parallel, "15")
    dp = positive_int("data_parallel", data_parallel, "208")
    if zero_stage not in (0, 1, 2, 3) or isinstance(zero_stage, bool):
        raise ValueError(f"zero_stage={zero_stage!r} must be 0, 1, 2 or 3 (0: no sharding over data parallel)")
    for name, value in (
        ("weight_bytes", weight_bytes),
        ("grad_bytes", grad_bytes),
        ("optimizer_bytes", optimizer_bytes),
    ):
        non_negative_number(name, value, "2")
    per_rank = n_params / (tp * pp)
    return TrainingMemory(
        weights=per_rank * weight_bytes / (dp if zero_stage >= 3 else 1),
        gradients=per_rank * grad_bytes / (dp if zero_stage >= 2 else 1),
        optimizer=per_rank * optimizer_bytes / (dp if zero_stage >= 1 else 1),
    )
