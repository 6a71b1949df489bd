"""What the two data-parallel labs (`data_parallel`, `zero`) share: the model, the batches and
their split over ranks, the equality checks against the single-process reference, and the counter
of collectives (`CollectiveCounter`, a dispatch mode over the ops `CommDebugMode` counts, which
records each call's bytes and leaves the gradients bit-identical). A private helper of the labs:
only they import it."""

from __future__ import annotations

import os
from collections import defaultdict

import torch
import torch.distributed as dist
from torch.distributed.tensor import DTensor
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from ..._validate import positive_int
from ...config import ModelConfig
from .. import comms

# Every leading dimension (vocab 128, d_model 32, 3·32, d_ff 64) divides by 2 and 4, so sharded
# labs (zero.py) split every tensor evenly.
SIZES = dict(n_layers=2, d_model=32, n_heads=4, vocab_size=128, seq_len=16, d_ff=64)

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
