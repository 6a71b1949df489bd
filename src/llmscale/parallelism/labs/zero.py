"""ZeRO and FSDP: shard the optimizer state, then the parameters, and still train like one process.

    torchrun --standalone --nproc_per_node=2 -m llmscale.parallelism.labs.zero
    torchrun --standalone --nproc_per_node=2 -m llmscale.parallelism.labs.zero --part fsdp
    python -m llmscale.parallelism.labs.zero          # a world of one

Both parts train the data-parallel lab's decoder with AdamW on slices of one global batch (rank
r takes rows r·b … (r+1)·b − 1) next to a plain copy trained by one process on the whole batch.

(a) ZeRO stage 1, `ZeroRedundancyOptimizer`: DDP all-reduces the gradients as usual, but each
rank keeps AdamW's state (two moments and a step count) only for the parameters it owns. The
optimizer assigns whole parameters, largest first, each to the rank that owns the fewest
elements so far, so a rank holds about 1/N of the state, never more than 1/N plus the largest
parameter's state. After its local step each owner broadcasts its updated parameters. The lab
measures the state bytes on every rank (the nbytes of its state tensors) against the unsharded
state / N and reports the imbalance; it asserts that the parameters equal bit for bit those of
plain AdamW stepping on the same DDP gradients (sharding the optimizer changes no arithmetic)
and that the losses equal one process's.

(b) ZeRO stage 3, FSDP2 (`fully_shard` on each block, then the whole model, over a 1-D device
mesh): every parameter, gradient and optimizer state is a DTensor sharded on its first
dimension, so a rank holds 1/N of each. Each block's parameters are all-gathered before its
forward, freed after it and gathered again for its backward; the gradients are
reduce-scattered. The root (embedding, final norm, output layer) is not freed after forward
(its backward follows at once), so a step issues 2L + 1 all-gathers and L + 1 reduce-scatters
for L blocks. The lab counts them and their bytes (`CollectiveCounter`), measures the local
shards' bytes against total / N, and asserts losses and first-step gradients equal one
process's.

Why "equal" is within a tolerance: the gradients differ from one process's by the rounding of
a different summation order (see the data-parallel lab; `RTOL` = 1e-5 ≈ 128·2⁻²⁴). AdamW then
divides each gradient by its own running size, so where a gradient is itself near zero (below
Adam's ε = 1e-8 or so) that rounding becomes a visible change in the update: parameters then
differ by up to ~1e-6 after a few steps at lr = 1e-2. The lab reports that difference and
asserts the losses (within `RTOL`), which such parameter differences move by far less.

Sizes are the data-parallel lab's (`SIZES`, the same model): every leading dimension divides by
2 and 4, so FSDP shards every tensor evenly. This lab proves correctness and counts bytes; on
two cores it cannot measure a speedup.
"""

from __future__ import annotations

import copy

import torch
import torch.distributed as dist
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.parallel import DistributedDataParallel

from ..._validate import choice, positive_int, positive_number
from ...model import build
from .. import comms
from ._common import finish, parser, start, write_result
from ._replicas import (  # noqa: F401 (re-exported: the lab's helpers, as tests and pages use them)
    RTOL,
    SIZES,
    CollectiveCounter,
    against_comms,
    check_layout,
    global_batch,
    global_max,
    global_mean,
    grad_differences,
    is_collective,
    model_config,
    op_name,
    param_difference,
    rank_rows,
    replicas_identical,
    tensor_bytes,
    world_size_from_env,
)

DEFAULTS = dict(batch=8, steps=3, lr=1e-2, betas=(0.9, 0.95), weight_decay=0.1)
PARTS = ("both", "zero", "fsdp")


def adamw_kwargs(lr: float) -> dict:
    """AdamW's settings, the same for every copy (foreach off: one kernel per tensor, so the
    sharded optimizer runs exactly the arithmetic of the unsharded one)."""
    return dict(lr=lr, betas=DEFAULTS["betas"], weight_decay=DEFAULTS["weight_decay"], foreach=False)


def _local(t: torch.Tensor) -> torch.Tensor:
    return t.to_local() if hasattr(t, "to_local") else t


