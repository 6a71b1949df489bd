"""Pipeline parallelism with `torch.distributed.pipelining`: the book's decoder cut into stages.

    torchrun --standalone --nproc_per_node=2 -m llmscale.parallelism.labs.pipeline
    torchrun --standalone --nproc_per_node=4 -m llmscale.parallelism.labs.pipeline --schedules 1f1b --microbatches 4 8

The decoder's blocks are cut into p·v consecutive stages (embedding on the first, final norm,
head and loss on the last); rank r holds stages r, r + p, ... (v "chunks" per rank, v > 1 only
for the interleaved schedule). The batch is cut into m microbatches and run with GPipe (all
forwards, then all backwards), 1F1B (one forward, one backward in the steady state) and
interleaved 1F1B (Narayanan et al. 2021), all as `torch.distributed.pipelining` runs them. The
stages are cut by hand (`Stage`: a few of the decoder's own blocks, the default) or, with
`--split traced`, by `pipeline()`, which traces the decoder with `torch.export` and splits the
graph at the first block of each stage; both share the decoder's parameters.

What it checks and measures, per schedule:

* gradients: every parameter's gradient equals the one of the whole decoder on the whole batch
  in the same process (asserted). The loss of each microbatch is its mean cross-entropy and the
  schedule divides the summed gradients by m (`scale_grads=True`), which together make the mean
  over the whole batch, the reference's loss.
* the bubble: each stage's busy time (its forward, backward and loss computations, timed with
  `perf_counter` around the stage's own calls) against the step's time (from a common barrier
  to the last rank's end), as an idle fraction 1 − busy/step, median over repeats, against
  `parallelism.schedule.pipeline_bubble`: (p − 1)/(m + p − 1) for GPipe and 1F1B, whose
  denominator is the whole step, bubble included (Narayanan et al. 2021 write the bubble
  (p − 1)/m of the ideal, bubble-free time instead), and (p − 1)/(v·m + p − 1) interleaved. The
  formula assumes equal stages and free communication, so it is a floor: averaged over stages,
  unequal stages only add idle time (the light ones wait for the heavy one), and so do sends,
  receives and the schedule's own bookkeeping, which the lab counts as idle.
* activation memory: bytes autograd saves for backward (`saved_tensors_hooks`, parameters and
  buffers left out) at their peak during the step, divided by one microbatch's: how many
  microbatches' activations a stage holds at once, against
  `parallelism.schedule.in_flight_microbatches` (GPipe m; 1F1B p − r on rank r; interleaved
  p + (p − 1)/v on the first rank), next to the schedule's own count of chunk forwards not yet
  matched by a backward.

Several processes on two cores: the idle fractions are real but noisy (another process on the
machine slows a stage, and its peers wait); nothing here is a speedup. On GPUs (`--device cuda`,
one GPU per rank) each timed call waits for its kernels.
"""

from __future__ import annotations

import copy
import statistics
import time
from contextlib import contextmanager

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.distributed.pipelining import (
    PipelineStage,
    Schedule1F1B,
    ScheduleGPipe,
    ScheduleInterleaved1F1B,
    SplitPoint,
    pipeline,
)

from llmscale import model as book_model
from llmscale.config import ModelConfig
from llmscale.measure import SavedActivations
from llmscale.parallelism import schedule
from llmscale.parallelism.labs import _common

SIZES = dict(n_layers=4, d_model=128, n_heads=4, vocab_size=256, seq_len=64, batch=16)
SCHEDULES = {"gpipe": ScheduleGPipe, "1f1b": Schedule1F1B, "interleaved": ScheduleInterleaved1F1B}
MICROBATCHES = 4
CHUNKS = 2  # stages per rank of the interleaved schedule
REPEATS = 5


def config(sizes: dict = SIZES) -> ModelConfig:
    """The decoder the stages are cut from (untied embeddings: first and last stage share nothing)."""
    return ModelConfig(**{k: v for k, v in sizes.items() if k != "batch"}, tie_embeddings=False)


def bubble_formula(schedule_name: str, p: int, m: int, chunks: int = 1) -> float:
    """Idle fraction of a step, (p − 1)/(v·m + p − 1) (`parallelism.schedule.pipeline_bubble`); 0 for one stage."""
    return 0.0 if p == 1 else schedule.pipeline_bubble(p, m, schedule_name, chunks)


