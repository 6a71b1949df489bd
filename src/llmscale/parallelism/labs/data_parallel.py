"""Data parallelism with DDP: N replicas on slices of one batch train exactly like one process.

    torchrun --standalone --nproc_per_node=2 -m llmscale.parallelism.labs.data_parallel
    torchrun --standalone --nproc_per_node=4 -m llmscale.parallelism.labs.data_parallel --world-size 4
    python -m llmscale.parallelism.labs.data_parallel          # a world of one

Every rank builds the book's decoder from the same seed and wraps it in
`DistributedDataParallel`. Each step draws one fixed global batch of `--batch` sequences; rank r
trains on rows r·b … (r+1)·b − 1 (b = batch / world size). In backward, DDP all-reduces the
gradients in buckets and divides by the world size, so every replica holds the gradient of the
mean loss over the whole batch. Every rank also trains a plain copy of the model on the whole
batch: the single-process reference. At every step the lab checks that the losses and every
parameter's gradient agree, then that the parameters agree and the replicas are identical, and
counts what DDP sends: the bytes of each gradient bucket (a comm hook) and the collectives
issued (`CollectiveCounter`, a dispatch mode over the ops `CommDebugMode` counts).

What DDP sends per step: every gradient once, all-reduced in buckets (the bytes add up to the
replica's gradient bytes, 4 per parameter in float32). The first step uses one bucket of up
to 1 MiB (DDP's first-bucket cap); at its end DDP rebuilds the buckets in the order the
gradients became ready, up to `--bucket-cap-mb` each, and rank 0 broadcasts that layout (the
extra small broadcasts of step 1). Every forward also broadcasts the module's buffers from rank
0 (`broadcast_buffers=True`, DDP's default: here the RoPE tables, 1,024 bytes).

Why the numbers are not bit-identical for N > 1: a gradient is a sum over the batch's B·S
tokens. One process sums them in one order; DDP sums each rank's b·S, divides by N and adds
the N partial sums in the all-reduce. Float32 addition is not associative, so the two orders
round differently. Summing n terms rounds by at most n·u of their scale (u = 2⁻²⁴ ≈ 6e-8), so
for n = B·S = 128 tokens the lab allows `RTOL` = 1e-5 ≈ 128·u of each tensor's largest
|gradient|, and of the loss. With one process the orders coincide and every difference is 0.
The update is plain SGD so that the parameters after T steps differ by at most
lr·Σ_t max|Δg_t| (plus one rounding of the update per step), which the lab asserts; AdamW
divides each gradient by its own size and so turns the rounding of near-zero gradients into
visible differences (the ZeRO lab shows it).

Sizes are in `SIZES` and `DEFAULTS`; the model is small so four CPU processes run in seconds.
On two cores several processes are slower than one: this lab proves correctness and counts
bytes, it does not measure a speedup.
"""

from __future__ import annotations

import copy

import torch
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel

from ... import counting
from ..._validate import positive_int, positive_number
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

DEFAULTS = dict(batch=8, steps=3, lr=0.1)


def ulp(x: float) -> float:
    """Spacing of float32 numbers at |x|: the rounding of one update of a parameter of that size."""
    return float(torch.finfo(torch.float32).eps) * max(abs(x), float(torch.finfo(torch.float32).tiny))


