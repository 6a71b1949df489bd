"""Tensor and sequence parallelism: the cost model of a layer's collectives, its claim and exercises.

Per layer and microbatch, Megatron's tensor parallelism sends 4 all-reduces of the b·s·d
activations (2 forward, 2 backward; `comms.tensor_parallel_traffic`) and does the layer's
training FLOPs split t ways. This module prices both on a DGX A100 (NVLink inside a node,
InfiniBand across nodes), nothing overlapped: a model, not a measurement.
"""

from __future__ import annotations

from ... import claims, counting, exercises, hardware, presets, published
from ...config import ModelConfig
from ...parallelism import comms, planner

NODE = hardware.DGX_A100
EFFICIENCY = 0.6  # fraction of the bf16 peak the layer's matrix products reach (the planner's default)
ALPHA_INTRA = planner.Cluster.__dataclass_fields__["latency_intra"].default  # s per ring step, NVLink
ALPHA_INTER = planner.Cluster.__dataclass_fields__["latency_inter"].default  # s per ring step, InfiniBand
TP_DEGREES = (1, 2, 4, 8, 16)
MICROBATCH = 1  # sequences per microbatch


def link(tp: int, node: hardware.Node = NODE) -> tuple[str, float, float]:
    """(name, bandwidth bytes/s per GPU per direction, α s/step) of the ring a t-way group uses:
    NVLink while the group fits in a node, else InfiniBand (the slowest link sets a ring's pace)."""
    if tp <= node.gpus_per_node:
        return "NVLink", node.accelerator.interconnect_bw_per_direction, ALPHA_INTRA
    return "InfiniBand", node.inter_node_bw_per_direction, ALPHA_INTER


def layer_compute_s(
    cfg: ModelConfig, tp: int, microbatch_size: int = MICROBATCH, efficiency: float = EFFICIENCY
) -> float:
    """Seconds one GPU computes one layer's forward and backward on a microbatch, its 1/t share
    of the layer's training FLOPs (weights and attention, not the head) at `efficiency` of peak."""
    head = 6 * cfg.vocab_size * cfg.d_model
    per_token_layer = (counting.flops_per_token(cfg, training=True) - head) / cfg.n_layers
    flops = per_token_layer * microbatch_size * cfg.seq_len / tp
    return flops / (NODE.accelerator.flops("bf16") * efficiency)


def layer_comm_s(
    cfg: ModelConfig,
    tp: int,
    microbatch_size: int = MICROBATCH,
    sequence_parallel: bool = False,
    latency: bool = True,
) -> float:
    """Seconds of one layer's tensor-parallel collectives per microbatch (`comms.tensor_parallel_traffic`
    divided by the layers), on the link `link(tp)` gives; latency=False drops the α term."""
    _, bandwidth, alpha = link(tp)
    traffic = comms.tensor_parallel_traffic(
        cfg, tp, microbatch_size=microbatch_size, sequence_parallel=sequence_parallel
    )
    return traffic.time(bandwidth, alpha if latency else 0.0) / cfg.n_layers


def comm_share(cfg: ModelConfig, tp: int, **kwargs) -> float:
    """Fraction of a layer's time spent in its collectives when nothing overlaps: comm / (comm + compute)."""
    comm = layer_comm_s(cfg, tp, **kwargs)
    return comm / (comm + layer_compute_s(cfg, tp))


def gpt4_standin() -> ModelConfig:
    """GPT-4 as reported, with 96 heads instead of 84 (8 does not divide 84): the same d_model and parameters."""
    return presets.get("gpt4-reported").replace(n_heads=96)


def largest_tp_in_node(cfg: ModelConfig, node: hardware.Node = NODE) -> int:
    """The largest t that divides the heads and the node's GPUs: the widest group NVLink joins."""
    return max(t for t in range(1, node.gpus_per_node + 1) if node.gpus_per_node % t == 0 and cfg.n_heads % t == 0)


def node_boundary_factor(cfg: ModelConfig) -> float:
    """How many times more a layer's collectives cost at t = 16 (two nodes, InfiniBand) than at t = 8 (NVLink)."""
    return layer_comm_s(cfg, 16) / layer_comm_s(cfg, 8)