def held_formula(schedule_name: str, p: int, m: int, chunks: int, rank: int) -> float:
    """Microbatches' activations rank `rank` holds at its peak (`parallelism.schedule.in_flight_microbatches`)."""
    if p == 1:  # one rank: GPipe holds all m, 1F1B one; interleaved runs its v chunks one after another
        return float(m) if schedule_name == "gpipe" else 1.0
    return schedule.in_flight_microbatches(p, m, schedule_name, chunks, stage=rank)


def stage_layers(n_layers: int, n_stages: int) -> list[range]:
    """Consecutive blocks of each stage, as even as possible (the first stages take the extra ones)."""
    if n_stages > n_layers:
        raise ValueError(
            f"{n_stages} stages for n_layers={n_layers}: every stage needs a block; "
            "use fewer ranks or chunks, or a deeper model"
        )
    base, extra = divmod(n_layers, n_stages)
    out, start = [], 0
    for s in range(n_stages):
        n = base + (s < extra)
        out.append(range(start, start + n))
        start += n
    return out


class Stage(nn.Module):
    """Blocks `layers` of `decoder` (sharing its modules), with the embedding if first and the head if last."""

    def __init__(self, decoder: book_model.Decoder, layers: range, first: bool, last: bool):
        super().__init__()
        self.embed = decoder.embed if first else None
        self.pos_embed = decoder.pos_embed if first else None
        self.blocks = nn.ModuleDict({str(i): decoder.blocks[i] for i in layers})
        self.norm = decoder.norm if last else None
        self.lm_head = decoder.lm_head if last else None
        self.rope = (decoder.rope_cos, decoder.rope_sin) if decoder.cfg.pos == "rope" else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.embed is not None:
            S = x.shape[1]
            x = self.embed(x)
            if self.pos_embed is not None:
                x = x + self.pos_embed(torch.arange(S, device=x.device))
        for block in self.blocks.values():
            x = block(x, self.rope)
        if self.lm_head is not None:
            x = self.lm_head(self.norm(x))
        return x


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The decoder's loss: mean cross-entropy over a microbatch's tokens."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))


class Recorder:
    """Times a rank's compute (stage forwards, backwards, losses), counts microbatches in flight and,
    with a `SavedActivations` attached, the bytes that the first microbatch's forward and loss leave saved."""

    def __init__(self, device: torch.device):
        self.saved: SavedActivations | None = None
        # On a GPU the calls only queue kernels: wait for them, or the time is the launch's.
        self.sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        self.reset()

    def reset(self) -> None:
        self.busy_s, self.in_flight, self.peak_in_flight = 0.0, 0, 0
        self.first_microbatch_bytes, self._losses = 0, 0

    def wrap(self, stage: PipelineStage) -> None:
        fwd, bwd, bwd_w = stage.forward_one_chunk, stage.backward_one_chunk, stage.backward_weight_one_chunk

        def forward_one_chunk(fwd_chunk_id, *args, **kwargs):
            before = self.saved.live_bytes if self.saved else 0
            with self.timed():
                out = fwd(fwd_chunk_id, *args, **kwargs)
            if self.saved and fwd_chunk_id == 0:
                self.first_microbatch_bytes += self.saved.live_bytes - before
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return out

        def backward_one_chunk(*args, **kwargs):
            with self.timed():
                out = bwd(*args, **kwargs)
            self.in_flight -= 1
            return out

        def backward_weight_one_chunk(*args, **kwargs):
            with self.timed():
                return bwd_w(*args, **kwargs)

        stage.forward_one_chunk = forward_one_chunk
        stage.backward_one_chunk = backward_one_chunk
        stage.backward_weight_one_chunk = backward_weight_one_chunk

    def loss_fn(self, logits, targets):
        before = self.saved.live_bytes if self.saved else 0
        with self.timed():
            loss = cross_entropy(logits, targets)
        if self.saved and self._losses == 0:
            self.first_microbatch_bytes += self.saved.live_bytes - before
        self._losses += 1
        return loss

    @contextmanager
    def timed(self):
        self.sync()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.sync()
            self.busy_s += time.perf_counter() - t0


