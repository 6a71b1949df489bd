"""Distributed checkpoints: save on N ranks, load on M; a rank killed mid-run and the job resumed bit-identically.

    torchrun --standalone --nproc_per_node=2 -m llmscale.parallelism.labs.checkpoint --ckpt-dir /tmp/ckpt
    torchrun --standalone --nproc_per_node=1 -m llmscale.parallelism.labs.checkpoint --ckpt-dir /tmp/ckpt --verify-load
    TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 torchrun --standalone --nproc_per_node=2 --max-restarts=1 \\
        -m llmscale.parallelism.labs.checkpoint --ckpt-dir /tmp/ckpt-restart --fail-at-step 5
    python -m llmscale.parallelism.labs.checkpoint --ckpt-dir /tmp/ckpt-one   # a world of one

**Training** (the default): the book's decoder, sharded with FSDP2 (`fully_shard`, one shard of
every parameter and of its AdamW moments per rank), trains `--steps` steps. A step's batch is a
function of the step number only, and the learning rate too (`train.lr_at`), so a run that
resumes at step s computes exactly what an uninterrupted run computes from step s on. Every
`--ckpt-every` steps it saves the model and optimizer with `torch.distributed.checkpoint` (DCP):
each rank writes its own shards (one file per rank) and rank 0 the metadata that says where
every piece of every tensor lies. Rank 0 then writes `done.json` (step, world size, checksum)
and, as an independent reference, `full.pt`: the gathered, unsharded state, written by
`torch.save`. A checkpoint counts only once `done.json` exists; every run first resumes from the
latest such checkpoint in `--ckpt-dir`, as a job relaunched by its scheduler would. At the end
it reloads its last checkpoint into a fresh model on the same ranks and checks it, prints the
SHA-256 of the final model and optimizer state, and compares the trained parameters with one
plain process trained on the whole batch.

**Failure** (`--fail-at-step K`): on the first attempt only (torchrun's
TORCHELASTIC_RESTART_COUNT is 0), the last rank exits with status 1 (`os._exit`, no cleanup) as
step K begins. The other rank's next collective fails; torchrun (with `--max-restarts=1`) stops
the group and starts it again, and the new attempt resumes from the last checkpoint before K.
Its final checksum equals the uninterrupted run's: the state is bit-identical.

**Resharding** (`--verify-load`): build a model with other weights on M ranks (M need not be the
N that saved), load the latest checkpoint with DCP, which reads from each file the pieces of
this rank's shards, and assert that the gathered parameters and optimizer moments are
bit-identical to the saver's `full.pt` and that their checksum is the one `done.json` recorded.
Snapshots are cloned before comparing: a state dict's tensors are the parameters themselves.

Why the plain-process comparison is within rounding and not exact: FSDP2 sums the gradient of
each rank's rows and divides by N; one process sums all rows in another order. A resumed run
repeats the interrupted one's order exactly, hence its bit-identical result. On two cores this
lab proves correctness; it measures no speed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict, set_state_dict
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

from ..._validate import non_negative_int, positive_int
from ...config import ModelConfig
from ...model import build
from ...train import lr_at
from ._common import World, finish, parser, start, write_result

SIZES = dict(n_layers=2, d_model=32, n_heads=4, vocab_size=128, seq_len=16, d_ff=64)
DEFAULTS = dict(batch=8, steps=6, ckpt_every=2, lr=3e-3, warmup=2, betas=(0.9, 0.95), weight_decay=0.1)
DONE, FULL = "done.json", "full.pt"

# The plain-process comparison: FSDP2's reduction order differs from one process's (docstring).
# In float32 that rounding is ~1e-9 absolute in a gradient, and AdamW divides a near-zero gradient
# component by sqrt(v) + 1e-8: the parameters then differed by 2.6e-6 on one CPU and under 1e-6 on
# another (their BLAS kernels sum in different orders). The lab trains in float64, where the same
# rounding is ~1e-18 and the bound below holds with a wide margin on any machine.
DTYPE = torch.float64
PARAM_ATOL = 1e-6


def model_config() -> ModelConfig:
    """The lab's decoder: two layers, d_model 32."""
    return ModelConfig(**SIZES)


def attempt() -> int:
    """Which attempt this is: torchrun's restart count (0 for the first, and for a plain process)."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))


def batch_at(step: int, batch: int, seed: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """The step's whole batch (inputs, next-token targets), each (batch, seq_len): a function of the step only."""
    cfg = model_config()
    g = torch.Generator().manual_seed(1_000_003 * seed + step)
    tokens = torch.randint(0, cfg.vocab_size, (batch, cfg.seq_len + 1), generator=g)
    return tokens[:, :-1].to(device), tokens[:, 1:].to(device)


