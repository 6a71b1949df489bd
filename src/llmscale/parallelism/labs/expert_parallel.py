"""Expert parallelism: the book's MoE layer with its E experts split over P ranks, tokens moved by all-to-all.

    torchrun --standalone --nproc_per_node=2 -m llmscale.parallelism.labs.expert_parallel
    torchrun --standalone --nproc_per_node=2 -m llmscale.parallelism.labs.expert_parallel --capacity-factor 1.0
    python -m llmscale.parallelism.labs.expert_parallel          # a world of one: every expert local

Every rank builds the same `llmscale.model.moe.MoELayer` from one seed, keeps the router (which
every rank needs, as data parallelism keeps a replica) and only its own E/P experts: rank r holds
experts r·E/P … (r+1)·E/P − 1. Each rank has its own tokens. One forward pass:

1. route: the layer's own `route` and `plan_dispatch` (top-k, the capacity of the *local* batch,
   GShard's priority), which sort the kept assignments by expert, hence by owning rank;
2. counts: an `all_to_all_single` of the kept counts per expert tells each rank how many rows
   each source will send it, for each of its experts;
3. dispatch: an `all_to_all_single` of the token vectors with those uneven splits;
4. compute: each local expert on its rows from every source (regrouped by expert);
5. combine: the reverse `all_to_all_single` brings each output home, where the gate weights mix
   the k outputs of a token exactly as `MoELayer.forward` does.

The two token exchanges are an autograd function whose backward is the same exchange with the
splits swapped, so the gradients travel back the way the tokens came. The reference is the
single-process layer (same seed, so the same weights) run on each rank's tokens in turn, with
the loss summed over ranks; the lab asserts that the outputs, the input gradients, the router's
gradient (summed over ranks, as its replicas would be all-reduced) and each local expert's
gradient equal the reference's, and counts the bytes every exchange moved against
`parallelism.comms.all_to_all_bytes_per_token_layer`.

Why the equality is within float32 rounding, not bit-exact for P > 1: an expert's matrix product
runs on the rows of all ranks at once instead of one rank's rows, and a BLAS may block a product
differently for a different number of rows. With one process the order is the same as the
reference's except for that grouping. On two cores this lab proves correctness and counts bytes;
it does not measure a speedup.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn

from ..._validate import optional_positive_number, positive_int
from ...config import ModelConfig
from ...model.moe import MoELayer, balance_loss, capacity, plan_dispatch, z_loss
from .. import comms
from ._common import World, finish, parser, start, write_result

SIZES = dict(d_model=32, d_ff=64, n_experts=4, top_k=2)
DEFAULTS = dict(batch=2, seq=16)

# float32 rounding of a product regrouped over ranks (module docstring): torch.testing's float32 defaults.
RTOL, ATOL = 1.3e-6, 1e-5


def layer_config(n_experts: int = SIZES["n_experts"], capacity_factor: float | None = None) -> ModelConfig:
    """The lab's MoE layer: d_model 32, SwiGLU experts of width 64, top-2 of `n_experts`."""
    return ModelConfig(
        n_layers=1,
        d_model=SIZES["d_model"],
        n_heads=4,
        vocab_size=64,
        seq_len=DEFAULTS["seq"],
        d_ff=SIZES["d_ff"],
        n_experts=n_experts,
        top_k=SIZES["top_k"],
        capacity_factor=capacity_factor,
    )


def local_experts(n_experts: int, world_size: int, rank: int) -> range:
    """The experts rank `rank` holds: a contiguous block of E/P."""
    n_experts = positive_int("n_experts", n_experts, "8")
    world_size = positive_int("world_size", world_size, "2")
    if n_experts % world_size:
        raise ValueError(
            f"n_experts={n_experts} does not split over {world_size} ranks; "
            f"launch a number of ranks that divides {n_experts}, or change --experts"
        )
    per = n_experts // world_size
    return range(rank * per, (rank + 1) * per)


