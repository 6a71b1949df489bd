"""The layout planner: every feasible way of splitting a training run over a cluster, priced.

`plan(model, cluster, batch_tokens, tokens)` enumerates the valid layouts (`layout.layouts_for`:
tensor-parallel degree within a node, pipeline stages that divide the layers, expert-parallel
degrees that divide the experts and the replicas, ZeRO stages, recomputation), keeps those whose
memory per GPU (`memory.training_bytes`) fits the accelerator, prices each step, and returns
them best first (fewest days). It is a model, not a measurement: a simulation of a cluster no
reader has, calibrated by published runs (the parallelism chapter checks it against LLaMA-65B and
PaLM).

The step-time model, per GPU (all of it stated so that it can be argued with):

- compute: the step's hardware FLOPs, 6·N_active per token plus what recomputation repeats
  (full: one more forward pass, 2·N_active per token; selective: the attention scores and their
  weighted sum once more, 4·S·d per token and layer), over world size × peak × `efficiency`
  (the fraction of peak the kernels reach on their own, an assumption the caller states);
- tensor- and expert-parallel collectives (`comms.step_traffic`) sit on the critical path of
  every microbatch, not overlapped; they run on NVLink while their group fits in a node, else
  on InfiniBand;
- the pipeline bubble (`schedule.pipeline_bubble`, a fraction of the whole step) stretches the
  stage's work, compute and those collectives: work / (1 − bubble);
- pipeline sends are exposed; the data-parallel gradient traffic overlaps the backward pass
  (two thirds of the compute) and only what exceeds it is exposed.

MFU = model FLOPs (6·N_active per token, without recomputation) / (step time × world × peak).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import hardware
from .._validate import boolean, fraction, non_negative_number, positive_int, positive_number
from ..config import ModelConfig
from ..counting import active_param_count
from ..units import SECONDS_PER_DAY, GiB
from . import comms, memory
from .layout import Layout, layouts_for
from .schedule import pipeline_bubble

BACKWARD_SHARE = 2 / 3  # the backward pass's share of a step's compute (4 of the 6 FLOPs per parameter)


@dataclass(frozen=True)
class Cluster:
    """Where the run trains: `n_gpus` accelerators in nodes of `node.gpus_per_node`.

    node: a `hardware.Node` or its name ("dgx-a100", "dgx-h100"); its accelerator, NVLink and
    InfiniBand bandwidths (bytes/s per GPU per direction) are the defaults. memory_fraction: the
    part of each GPU's memory a run may fill (the rest: the CUDA context, allocator
    fragmentation, communication buffers); 0.9 by default, an assumption.
    latency_intra, latency_inter: α per collective step, seconds.
    """

    n_gpus: int
    node: hardware.Node | str = "dgx-a100"
    memory_fraction: float = 0.9
    latency_intra: float = 5e-6
    latency_inter: float = 10e-6

    def __post_init__(self) -> None:
        positive_int("n_gpus", self.n_gpus, "25000")
        if isinstance(self.node, str):
            object.__setattr__(self, "node", hardware.get_node(self.node))
        elif not isinstance(self.node, hardware.Node):
            raise ValueError(f"node must be a hardware.Node or its name, e.g. 'dgx-a100', not {self.node!r}")
        fraction("memory_fraction", self.memory_fraction, "0.9")
        non_negative_number("latency_intra", self.latency_intra, "5e-6")
        non_negative_number("latency_inter", self.latency_inter, "10e-6")

    @property
    def accelerator(self) -> hardware.Accelerator:
        return self.node.accelerator

    @property
    def gpus_per_node(self) -> int:
        return self.node.gpus_per_node

    @property
    def usable_bytes(self) -> float:
        return self.memory_fraction * self.accelerator.hbm_bytes


@dataclass(frozen=True)
class Candidate:
    """One layout, priced: memory per GPU, step time and its parts (seconds), MFU, days."""

    layout: Layout
    memory: memory.TrainingBytes
    step_time_s: float
    compute_s: float
    bubble: float
    comm_s: dict[str, float] = field(default_factory=dict)  # exposed seconds per step, by parallelism
    mfu: float = 0.0
    days: float = 0.0
    world_size: int = 0
    idle_gpus: int = 0
    domains: dict[str, str] = field(default_factory=dict)
    batch_tokens: float = 0.0

    @property
    def exposed_comm_s(self) -> float:
        return float(sum(self.comm_s.values()))

    @property
    def bubble_s(self) -> float:
        """Seconds per step the stage's work is stretched by the pipeline bubble."""
        work = self.compute_s + self.comm_s.get("tensor", 0.0) + self.comm_s.get("expert", 0.0)
        return work * self.bubble / (1 - self.bubble)