def rows_of(t: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    b = t.shape[0] // world_size
    return t[rank * b : (rank + 1) * b]


# --- state, checksums, checkpoint files ------------------------------------------------------------


def checksum(state) -> str:
    """SHA-256 of a nested state (dicts by sorted key, lists in order, tensors by dtype, shape and bytes)."""
    h = hashlib.sha256()

    def feed(obj) -> None:
        if isinstance(obj, dict):
            for key in sorted(obj, key=str):
                h.update(f"<{key}>".encode())
                feed(obj[key])
        elif isinstance(obj, list | tuple):
            for item in obj:
                feed(item)
        elif isinstance(obj, torch.Tensor):
            t = obj.detach().cpu().contiguous().reshape(-1)
            h.update(f"{t.dtype}{tuple(obj.shape)}".encode())
            h.update(t.view(torch.uint8).numpy().tobytes())
        else:
            h.update(repr(obj).encode())

    feed(state)
    return h.hexdigest()


def _clone(obj):
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_clone(v) for v in obj)
    return obj.detach().clone() if isinstance(obj, torch.Tensor) else obj


def full_state(model, optimizer) -> dict:
    """The unsharded model and optimizer state on rank 0 (CPU, cloned); {} elsewhere. Collective."""
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    msd, osd = get_state_dict(model, optimizer, options=options)
    return _clone({"model": msd, "optim": osd}) if dist.get_rank() == 0 else {}


def latest_checkpoint(ckpt_dir: Path) -> tuple[int, Path] | None:
    """(step, folder) of the newest complete checkpoint (one with its done.json), or None."""
    done = sorted(ckpt_dir.glob(f"step_*/{DONE}")) if ckpt_dir.is_dir() else []
    if not done:
        return None
    folder = done[-1].parent
    return json.loads((folder / DONE).read_text())["step"], folder


def save(model, optimizer, step: int, ckpt_dir: Path) -> dict:
    """DCP save of the sharded model and optimizer, then rank 0's reference and done.json. Collective."""
    folder = ckpt_dir / f"step_{step:05d}"
    msd, osd = get_state_dict(model, optimizer)
    dcp.save({"model": msd, "optim": osd}, checkpoint_id=str(folder))
    full = full_state(model, optimizer)
    meta = {}
    if dist.get_rank() == 0:
        torch.save(full, folder / FULL)
        files = sorted(p.name for p in folder.iterdir() if p.name not in (DONE, FULL))
        meta = {"step": step, "world_size": dist.get_world_size(), "checksum": checksum(full), "files": files}
        tmp = folder / (DONE + ".tmp")
        tmp.write_text(json.dumps(meta, indent=1))
        os.replace(tmp, folder / DONE)  # the checkpoint is complete only once this name exists
    dist.barrier()  # no rank runs on (or dies) before the checkpoint is complete
    return meta


def load(model, optimizer, folder: Path) -> None:
    """DCP load into this world's shards, whatever the number of ranks that saved. Collective."""
    msd, osd = get_state_dict(model, optimizer)  # creates the AdamW moments to load into
    state = {"model": msd, "optim": osd}
    dcp.load(state, checkpoint_id=str(folder))
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])


# --- the model --------------------------------------------------------------------------------------