# --- the exchanges ---------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the all-to-alls of this rank sent: calls, and bytes to other ranks and to itself, by phase."""

    rank: int
    calls: int = 0
    remote: dict[str, int] = field(default_factory=dict)
    local: dict[str, int] = field(default_factory=dict)

    def add(self, phase: str, send_counts: list[int], row_bytes: int) -> None:
        self.calls += 1
        to_self = send_counts[self.rank] * row_bytes
        self.local[phase] = self.local.get(phase, 0) + to_self
        self.remote[phase] = self.remote.get(phase, 0) + sum(send_counts) * row_bytes - to_self


def _exchange(x: torch.Tensor, send: list[int], recv: list[int], ledger: Ledger, phase: str) -> torch.Tensor:
    """`all_to_all_single` of rows: send[q] rows of x (in order) to rank q, recv[q] rows from q."""
    x = x.contiguous()
    out = x.new_empty((sum(recv), *x.shape[1:]))
    dist.all_to_all_single(out, x, output_split_sizes=recv, input_split_sizes=send)
    ledger.add(phase, send, x[:1].numel() * x.element_size())
    return out


class AllToAll(torch.autograd.Function):
    """Rows exchanged by all-to-all; the backward sends the gradients back with the splits swapped."""

    @staticmethod
    def forward(ctx, x, send, recv, ledger, phase):
        ctx.send, ctx.recv, ctx.ledger, ctx.phase = send, recv, ledger, phase
        return _exchange(x, send, recv, ledger, phase + ".forward")

    @staticmethod
    def backward(ctx, grad):
        return _exchange(grad, ctx.recv, ctx.send, ctx.ledger, ctx.phase + ".backward"), None, None, None, None


# --- the layer --------------------------------------------------------------------------------------


class ExpertParallelMoE(nn.Module):
    """A `MoELayer` whose experts are spread over the ranks of the default process group.

    Built from a full layer (identical on every rank): keeps a copy of its router and of this
    rank's E/P experts. Routing is the layer's own (`MoELayer.route`, `capacity`, `plan_dispatch`);
    only where the experts run changes.
    """

    route = MoELayer.route  # reads self.router, gating, top_k, routed_scaling_factor (and score_bias)

    def __init__(self, layer: MoELayer, world: World):
        super().__init__()
        self.rank, self.world_size = world.rank, world.world_size
        self.n_experts, self.top_k = layer.n_experts, layer.top_k
        self.capacity_factor, self.gating = layer.capacity_factor, layer.gating
        self.routed_scaling_factor = layer.routed_scaling_factor
        if hasattr(layer, "score_bias"):  # sigmoid gating's selection bias, a buffer
            self.register_buffer("score_bias", layer.score_bias.clone())
        if getattr(layer, "shared", None) is not None:
            raise ValueError("shared experts are not split by this lab; use n_shared_experts=0")
        self.owned = local_experts(layer.n_experts, world.world_size, world.rank)
        self.router = copy.deepcopy(layer.router)
        self.experts = nn.ModuleList(copy.deepcopy(layer.experts[e]) for e in self.owned)
        self.ledger = Ledger(world.rank)
        self.stats: dict | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        P, E_local = self.world_size, len(self.owned)
        routing = self.route(x)
        cap = capacity(x.shape[0], self.n_experts, self.top_k, self.capacity_factor)
        plan = plan_dispatch(routing.experts, self.n_experts, cap)  # sorted by expert, so by rank

        # 2. counts: kept rows per (destination rank, its expert) out; per (source, my expert) in
        counts_out = plan.kept_per_expert.to(torch.int64).contiguous()
        counts_in = torch.empty_like(counts_out)
        dist.all_to_all_single(counts_in, counts_out)
        self.ledger.add("counts", [E_local] * P, counts_out.element_size())
        counts_in = counts_in.view(P, E_local)
        send = counts_out.view(P, E_local).sum(1).tolist()
        recv = counts_in.sum(1).tolist()

        # 3. dispatch: rows arrive grouped by source rank, then by expert within each source
        arrived = AllToAll.apply(x[plan.token], send, recv, self.ledger, "dispatch")

        # 4. compute: regroup by local expert (all sources together), run each expert, undo
        flat = counts_in.flatten().tolist()
        starts = [sum(flat[:i]) for i in range(len(flat))]
        by_expert = [
            torch.arange(starts[s * E_local + e], starts[s * E_local + e] + flat[s * E_local + e])
            for e in range(E_local)
            for s in range(P)
        ]
        perm = torch.cat(by_expert).to(x.device)
        rows_per_expert = counts_in.sum(0).tolist()
        grouped = arrived[perm]
        outs = [expert(chunk) for expert, chunk in zip(self.experts, grouped.split(rows_per_expert))]
        computed = torch.cat(outs)[torch.argsort(perm)]

        # 5. combine: outputs go home in the order their tokens left, then MoELayer's weighted sum
        out = AllToAll.apply(computed, recv, send, self.ledger, "combine")
        weight = routing.weights[plan.token, plan.slot]
        y = torch.zeros_like(x).index_add_(0, plan.token, (out * weight[:, None]).to(x.dtype))
        self.stats = dict(
            balance_loss=balance_loss(routing.probs, plan.tokens_per_expert, self.top_k),
            z_loss=z_loss(routing.logits),
            assignments=int(plan.tokens_per_expert.sum()),
            kept=int(plan.kept_per_expert.sum()),
        )
        return y.reshape(shape)