def _hardware_flops_per_token(cfg: ModelConfig, n_active: float, recompute: str, seq_len: int) -> float:
    extra = 0.0
    if recompute == "full":
        extra = 2.0 * n_active
    elif recompute == "selective":
        extra = 4.0 * seq_len * cfg.d_model * cfg.n_layers
    return 6.0 * n_active + extra


def _domains(layout: Layout, gpus_per_node: int) -> dict[str, str]:
    # Ranks are placed tensor-parallel first (adjacent GPUs), then expert/data, then pipeline.
    def where(span: int) -> str:
        return "intra" if span <= gpus_per_node else "inter"

    return {
        "tensor": where(layout.tp),
        "expert": where(layout.tp * layout.ep),
        "data": where(layout.tp * layout.dp),
        "pipeline": where(layout.tp * layout.dp * layout.pp) if layout.pp > 1 else "intra",
    }


def evaluate(
    cfg: ModelConfig,
    layout: Layout,
    cluster: Cluster,
    batch_tokens: float,
    tokens: float,
    *,
    seq_len: int | None = None,
    efficiency: float = 0.6,
    dtype: str = "bf16",
) -> Candidate:
    """Price one layout (see the module docstring for the model). Raises ValueError if the layout
    is invalid for the model; does not check that it fits in memory (`Candidate.memory` says)."""
    seq_len = cfg.seq_len if seq_len is None else positive_int("seq_len", seq_len, "2048")
    fraction("efficiency", efficiency, "0.6")
    peak = cluster.accelerator.flops(dtype)
    world = layout.world_size
    n_active = float(active_param_count(cfg))
    mem = memory.training_bytes(cfg, layout, seq_len=seq_len)
    compute_s = batch_tokens * _hardware_flops_per_token(cfg, n_active, layout.recompute, seq_len)
    compute_s /= world * peak * efficiency
    bubble = pipeline_bubble(layout.pp, layout.microbatches, layout.schedule, layout.chunks) if layout.pp > 1 else 0.0
    traffic = comms.step_traffic(cfg, layout, seq_len=seq_len)
    domains = _domains(layout, cluster.gpus_per_node)
    raw = comms.step_comm_time(
        traffic,
        node=cluster.node,
        intra_latency=cluster.latency_intra,
        inter_latency=cluster.latency_inter,
        domains=domains,
    )
    exposed = dict(raw)
    exposed["data"] = max(0.0, raw["data"] - BACKWARD_SHARE * compute_s)
    work = compute_s + exposed["tensor"] + exposed["expert"]
    step = work / (1.0 - bubble) + exposed["pipeline"] + exposed["data"]
    model_flops = 6.0 * n_active * batch_tokens
    mfu = model_flops / (step * world * peak)
    days = tokens / batch_tokens * step / SECONDS_PER_DAY
    return Candidate(
        layout, mem, step, compute_s, bubble, exposed, mfu, days, world, cluster.n_gpus - world, domains, batch_tokens
    )