class Logits(nn.Module):
    """The decoder with one output, the logits: what `pipeline()` traces."""

    def __init__(self, decoder: book_model.Decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.decoder(idx)[0]


def make_stages(decoder, stage_ids: list[int], n_stages: int, split: str, example: torch.Tensor, device):
    """This rank's `PipelineStage`s, cut by hand (`Stage`) or traced by `pipeline()` at block boundaries."""
    layers = stage_layers(decoder.cfg.n_layers, n_stages)
    if split == "manual":
        return [
            PipelineStage(Stage(decoder, layers[s], first=s == 0, last=s == n_stages - 1), s, n_stages, device)
            for s in stage_ids
        ]
    spec = {f"decoder.blocks.{layers[s][0]}": SplitPoint.BEGINNING for s in range(1, n_stages)}
    pipe = pipeline(Logits(decoder), mb_args=(example,), split_spec=spec)
    if pipe.num_stages != n_stages:
        raise AssertionError(f"pipeline() made {pipe.num_stages} stages, expected {n_stages}")
    return [pipe.build_stage(s, device) for s in stage_ids]


def run_schedule(name: str, m: int, cfg: ModelConfig, batch: int, world, args) -> dict:
    """One schedule with m microbatches: gradients against the whole decoder (asserted), then the
    activations held and the bubble."""
    p = world.world_size
    v = args.chunks if name == "interleaved" else 1
    formula = bubble_formula(name, p, m, v)  # raises ValueError for a layout the schedule cannot run
    reference = book_model.build(cfg, seed=args.seed, device=world.device)
    split = copy.deepcopy(reference)
    g = torch.Generator().manual_seed(args.seed + 1)
    idx = torch.randint(cfg.vocab_size, (batch, cfg.seq_len), generator=g).to(world.device)
    targets = torch.randint(cfg.vocab_size, (batch, cfg.seq_len), generator=g).to(world.device)
    _, ref_loss = reference(idx, targets)
    ref_loss.backward()

    recorder = Recorder(world.device)
    stage_ids = list(range(world.rank, p * v, p))  # looped placement: rank r holds r, r + p, ...
    stages = make_stages(split, stage_ids, p * v, args.split, idx[: batch // m], world.device)
    for stage in stages:
        recorder.wrap(stage)
    cls = SCHEDULES[name]
    # scale_grads=True (the default): the summed microbatch gradients are divided by m.
    runner = cls(stages if name == "interleaved" else stages[0], n_microbatches=m, loss_fn=recorder.loss_fn)
    holds_first, holds_last = 0 in stage_ids, p * v - 1 in stage_ids

    def step() -> list | None:
        losses = [] if holds_last else None
        runner.step(*((idx,) if holds_first else ()), **({"target": targets, "losses": losses} if holds_last else {}))
        return losses

    # 1. Gradients of one step from zero: every parameter on the rank that holds it.
    losses = step()
    ref_params = dict(reference.named_parameters())
    checked, max_diff, loss_diff = 0, 0.0, 0.0
    for pname, param in split.named_parameters():
        if param.grad is None:
            continue  # held by another rank
        ref = ref_params[pname].grad
        torch.testing.assert_close(param.grad, ref, msg=lambda msg, n=pname: f"{name}: grad of {n} differs: {msg}")
        max_diff = max(max_diff, (param.grad - ref).abs().max().item())
        checked += param.numel()
    if holds_last:
        loss = torch.stack(losses).mean()
        torch.testing.assert_close(loss, ref_loss, msg=lambda msg: f"{name}: loss differs: {msg}")
        loss_diff = (loss - ref_loss).abs().item()
    checked_all = torch.tensor([checked], dtype=torch.float64, device=world.device)
    dist.all_reduce(checked_all, op=dist.ReduceOp.SUM)
    if int(checked_all.item()) != reference.num_params():
        raise AssertionError(
            f"{name}: checked {int(checked_all.item())} of {reference.num_params()} parameters' gradients"
        )
    worst = torch.tensor([max_diff, loss_diff], dtype=torch.float64, device=world.device)
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)

    # 2. Activations held: saved bytes at their peak over those of the first microbatch.
    tensors = [*split.parameters(), *split.buffers()]
    tensors += [t for st in stages for t in (*st.submod.parameters(), *st.submod.buffers())]
    split.zero_grad(set_to_none=True)
    recorder.reset()
    recorder.saved = SavedActivations(tensors)
    with recorder.saved.hooks():
        step()
    held = recorder.saved.peak_bytes / recorder.first_microbatch_bytes if recorder.first_microbatch_bytes else 0.0
    memory = [held, recorder.peak_in_flight, recorder.first_microbatch_bytes]
    recorder.saved = None

    # 3. The bubble: busy time over the step's time, from a common barrier to the last rank's end.
    idle, walls, busy = [], [], []
    for _ in range(args.repeats):
        split.zero_grad(set_to_none=True)
        recorder.reset()
        dist.barrier()
        t0 = time.perf_counter()
        step()
        recorder.sync()
        wall = torch.tensor([time.perf_counter() - t0], dtype=torch.float64, device=world.device)
        dist.all_reduce(wall, op=dist.ReduceOp.MAX)
        walls.append(wall.item())
        busy.append(recorder.busy_s)
        idle.append(1.0 - recorder.busy_s / wall.item())
    mine = [statistics.median(idle), statistics.median(busy), *idle, *memory]
    ranks = _gather(torch.tensor(mine, dtype=torch.float64, device=world.device), p)
    r = args.repeats
    return dict(
        schedule=name,
        stages=p * v,
        chunks=v,
        microbatches=m,
        batch=batch,
        grads_checked=int(checked_all.item()),
        max_abs_diff=dict(grads=worst[0].item(), loss=worst[1].item()),
        bubble_formula=formula,
        idle_fraction_mean=round(statistics.mean(x[0] for x in ranks), 4),
        idle_fraction=[round(x[0], 4) for x in ranks],
        idle_fraction_runs=[[round(y, 4) for y in x[2 : 2 + r]] for x in ranks],
        busy_s=[round(x[1], 5) for x in ranks],
        step_s=round(statistics.median(walls), 5),
        microbatches_held=[round(x[2 + r], 2) for x in ranks],
        microbatches_held_formula=[held_formula(name, p, m, v, rank) for rank in range(p)],
        in_flight_peak=[int(x[3 + r]) for x in ranks],
        saved_bytes_one_microbatch=[int(x[4 + r]) for x in ranks],
    )


def _gather(t: torch.Tensor, world_size: int) -> list[list[float]]:
    out = [torch.zeros_like(t) for _ in range(world_size)]
    dist.all_gather(out, t)
    return [x.tolist() for x in out]


def main(argv: list[str] | None = None) -> dict:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--schedules", nargs="+", choices=tuple(SCHEDULES), default=list(SCHEDULES))
    p.add_argument("--microbatches", type=int, nargs="+", default=[MICROBATCHES], help="one run per value")
    p.add_argument("--chunks", type=int, default=CHUNKS, help="stages per rank of the interleaved schedule")
    p.add_argument("--repeats", type=int, default=REPEATS, help="timed steps per run (median taken)")
    p.add_argument(
        "--microbatch-size",
        type=int,
        default=None,
        help="sequences per microbatch (the batch grows with m); default: the batch of SIZES split m ways",
    )
    p.add_argument("--split", choices=("manual", "traced"), default="manual", help="cut by hand or by pipeline()")
    args = p.parse_args(argv)
    if args.microbatch_size is not None and args.microbatch_size < 1:
        raise ValueError(f"--microbatch-size={args.microbatch_size} must be at least 1 sequence")
    for m in args.microbatches:
        if m < 1 or (args.microbatch_size is None and SIZES["batch"] % m):
            raise ValueError(f"--microbatches {m} must divide the batch of {SIZES['batch']}; try 2, 4 or 8")
    if args.chunks < 1 or args.repeats < 1:
        raise ValueError(f"--chunks={args.chunks} and --repeats={args.repeats} must be at least 1")
    world = _common.start(args.device, args.timeout)
    try:
        cfg = config()
        runs = [
            run_schedule(
                name, m, cfg, m * args.microbatch_size if args.microbatch_size else SIZES["batch"], world, args
            )
            for name in args.schedules
            for m in args.microbatches
        ]
        result = dict(sizes=SIZES, split=args.split, runs=runs)
        _common.write_result(world, args.out, result)
        return result
    finally:
        _common.finish()


if __name__ == "__main__":
    main()
