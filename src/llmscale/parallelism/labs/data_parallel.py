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
import os
from collections import defaultdict

import torch
import torch.distributed as dist
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.distributed.tensor import DTensor
from torch.nn.parallel import DistributedDataParallel
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from ... import counting
from ..._validate import positive_int, positive_number
from ...config import ModelConfig
from ...model import build
from .. import comms
from ._common import finish, parser, start, write_result

# Every leading dimension (vocab 128, d_model 32, 3·32, d_ff 64) divides by 2 and 4, so sharded
# labs (zero.py) split every tensor evenly.
SIZES = dict(n_layers=2, d_model=32, n_heads=4, vocab_size=128, seq_len=16, d_ff=64)
DEFAULTS = dict(batch=8, steps=3, lr=0.1)

# Reduction order only (see the module docstring): n·u for n = 128 summed float32 terms.
RTOL = 1e-5


def model_config() -> ModelConfig:
    """The lab's decoder: two layers, d_model 32 (28,832 parameters)."""
    return ModelConfig(**SIZES)


def world_size_from_env() -> int:
    """WORLD_SIZE as torchrun sets it; 1 for a plain process."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def check_layout(batch: int, world_size: int, expected_world_size: int | None = None) -> int:
    """Sequences per rank (batch / world_size); a ValueError if --world-size disagrees with the
    launcher or the batch does not split evenly."""
    batch = positive_int("batch", batch, "8")
    world_size = positive_int("world_size", world_size, "2")
    expected = expected_world_size
    if expected is not None and positive_int("world_size", expected, "2") != world_size:
        raise ValueError(
            f"--world-size {expected} but the launcher started {world_size} process(es); "
            f"launch with torchrun --nproc_per_node={expected} or pass --world-size {world_size}"
        )
    if batch % world_size:
        raise ValueError(
            f"batch={batch} sequences do not split evenly over {world_size} ranks; "
            f"choose --batch a multiple of {world_size}, e.g. --batch {world_size * max(1, batch // world_size)}"
        )
    return batch // world_size


def global_batch(cfg: ModelConfig, batch: int, step: int, seed: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The step's (inputs, next-token targets), each (batch, seq_len): the same on every rank."""
    g = torch.Generator().manual_seed(1_000_003 * seed + step)
    tokens = torch.randint(0, cfg.vocab_size, (batch, cfg.seq_len + 1), generator=g)
    return tokens[:, :-1].to(device), tokens[:, 1:].to(device)


