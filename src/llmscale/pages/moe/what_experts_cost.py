"""What experts cost: the page's exercises; it revisits the serving and memory claims of GPT-4's experts."""

from __future__ import annotations

from dataclasses import dataclass

from ... import counting, exercises, hardware, presets, published
from ..._validate import positive_int
from ...inference import decode
from ...parallelism import comms, memory
from ...units import GiB

REVISITS = (
    "moe-gpt4-serving-node",
    "moe-gpt4-16-not-more",
    "moe-gpt4-inference-cost",
)  # checked on The arithmetic of experts


def reported_layout() -> tuple[int, int, int]:
    """GPT-4's reported training layout: tensor, pipeline and data-parallel degrees (about
    25,000 A100s in replicas of 8 × 15 GPUs: 208 whole replicas)."""
    tp = int(published.get("gpt4.tensor_parallel").value)
    pp = int(published.get("gpt4.pipeline_parallel").value)
    return tp, pp, int(published.get("gpt4.n_gpus").value) // (tp * pp)


@dataclass(frozen=True)
class ExpertCountCosts:
    """What GPT-4 as reported would cost with `n_experts` experts of the same size, top-2.

    Memory in bytes per A100 (model state: weights, gradients, Adam; ZeRO-1; activations and
    the KV cache not counted): in the reported layout with the experts replicated on every
    data-parallel rank (`state_without_ep`), and with them split `expert_parallel` ways over
    those ranks (`state_with_ep`, the largest degree that splits E experts and the 208 replicas
    evenly). tokens_per_expert: one step of the reported 60M-token batch. all_to_all: bytes one
    token moves per layer in training (it follows k, not E). serving_weights_per_gpu: bf16
    weights of the whole model over the reported 128-GPU serving cluster. wake_90: the decode
    batch that touches 90% of the experts; decode_batch: the batch from which an A100 is
    compute-bound (`decode.min_batch_compute_bound`).
    """

    n_experts: int
    total_params: int
    active_params: int
    state_without_ep: float
    expert_parallel: int
    state_with_ep: float
    tokens_per_expert: float
    all_to_all: float
    serving_weights_per_gpu: float
    wake_90: int
    decode_batch: int


def expert_count_costs(n_experts: int) -> ExpertCountCosts:
    """The costs of GPT-4 as reported with `n_experts` experts per layer (see ExpertCountCosts)."""
    e = positive_int("n_experts", n_experts, "16")
    cfg = presets.get("gpt4-reported").replace(n_experts=e, top_k=min(2, e))
    if e == 1:
        cfg = cfg.replace(top_k=1)
    tp, pp, dp = reported_layout()
    n = counting.param_count(cfg)
    shared = n - e * counting.ffn_params(cfg) * cfg.n_layers
    ep = max(memory.expert_parallel_degrees(e, dp))
    with_ep = memory.moe_training_memory_per_gpu(shared, n - shared, tp, pp, dp, ep, zero_stage=1)
    a100 = hardware.get("a100")
    wake = next(b for b in range(1, 10**6) if decode.expected_distinct_experts(e, cfg.top_k, b) >= 0.9 * e)
    return ExpertCountCosts(
        n_experts=e,
        total_params=n,
        active_params=counting.active_param_count(cfg),
        state_without_ep=memory.training_memory_per_gpu(n, tp, pp, dp, zero_stage=1).total,
        expert_parallel=ep,
        state_with_ep=with_ep.total,
        tokens_per_expert=counting.tokens_per_expert(published.get("gpt4.batch_tokens").value, e, cfg.top_k),
        all_to_all=comms.all_to_all_bytes_per_token_layer(cfg.d_model, cfg.top_k, 2, training=True),
        serving_weights_per_gpu=n * memory.WEIGHT_BYTES_BF16 / published.get("gpt4.serving_gpus").value,
        wake_90=wake,
        decode_batch=decode.min_batch_compute_bound(cfg, a100.ridge_flops_per_byte("bf16")),
    )


EXPERT_COUNTS = (8, 16, 32, 64, 128, 256, 512)  # the powers of two the pages compare


def most_experts_that_fit(memory_kind: str) -> int:
    """The largest of EXPERT_COUNTS whose memory per GPU fits an A100 (80 GiB), for
    memory_kind "training" (no expert parallelism), "training-ep" (the experts split over the
    data-parallel ranks) or "serving" (bf16 weights on the 128-GPU serving cluster)."""
    fields = {"training": "state_without_ep", "training-ep": "state_with_ep", "serving": "serving_weights_per_gpu"}
    if memory_kind not in fields:
        raise ValueError(f"memory_kind={memory_kind!r} must be one of {list(fields)}")
    hbm = hardware.get("a100").hbm_bytes
    fitting = [e for e in EXPERT_COUNTS if getattr(expert_count_costs(e), fields[memory_kind]) <= hbm]
    return max(fitting)


exercises.register(
    "what-experts-cost-1",
    lambda: decode.expected_distinct_experts(64, 8, 16),
    rel_tol=0.005,
    unit="experts",
    hint="E·(1 − (1 − k/E)^B) with E=64, k=8, B=16: each expert is missed by one token with probability 1 − k/E.",
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
        / GiB
    ),
    rel_tol=0.01,
    unit="GiB",
    hint="12 bytes per parameter (fp32 master weights and two Adam moments) for the 1/(8·15) "
    "of the parameters each GPU holds, without ZeRO sharding; 1 GiB = 2^30 bytes.",
)


def _state_64_experts_split_8() -> float:
    # (eq-what-experts-cost-memory-ep) for GPT-4's shape with 64 experts, P_e = 8, ZeRO-1, in GiB.
    cfg = presets.get("gpt4-reported").replace(n_experts=64)
    tp, pp, dp = reported_layout()
    m = memory.moe_training_memory_per_gpu(
        counting.shared_params(cfg), 64 * counting.expert_params(cfg), tp, pp, dp, 8, zero_stage=1
    )
    return m.total / GiB


exercises.register(
    "what-experts-cost-4",
    _state_64_experts_split_8,
    rel_tol=0.005,
    unit="GiB",
    hint="Shared part N_s/(P_t·P_p)·(2 + 2 + 12/P_d), experts 64·N_e/(P_t·P_p)·((2 + 2)/P_e + 12/P_d), "
    "with P_t·P_p = 120, P_d = 208, P_e = 8; N_s includes the 64 routers.",
    kind="derive",
)
