"""Model-state memory per GPU in training: weights, gradients and optimizer state under
tensor, pipeline and data parallelism with ZeRO sharding (Rajbhandari et al. 2020), and for a
mixture of experts whose experts are also split over the data-parallel ranks (expert
parallelism, Lepikhin et al. 2021).

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


@dataclass(frozen=True)
class ExpertParallelMemory:
    """Model-state bytes per GPU of a mixture of experts: the shared parameters' and the experts'."""

    shared: TrainingMemory
    experts: TrainingMemory

    @property
    def weights(self) -> float:
        return self.shared.weights + self.experts.weights

    @property
    def gradients(self) -> float:
        return self.shared.gradients + self.experts.gradients

    @property
    def optimizer(self) -> float:
        return self.shared.optimizer + self.experts.optimizer

    @property
    def total(self) -> float:
        return self.shared.total + self.experts.total


def moe_training_memory_per_gpu(
    shared_params: float,
    expert_params: float,
    tensor_parallel: int = 1,
    pipeline_parallel: int = 1,
    data_parallel: int = 1,
    expert_parallel: int = 1,
    zero_stage: int = 0,
    weight_bytes: float = WEIGHT_BYTES_BF16,
    grad_bytes: float = GRAD_BYTES_BF16,
    optimizer_bytes: float = OPTIMIZER_BYTES_ADAM_FP32,
) -> ExpertParallelMemory:
    """Model-state bytes per GPU of a mixture of experts with `expert_parallel`-way expert parallelism.

    shared_params: the parameters every token uses (attention, embeddings, routers, norms);
    expert_params: those of all experts of all layers (E·N_e). Both are split over the
    tensor × pipeline ranks. The shared ones are replicated over the `data_parallel` ranks, as in
    `training_memory_per_gpu`. The experts are split `expert_parallel` ways across the data-parallel
    ranks (each rank holds E/ep of them), so each expert shard is replicated over dp/ep ranks, its
    expert-data-parallel group, and ZeRO shards the experts' state over that group (as DeepSpeed-MoE
    does). Without ZeRO the experts' weights, gradients and optimizer state all shrink by ep; with
    ZeRO stage 1 their optimizer state, already sharded over all dp ranks, stays the same.
    expert_parallel=1 gives `training_memory_per_gpu(shared_params + expert_params, ...)`.
    """
    shared_params = non_negative_number("shared_params", shared_params, "57.7e9")
    expert_params = positive_number("expert_params", expert_params, "1.78e12")
    dp = positive_int("data_parallel", data_parallel, "208")
    ep = positive_int("expert_parallel", expert_parallel, "16")
    if dp % ep:
        raise ValueError(
            f"expert_parallel={ep} does not divide data_parallel={dp}; the experts are split over "
            f"the data-parallel ranks, so choose a divisor of {dp} (see expert_parallel_degrees)"
        )
    kw = dict(zero_stage=zero_stage, weight_bytes=weight_bytes, grad_bytes=grad_bytes, optimizer_bytes=optimizer_bytes)
    experts = training_memory_per_gpu(expert_params / ep, tensor_parallel, pipeline_parallel, dp // ep, **kw)
    if shared_params == 0:
        shared = TrainingMemory(0.0, 0.0, 0.0)
    else:
        shared = training_memory_per_gpu(shared_params, tensor_parallel, pipeline_parallel, dp, **kw)
    return ExpertParallelMemory(shared=shared, experts=experts)


def expert_parallel_degrees(n_experts: int, data_parallel: int) -> list[int]:
    """The expert-parallel degrees ep that split `n_experts` evenly (E/ep whole experts per rank)
    over ranks that divide the `data_parallel` ranks evenly: the common divisors of E and dp."""
    e = positive_int("n_experts", n_experts, "16")
    dp = positive_int("data_parallel", data_parallel, "208")
    return [ep for ep in range(1, min(e, dp) + 1) if e % ep == 0 and dp % ep == 0]
