"""One validated parallel layout, shared by the arithmetic (memory, bubble, planner) and the labs.

A `Layout` places dp·tp·pp GPUs on a 3-D grid: tp ranks split each layer's matrices (Megatron-LM,
Shoeybi et al. 2019), pp ranks hold consecutive blocks of L/pp layers, and dp replicas of that
tp × pp model each take a share of the batch. Expert parallelism adds no GPUs: the ep ranks that
share an MoE layer's experts are ep of the dp ranks (ep divides dp), each holding E/ep experts,
as in DeepSpeed-MoE and Megatron-Core's default (expert tensor parallelism equal to tp). The
experts' state is then replicated over dp/ep ranks, their expert-data-parallel group.

`Layout` checks what holds for any model (positive degrees, ep | dp, enough microbatches for
1F1B); `layout.check(cfg)` what a model adds (tp divides the heads, pp the layers, ep the experts);
`layouts_for(cfg, n_gpus)` lists every layout that passes both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, replace

from .._validate import boolean, choice, fraction, non_negative_int, positive_int
from ..config import ModelConfig
from .schedule import SCHEDULES, in_flight_microbatches, pipeline_bubble

RECOMPUTE = ("none", "selective", "full")
ZERO_STAGES = (0, 1, 2, 3)


def _divisors(n: int, limit: int | None = None) -> list[int]:
    return [d for d in range(1, (n if limit is None else min(n, limit)) + 1) if n % d == 0]


@dataclass(frozen=True)
class Layout:
    """How one training step is split over dp·tp·pp GPUs (all degrees are counts of GPUs).

    dp: data-parallel replicas; tp: tensor-parallel ranks per layer; pp: pipeline stages;
    ep: expert-parallel ranks, taken among the dp ranks (ep divides dp; 1 for a dense model).
    zero: ZeRO stage over the data-parallel ranks (0 none, 1 optimizer state, 2 and gradients,
    3 and weights). microbatches: m per step and replica; microbatch_size: sequences in each.
    recompute: "none", "selective" (attention scores and softmax, Korthikanti et al. 2022) or
    "full" (each layer's input only). sequence_parallel: shard the layer norms and dropouts
    along the sequence over the tp ranks (Korthikanti et al. 2022; no effect when tp = 1).
    schedule: "gpipe", "1f1b" or "interleaved" (with `chunks` >= 2 model chunks per stage).
    """

    dp: int = 1
    tp: int = 1
    pp: int = 1
    ep: int = 1
    zero: int = 0
    microbatches: int = 1
    recompute: str = "none"
    microbatch_size: int = 1
    sequence_parallel: bool = True
    schedule: str = "1f1b"
    chunks: int = 1

    def __post_init__(self) -> None:
        checked = {
            "dp": positive_int("dp", self.dp, "208"),
            "tp": positive_int("tp", self.tp, "8"),
            "pp": positive_int("pp", self.pp, "15"),
            "ep": positive_int("ep", self.ep, "16 (1 for a dense model)"),
            "zero": choice("zero", non_negative_int("zero", self.zero, "1"), ZERO_STAGES),
            "microbatches": positive_int("microbatches", self.microbatches, "64"),
            "recompute": choice("recompute", self.recompute, RECOMPUTE),
            "microbatch_size": positive_int("microbatch_size", self.microbatch_size, "1"),
            "sequence_parallel": boolean("sequence_parallel", self.sequence_parallel),
            "schedule": choice("schedule", self.schedule, SCHEDULES),
            "chunks": positive_int("chunks", self.chunks, "2"),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        if self.dp % self.ep:
            raise ValueError(
                f"ep={self.ep} does not divide dp={self.dp}: the experts are split over the data-parallel "
                f"ranks, so choose ep among {_divisors(self.dp, 64)}"
            )
        if self.schedule == "interleaved":
            if self.chunks < 2 or self.pp < 2:
                raise ValueError(
                    f"schedule='interleaved' needs pp >= 2 stages and chunks >= 2 model chunks per stage, got "
                    f"pp={self.pp}, chunks={self.chunks}; use schedule='1f1b' for one chunk per stage"
                )
        elif self.chunks != 1:
            raise ValueError(f"chunks={self.chunks} needs schedule='interleaved'; set chunks=1")
        if self.pp > 1 and self.schedule != "gpipe" and self.microbatches < self.pp:
            raise ValueError(
                f"microbatches={self.microbatches} < pp={self.pp}: schedule={self.schedule!r} needs at least one "
                f"microbatch per stage; choose microbatches >= {self.pp} or schedule='gpipe'"
            )

    # --- derived counts ---------------------------------------------------------------------

    @property
    def world_size(self) -> int:
        """GPUs the layout occupies: dp·tp·pp (expert parallelism reuses the dp ranks)."""
        return self.dp * self.tp * self.pp

    @property
    def model_parallel(self) -> int:
        """GPUs that hold one replica of the model: tp·pp."""
        return self.tp * self.pp

    @property
    def expert_data_parallel(self) -> int:
        """Ranks that hold a copy of the same experts: dp/ep (ZeRO shards the experts' state over them)."""
        return self.dp // self.ep

    @property
    def batch_sequences(self) -> int:
        """Sequences per optimizer step over all replicas: dp·microbatches·microbatch_size."""
        return self.dp * self.microbatches * self.microbatch_size

    def bubble(self) -> float:
        """Pipeline bubble as a fraction of the step (`schedule.pipeline_bubble`)."""
        return pipeline_bubble(self.pp, self.microbatches, self.schedule, self.chunks) if self.pp > 1 else 0.0

    def in_flight(self, stage: int = 0) -> float:
        """Microbatches' activations stage `stage` holds at its peak (`schedule.in_flight_microbatches`)."""
        return in_flight_microbatches(self.pp, self.microbatches, self.schedule, self.chunks, stage)

    def idle_gpus(self, n_gpus: int) -> int:
        """GPUs of an `n_gpus` cluster this layout leaves idle (ValueError if it needs more)."""
        n_gpus = positive_int("n_gpus", n_gpus, "25000")
        if self.world_size > n_gpus:
            raise ValueError(
                f"the layout needs dp·tp·pp = {self.dp}·{self.tp}·{self.pp} = {self.world_size:,} GPUs, "
                f"more than n_gpus={n_gpus:,}; lower dp to {n_gpus // self.model_parallel} or less"
            )
        return n_gpus - self.world_size

    def replace(self, **changes) -> Layout:
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(
                f"unknown Layout field(s) {sorted(unknown)}; valid fields are {[f.name for f in fields(self)]}"
            )
        return replace(self, **changes)

    def __str__(self) -> str:
        parts = [f"DP{self.dp} × TP{self.tp} × PP{self.pp}"]
        if self.ep > 1:
            parts.append(f"EP{self.ep}")
        parts.append(f"ZeRO-{self.zero}")
        if self.pp > 1:
            sched = {"gpipe": "GPipe", "1f1b": "1F1B", "interleaved": f"interleaved×{self.chunks}"}[self.schedule]
            parts.append(f"{sched}, m={self.microbatches}")
        if self.recompute != "none":
            parts.append(f"{self.recompute} recompute")
        return ", ".join(parts)

    # --- what a model and a cluster add -------------------------------------------------------

    def check(self, cfg: ModelConfig, n_gpus: int | None = None, seq_len: int | None = None) -> Layout:
        """This layout if `cfg` can be split this way (and fills exactly `n_gpus`, if given), else ValueError.

        tp must divide the query heads, the key/value heads (each tp rank holds whole heads, as
        in Megatron-LM) and the feed-forward width; with sequence parallelism also the sequence
        length (`seq_len`, default cfg.seq_len). pp must divide the layers (pp·chunks with the
        interleaved schedule); ep must divide the experts (and dp, checked at construction).
        """
        return validate_for(self, cfg, n_gpus=n_gpus, seq_len=seq_len)

    @classmethod
    def factorizations(
        cls, n_gpus: int, *, max_tp: int | None = None, max_pp: int | None = None, **settings
    ) -> Iterator[Layout]:
        """Every (dp, tp, pp) with dp·tp·pp = n_gpus exactly, by tp then pp; no model is checked.

        `settings` are the other Layout fields (ep, zero, microbatches, ...), the same for all;
        microbatches defaults to pp (the fewest 1F1B allows). A factorization the settings make
        invalid (ep not dividing dp, fewer microbatches than stages) is skipped.
        """
        n_gpus = positive_int("n_gpus", n_gpus, "2048")
        for tp in _divisors(n_gpus, max_tp):
            for pp in _divisors(n_gpus // tp, max_pp):
                try:
                    yield cls(dp=n_gpus // (tp * pp), tp=tp, pp=pp, **{"microbatches": pp, **settings})
                except ValueError:
                    continue


def _fail(field: str, value: int, what: str, n: int, why: str, options: list[int]) -> None:
    raise ValueError(f"Layout.{field}={value} does not divide {what}={n} ({why}); choose {field} among {options}")


def validate_for(layout: Layout, cfg: ModelConfig, n_gpus: int | None = None, seq_len: int | None = None) -> Layout:
    """`layout` if it can split `cfg` (and fill exactly `n_gpus` GPUs, if given); else a ValueError
    naming the Layout field, what it must divide, and the values that would do. See `Layout.check`."""
    if not isinstance(layout, Layout):
        raise ValueError(f"layout must be a Layout, got {type(layout).__name__}; e.g. Layout(dp=16, tp=8, pp=8)")
    if not isinstance(cfg, ModelConfig):
        raise ValueError(f'cfg must be a ModelConfig, got {type(cfg).__name__}; e.g. presets.get("gpt3-175b")')
    if cfg.n_encoder_layers:
        raise ValueError(
            f"cfg has n_encoder_layers={cfg.n_encoder_layers}; layouts cover decoder-only models, "
            "set n_encoder_layers=0"
        )
    tp, pp, ep = layout.tp, layout.pp, layout.ep
    if cfg.n_heads % tp:
        _fail(
            "tp",
            tp,
            "n_heads",
            cfg.n_heads,
            "the query heads: each tp rank holds whole heads",
            _divisors(cfg.n_heads, 64),
        )
    if cfg.kv_heads % tp:
        _fail(
            "tp",
            tp,
            "n_kv_heads",
            cfg.kv_heads,
            "the key/value heads: each tp rank holds whole ones",
            _divisors(cfg.kv_heads, 64),
        )
    if cfg.ff_dim % tp:
        _fail("tp", tp, "d_ff", cfg.ff_dim, "the feed-forward width, split in columns", _divisors(cfg.ff_dim, 64))
    if layout.sequence_parallel and tp > 1:
        s = cfg.seq_len if seq_len is None else positive_int("seq_len", seq_len, "2048")
        if s % tp:
            raise ValueError(
                f"Layout.tp={tp} does not divide seq_len={s}, which sequence parallelism splits over the tp "
                f"ranks; choose tp among {_divisors(s, 64)} or sequence_parallel=False"
            )
    if cfg.n_layers % (pp * layout.chunks):
        if layout.chunks > 1:
            raise ValueError(
                f"Layout.pp·chunks = {pp}·{layout.chunks} does not divide n_layers={cfg.n_layers}; each of the "
                f"pp·chunks model chunks holds the same number of layers, choose pp·chunks among "
                f"{_divisors(cfg.n_layers)}"
            )
        _fail("pp", pp, "n_layers", cfg.n_layers, "each stage holds n_layers/pp layers", _divisors(cfg.n_layers))
    if ep > 1 and not cfg.is_moe:
        raise ValueError(f"Layout.ep={ep} but the model is dense (n_experts=1); set ep=1")
    if cfg.n_experts % ep:
        _fail(
            "ep",
            ep,
            "n_experts",
            cfg.n_experts,
            "each ep rank holds n_experts/ep experts",
            [d for d in _divisors(cfg.n_experts) if layout.dp % d == 0],
        )
    if n_gpus is not None:
        n_gpus = positive_int("n_gpus", n_gpus, "25000")
        if layout.world_size != n_gpus:
            mp = layout.model_parallel
            hint = (
                f"dp={n_gpus // mp}"
                if n_gpus % mp == 0
                else f"tp·pp dividing {n_gpus:,} (with tp·pp={mp}, dp={n_gpus // mp} leaves {n_gpus % mp} GPUs idle)"
            )
            raise ValueError(
                f"Layout world size dp·tp·pp = {layout.dp}·{tp}·{pp} = {layout.world_size:,} does not equal "
                f"n_gpus={n_gpus:,}; choose {hint}"
            )
    return layout


def _as_tuple(name: str, value, options) -> tuple:
    values = tuple(value) if isinstance(value, Iterable) and not isinstance(value, str) else (value,)
    if not values:
        raise ValueError(f"{name}={value!r} is empty; give one of {tuple(options)} or several")
    return tuple(choice(name, v, options) for v in values)


def layouts_for(
    cfg: ModelConfig,
    n_gpus: int,
    *,
    max_tp: int = 8,
    max_pp: int | None = None,
    max_idle_fraction: float = 0.01,
    ep: int | None = None,
    zero: int | Iterable[int] = ZERO_STAGES,
    recompute: str | Iterable[str] = RECOMPUTE,
    microbatches: int | None = None,
    batch_sequences: int | None = None,
    microbatch_size: int = 1,
    schedule: str = "1f1b",
    chunks: int = 1,
    sequence_parallel: bool = True,
    seq_len: int | None = None,
) -> Iterator[Layout]:
    """Every valid layout of `cfg` on at most `n_gpus` GPUs, by tp, pp, ep, zero, recompute.

    For each tp (<= max_tp: 8, one node's NVLink domain, by default) and pp (<= max_pp) that the
    model allows, dp is the largest whole number with dp·tp·pp <= n_gpus, and the layout is kept
    if it leaves at most `max_idle_fraction` of the GPUs idle (0.01 by default: clusters are
    rarely a product of a layout's degrees, GPT-4's reported TP8 × PP15 uses 24,960 of ~25,000;
    0 asks for exact factorizations). ep: every ep that divides the experts and dp (None), or one.
    zero, recompute: one value or several. Microbatches: `microbatches` if given, else
    batch_sequences/(dp·microbatch_size) if that is whole (layouts where it is not are skipped),
    else pp (the fewest 1F1B allows). Layouts the schedule rejects (m < pp) are skipped.
    """
    if not isinstance(cfg, ModelConfig):
        raise ValueError(f'cfg must be a ModelConfig, got {type(cfg).__name__}; e.g. presets.get("gpt3-175b")')
    n_gpus = positive_int("n_gpus", n_gpus, "25000")
    max_tp = positive_int("max_tp", max_tp, "8")
    max_pp = cfg.n_layers if max_pp is None else positive_int("max_pp", max_pp, "16")
    idle = fraction("max_idle_fraction", max_idle_fraction, "0.01", allow_zero=True)
    zeros = _as_tuple("zero", zero, ZERO_STAGES)
    recomputes = _as_tuple("recompute", recompute, RECOMPUTE)
    fixed_ep = None if ep is None else positive_int("ep", ep, "16")
    fixed_m = None if microbatches is None else positive_int("microbatches", microbatches, "64")
    batch = None if batch_sequences is None else positive_int("batch_sequences", batch_sequences, "1536")
    b = positive_int("microbatch_size", microbatch_size, "1")
    min_world = n_gpus - int(idle * n_gpus)  # world sizes in [min_world, n_gpus]

    for tp in range(1, max_tp + 1):
        for pp in _divisors(cfg.n_layers, max_pp):
            dp = n_gpus // (tp * pp)
            if dp < 1 or dp * tp * pp < min_world:
                continue
            if fixed_m is not None:
                m = fixed_m
            elif batch is not None:
                if batch % (dp * b):
                    continue
                m = batch // (dp * b)
            else:
                m = pp
            if fixed_ep is not None:
                eps = [fixed_ep]
            else:
                eps = [d for d in _divisors(cfg.n_experts) if dp % d == 0]
            for e in eps:
                for z in zeros:
                    for r in recomputes:
                        try:
                            layout = Layout(
                                dp=dp,
                                tp=tp,
                                pp=pp,
                                ep=e,
                                zero=z,
                                microbatches=m,
                                recompute=r,
                                microbatch_size=b,
                                sequence_parallel=sequence_parallel,
                                schedule=schedule,
                                chunks=chunks,
                            )
                            validate_for(layout, cfg, seq_len=seq_len)
                        except ValueError:
                            continue
                        yield layout