def state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of the optimizer state this rank holds (its tensors' nbytes; local shards of DTensors)."""
    return sum(
        tensor_bytes([_local(v)]) for s in optimizer.state.values() for v in s.values() if isinstance(v, torch.Tensor)
    )


def per_param_state_bytes(optimizer: torch.optim.Optimizer) -> list[int]:
    """State bytes of each parameter of an unsharded optimizer."""
    return [sum(tensor_bytes([v]) for v in s.values() if isinstance(v, torch.Tensor)) for s in optimizer.state.values()]


def gather_ints(value: int, device) -> list[int]:
    """`value` from every rank, in rank order."""
    t = torch.tensor([value], dtype=torch.int64, device=device)
    out = [torch.zeros_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(out, t)
    return [int(v.item()) for v in out]


def params_identical(a: torch.nn.Module, b: torch.nn.Module, device) -> bool:
    """True when the two models' parameters are equal bit for bit on every rank."""
    same = all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    flag = torch.tensor([int(same)], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def run_zero(world, batch: int, steps: int, lr: float, seed: int) -> dict:
    """ZeRO-1 next to plain AdamW on the same DDP gradients and one process on the whole batch."""
    cfg = model_config()
    reference = build(cfg, seed=seed, device=world.device)
    plain, sharded = copy.deepcopy(reference), copy.deepcopy(reference)
    ddp_sharded = DistributedDataParallel(sharded)
    opt_ref = torch.optim.AdamW(reference.parameters(), **adamw_kwargs(lr))
    opt_plain = torch.optim.AdamW(plain.parameters(), **adamw_kwargs(lr))
    opt_zero = ZeroRedundancyOptimizer(ddp_sharded.parameters(), optimizer_class=torch.optim.AdamW, **adamw_kwargs(lr))
    losses, ref_losses, step_comms, identical = [], [], [], True
    for step in range(steps):
        x, y = global_batch(cfg, batch, step, seed, world.device)
        xs, ys = rank_rows(x, world.rank, world.world_size), rank_rows(y, world.rank, world.world_size)
        with CollectiveCounter() as comm:
            _, loss = ddp_sharded(xs, ys)
            loss.backward()
        for p, q in zip(sharded.parameters(), plain.parameters(), strict=True):
            q.grad = p.grad.clone()  # plain AdamW steps on the very gradients ZeRO steps on
        with CollectiveCounter() as comm_step:
            opt_zero.step()  # local AdamW on this rank's parameters, then each owner broadcasts them
        _, ref_loss = reference(x, y)
        ref_loss.backward()
        opt_plain.step()
        opt_ref.step()
        for opt in (opt_zero, opt_plain, opt_ref):
            opt.zero_grad(set_to_none=True)
        losses.append(global_mean(loss, world.world_size).item())
        ref_losses.append(ref_loss.item())
        step_comms.append({"forward_backward": comm.summary(), "optimizer_step": comm_step.summary()})
        identical = params_identical(sharded, plain, world.device) and identical
    rank_bytes = gather_ints(state_bytes(opt_zero.optim), world.device)
    rank_params = gather_ints(sum(len(g["params"]) for g in opt_zero.optim.param_groups), world.device)
    full = state_bytes(opt_ref)
    n_params = sum(p.numel() for p in reference.parameters())
    largest = max(per_param_state_bytes(opt_ref))
    even = full / world.world_size
    loss_diff = max(abs(a - b) for a, b in zip(losses, ref_losses, strict=True))
    return {
        "n_params": n_params,
        "optimizer": "adamw",
        "lr": lr,
        "optimizer_state_bytes_unsharded": full,
        "optimizer_state_bytes_per_rank": rank_bytes,
        "optimizer_state_bytes_even_share": even,
        "largest_param_state_bytes": largest,
        "optimizer_state_imbalance": max(rank_bytes) / even,  # 1.0 is a perfect 1/N split
        "state_within_bound": max(rank_bytes) <= even + largest and sum(rank_bytes) == full,
        "params_per_rank": rank_params,
        "param_bytes": tensor_bytes(reference.parameters()),
        # Forward and backward: DDP's gradient all-reduce and buffer broadcast; the optimizer
        # step: each parameter broadcast once by the rank that owns (and updated) it.
        "collectives_per_step": step_comms,
        "param_broadcast_bytes_per_step": [
            s["optimizer_step"].get("broadcast", {}).get("bytes", 0) for s in step_comms
        ],
        # `comms` counts ZeRO-1 as the all-reduce alone; ZeroRedundancyOptimizer also broadcasts
        # every updated parameter from its owner (Megatron's distributed optimizer instead
        # reduce-scatters and all-gathers, the all-reduce's volume).
        "comms_formula": against_comms(
            step_comms[-1]["forward_backward"],
            comms.data_parallel_traffic(float(n_params), dp=world.world_size, zero=1, grad_bytes=4),
            world.world_size,
        ),
        "losses": losses,
        "reference_losses": ref_losses,
        "loss_max_abs_diff": loss_diff,
        "losses_equal": loss_diff <= RTOL * max(abs(v) for v in ref_losses),
        "params_equal_unsharded_adamw": identical,
        "param_max_abs_diff_vs_one_process": global_max(param_difference(sharded, reference), world.device),
    }


def shard(model: torch.nn.Module, world) -> torch.nn.Module:
    """FSDP2: each block is one unit (gathered and freed on its own), the root holds the rest."""
    mesh = init_device_mesh(world.device.type, (world.world_size,))
    for block in model.blocks:
        fully_shard(block, mesh=mesh)
    return fully_shard(model, mesh=mesh)


def run_fsdp(world, batch: int, steps: int, lr: float, seed: int) -> dict:
    """FSDP2 next to one process on the whole batch: bytes per rank, collectives per step, losses."""
    cfg = model_config()
    reference = build(cfg, seed=seed, device=world.device)
    block_bytes = [tensor_bytes(b.parameters()) for b in reference.blocks]
    total = tensor_bytes(reference.parameters())
    n_params = sum(p.numel() for p in reference.parameters())
    model = shard(copy.deepcopy(reference), world)
    opt = torch.optim.AdamW(model.parameters(), **adamw_kwargs(lr))
    opt_ref = torch.optim.AdamW(reference.parameters(), **adamw_kwargs(lr))
    param_rank = tensor_bytes(_local(p) for p in model.parameters())
    losses, ref_losses, step_comms, grad_rel, grad_rank = [], [], [], [], 0
    for step in range(steps):
        x, y = global_batch(cfg, batch, step, seed, world.device)
        with CollectiveCounter() as comm:
            _, loss = model(rank_rows(x, world.rank, world.world_size), rank_rows(y, world.rank, world.world_size))
            loss.backward()
            opt.step()
        _, ref_loss = reference(x, y)
        ref_loss.backward()
        opt_ref.step()
        grad_rank = tensor_bytes(_local(p.grad) for p in model.parameters())
        grad_rel.append(global_max(grad_differences(model, reference)[1], world.device))  # gathers: outside
        opt.zero_grad(set_to_none=True)
        opt_ref.zero_grad(set_to_none=True)
        losses.append(global_mean(loss, world.world_size).item())
        ref_losses.append(ref_loss.item())
        step_comms.append(comm.summary())
    rank_param_bytes = gather_ints(param_rank, world.device)
    rank_state_bytes = gather_ints(state_bytes(opt), world.device)
    even = total / world.world_size
    n_blocks = len(block_bytes)
    loss_diff = max(abs(a - b) for a, b in zip(losses, ref_losses, strict=True))
    return {
        "param_bytes": total,
        "block_param_bytes": block_bytes,
        "root_param_bytes": total - sum(block_bytes),
        "param_bytes_per_rank": rank_param_bytes,
        "param_bytes_even_share": even,
        "param_share_ratio": max(rank_param_bytes) / even,  # 1.0 is a perfect 1/N split
        "grad_bytes_per_rank": gather_ints(grad_rank, world.device),
        "optimizer_state_bytes_per_rank": rank_state_bytes,
        "optimizer_state_bytes_unsharded": state_bytes(opt_ref),
        "collectives_per_step": step_comms,
        # What FSDP2 should issue (see the module docstring): the root is gathered once, each
        # block twice, and every gradient reduce-scattered once; full buffers, float32.
        # With one rank FSDP2 has nothing to gather or scatter and issues nothing.
        "expected_per_step": {
            "all_gather": {"count": 2 * n_blocks + 1, "bytes": total + sum(block_bytes)},
            "reduce_scatter": {"count": n_blocks + 1, "bytes": total},
        }
        if world.world_size > 1
        else {},
        # `comms` counts ZeRO-3 as two all-gathers of every parameter (forward and backward);
        # FSDP2 keeps the root's gathered after forward, so it moves less.
        "comms_formula": against_comms(
            step_comms[-1],
            comms.data_parallel_traffic(float(n_params), dp=world.world_size, zero=3, grad_bytes=4, param_bytes=4),
            world.world_size,
        ),
        "losses": losses,
        "reference_losses": ref_losses,
        "loss_max_abs_diff": loss_diff,
        "losses_equal": loss_diff <= RTOL * max(abs(v) for v in ref_losses),
        "grad_max_rel_diff_per_step": grad_rel,
        "first_step_grads_equal": grad_rel[0] <= RTOL,
        "param_max_abs_diff_vs_one_process": global_max(param_difference(model, reference), world.device),
    }


def run(world, part: str, batch: int, steps: int, lr: float, seed: int) -> dict:
    """Run the parts asked for; return what was measured."""
    per_rank = check_layout(batch, world.world_size)
    result = {"lab": "zero", "model": SIZES, "batch": batch, "batch_per_rank": per_rank, "steps": steps, "part": part}
    if part in ("both", "zero"):
        result["zero1"] = run_zero(world, batch, steps, lr, seed)
    if part in ("both", "fsdp"):
        result["fsdp2"] = run_fsdp(world, batch, steps, lr, seed)
    return result


def failures(result: dict) -> list[str]:
    """What did not hold, in words (empty when the lab passed)."""
    out = []
    z, f = result.get("zero1"), result.get("fsdp2")
    if z is not None:
        if not z["params_equal_unsharded_adamw"]:
            out.append("ZeRO-1 parameters differ from plain AdamW on the same gradients")
        if not z["losses_equal"]:
            out.append(f"ZeRO-1 losses differ from one process by {z['loss_max_abs_diff']:.2e}")
        if not z["state_within_bound"]:
            out.append(
                f"ZeRO-1 state per rank {z['optimizer_state_bytes_per_rank']} exceeds 1/N + the largest parameter's"
            )
    if f is not None:
        if not f["losses_equal"]:
            out.append(f"FSDP2 losses differ from one process by {f['loss_max_abs_diff']:.2e}")
        if not f["first_step_grads_equal"]:
            out.append(f"FSDP2 first-step gradients differ by {f['grad_max_rel_diff_per_step'][0]:.2e} of their scale")
    return out


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--part", default="both", help="zero (ZeroRedundancyOptimizer), fsdp (fully_shard) or both")
    p.add_argument("--batch", type=int, default=DEFAULTS["batch"], help="global batch, sequences (split over ranks)")
    p.add_argument("--steps", type=int, default=DEFAULTS["steps"], help="AdamW steps")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="AdamW learning rate")
    # Not --nproc: torchrun's parser would take it for an abbreviation of its --nproc-per-node.
    p.add_argument("--world-size", type=int, default=None, help="processes you meant to launch (checked)")
    args = p.parse_args(argv)
    choice("part", args.part, PARTS)
    positive_int("steps", args.steps, "3")
    positive_number("lr", args.lr, "1e-2")
    check_layout(args.batch, world_size_from_env(), args.world_size)  # before any process group
    world = start(args.device, args.timeout)
    try:
        result = run(world, args.part, args.batch, args.steps, args.lr, args.seed)
        write_result(world, args.out, result)
        if problems := failures(result):
            raise AssertionError("; ".join(problems))
    finally:
        finish()


if __name__ == "__main__":
    main()