@claims.register(
    "tp-gpt4-8way-nvlink",
    claims.GPT4_LEAK,
    "GPT-4 was trained with 8-way tensor parallelism because 8 is the limit of NVLink: 8-way is the "
    "largest tensor-parallel group that stays inside an NVLink domain of 8 GPUs (a DGX A100).",
    True,
    "yes/no",
    basis="derived",
)
def _():
    cfg, gpt3 = gpt4_standin(), presets.get("gpt3-175b")
    widest = largest_tp_in_node(cfg)
    factor = node_boundary_factor(gpt3)
    share8, share16 = comm_share(gpt3, 8), comm_share(gpt3, 16)
    holds = widest == published.get("gpt4.tensor_parallel").value and factor > 1
    return holds, (
        f"A DGX A100 joins {NODE.gpus_per_node} GPUs by NVLink/NVSwitch; the largest t dividing both them and "
        f"the heads of the GPT-4 stand-in (96 heads for the reported 84, same width) is {widest}. Past it the "
        f"ring crosses InfiniBand at {NODE.inter_node_bw_per_direction / 1e9:.0f} GB/s per GPU each way against "
        f"NVLink's {NODE.accelerator.interconnect_bw_per_direction / 1e9:.0f}: in the book's cost model (GPT-3 "
        f"175B's layer, {EFFICIENCY:.0%} of peak, nothing overlapped) a layer's collectives cost {factor:.1f}× "
        f"more at t = 16 than at t = 8, and their share of the layer's time rises from {share8:.0%} to "
        f"{share16:.0%}. 8 is the NVLink domain of this node, not a limit of tensor parallelism itself: 16-way "
        "runs, at that cost (a model, not a measurement)."
    )


# --- exercises -------------------------------------------------------------------------------------


def _ratio_llama_tp8() -> float:
    # Bandwidth term only: 4 all-reduces of 2·b·s·d bytes against the layer's FLOPs over t GPUs.
    cfg = presets.get("llama-65b")
    return layer_comm_s(cfg, 8, latency=False) / layer_compute_s(cfg, 8)


exercises.register(
    "tensor-parallel-1",
    _ratio_llama_tp8,
    rel_tol=0.05,
    unit="(communication / compute, dimensionless)",
    hint="Per layer, 4 ring all-reduces send 4·2(t−1)/t·2bsd bytes at β; the layer's training FLOPs are "
    "about 72·b·s·d²·(1 + s/6d), over t GPUs at R·e. The b and s cancel: (2/9)(t−1)·R·e / (β·d·(1 + s/6d)).",
    kind="derive",
)


def _sequence_parallel_bytes_label(tp: int = 8) -> str:
    # Bytes one GPU sends per step with sequence parallelism over those without, GPT-3 at t = 8.
    cfg = presets.get("gpt3-175b")
    with_sp = comms.tensor_parallel_traffic(cfg, tp, sequence_parallel=True).bytes_per_gpu
    without = comms.tensor_parallel_traffic(cfg, tp, sequence_parallel=False).bytes_per_gpu
    labels = {0.5: "a", 1.0: "b", 2.0: "c", float(tp): "d"}
    ratio = round(with_sp / without, 6)
    if ratio not in labels:
        raise ValueError(f"sequence parallelism sends {ratio}× the bytes; the options cover 1/2, 1, 2 and t")
    return labels[ratio]


exercises.register_choice(
    "tensor-parallel-2",
    options={"a": "half as many", "b": "as many", "c": "twice as many", "d": "t times as many"},
    answer=_sequence_parallel_bytes_label,
    hint="Count what a ring sends: an all-reduce is a reduce-scatter then an all-gather, 2(t−1) steps of "
    "1/t of the buffer; an all-gather or a reduce-scatter alone is t−1 such steps.",
    kind="predict",
)


def _gelu_width_for_quarter_share(target: float = 0.25) -> float:
    # The width d at which GPT-3's shape (4d GELU MLP, s = 2048) spends `target` of a layer's
    # time in its collectives at t = 16 over InfiniBand, bandwidth term only: solve r(d) = target/(1−target)
    # with r = (2/9)(t−1)·R·e / (β·d·(1 + s/6d)) = (2/9)(t−1)·R·e / (β·(d + s/6)).
    t, s = 16, presets.get("gpt3-175b").seq_len
    _, beta, _ = link(t)
    ratio = target / (1 - target)
    return 2 / 9 * (t - 1) * NODE.accelerator.flops("bf16") * EFFICIENCY / (beta * ratio) - s / 6


exercises.register(
    "tensor-parallel-3",
    _gelu_width_for_quarter_share,
    rel_tol=0.03,
    unit="d_model",
    hint="Set comm/compute = 0.25/0.75 = 1/3 in the formula of exercise 1 with t = 16 and β = 25 GB/s, "
    "and solve for d (the attention term makes it d + s/6).",
    kind="derive",
)