def rank_rows(t: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """Rank `rank`'s contiguous slice of the batch dimension."""
    b = t.shape[0] // world_size
    return t[rank * b : (rank + 1) * b]


def tensor_bytes(tensors) -> int:
    """Sum of nbytes over tensors."""
    return sum(t.numel() * t.element_size() for t in tensors)


def _collective_bytes(args, kwargs, out) -> int:
    # The full buffer a collective works on: the largest of its tensor arguments (or its
    # result), each a sum over its tensors. All-reduce and broadcast: the tensors themselves;
    # all-gather: the gathered output; reduce-scatter: the unreduced input.
    groups = [*args, *(kwargs or {}).values(), out]
    return max((tensor_bytes(t for t in tree_leaves(g) if isinstance(t, torch.Tensor)) for g in groups), default=0)


class CollectiveCounter(TorchDispatchMode):
    """Counts the collectives issued inside it and adds up the bytes of the full buffer each works
    on (the all-gather's output, the reduce-scatter's input, the all-reduced tensors).

    The ops counted are those `CommDebugMode` counts (c10d and functional collectives). We do not
    use `CommDebugMode` itself: its module tracker hooks every module's backward, which changes the
    order in which autograd adds gradient contributions, so one process under it and one process
    without it already differ by float32 rounding (1e-8 on this model), and the lab would compare
    two different computations.
    """

    def __enter__(self):
        self.counts: dict[str, int] = defaultdict(int)
        self.bytes_by_op: dict[str, int] = defaultdict(int)
        return super().__enter__()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if any(issubclass(t, DTensor) for t in types):
            return NotImplemented  # let DTensor turn the op into plain ops (and collectives) first
        out = func(*args, **(kwargs or {}))
        if is_collective(func):
            name = op_name(func)
            self.counts[name] += 1
            self.bytes_by_op[name] += _collective_bytes(args, kwargs, out)
        return out

    def summary(self) -> dict[str, dict[str, int]]:
        """{collective: {"count": calls, "bytes": full-buffer bytes}}, e.g. "all_reduce"."""
        return {name: {"count": self.counts[name], "bytes": self.bytes_by_op[name]} for name in sorted(self.counts)}


_COLLECTIVE_NAMESPACES = ("c10d", "_c10d_functional", "c10d_functional", "_c10d_functional_autograd")
_NOT_COLLECTIVES = ("wait_tensor", "barrier", "monitored_barrier")


def is_collective(func) -> bool:
    """True for a c10d or functional collective op (waits and barriers excluded)."""
    packet = getattr(func, "_overloadpacket", func)
    namespace, _, name = packet._qualified_op_name.partition("::")
    return namespace in _COLLECTIVE_NAMESPACES and name.strip("_") not in _NOT_COLLECTIVES


_OP_NAMES = {
    "allreduce": "all_reduce",
    "allgather": "all_gather",
    "allgather_into_tensor": "all_gather",
    "all_gather_into_tensor": "all_gather",
    "reduce_scatter": "reduce_scatter",
    "reduce_scatter_tensor": "reduce_scatter",
    "alltoall": "all_to_all",
    "all_to_all_single": "all_to_all",
}


def op_name(op) -> str:
    """A readable collective name for a c10d or functional-collective op: "all_reduce", "all_gather"..."""
    base = str(getattr(op, "_overloadpacket", op)).split(".")[-1].strip("_")
    for suffix in ("_base", "_coalesced", "_tensor_coalesced", "_into_tensor_coalesced"):
        base = base.removesuffix(suffix)
    return _OP_NAMES.get(base, base)


def global_mean(value: torch.Tensor, world_size: int) -> torch.Tensor:
    """Mean over ranks (SUM then divide: gloo's AVG is unreliable)."""
    total = value.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total / world_size


def global_max(value: float, device) -> float:
    """The largest `value` over ranks."""
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def grad_differences(model: torch.nn.Module, reference: torch.nn.Module) -> tuple[float, float]:
    """(max |Δ gradient|, the largest of max|Δ| / max|reference gradient| over tensors)."""
    worst_abs, worst_rel = 0.0, 0.0
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        g = p.grad.full_tensor() if hasattr(p.grad, "full_tensor") else p.grad
        diff = (g - q.grad).abs().max().item()
        scale = q.grad.abs().max().item()
        worst_abs = max(worst_abs, diff)
        worst_rel = max(worst_rel, diff / scale if scale else (0.0 if diff == 0 else float("inf")))
    return worst_abs, worst_rel


def param_difference(model: torch.nn.Module, reference: torch.nn.Module) -> float:
    """max |Δ parameter| over all tensors."""
    out = 0.0
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        v = p.full_tensor() if hasattr(p, "full_tensor") else p
        out = max(out, (v.detach() - q.detach()).abs().max().item())
    return out


def replicas_identical(model: torch.nn.Module) -> bool:
    """True when every rank's parameters equal rank 0's bit for bit."""
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    mine = flat.clone()
    dist.broadcast(flat, src=0)
    same = torch.tensor([int(torch.equal(flat, mine))], device=flat.device)
    dist.all_reduce(same, op=dist.ReduceOp.MIN)
    return bool(same.item())


def against_comms(measured: dict[str, dict[str, int]], traffic: comms.StepTraffic, n: int) -> dict:
    """Measured collectives of one step next to `comms`' formula for them, per kind: full-buffer
    bytes and the bytes each rank sends in a ring (`comms.bus_bytes`), and measured / formula."""
    out = {}
    for kind in dict.fromkeys(c.kind for c in traffic.collectives):
        calls = [c for c in traffic.collectives if c.kind == kind]
        formula = sum(c.buffer_bytes * c.count for c in calls)
        got = measured.get(kind, {"count": 0, "bytes": 0})["bytes"]
        out[kind] = {
            "measured_bytes": got,
            "formula_bytes": formula,
            "measured_over_formula": got / formula if formula else None,
            "measured_sent_bytes_per_rank": float(comms.bus_bytes(kind, got, n)),
            "formula_sent_bytes_per_rank": float(sum(c.sent_bytes for c in calls)),
        }
    return out


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
