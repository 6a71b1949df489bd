"""Expert parallelism: the page's GPT-4 memory-and-traffic table and its exercises (no claims of its own)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ... import counting, exercises, presets, published
from ...config import ModelConfig
from ...parallelism import Layout, comms, memory
from ...units import GiB
from ..moe import what_experts_cost as wc

EP_DEGREES = (1, 2, 4, 8, 16)  # the expert-parallel degrees the page compares (all divide 16 and 208)
# The lab run of exercise 2 (labs.expert_parallel: d_model 32, top-2, 2 sequences per rank, float32),
# stated in the exercise; a page module may not import a lab script.
LAB_RUN = dict(d_model=32, top_k=2, bytes_per_value=4, ranks=2, batch=2, seq=48)


def gpt4_stand_in() -> ModelConfig:
    """GPT-4 as reported with 96 heads instead of 84, so that 8-way tensor parallelism divides
    them; d_model (10752) and so every parameter count stay the same."""
    return dataclasses.replace(presets.get("gpt4-reported"), n_heads=96)


def sequences_per_replica() -> int:
    """Sequences each of the reported 208 replicas takes per step: the 60M-token batch over the
    replicas, in sequences of 8,192 tokens, rounded (one sequence per microbatch)."""
    cfg = gpt4_stand_in()
    _, _, dp = wc.reported_layout()
    return round(published.get("gpt4.batch_tokens").value / (dp * cfg.seq_len))


@dataclass(frozen=True)
class ExpertParallelCost:
    """GPT-4 as reported (the 96-head stand-in) in the reported 8 × 15 × 208 layout, ZeRO-1,
    with its 16 experts split `ep` ways: model state per GPU (bytes) from `memory.training_bytes`
    (the largest pipeline stage) and from `memory.moe_training_memory_per_gpu` (parameters spread
    evenly over the 120 GPUs of a replica, as on the MoE chapter's cost page), and the all-to-all
    bytes one GPU sends per step with its calls (`comms.expert_parallel_traffic`)."""

    ep: int
    weights: float
    gradients: float
    optimizer: float
    model_state: float
    model_state_even: float
    all_to_all_bytes: float
    all_to_all_calls: float
    all_to_all_traffic: comms.StepTraffic


def expert_parallel_cost(ep: int) -> ExpertParallelCost:
    """The memory and traffic of GPT-4 as reported with its experts split `ep` ways (see ExpertParallelCost)."""
    cfg = gpt4_stand_in()
    tp, pp, dp = wc.reported_layout()
    m = sequences_per_replica()
    tb = memory.training_bytes(cfg, Layout(dp=dp, tp=tp, pp=pp, ep=ep, zero=1, microbatches=m))
    n_s = counting.shared_params(cfg)
    even = memory.moe_training_memory_per_gpu(
        n_s, cfg.n_experts * counting.expert_params(cfg), tp, pp, dp, ep, zero_stage=1
    )
    traffic = comms.expert_parallel_traffic(cfg, ep, pp=pp, microbatches=m, tp=tp, sequence_parallel=True)
    return ExpertParallelCost(
        ep=ep,
        weights=tb.weights,
        gradients=tb.gradients,
        optimizer=tb.optimizer,
        model_state=tb.model_state,
        model_state_even=even.total,
        all_to_all_bytes=traffic.bytes_per_gpu,
        all_to_all_calls=traffic.calls,
        all_to_all_traffic=traffic,
    )


exercises.register(
    "expert-parallel-1",
    lambda: comms.remote_fraction(8),
    rel_tol=0.001,
    unit="(fraction of the all-to-all bytes)",
    hint="Each token's k copies go to experts spread evenly over ep GPUs: with uniform routing a copy "
    "stays home with probability 1/ep.",
    kind="predict",
)


def _lab_bytes_seq48() -> float:
    # (eq-expert-parallel-bytes) for every token of the lab run in LAB_RUN, no capacity limit
    r = LAB_RUN
    per_token = comms.all_to_all_bytes_per_token_layer(r["d_model"], r["top_k"], r["bytes_per_value"], training=True)
    return per_token * r["ranks"] * r["batch"] * r["seq"]


exercises.register(
    "expert-parallel-2",
    _lab_bytes_seq48,
    rel_tol=0.0,
    unit="bytes",
    hint="2·2·k·d·b bytes per token (float32, b = 4; d = 32, k = 2) for every token of both ranks: "
    "2 ranks × 2 sequences × 48 tokens. The number of experts does not enter.",
    kind="predict",
)


def _state_zero2_ep16() -> float:
    # the MoE chapter's (eq-what-experts-cost-memory-ep) with ZeRO-2: gradients sharded too, in GiB
    cfg = presets.get("gpt4-reported")
    tp, pp, dp = wc.reported_layout()
    m = memory.moe_training_memory_per_gpu(
        counting.shared_params(cfg), cfg.n_experts * counting.expert_params(cfg), tp, pp, dp, 16, zero_stage=2
    )
    return m.total / GiB


exercises.register(
    "expert-parallel-3",
    _state_zero2_ep16,
    rel_tol=0.005,
    unit="GiB",
    hint="ZeRO-2 shards gradients over the data-parallel copies too: N_s/(P_t·P_p)·(2 + (2 + 12)/P_d) for "
    "the shared part and E·N_e/(P_t·P_p)·(2/P_e + (2 + 12)/P_d) for the experts (each expert shard has "
    "P_d/P_e copies); P_t·P_p = 120, P_d = 208, P_e = 16; 1 GiB = 2^30 bytes.",
    kind="derive",
)