def run(world, batch: int, steps: int, lr: float, seed: int, bucket_cap_mb: float) -> dict:
    """Train DDP and the single-process reference side by side (SGD); return what was measured."""
    cfg = model_config()
    per_rank = check_layout(batch, world.world_size)
    reference = build(cfg, seed=seed, device=world.device)
    replica = copy.deepcopy(reference)
    ddp = DistributedDataParallel(replica, bucket_cap_mb=bucket_cap_mb)
    buckets: list[int] = []

    def record_bucket(state, bucket):
        buf = bucket.buffer()
        buckets.append(buf.numel() * buf.element_size())
        return default_hooks.allreduce_hook(state, bucket)  # divide by N, then SUM: DDP's default

    ddp.register_comm_hook(None, record_bucket)
    opt = torch.optim.SGD(ddp.parameters(), lr=lr)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=lr)
    losses, ref_losses, per_step = [], [], []
    for step in range(steps):
        x, y = global_batch(cfg, batch, step, seed, world.device)
        buckets.clear()
        with CollectiveCounter() as comm:
            _, loss = ddp(rank_rows(x, world.rank, world.world_size), rank_rows(y, world.rank, world.world_size))
            loss.backward()
        _, ref_loss = reference(x, y)
        ref_loss.backward()
        g_abs, g_rel = grad_differences(replica, reference)
        opt.step()
        ref_opt.step()
        opt.zero_grad(set_to_none=True)
        ref_opt.zero_grad(set_to_none=True)
        losses.append(global_mean(loss, world.world_size).item())
        ref_losses.append(ref_loss.item())
        per_step.append(
            {
                "grad_max_abs_diff": global_max(g_abs, world.device),
                "grad_max_rel_diff": global_max(g_rel, world.device),
                "bucket_bytes": list(buckets),
                "collectives": comm.summary(),
            }
        )
    n_params = sum(p.numel() for p in replica.parameters())
    grad_bytes = tensor_bytes(p for p in replica.parameters() if p.requires_grad)
    allreduced = [sum(s["bucket_bytes"]) for s in per_step]
    loss_diff = max(abs(a - b) for a, b in zip(losses, ref_losses, strict=True))
    grad_rel = max(s["grad_max_rel_diff"] for s in per_step)
    param_diff = global_max(param_difference(replica, reference), world.device)
    largest_param = max(p.detach().abs().max().item() for p in reference.parameters())
    # SGD: θ_T − θ'_T = −lr·Σ_t (g_t − g'_t), and each update rounds by half an ulp on each side.
    param_bound = lr * sum(s["grad_max_abs_diff"] for s in per_step) + steps * ulp(largest_param)
    return {
        "lab": "data_parallel",
        "model": SIZES,
        "n_params": n_params,
        "n_params_counted": counting.param_count(cfg),  # the book's formula, for the same config
        "batch": batch,
        "batch_per_rank": per_rank,
        "steps": steps,
        "optimizer": "sgd",
        "lr": lr,
        "bucket_cap_mb": bucket_cap_mb,
        "losses": losses,
        "reference_losses": ref_losses,
        "loss_max_abs_diff": loss_diff,
        "grad_max_abs_diff": max(s["grad_max_abs_diff"] for s in per_step),
        "grad_max_rel_diff": grad_rel,
        "param_max_abs_diff": param_diff,
        "param_bound": param_bound,
        "rtol": RTOL,
        "losses_equal": loss_diff <= RTOL * max(abs(v) for v in ref_losses),
        "grads_equal": grad_rel <= RTOL,
        "params_equal": param_diff <= param_bound,
        "replicas_identical": replicas_identical(replica),
        "grad_bytes_per_replica": grad_bytes,
        "allreduce_bytes_per_step": allreduced,
        "allreduce_over_grad_bytes": [b / grad_bytes for b in allreduced],
        "buckets_per_step": [len(s["bucket_bytes"]) for s in per_step],
        # ZeRO-0 in `comms`: each float32 gradient all-reduced once per step (none for one rank).
        "comms_formula": against_comms(
            per_step[-1]["collectives"],
            comms.data_parallel_traffic(float(n_params), dp=world.world_size, zero=0, grad_bytes=4),
            world.world_size,
        ),
        # The counter sees DDP's bucket all-reduces too: one call and the same bytes per bucket.
        "counter_matches_hook": all(
            s["collectives"].get("all_reduce") == {"count": len(s["bucket_bytes"]), "bytes": sum(s["bucket_bytes"])}
            for s in per_step
        ),
        "per_step": per_step,
    }


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=DEFAULTS["batch"], help="global batch, sequences (split over ranks)")
    p.add_argument("--steps", type=int, default=DEFAULTS["steps"], help="SGD steps")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="SGD learning rate")
    p.add_argument("--bucket-cap-mb", type=float, default=25.0, help="DDP gradient bucket size, MB (DDP's default)")
    # Not --nproc: torchrun's parser would take it for an abbreviation of its --nproc-per-node.
    p.add_argument("--world-size", type=int, default=None, help="processes you meant to launch (checked)")
    args = p.parse_args(argv)
    positive_int("steps", args.steps, "3")
    positive_number("lr", args.lr, "0.1")
    positive_number("bucket_cap_mb", args.bucket_cap_mb, "25")
    check_layout(args.batch, world_size_from_env(), args.world_size)  # before any process group
    world = start(args.device, args.timeout)
    try:
        result = run(world, args.batch, args.steps, args.lr, args.seed, args.bucket_cap_mb)
        write_result(world, args.out, result)
        if not (result["losses_equal"] and result["grads_equal"] and result["params_equal"]):
            raise AssertionError(
                f"DDP differs from one process: loss Δ {result['loss_max_abs_diff']:.2e}, gradient Δ "
                f"{result['grad_max_rel_diff']:.2e} of its scale (allowed {RTOL:g}), parameter Δ "
                f"{result['param_max_abs_diff']:.2e} (allowed {result['param_bound']:.2e})"
            )
        if not result["counter_matches_hook"]:
            raise AssertionError("the collective counter and DDP's comm hook disagree on the all-reduced bytes")
        if not result["replicas_identical"]:
            raise AssertionError("the replicas' parameters differ across ranks after training")
    finally:
        finish()


if __name__ == "__main__":
    main()