# --- the lab ----------------------------------------------------------------------------------------


def _objective(y: torch.Tensor, upstream: torch.Tensor, balance, zloss, cfg: ModelConfig) -> torch.Tensor:
    """A loss with a gradient for everything: ⟨y, g⟩ for a fixed random g, plus the router losses."""
    return (y * upstream).sum() + cfg.router_aux_loss_coef * balance + cfg.router_z_loss_coef * zloss


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach() - b.detach()).abs().max()) if a.numel() else 0.0


def run(world: World, n_experts: int, capacity_factor: float | None, batch: int, seq: int, seed: int) -> dict:
    cfg = layer_config(n_experts, capacity_factor)
    local_experts(n_experts, world.world_size, world.rank)  # validates the split before any collective
    dev, P, d = world.device, world.world_size, cfg.d_model

    torch.manual_seed(seed)
    reference = MoELayer(cfg).to(dev)  # identical on every rank: the same seed
    layer = ExpertParallelMoE(reference, world)

    gen = torch.Generator().manual_seed(seed + 1)
    inputs = torch.randn(P, batch, seq, d, generator=gen).to(dev)  # every rank's tokens, drawn everywhere
    upstream = torch.randn(P, batch, seq, d, generator=gen).to(dev)

    # Single process: the whole layer on each rank's tokens in turn (capacity per rank's batch, as in EP).
    ref_x = inputs.clone().requires_grad_(True)
    ref_loss, ref_y = 0.0, []
    for r in range(P):
        y_r = reference(ref_x[r])
        ref_loss = ref_loss + _objective(y_r, upstream[r], reference.stats.balance_loss, reference.stats.z_loss, cfg)
        ref_y.append(y_r.detach())
    ref_loss.backward()

    # Expert parallel: this rank's tokens only.
    x = inputs[world.rank].clone().requires_grad_(True)
    y = layer(x)
    loss = _objective(y, upstream[world.rank], layer.stats["balance_loss"], layer.stats["z_loss"], cfg)
    loss.backward()
    router_grads = [p.grad.clone() for p in layer.router.parameters()]
    for g in router_grads:  # the replicas' all-reduce (SUM: gloo's AVG is unreliable)
        dist.all_reduce(g, op=dist.ReduceOp.SUM)

    diffs = {
        "output": _max_diff(y, ref_y[world.rank]),
        "input_grad": _max_diff(x.grad, ref_x.grad[world.rank]),
        "router_grad": max(_max_diff(g, p.grad) for g, p in zip(router_grads, reference.router.parameters())),
        "expert_grad": max(
            _max_diff(p.grad, q.grad)
            for i, e in enumerate(layer.owned)
            for p, q in zip(layer.experts[i].parameters(), reference.experts[e].parameters())
        ),
    }
    torch.testing.assert_close(y, ref_y[world.rank], rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(x.grad, ref_x.grad[world.rank], rtol=RTOL, atol=ATOL)
    for g, p in zip(router_grads, reference.router.parameters()):
        torch.testing.assert_close(g, p.grad, rtol=RTOL, atol=ATOL)
    for i, e in enumerate(layer.owned):
        for p, q in zip(layer.experts[i].parameters(), reference.experts[e].parameters()):
            torch.testing.assert_close(p.grad, q.grad, rtol=RTOL, atol=ATOL)

    # Gather the counts of every rank: bytes and assignments summed, differences maxed.
    led = layer.ledger
    phases = ("dispatch.forward", "combine.forward", "dispatch.backward", "combine.backward")
    sums = torch.tensor(
        [led.remote.get(p, 0) for p in phases]
        + [led.local.get(p, 0) for p in phases]
        + [led.remote["counts"], led.local["counts"], layer.stats["assignments"], layer.stats["kept"], led.calls],
        dtype=torch.float64,
        device=dev,
    )
    dist.all_reduce(sums, op=dist.ReduceOp.SUM)
    worst = torch.tensor(list(diffs.values()), dtype=torch.float64, device=dev)
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    s = [int(v) for v in sums.tolist()]
    remote, local = dict(zip(phases, s[0:4])), dict(zip(phases, s[4:8]))
    counts_remote, counts_local, assignments, kept, calls = s[8:13]

    tokens = P * batch * seq
    value_bytes = x.element_size()
    per_token = comms.all_to_all_bytes_per_token_layer(d, cfg.top_k, value_bytes, training=True)
    moved = sum(remote.values()) + sum(local.values())  # every token-to-expert row, on or off the rank
    # The formula counts every assignment; capacity drops some, and those rows never move.
    formula_kept = per_token * tokens * kept / assignments
    assert moved == formula_kept, f"the exchanges moved {moved} bytes, the formula says {formula_kept}"
    expected_remote = per_token * tokens * comms.remote_fraction(P)

    expert_params = sum(p.numel() for p in layer.experts.parameters())
    return {
        "equal": True,
        "max_abs_diff": {k: round(v, 12) for k, v in zip(diffs, worst.tolist())},
        "n_experts": n_experts,
        "experts_per_rank": len(layer.owned),
        "top_k": cfg.top_k,
        "d_model": d,
        "capacity_factor": capacity_factor,
        "capacity_per_rank": capacity(batch * seq, n_experts, cfg.top_k, capacity_factor),
        "tokens": tokens,
        "assignments": assignments,
        "dropped": assignments - kept,
        "bytes_per_value": value_bytes,
        "all_to_all_calls_per_rank": calls // P,
        "bytes_remote": remote,
        "bytes_local": local,
        "bytes_moved": moved,
        "bytes_remote_total": sum(remote.values()),
        "bytes_counts": counts_remote + counts_local,
        "formula_bytes_per_token_layer": per_token,
        "formula_bytes_all": per_token * tokens,
        "formula_bytes_kept": formula_kept,
        "formula_bytes_remote_uniform": expected_remote,
        "remote_share": sum(remote.values()) / moved if moved else 0.0,
        "remote_share_uniform": comms.remote_fraction(P),
        "expert_params_per_rank": expert_params,
        "expert_params_total": sum(p.numel() for p in reference.experts.parameters()),
    }


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--experts", type=int, default=SIZES["n_experts"], help="E, a multiple of the world size")
    p.add_argument("--capacity-factor", type=float, default=None, help="per-rank capacity factor (default: none)")
    p.add_argument("--batch", type=int, default=DEFAULTS["batch"], help="sequences per rank")
    p.add_argument("--seq", type=int, default=DEFAULTS["seq"], help="tokens per sequence")
    args = p.parse_args(argv)
    positive_int("--experts", args.experts, "4")
    optional_positive_number("--capacity-factor", args.capacity_factor, "1.25", none_means="no capacity limit")
    positive_int("--batch", args.batch, "2")
    positive_int("--seq", args.seq, "16")
    world = start(args.device, args.timeout)
    try:
        result = run(world, args.experts, args.capacity_factor, args.batch, args.seq, args.seed)
        write_result(world, args.out, result)
    finally:
        finish()


if __name__ == "__main__":
    main()