def plan(
    model: ModelConfig,
    cluster: Cluster,
    batch_tokens: float,
    tokens: float,
    *,
    seq_len: int | None = None,
    efficiency: float = 0.6,
    dtype: str = "bf16",
    max_tp: int | None = None,
    zero: int | tuple[int, ...] = (0, 1, 2, 3),
    recompute: str | tuple[str, ...] = ("none", "selective", "full"),
    microbatch_size: int = 1,
    max_idle_fraction: float = 0.01,
    batch_tolerance: float = 0.1,
    include_infeasible: bool = False,
) -> list[Candidate]:
    """The layouts of `model` on `cluster` for a global batch of `batch_tokens` tokens and a run of
    `tokens` tokens, best (fewest days) first; only those that fit in memory unless
    `include_infeasible` (then the ones that do not fit follow, by memory).

    The global batch sets the microbatches: batch_tokens / seq_len sequences, split over dp
    replicas of `microbatch_size`-sequence microbatches and rounded to a whole number per replica
    (each candidate reports the batch it prices, `batch_tokens`); layouts whose batch would move
    by more than `batch_tolerance` (10%) are skipped (too many replicas for the batch), and so are
    1F1B layouts with fewer microbatches than stages. max_tp: the largest tensor-parallel degree
    (default: one node, `gpus_per_node`).
    """
    if not isinstance(model, ModelConfig):
        raise ValueError(f'model must be a ModelConfig, e.g. presets.get("gpt3-175b"), not {type(model).__name__}')
    if not isinstance(cluster, Cluster):
        raise ValueError("cluster must be a planner.Cluster, e.g. Cluster(n_gpus=2048, node='dgx-a100')")
    seq_len = model.seq_len if seq_len is None else positive_int("seq_len", seq_len, "2048")
    positive_number("batch_tokens", batch_tokens, "4e6")
    positive_number("tokens", tokens, "1.4e12")
    boolean("include_infeasible", include_infeasible)
    fraction("batch_tolerance", batch_tolerance, "0.1", allow_zero=True)
    sequences = batch_tokens / seq_len
    if sequences < 1:
        raise ValueError(f"batch_tokens={batch_tokens:g} is less than one {seq_len}-token sequence")
    max_tp = cluster.gpus_per_node if max_tp is None else positive_int("max_tp", max_tp, "8")
    fitting, too_big = [], []
    for layout in layouts_for(
        model,
        cluster.n_gpus,
        max_tp=max_tp,
        max_idle_fraction=max_idle_fraction,
        zero=zero,
        recompute=recompute,
        microbatch_size=microbatch_size,
        seq_len=seq_len,
    ):
        # The global batch, rounded to whole microbatches per replica (a cluster's replicas rarely
        # divide a round batch: GPT-4's ~60M tokens over 208 replicas); each candidate is priced at
        # its own batch, `Candidate.batch_tokens`.
        m = max(1, round(sequences / (layout.dp * microbatch_size)))
        if layout.schedule != "gpipe" and m < layout.pp:
            continue
        run_batch = m * layout.dp * microbatch_size * seq_len
        if abs(run_batch - batch_tokens) > batch_tolerance * batch_tokens:
            continue  # so many replicas that the batch would change: a different run
        layout = layout.replace(microbatches=m)
        c = evaluate(model, layout, cluster, run_batch, tokens, seq_len=seq_len, efficiency=efficiency, dtype=dtype)
        (fitting if fits(c, cluster) else too_big).append(c)
    # Ties (ZeRO stages whose extra traffic hides behind the backward pass) go to the simpler layout:
    # the lower ZeRO stage, then less recomputation, then less memory.
    order = {"none": 0, "selective": 1, "full": 2}
    fitting.sort(key=lambda c: (round(c.days, 9), c.layout.zero, order[c.layout.recompute], c.memory.total))
    too_big.sort(key=lambda c: c.memory.total)
    return fitting + too_big if include_infeasible else fitting


def fits(candidate: Candidate, cluster: Cluster) -> bool:
    """Whether the candidate's memory per GPU fits the part of the GPU a run may fill."""
    return candidate.memory.total <= cluster.usable_bytes


