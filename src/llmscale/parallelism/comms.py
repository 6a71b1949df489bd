"""Communication of parallel training: collectives under the α–β model, and the bytes each
kind of parallelism moves per training step.

Conventions, used by every function here:

* `bytes` is the **full buffer** of one call, the same on every rank: the tensor all-reduced;
  the gathered output of an all-gather; the input of a reduce-scatter (each rank keeps 1/n);
  one rank's whole send buffer of an all-to-all (a 1/n slice to each rank, itself included);
  the message of a point-to-point send.
* bandwidth is decimal **bytes/s per rank per direction**: what one rank can send while it
  receives as much (`hardware.Accelerator.interconnect_bw_per_direction`,
  `hardware.Node.inter_node_bw_per_direction`), not the both-directions figure datasheets print.
* ring algorithms (Patarasuk & Yuan 2009; NCCL's rings): an all-reduce is a reduce-scatter then
  an all-gather, 2(n−1) steps in which each rank sends 2(n−1)/n of the buffer; an all-gather or a
  reduce-scatter n−1 steps of 1/n each; an all-to-all by pairwise exchange, n−1 steps, each rank
  sending the (n−1)/n of its buffer that belongs to others. Time = steps·α + sent bytes/β
  (Hockney's α–β model: α the latency of one step, β the bandwidth).

Per training step, `step_traffic(model, layout)` gives each parallelism's collectives and bytes
per GPU (data: gradients, ZeRO's gathers; tensor and sequence: activations per layer; pipeline:
activations per stage boundary; expert: tokens to experts and back), and `step_comm_time` their
seconds, tensor and expert parallelism inside a node, data and pipeline across nodes.
`fit_alpha_beta` fits α and β to measured collectives (`parallelism.labs.collectives`). The
expert-parallel all-to-all is also counted per token (`all_to_all_bytes_per_token_layer`,
`all_to_all_bytes`). Bytes are decimal counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .. import counting
from .._validate import (
    boolean,
    choice,
    is_number,
    non_negative_number,
    number_array,
    optional_positive_int,
    positive_int,
    positive_number,
    scalar_or_array,
)
from ..config import ModelConfig
from .layout import Layout

COLLECTIVES = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "p2p")
PARALLELISMS = ("data", "tensor", "pipeline", "expert")
RECOMPUTE = ("none", "selective", "full")
DOMAINS = ("intra", "inter")
# Tensor and expert parallelism exchange activations several times per layer: they stay inside a
# node's NVLink domain. Data and pipeline parallelism communicate once per step or per microbatch
# and per stage boundary: they span the nodes, over InfiniBand.
DEFAULT_DOMAINS = {"tensor": "intra", "expert": "intra", "data": "inter", "pipeline": "inter"}
BF16_BYTES = 2


# --- the expert-parallel all-to-all, per token ------------------------------------------------


def all_to_all_bytes_per_token_layer(
    d_model: int, top_k: int, bytes_per_value: float = 2, training: bool = True
) -> float:
    """Bytes one token moves in one MoE layer: its d-vector to k experts and back (2·k·d·b),
    twice that when training (the backward pass sends the gradients the same two ways)."""
    d_model = positive_int("d_model", d_model, "4096")
    top_k = positive_int("top_k", top_k, "2")
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    forward = 2 * top_k * d_model * b
    return 2 * forward if training else forward


def remote_fraction(expert_parallel: int) -> float:
    """Share of token-to-expert sends that leave the GPU when the experts are spread evenly
    over `expert_parallel` GPUs and routing is uniform: 1 − 1/P."""
    p = positive_int("expert_parallel", expert_parallel, "16")
    return 1.0 - 1.0 / p


def all_to_all_bytes(
    cfg: ModelConfig,
    tokens: float,
    bytes_per_value: float = 2,
    training: bool = True,
    expert_parallel: int | None = None,
) -> float:
    """All-to-all bytes for `tokens` tokens through every MoE layer of `cfg`.

    Counts every token-to-expert send (the upper bound: all experts elsewhere); with
    `expert_parallel`=P only the 1 − 1/P that leave the GPU are counted.
    """
    counting.check_moe(cfg)
    tokens = non_negative_number("tokens", tokens, "60e6")
    per = all_to_all_bytes_per_token_layer(cfg.d_model, cfg.top_k, bytes_per_value, training)
    share = 1.0 if expert_parallel is None else remote_fraction(expert_parallel)
    return tokens * cfg.n_layers * per * share


# --- collectives under the α–β model ----------------------------------------------------------


def _buffer_bytes(value: Any, name: str = "bytes") -> float | np.ndarray:
    if is_number(value):
        return non_negative_number(name, value, "2**20")
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{name}={value!r} must be a number of bytes >= 0, e.g. {name}=2**20")
    return number_array(name, value, "2**20", allow_zero=True)


def ring_steps(kind: str, n: int) -> int:
    """Latency steps of one call over `n` ranks: 2(n−1) for an all-reduce, n−1 for an all-gather,
    a reduce-scatter or an all-to-all, 1 for a point-to-point send (whatever n); 0 when n=1."""
    kind = choice("kind", kind, COLLECTIVES)
    n = positive_int("n", n, "8")
    if kind == "p2p":
        return 1
    return 2 * (n - 1) if kind == "all_reduce" else n - 1


def bus_bytes(kind: str, bytes: float, n: int) -> float | np.ndarray:
    """Bytes each rank sends in one call of `kind` on a full buffer of `bytes` over `n` ranks:
    2(n−1)/n·bytes for an all-reduce, (n−1)/n·bytes for an all-gather, a reduce-scatter or an
    all-to-all, `bytes` for a point-to-point send. (NCCL's tests call bytes/time "bus bandwidth".)"""
    kind = choice("kind", kind, COLLECTIVES)
    n = positive_int("n", n, "8")
    size = _buffer_bytes(bytes)
    if kind == "p2p":
        return scalar_or_array(np.asarray(size, dtype=float))
    factor = 2 * (n - 1) / n if kind == "all_reduce" else (n - 1) / n
    return scalar_or_array(np.asarray(size, dtype=float) * factor)


def collective_time(kind: str, bytes: float, n: int, bandwidth: float, latency: float = 0.0) -> float | np.ndarray:
    """Seconds of one call of `kind` under the α–β model: ring_steps·latency + bus_bytes/bandwidth.

    bytes: the full buffer (see the module's conventions); bandwidth: bytes/s per rank per
    direction; latency: seconds per step (α)."""
    beta = positive_number("bandwidth", bandwidth, "300e9 (NVLink A100, bytes/s each way)")
    alpha = non_negative_number("latency", latency, "5e-6")
    return ring_steps(kind, n) * alpha + bus_bytes(kind, bytes, n) / beta


def all_reduce_time(bytes: float, n: int, bandwidth: float, latency: float = 0.0) -> float | np.ndarray:
    """Ring all-reduce of a `bytes` buffer over `n` ranks: 2(n−1)·latency + 2(n−1)/n·bytes/bandwidth
    seconds. bandwidth: bytes/s per rank per direction; latency: seconds per step."""
    return collective_time("all_reduce", bytes, n, bandwidth, latency)


def all_gather_time(bytes: float, n: int, bandwidth: float, latency: float = 0.0) -> float | np.ndarray:
    """Ring all-gather into a `bytes` output (each rank contributes bytes/n): (n−1)·latency +
    (n−1)/n·bytes/bandwidth seconds. bandwidth: bytes/s per rank per direction."""
    return collective_time("all_gather", bytes, n, bandwidth, latency)


def reduce_scatter_time(bytes: float, n: int, bandwidth: float, latency: float = 0.0) -> float | np.ndarray:
    """Ring reduce-scatter of a `bytes` input (each rank keeps a reduced bytes/n): (n−1)·latency +
    (n−1)/n·bytes/bandwidth seconds. bandwidth: bytes/s per rank per direction."""
    return collective_time("reduce_scatter", bytes, n, bandwidth, latency)


def all_to_all_time(bytes: float, n: int, bandwidth: float, latency: float = 0.0) -> float | np.ndarray:
    """Pairwise all-to-all of a `bytes` send buffer per rank (bytes/n to each rank): (n−1)·latency +
    (n−1)/n·bytes/bandwidth seconds. bandwidth: bytes/s per rank per direction."""
    return collective_time("all_to_all", bytes, n, bandwidth, latency)


def p2p_time(bytes: float, bandwidth: float, latency: float = 0.0) -> float | np.ndarray:
    """One point-to-point send of `bytes`: latency + bytes/bandwidth seconds (bytes/s one way)."""
    return collective_time("p2p", bytes, 2, bandwidth, latency)


class AlphaBeta(NamedTuple):
    """The α–β model of a link: `alpha_s` seconds per step, `beta_bytes_per_s` bytes/s per rank per direction."""

    alpha_s: float
    beta_bytes_per_s: float


def fit_alpha_beta(sizes_bytes, times_s, kind: str = "all_reduce", n: int = 2, relative: bool = True) -> AlphaBeta:
    """α (seconds per step) and β (bytes/s per rank per direction) that fit measured times of one
    collective: time = ring_steps(kind, n)·α + bus_bytes(kind, size, n)/β, by least squares in
    (α, 1/β) with α ≥ 0.

    sizes_bytes: full buffers as in the module's conventions; times_s: the measured seconds of one
    call at each size (a median). relative=True minimises squared *relative* residuals, so a 4 KiB
    call counts as much as a 16 MiB one (on absolute residuals the large sizes decide α too).
    """
    kind = choice("kind", kind, COLLECTIVES)
    n = positive_int("n", n, "2")
    relative = boolean("relative", relative)
    if kind != "p2p" and n < 2:
        raise ValueError(f"n={n} ranks move no bytes in a {kind}; fit measurements over n >= 2 ranks")
    sizes = number_array("sizes_bytes", sizes_bytes, "[4096, 65536, 1048576]").ravel()
    times = number_array("times_s", times_s, "[1e-4, 2e-4, 1e-3]").ravel()
    if sizes.size != times.size:
        raise ValueError(f"sizes_bytes has {sizes.size} values and times_s {times.size}; give one time per size")
    if np.unique(sizes).size < 2:
        raise ValueError(f"sizes_bytes={sizes.tolist()} needs at least two different sizes to separate α from β")
    steps = float(ring_steps(kind, n))
    volume = np.asarray(bus_bytes(kind, sizes, n), dtype=float)
    weight = 1.0 / times if relative else np.ones_like(times)
    design = np.column_stack([np.full_like(volume, steps), volume]) * weight[:, None]
    (alpha, inv_beta), *_ = np.linalg.lstsq(design, times * weight, rcond=None)
    if alpha < 0:  # the best fit through the origin: no latency is the closest admissible α
        wv = weight * volume
        alpha, inv_beta = 0.0, float(np.dot(wv, weight * times) / np.dot(wv, wv))
    if not inv_beta > 0:
        raise ValueError(
            f"times_s do not grow with sizes_bytes (fitted 1/β={inv_beta:.3g} s/byte); measure over a wider "
            "range of sizes, e.g. 4 KiB to 16 MiB, with several repeats"
        )
    return AlphaBeta(float(alpha), float(1.0 / inv_beta))


# --- bytes per training step, per kind of parallelism -----------------------------------------


@dataclass(frozen=True)
class Collective:
    """`count` calls per training step of one collective `kind` on a full buffer of `buffer_bytes`
    over `group` ranks; `what` says what it moves."""

    kind: str
    buffer_bytes: float
    group: int
    count: float
    what: str = ""

    @property
    def sent_bytes(self) -> float:
        """Bytes one GPU sends per step in these calls: count·bus_bytes."""
        return self.count * bus_bytes(self.kind, self.buffer_bytes, self.group)

    @property
    def steps(self) -> float:
        """Latency steps per step in these calls: count·ring_steps."""
        return self.count * ring_steps(self.kind, self.group)

    def time(self, bandwidth: float, latency: float = 0.0) -> float:
        """Seconds per step of these calls, one after the other (bandwidth: bytes/s per GPU per direction)."""
        return self.count * collective_time(self.kind, self.buffer_bytes, self.group, bandwidth, latency)


@dataclass(frozen=True)
class StepTraffic:
    """The communication of one kind of parallelism in one training step, seen from one GPU."""

    parallelism: str
    collectives: tuple[Collective, ...]

    @property
    def bytes_per_gpu(self) -> float:
        """Bytes one GPU sends per training step."""
        return float(sum(c.sent_bytes for c in self.collectives))

    @property
    def collective(self) -> str:
        """The collective types, in order, joined by '+' ("all_reduce", "reduce_scatter+all_gather"), or "none"."""
        kinds = dict.fromkeys(c.kind for c in self.collectives)
        return "+".join(kinds) if kinds else "none"

    @property
    def calls(self) -> float:
        """Collective calls per training step."""
        return float(sum(c.count for c in self.collectives))

    def time(self, bandwidth: float, latency: float = 0.0) -> float:
        """Seconds per step with nothing overlapped (bandwidth: bytes/s per GPU per direction)."""
        return float(sum(c.time(bandwidth, latency) for c in self.collectives))


def _model_params(model: ModelConfig | float) -> tuple[float, float, ModelConfig | None]:
    """(shared, expert) parameter counts of `model`, and the config when one was given."""
    if isinstance(model, ModelConfig):
        if model.is_moe:
            return float(counting.shared_params(model)), float(model.n_experts * counting.expert_params(model)), model
        return float(counting.param_count(counting.check_decoder_only(model))), 0.0, model
    n = positive_number("model", model, "175e9 (a parameter count), or a ModelConfig")
    return n, 0.0, None


def _config(model: ModelConfig | float, what: str) -> ModelConfig:
    if not isinstance(model, ModelConfig):
        raise ValueError(
            f"model={model!r} is a parameter count; {what} traffic depends on the layers, width and sequence "
            "length: pass a ModelConfig (e.g. presets.get('gpt3-175b'))"
        )
    return counting.check_decoder_only(model)


def _zero(zero: Any) -> int:
    if isinstance(zero, bool | np.bool_) or not isinstance(zero, int | np.integer) or zero not in (0, 1, 2, 3):
        raise ValueError(f"zero={zero!r} must be 0, 1, 2 or 3 (the ZeRO stage; 0: no sharding over data parallel)")
    return int(zero)


def _layers_per_stage(cfg: ModelConfig, pp: int) -> int:
    if pp > cfg.n_layers:
        raise ValueError(f"pp={pp} exceeds n_layers={cfg.n_layers}; choose pp <= n_layers, a divisor of it")
    return math.ceil(cfg.n_layers / pp)  # the stage with the most layers


def _activation_bytes(cfg: ModelConfig, microbatch_size: int, seq_len: int | None, bytes_per_value: float) -> float:
    b = positive_int("microbatch_size", microbatch_size, "1")
    s = optional_positive_int("seq_len", seq_len, "2048", none_means="cfg.seq_len")
    s = cfg.seq_len if s is None else s
    return b * s * cfg.d_model * positive_number("bytes_per_value", bytes_per_value, "2")


def data_parallel_traffic(
    model: ModelConfig | float,
    dp: int,
    tp: int = 1,
    pp: int = 1,
    ep: int = 1,
    zero: int = 0,
    grad_bytes: float = BF16_BYTES,
    param_bytes: float = BF16_BYTES,
) -> StepTraffic:
    """Data-parallel traffic per GPU per step: the gradients of the parameters the GPU holds
    (N/(tp·pp), bf16) all-reduced over the `dp` replicas once per step (ZeRO 0 and 1, after all
    microbatches of gradient accumulation); with ZeRO-2 reduce-scattered, then the updated
    parameters all-gathered (the same volume); with ZeRO-3 the parameters all-gathered in the
    forward and again in the backward pass instead, 1.5× the all-reduce's volume (Rajbhandari et
    al. 2020, §7). (Stage 1 can equally reduce-scatter and all-gather, as Megatron's distributed
    optimizer does, at the same volume.) ZeRO-3's gathers are counted once per step, the parameters
    kept over the microbatches; FSDP by default re-gathers them every microbatch.

    For a mixture of experts (a ModelConfig with n_experts > 1) with `ep`-way expert parallelism,
    the shared parameters are reduced over dp ranks, each GPU's E/ep experts over the dp/ep ranks
    holding the same experts (as in `memory.moe_training_memory_per_gpu`). Parameters are split
    evenly over the pipeline stages, as in `memory`."""
    shared, experts, cfg = _model_params(model)
    dp = positive_int("dp", dp, "208")
    tp, pp, ep = positive_int("tp", tp, "8"), positive_int("pp", pp, "15"), positive_int("ep", ep, "1")
    zero = _zero(zero)
    g = non_negative_number("grad_bytes", grad_bytes, "2")
    p = non_negative_number("param_bytes", param_bytes, "2")
    if dp % ep:
        raise ValueError(f"ep={ep} does not divide dp={dp}; the experts are split over the data-parallel ranks")
    if ep > 1 and cfg is not None:
        if not cfg.is_moe:
            raise ValueError(f"ep={ep} but the model is dense (n_experts=1); use ep=1 or a mixture of experts")
        if cfg.n_experts % ep:
            raise ValueError(f"ep={ep} does not divide n_experts={cfg.n_experts}; choose a divisor of it")
    if ep > 1 and cfg is None:
        raise ValueError(f"ep={ep} needs the shared and expert parameters: pass a ModelConfig, not a count")
    parts = [(shared / (tp * pp), dp, "")]
    if experts:
        parts.append((experts / (tp * pp * ep), dp // ep, " of the experts"))
    collectives = []
    for n_local, group, of in parts:
        if group == 1 or n_local == 0:
            continue
        grads, params = n_local * g, n_local * p
        if zero <= 1:
            collectives.append(Collective("all_reduce", grads, group, 1, "gradients" + of))
        else:
            collectives.append(Collective("reduce_scatter", grads, group, 1, "gradients" + of))
            if zero == 2:
                collectives.append(Collective("all_gather", params, group, 1, "updated parameters" + of))
            else:
                collectives.append(
                    Collective("all_gather", params, group, 2, "parameters" + of + ", forward and backward")
                )
    return StepTraffic("data", tuple(collectives))


def tensor_parallel_traffic(
    cfg: ModelConfig,
    tp: int,
    pp: int = 1,
    microbatches: int = 1,
    microbatch_size: int = 1,
    seq_len: int | None = None,
    sequence_parallel: bool = True,
    recompute: str = "none",
    bytes_per_value: float = BF16_BYTES,
) -> StepTraffic:
    """Tensor-parallel traffic per GPU per step (Megatron, Shoeybi et al. 2019): in every layer of a
    stage, 2 all-reduces of the b·s·d activations in the forward pass (after attention and after the
    MLP) and 2 of their gradients in the backward pass, per microbatch. With `sequence_parallel`
    (Korthikanti et al. 2022; on by default, as in `Layout`) each becomes an all-gather and a
    reduce-scatter of the same buffer, the same volume. recompute="full" re-runs the forward's 2
    per layer in the backward pass; "selective" recomputes attention's core only, no collective.
    The embedding's and the loss's collectives are not counted."""
    cfg = _config(cfg, "tensor-parallel")
    tp = positive_int("tp", tp, "8")
    layers = _layers_per_stage(cfg, positive_int("pp", pp, "15"))
    m = positive_int("microbatches", microbatches, "8")
    sequence_parallel = boolean("sequence_parallel", sequence_parallel)
    recompute = choice("recompute", recompute, RECOMPUTE)
    buffer = _activation_bytes(cfg, microbatch_size, seq_len, bytes_per_value)
    if tp == 1:
        return StepTraffic("tensor", ())
    per_layer = 2 * (2 if recompute == "full" else 1) + 2  # forward(s), then backward
    count = per_layer * layers * m
    if sequence_parallel:
        collectives = (
            Collective("all_gather", buffer, tp, count, "activations, sequence-parallel"),
            Collective("reduce_scatter", buffer, tp, count, "activations, sequence-parallel"),
        )
    else:
        collectives = (Collective("all_reduce", buffer, tp, count, "activations and their gradients"),)
    return StepTraffic("tensor", collectives)


def pipeline_parallel_traffic(
    cfg: ModelConfig,
    pp: int,
    tp: int = 1,
    microbatches: int = 1,
    microbatch_size: int = 1,
    seq_len: int | None = None,
    sequence_parallel: bool = True,
    chunks: int = 1,
    bytes_per_value: float = BF16_BYTES,
) -> StepTraffic:
    """Pipeline traffic of the busiest GPU per step: per microbatch, a point-to-point send of the
    b·s·d activations to the next stage (forward) and of their gradient to the previous one
    (backward); a middle stage sends both, 2·m·chunks sends (with `chunks` model chunks per GPU,
    interleaved 1F1B), with pp=2 each stage has one end, 2·m·chunks − m. With sequence parallelism
    each tensor-parallel rank sends its 1/tp of the activations."""
    cfg = _config(cfg, "pipeline")
    pp = positive_int("pp", pp, "15")
    _layers_per_stage(cfg, pp)
    tp = positive_int("tp", tp, "8")
    m = positive_int("microbatches", microbatches, "8")
    v = positive_int("chunks", chunks, "1")
    sequence_parallel = boolean("sequence_parallel", sequence_parallel)
    if v > 1 and pp * v > cfg.n_layers:
        raise ValueError(f"pp·chunks={pp * v} exceeds n_layers={cfg.n_layers}; choose fewer chunks")
    buffer = _activation_bytes(cfg, microbatch_size, seq_len, bytes_per_value) / (tp if sequence_parallel else 1)
    if pp == 1:
        return StepTraffic("pipeline", ())
    sends = m * (2 * v - (1 if pp == 2 else 0))
    return StepTraffic("pipeline", (Collective("p2p", buffer, 2, sends, "activations forward, gradients backward"),))


def expert_parallel_traffic(
    cfg: ModelConfig,
    ep: int,
    pp: int = 1,
    microbatches: int = 1,
    microbatch_size: int = 1,
    seq_len: int | None = None,
    bytes_per_value: float = BF16_BYTES,
    tp: int = 1,
    sequence_parallel: bool = True,
) -> StepTraffic:
    """Expert-parallel traffic per GPU per step: in every MoE layer of a stage, per microbatch, an
    all-to-all that dispatches the tokens' k copies (k·d values per token) to their experts and one
    that combines them back, and the same two in the backward pass; uniform routing, so (ep−1)/ep
    of each buffer leaves the GPU. Per token and layer this is `all_to_all_bytes_per_token_layer`
    × `remote_fraction(ep)`.

    Which tokens a GPU dispatches: with sequence parallelism the tp ranks of a replica hold 1/tp of
    the microbatch's b·s tokens each (the layout of the MoE layer's input), so each sends its own
    share and the replica's tp GPUs together send the microbatch once. Without it, every rank
    holds all b·s tokens and is counted as sending them all (tp times the bytes; an implementation
    would share them out first)."""
    cfg = _config(cfg, "expert-parallel")
    counting.check_moe(cfg)
    ep = positive_int("ep", ep, "16")
    if cfg.n_experts % ep:
        raise ValueError(f"ep={ep} does not divide n_experts={cfg.n_experts}; choose a divisor of it")
    layers = _layers_per_stage(cfg, positive_int("pp", pp, "15"))
    m = positive_int("microbatches", microbatches, "8")
    tp = positive_int("tp", tp, "8")
    sequence_parallel = boolean("sequence_parallel", sequence_parallel)
    share = tp if sequence_parallel else 1
    buffer = _activation_bytes(cfg, microbatch_size, seq_len, bytes_per_value) * cfg.top_k / share
    if ep == 1:
        return StepTraffic("expert", ())
    return StepTraffic(
        "expert", (Collective("all_to_all", buffer, ep, 4 * layers * m, "tokens to experts and back, both passes"),)
    )


def step_traffic(
    model: ModelConfig | float,
    layout: Layout | None = None,
    *,
    seq_len: int | None = None,
    bytes_per_value: float = BF16_BYTES,
    **layout_fields: Any,
) -> dict[str, StepTraffic]:
    """The traffic per GPU of one training step, by parallelism: {"data", "tensor", "pipeline",
    "expert"} → StepTraffic (bytes per GPU, collective types, calls).

    layout: a `parallelism.Layout` (its dp, tp, pp, ep, zero, microbatches, microbatch_size b,
    recompute, sequence_parallel and chunks), checked against the model (`Layout.check`); or None
    and its fields as keywords (`step_traffic(cfg, dp=8, tp=2)`, the others at Layout's defaults).
    seq_len: tokens per sequence (s; None: cfg.seq_len); bytes_per_value: of activations and
    gradients (bf16: 2). A parameter count for `model` gives data-parallel traffic only
    (tp = pp = ep = 1)."""
    if layout is None:
        layout = Layout().replace(**layout_fields)
    elif layout_fields:
        raise ValueError(
            f"give either layout or its fields {sorted(layout_fields)}, not both; e.g. layout.replace(...)"
        )
    elif not isinstance(layout, Layout):
        raise ValueError(f"layout must be a parallelism.Layout, got {type(layout).__name__}; e.g. Layout(dp=16, tp=8)")
    lay = layout
    if not isinstance(model, ModelConfig):
        for name in ("tp", "pp", "ep"):
            if getattr(lay, name) != 1:
                raise ValueError(
                    f"{name}={getattr(lay, name)} needs the model's shape: pass a ModelConfig, not a parameter count"
                )
        out = {"data": data_parallel_traffic(model, lay.dp, zero=lay.zero)}
        out.update({name: StepTraffic(name, ()) for name in ("tensor", "pipeline", "expert")})
        return out
    lay.check(model, seq_len=seq_len)
    shape = dict(microbatch_size=lay.microbatch_size, seq_len=seq_len, bytes_per_value=bytes_per_value)
    empty = StepTraffic("expert", ())
    return {
        "data": data_parallel_traffic(model, lay.dp, lay.tp, lay.pp, lay.ep, lay.zero),
        "tensor": tensor_parallel_traffic(
            model,
            lay.tp,
            lay.pp,
            lay.microbatches,
            sequence_parallel=lay.sequence_parallel,
            recompute=lay.recompute,
            **shape,
        ),
        "pipeline": pipeline_parallel_traffic(
            model, lay.pp, lay.tp, lay.microbatches, sequence_parallel=lay.sequence_parallel, chunks=lay.chunks, **shape
        ),
        "expert": expert_parallel_traffic(
            model, lay.ep, lay.pp, lay.microbatches, tp=lay.tp, sequence_parallel=lay.sequence_parallel, **shape
        )
        if model.is_moe
        else empty,
    }


def step_comm_time(
    traffic: Mapping[str, StepTraffic],
    *,
    intra_bandwidth: float | None = None,
    inter_bandwidth: float | None = None,
    intra_latency: float = 0.0,
    inter_latency: float = 0.0,
    domains: Mapping[str, str] | None = None,
    node: Any = None,
) -> dict[str, float]:
    """Seconds per step of each parallelism's traffic (from `step_traffic`), nothing overlapped.

    Each runs in its domain, "intra" (inside a node: NVLink) or "inter" (across nodes: InfiniBand);
    domains: overrides of DEFAULT_DOMAINS (tensor and expert intra, data and pipeline inter).
    Bandwidths are bytes/s per GPU per direction; `node` (a `hardware.Node`) supplies those not
    given. Latencies are α per step. The sum of the values is the step's communication if none of
    it hides behind compute."""
    if node is not None:
        intra_bandwidth = node.intra_node_bw_per_direction if intra_bandwidth is None else intra_bandwidth
        inter_bandwidth = node.inter_node_bw_per_direction if inter_bandwidth is None else inter_bandwidth
    if intra_bandwidth is None or inter_bandwidth is None:
        raise ValueError(
            "intra_bandwidth and inter_bandwidth are needed (bytes/s per GPU per direction), or node=, "
            "e.g. node=hardware.DGX_A100"
        )
    domain_of = dict(DEFAULT_DOMAINS)
    for kind, where in (domains or {}).items():
        choice("domains key", kind, PARALLELISMS)
        domain_of[kind] = choice(f"domains[{kind!r}]", where, DOMAINS)
    link = {
        "intra": (positive_number("intra_bandwidth", intra_bandwidth, "300e9"), intra_latency),
        "inter": (positive_number("inter_bandwidth", inter_bandwidth, "25e9"), inter_latency),
    }
    non_negative_number("intra_latency", intra_latency, "5e-6")
    non_negative_number("inter_latency", inter_latency, "10e-6")
    out = {}
    for kind, t in traffic.items():
        choice("traffic key", kind, PARALLELISMS)
        bandwidth, latency = link[domain_of[kind]]
        out[kind] = t.time(bandwidth, latency)
    return out