def sharded_model(world: World, seed: int):
    """The decoder built from `seed`, each block and the root sharded with FSDP2, and its AdamW."""
    model = build(model_config(), seed=seed).to(world.device, DTYPE)
    mesh = init_device_mesh(world.device.type, (world.world_size,))
    for block in model.blocks:
        fully_shard(block, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model, _adamw(model)


def _adamw(model):
    return torch.optim.AdamW(
        model.parameters(), lr=DEFAULTS["lr"], betas=DEFAULTS["betas"], weight_decay=DEFAULTS["weight_decay"]
    )


def _set_lr(optimizer, step: int, steps: int) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr_at(step - 1, steps, DEFAULTS["lr"], DEFAULTS["warmup"], 0.1)


def _train_step(model, optimizer, x, y, step: int, steps: int) -> torch.Tensor:
    _set_lr(optimizer, step, steps)
    _, loss = model(x, y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def plain_reference(steps: int, batch: int, seed: int, device) -> dict[str, torch.Tensor]:
    """One process, the whole batch, the same steps: the parameters it ends with (cloned)."""
    model = build(model_config(), seed=seed).to(device, DTYPE)
    optimizer = _adamw(model)
    for step in range(1, steps + 1):
        _train_step(model, optimizer, *batch_at(step, batch, seed, device), step, steps)
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


# --- the two modes ----------------------------------------------------------------------------------


def train(world: World, args) -> dict:
    if args.batch % world.world_size:
        raise ValueError(
            f"batch={args.batch} does not split over {world.world_size} ranks; choose --batch a multiple of it"
        )
    if args.fail_at_step and not 1 <= args.fail_at_step <= args.steps:
        raise ValueError(f"--fail-at-step {args.fail_at_step} must be a step of the run, 1 … {args.steps}")
    ckpt_dir: Path = args.ckpt_dir
    model, optimizer = sharded_model(world, args.seed)
    resumed = latest_checkpoint(ckpt_dir)
    first = 1
    if resumed is not None:
        load(model, optimizer, resumed[1])
        first = resumed[0] + 1
    losses, saved = {}, []
    for step in range(first, args.steps + 1):
        if step == args.fail_at_step and attempt() == 0 and world.rank == world.world_size - 1:
            print(f"rank {world.rank}: exiting at the start of step {step} (attempt 0)", flush=True)
            sys.stderr.flush()
            os._exit(1)  # a crash: no cleanup, no destroy_process_group
        x, y = batch_at(step, args.batch, args.seed, world.device)
        loss = _train_step(
            model,
            optimizer,
            rows_of(x, world.rank, world.world_size),
            rows_of(y, world.rank, world.world_size),
            step,
            args.steps,
        )
        dist.all_reduce(loss, op=dist.ReduceOp.SUM)  # SUM then divide: gloo's AVG is unreliable
        losses[step] = round(float(loss) / world.world_size, 6)
        if step % args.ckpt_every == 0 or step == args.steps:
            saved.append(save(model, optimizer, step, ckpt_dir))

    final = full_state(model, optimizer)
    reload_check = verify(world, ckpt_dir, seed=args.seed + 1)  # the last checkpoint, on these ranks
    result = {
        "attempt": attempt(),
        "resumed_from_step": resumed[0] if resumed else None,
        "steps": args.steps,
        "steps_run": args.steps - first + 1,
        "losses": losses,
        "checkpoints": [m.get("step") for m in saved],
        "files_per_checkpoint": len(saved[-1].get("files", [])) if saved else None,
        "reload_same_ranks": reload_check,
    }
    if world.is_main:
        reference = plain_reference(args.steps, args.batch, args.seed, world.device)
        diff = max(float((final["model"][k] - v).abs().max()) for k, v in reference.items())
        assert diff <= PARAM_ATOL, f"FSDP2 parameters differ from one process by {diff:.3g} > {PARAM_ATOL}"
        result.update(final_checksum=checksum(final), plain_process_max_abs_diff=diff)
    return result


def verify(world: World, ckpt_dir: Path, seed: int) -> dict:
    """Load the latest checkpoint onto this world's ranks and check it bit for bit against full.pt."""
    found = latest_checkpoint(ckpt_dir)
    if found is None:
        raise ValueError(f"no complete checkpoint (step_*/{DONE}) in {ckpt_dir}; train first, or fix --ckpt-dir")
    step, folder = found
    model, optimizer = sharded_model(world, seed)
    before = full_state(model, optimizer)
    load(model, optimizer, folder)
    after = full_state(model, optimizer)
    out = {"step": step, "loaded_on": world.world_size}
    if world.is_main:
        meta = json.loads((folder / DONE).read_text())
        reference = torch.load(folder / FULL, weights_only=True)
        mismatched = [k for k in reference["model"] if not torch.equal(after["model"][k], reference["model"][k])]
        assert not mismatched, f"loaded parameters differ from the saved ones: {mismatched}"
        assert checksum(after) == meta["checksum"] == checksum(reference), "loaded state's checksum differs"
        changed = sum(not torch.equal(before["model"][k], after["model"][k]) for k in after["model"])
        assert changed == len(after["model"]), "the load left some parameters at their fresh values"
        out.update(
            saved_on=meta["world_size"],
            files=len(meta["files"]),
            tensors=len(reference["model"]),
            bit_identical=True,
            checksum=meta["checksum"],
        )
    dist.barrier()
    return out


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--ckpt-dir", type=Path, required=True, help="folder of the run's checkpoints")
    p.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    p.add_argument("--ckpt-every", type=int, default=DEFAULTS["ckpt_every"], help="steps between checkpoints")
    p.add_argument("--batch", type=int, default=DEFAULTS["batch"], help="sequences per step, over all ranks")
    p.add_argument("--fail-at-step", type=int, default=0, help="the last rank crashes here on attempt 0 (0: never)")
    p.add_argument("--verify-load", action="store_true", help="only load the latest checkpoint here and check it")
    args = p.parse_args(argv)
    positive_int("--steps", args.steps, "6")
    positive_int("--ckpt-every", args.ckpt_every, "2")
    positive_int("--batch", args.batch, "8")
    non_negative_int("--fail-at-step", args.fail_at_step, "5")
    if args.device == "cuda":  # bit-identical resumption on GPU needs deterministic kernels
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
    world = start(args.device, args.timeout)
    try:
        if args.verify_load:
            result = {"mode": "verify-load", **verify(world, args.ckpt_dir, seed=args.seed + 1)}
        else:
            result = {"mode": "train", **train(world, args)}
        write_result(world, args.out, result)
    finally:
        finish()


if __name__ == "__main__":
    main()