def _parts(c: Candidate, tokens: float) -> dict[str, float]:
    """Where a candidate's days go: each part of its step, times the steps of the run, in days."""
    steps_days = tokens / c.batch_tokens / SECONDS_PER_DAY
    parts = {
        "compute": c.compute_s,
        "the pipeline bubble": c.bubble_s,
        "tensor-parallel collectives": c.comm_s.get("tensor", 0.0),
        "expert all-to-alls": c.comm_s.get("expert", 0.0),
        "pipeline sends": c.comm_s.get("pipeline", 0.0),
        "exposed gradient traffic": c.comm_s.get("data", 0.0),
    }
    return {k: v * steps_days for k, v in parts.items()}


def describe(c: Candidate) -> str:
    """A layout in words: its degrees, ZeRO stage and recomputation."""
    lay = c.layout
    parts = [f"TP{lay.tp}", f"PP{lay.pp}", f"DP{lay.dp}"]
    if lay.ep > 1:
        parts.append(f"EP{lay.ep}")
    return f"{' × '.join(parts)} (ZeRO-{lay.zero}, recompute {lay.recompute}, m={lay.microbatches})"


def explain(candidates: list[Candidate], cluster: Cluster, tokens: float) -> str:
    """Why the best layout wins and why the runner-up loses, from where their days go."""
    positive_number("tokens", tokens, "13e12")
    ok = [c for c in candidates if fits(c, cluster)]
    if not ok:
        return "No layout fits in memory: add GPUs, recompute more, or raise the ZeRO stage."
    best = ok[0]
    lines = [
        f"Best: {describe(best)}: {best.days:.1f} days at {best.mfu:.1%} MFU, "
        f"{best.step_time_s:.2f} s per step of {best.batch_tokens / 1e6:.1f}M tokens, "
        f"{best.memory.total / GiB:.1f} GiB per GPU."
    ]
    bp = _parts(best, tokens)
    big = max((k for k in bp if k != "compute"), key=lambda k: bp[k])
    lines.append(f"Of its days, {bp['compute']:.1f} are compute; the largest overhead is {big} ({bp[big]:.1f} days).")
    if len(ok) > 1:
        runner = ok[1]
        rp = _parts(runner, tokens)
        diff = {k: rp[k] - bp[k] for k in bp}
        worst = max(diff, key=lambda k: diff[k])
        lines.append(
            f"Runner-up: {describe(runner)}: {runner.days:.1f} days ({runner.days / best.days - 1:+.1%}); "
            f"it loses most on {worst} ({rp[worst]:.1f} days against {bp[worst]:.1f})."
        )
    return "\n".join(lines)


def table(candidates: list[Candidate], cluster: Cluster, top: int = 10) -> str:
    """The first `top` candidates as a fixed-width text table (for the command line)."""
    head = (
        f"{'layout':54s} {'GiB/GPU':>8s} {'fits':>4s} {'step s':>7s} {'bubble':>7s} "
        f"{'comm s':>7s} {'MFU':>6s} {'days':>7s}"
    )
    rows = [head, "-" * len(head)]
    for c in candidates[:top]:
        rows.append(
            f"{describe(c):54s} {c.memory.total / GiB:8.1f} {'yes' if fits(c, cluster) else 'no':>4s} "
            f"{c.step_time_s:7.2f} {c.bubble:7.1%} {c.exposed_comm_s:7.2f} {c.mfu:6.1%} {c.days:7.1f}"
        )
    return "\n".join(rows)


def gpus_for(days: float, flops: float, cluster_peak: float, mfu: float) -> float:
    """GPUs a run of `flops` needs to finish in `days` at `mfu` of each GPU's `cluster_peak` FLOP/s."""
    positive_number("days", days, "90")
    positive_number("flops", flops, "2.1e25")
    positive_number("cluster_peak", cluster_peak, "312e12")
    fraction("mfu", mfu, "0.34")
    return flops / (days * SECONDS_PER_DAY * cluster_peak * mfu)


__all__ = ["Cluster", "Candidate", "plan", "evaluate", "explain", "describe", "table", "fits", "gpus_for"]
