"""A mixture-of-experts feed-forward layer: top-k router, expert capacity, grouped dispatch, router losses.

A router (one linear map d → E) scores every token against every expert; each token goes to
its k best experts and their outputs are mixed with the gate weights. Two gatings:

* ``"topk-softmax"`` (Mixtral, and GShard's renormalised top-2): softmax over the k chosen
  logits, so a token's gate weights sum to 1. With k = 1 the weight is always 1 and the
  language-model loss sends the router no gradient: only the auxiliary losses train it.
* ``"softmax-topk"`` (Switch Transformer, DeepSeek-V2): softmax over all E logits, then the k
  largest probabilities, not renormalised.
* ``"sigmoid-topk"`` (DeepSeek-V3): a sigmoid score per expert; the k best (by score plus a
  per-expert bias buffer, zero here: DeepSeek's auxiliary-loss-free balancing adjusts it during
  training, which the book does not do) are kept and their scores renormalised to sum to 1.
  Its group-limited routing (experts picked from the best few groups) is left out.

DeepSeek-style experts (DeepSeekMoE): experts may be narrower than d_ff (`expert_d_ff`,
"fine-grained"), gate weights may be scaled (`routed_scaling_factor`), and `n_shared_experts`
experts, built as one block n_shared·expert width wide, process every token beside the routed
ones, outside the router and its capacity.

Capacity: with a ``capacity_factor`` c, each expert takes at most ``ceil(c · T · k / E)`` of
the T·k assignments of a batch of T tokens. Assignments beyond it are *dropped*: that expert
adds nothing for that token, whose residual stream passes on unchanged (if all k were dropped).
Priority follows GShard: every token's first choice before any second choice, then token order.

Dispatch groups the assignments by expert with one stable sort of the expert ids, so each
expert reads one contiguous slice (``"sorted"``), or copies them into a padded
(E, capacity, d) buffer for batched matrix products (``"batched"``). ``"loop"`` is the naive
reference: one boolean mask per expert. All three give the same numbers. ``"sorted"`` is the
default: it computes no padding, so a lopsided router cannot inflate its work
(``python -m llmscale.benchmarks.moe_dispatch`` times the three).

Router losses: the Switch load-balancing loss E·Σ_i f_i·P_i (Fedus et al. 2022), 1 for a
perfectly uniform router, and the router z-loss mean(logsumexp(logits)²) (Zoph et al. 2022).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..config import ModelConfig
from .layers import FeedForward, activation

# Capacity factors of the Switch Transformer's experiments (Fedus et al. 2022, JMLR, Table 1).
SWITCH_CAPACITY_FACTORS = (1.0, 1.25)
DISPATCHES = ("sorted", "batched", "loop")


# ---------------------------------------------------------------------------
# Pure functions: capacity, the two router losses, the dispatch plan
# ---------------------------------------------------------------------------


def capacity(n_tokens: int, n_experts: int, top_k: int, capacity_factor: float | None) -> int | None:
    """Assignments one expert may take: ceil(capacity_factor · T · k / E); None means no limit."""
    if capacity_factor is None:
        return None
    if isinstance(capacity_factor, bool) or not capacity_factor > 0:
        raise ValueError(f"capacity_factor={capacity_factor!r} must be > 0 (e.g. 1.25) or None for no limit")
    # round() first so that e.g. 1.1·100 = 110.00000000000001 does not become 111
    return math.ceil(round(capacity_factor * n_tokens * top_k / n_experts, 9))


def balance_loss(probs: torch.Tensor, tokens_per_expert: torch.Tensor, top_k: int) -> torch.Tensor:
    """Switch load-balancing loss E · Σ_i f_i · P_i (1 when routing is uniform).

    probs: (T, E) router softmax over all experts; P_i is its mean over tokens.
    tokens_per_expert: (E,) assignments the router made (before capacity); f_i = n_i / (T·k),
    so that Σ f_i = 1 for any k. (Hugging Face's Mixtral loss sums over the k slots instead,
    which is k times this.) Only P carries gradient: f counts discrete choices.
    """
    n_tokens, n_experts = probs.shape
    f = tokens_per_expert.to(probs.dtype) / (n_tokens * top_k)
    return n_experts * torch.sum(f * probs.mean(dim=0))


def z_loss(logits: torch.Tensor) -> torch.Tensor:
    """Router z-loss of ST-MoE: the mean over tokens of logsumexp(logits)², (T, E) → scalar."""
    return torch.logsumexp(logits, dim=-1).square().mean()


def dropped_count(tokens_per_expert: torch.Tensor, capacity_: int | None) -> int:
    """Assignments that exceed the capacity: Σ_i max(0, n_i − capacity)."""
    if capacity_ is None:
        return 0
    return int((tokens_per_expert - capacity_).clamp(min=0).sum())


def expected_drop_fraction_uniform(n_tokens: int, n_experts: int, top_k: int, capacity_factor: float | None) -> float:
    """Expected fraction of assignments dropped when every token picks k distinct experts uniformly.

    Each expert's load is then Binomial(T, k/E), so the expected drop is E·E[max(0, n − C)]/(T·k).
    """
    cap = capacity(n_tokens, n_experts, top_k, capacity_factor)
    if cap is None:
        return 0.0
    p = top_k / n_experts
    if p >= 1:
        return 0.0
    n = torch.arange(n_tokens + 1, dtype=torch.float64)
    log_pmf = (
        torch.lgamma(torch.tensor(n_tokens + 1.0, dtype=torch.float64))
        - torch.lgamma(n + 1)
        - torch.lgamma(n_tokens - n + 1)
        + n * math.log(p)
        + (n_tokens - n) * math.log1p(-p)
    )
    excess = (n - cap).clamp(min=0)
    return float(n_experts * torch.sum(excess * log_pmf.exp()) / (n_tokens * top_k))


@dataclass(frozen=True)
class DispatchPlan:
    """Kept assignments grouped by expert (expert 0's first, in priority order within each expert).

    token, slot, expert, position: (n_kept,) the token, which of its k choices, the expert, and
    its place in that expert's queue. kept_per_expert, tokens_per_expert: (E,) after and before
    capacity. capacity: the limit used (None: none).
    """

    token: torch.Tensor
    slot: torch.Tensor
    expert: torch.Tensor
    position: torch.Tensor
    kept_per_expert: torch.Tensor
    tokens_per_expert: torch.Tensor
    capacity: int | None


def plan_dispatch(experts: torch.Tensor, n_experts: int, capacity_: int | None = None) -> DispatchPlan:
    """Group the (T, k) expert choices by expert with one stable sort; drop what exceeds capacity.

    The choices are read slot-major (every token's first choice, then every second choice), so
    the stable sort keeps that priority inside each expert's group and the capacity cut drops
    the latest second choices first (GShard's rule).
    """
    n_tokens, top_k = experts.shape
    flat = experts.t().reshape(-1)  # index = slot·T + token
    order = torch.argsort(flat, stable=True)  # grouped by expert, priority kept
    sorted_expert = flat[order]
    tokens_per_expert = torch.bincount(flat, minlength=n_experts)
    starts = torch.cumsum(tokens_per_expert, 0) - tokens_per_expert
    position = torch.arange(flat.numel(), device=flat.device) - starts[sorted_expert]
    if capacity_ is not None:
        keep = position < capacity_
        order, sorted_expert, position = order[keep], sorted_expert[keep], position[keep]
        kept_per_expert = tokens_per_expert.clamp(max=capacity_)
    else:
        kept_per_expert = tokens_per_expert
    return DispatchPlan(
        token=order % n_tokens,
        slot=order // n_tokens,
        expert=sorted_expert,
        position=position,
        kept_per_expert=kept_per_expert,
        tokens_per_expert=tokens_per_expert,
        capacity=capacity_,
    )


# ---------------------------------------------------------------------------
# The layer
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Routing:
    """The router's decision for T tokens: logits and probs (T, E), experts and weights (T, k)."""

    logits: torch.Tensor
    probs: torch.Tensor
    experts: torch.Tensor
    weights: torch.Tensor


@dataclass
class MoEStats:
    """What one layer's router did on its last forward pass.

    tokens_per_expert: (E,) assignments routed to each expert (before capacity; sums to T·k).
    kept_per_expert: (E,) assignments each expert processed. balance_loss and z_loss are the
    scalar router losses (with gradient). capacity: the per-expert limit, None if unlimited.
    """

    tokens_per_expert: torch.Tensor
    kept_per_expert: torch.Tensor
    n_tokens: int
    top_k: int
    capacity: int | None
    balance_loss: torch.Tensor
    z_loss: torch.Tensor

    @property
    def dropped(self) -> int:
        """Assignments dropped for want of capacity."""
        return int(self.tokens_per_expert.sum() - self.kept_per_expert.sum())

    @property
    def dropped_fraction(self) -> float:
        """Dropped assignments as a fraction of the T·k made."""
        return self.dropped / (self.n_tokens * self.top_k)

    @property
    def load_share(self) -> torch.Tensor:
        """(E,) each expert's share of the assignments (uniform: 1/E each)."""
        return self.tokens_per_expert.double() / (self.n_tokens * self.top_k)


def load_entropy(tokens_per_expert) -> float:
    """Entropy of the load distribution divided by log E: 1 for uniform load, 0 when one expert takes all."""
    counts = torch.as_tensor(tokens_per_expert, dtype=torch.float64)
    share = counts / counts.sum()
    h = -(share[share > 0] * share[share > 0].log()).sum()
    return float(h / math.log(len(counts))) if len(counts) > 1 else 1.0


def load_imbalance(tokens_per_expert) -> float:
    """The busiest expert's load over the even share, max_i n_i / (Σ n_i / E): 1 for even load,
    E/k when one expert is in every token's top k; also the smallest capacity factor at which
    the batch drops nothing."""
    counts = torch.as_tensor(tokens_per_expert).flatten().tolist()
    if not counts or any(n < 0 for n in counts) or sum(counts) <= 0:
        raise ValueError(
            f"tokens_per_expert={tokens_per_expert!r} must be one count >= 0 per expert, "
            "not all zero, e.g. tokens_per_expert=[3, 1, 0, 4]"
        )
    return max(counts) / (sum(counts) / len(counts))


class MoELayer(nn.Module):
    """Top-k routed feed-forward experts with optional capacity, and the router's losses and statistics.

    Built from a `ModelConfig` (n_experts, top_k, ffn, d_ff, bias, capacity_factor, gating);
    each expert is a `FeedForward` of the config. After each forward pass `self.stats` holds an
    `MoEStats`. `dispatch` picks the implementation ("sorted", "batched" or "loop"); it changes
    speed, not results.
    """

    def __init__(self, cfg: ModelConfig, dispatch: str = "sorted"):
        super().__init__()
        if dispatch not in DISPATCHES:
            raise ValueError(f"dispatch={dispatch!r} is not one of {DISPATCHES}; choose one of them")
        self.n_experts, self.top_k = cfg.n_experts, cfg.top_k
        self.capacity_factor, self.gating, self.dispatch = cfg.capacity_factor, cfg.gating, dispatch
        self.ffn_kind = cfg.ffn
        self.routed_scaling_factor = cfg.routed_scaling_factor
        self.router = nn.Linear(cfg.d_model, cfg.n_experts, bias=cfg.bias)
        expert_cfg = cfg if cfg.expert_ff_dim == cfg.ff_dim else cfg.replace(d_ff=cfg.expert_ff_dim)
        self.experts = nn.ModuleList(FeedForward(expert_cfg) for _ in range(cfg.n_experts))
        self.shared = (
            FeedForward(cfg.replace(d_ff=cfg.n_shared_experts * cfg.expert_ff_dim)) if cfg.n_shared_experts else None
        )
        if self.gating == "sigmoid-topk":
            # DeepSeek-V3's selection bias (a buffer, not a parameter); zero: no balancing updates here.
            self.register_buffer("score_bias", torch.zeros(cfg.n_experts))
        self.stats: MoEStats | None = None

    def route(self, x: torch.Tensor) -> Routing:
        """Router decision for tokens x (T, d); the softmax runs in float32 (ST-MoE's advice)."""
        logits = self.router(x).float()
        probs = logits.softmax(dim=-1)
        if self.gating == "topk-softmax":
            top_logits, experts = logits.topk(self.top_k, dim=-1)
            weights = top_logits.softmax(dim=-1)
        elif self.gating == "sigmoid-topk":
            scores = logits.sigmoid()
            experts = (scores + self.score_bias.float()).topk(self.top_k, dim=-1).indices
            weights = scores.gather(1, experts)
            weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20)
        else:
            weights, experts = probs.topk(self.top_k, dim=-1)
        if self.routed_scaling_factor != 1.0:
            weights = weights * self.routed_scaling_factor
        return Routing(logits, probs, experts, weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        routing = self.route(x)
        cap = capacity(x.shape[0], self.n_experts, self.top_k, self.capacity_factor)
        if self.dispatch == "loop":
            y, tokens_per_expert, kept = _loop_dispatch(self.experts, x, routing, cap)
        else:
            plan = plan_dispatch(routing.experts, self.n_experts, cap)
            group = self._batched_experts if self.dispatch == "batched" else self._sorted_experts
            out = group(x, plan)
            weight = routing.weights[plan.token, plan.slot]
            y = torch.zeros_like(x).index_add_(0, plan.token, (out * weight[:, None]).to(x.dtype))
            tokens_per_expert, kept = plan.tokens_per_expert, plan.kept_per_expert
        self.stats = MoEStats(
            tokens_per_expert=tokens_per_expert.detach(),
            kept_per_expert=kept.detach(),
            n_tokens=x.shape[0],
            top_k=self.top_k,
            capacity=cap,
            balance_loss=balance_loss(routing.probs, tokens_per_expert, self.top_k),
            z_loss=z_loss(routing.logits),
        )
        if self.shared is not None:
            y = y + self.shared(x)
        return y.reshape(shape)

    def _sorted_experts(self, x: torch.Tensor, plan: DispatchPlan) -> torch.Tensor:
        """Each expert on its contiguous slice of the sorted assignments (one gather, no masks)."""
        xs = x[plan.token]
        outs = [
            expert(chunk)
            for expert, chunk in zip(self.experts, xs.split(plan.kept_per_expert.tolist()))
            if chunk.shape[0]
        ]
        return torch.cat(outs) if outs else xs

    def _batched_experts(self, x: torch.Tensor, plan: DispatchPlan) -> torch.Tensor:
        """All experts at once: a padded (E, C, d) buffer and batched matrix products."""
        E = self.n_experts
        C = plan.capacity if plan.capacity is not None else int(plan.kept_per_expert.max())
        rows = plan.expert * C + plan.position
        buf = x.new_zeros(E * C, x.shape[1]).index_copy_(0, rows, x[plan.token]).view(E, C, -1)

        def linear(h, name):
            w = torch.stack([getattr(e, name).weight for e in self.experts])  # (E, out, in)
            b = getattr(self.experts[0], name).bias
            if b is None:
                return torch.bmm(h, w.transpose(1, 2))
            bias = torch.stack([getattr(e, name).bias for e in self.experts])[:, None, :]
            return torch.baddbmm(bias, h, w.transpose(1, 2))

        gate = linear(buf, "gate") if self.ffn_kind == "swiglu" else None
        h = activation(self.ffn_kind, linear(buf, "up"), gate)
        return linear(h, "down").reshape(E * C, -1)[rows]


def _loop_dispatch(experts: nn.ModuleList, x: torch.Tensor, routing: Routing, cap: int | None):
    """Naive reference: one boolean mask per expert, the same priority and capacity rule."""
    y = torch.zeros_like(x)
    tokens_per_expert = torch.zeros(len(experts), dtype=torch.long, device=x.device)
    kept = torch.zeros_like(tokens_per_expert)
    for e, expert in enumerate(experts):
        slot, token = (routing.experts.t() == e).nonzero(as_tuple=True)  # slot-major: priority order
        tokens_per_expert[e] = token.numel()
        if cap is not None:
            slot, token = slot[:cap], token[:cap]
        kept[e] = token.numel()
        if token.numel():
            weight = routing.weights[token, slot]
            y.index_add_(0, token, (expert(x[token]) * weight[:, None]).to(x.dtype))
    return y, tokens_per_expert, kept


@torch.no_grad()
def capacity_sweep(net: nn.Module, batches, capacity_factors) -> list[dict]:
    """Run a mixture-of-experts decoder on (x, y) batches at each capacity factor (None: no limit).

    Returns, per factor, the fraction of assignments dropped in each layer and the mean
    cross-entropy (nats/token). The layers' own capacity factors are restored afterwards.
    """
    layers = [m for m in net.modules() if isinstance(m, MoELayer)]
    if not layers:
        raise ValueError("capacity_sweep needs a model with mixture-of-experts layers (n_experts > 1)")
    saved, was_training = [layer.capacity_factor for layer in layers], net.training
    net.eval()
    sweep = []
    try:
        for factor in capacity_factors:
            if factor is not None:
                capacity(1, 1, 1, factor)  # validates the factor
            for layer in layers:
                layer.capacity_factor = factor
            dropped, made, losses = [0] * len(layers), [0] * len(layers), []
            for x, y in batches:
                losses.append(net(x, y)[1].item())
                for i, layer in enumerate(layers):
                    dropped[i] += layer.stats.dropped
                    made[i] += layer.stats.n_tokens * layer.stats.top_k
            sweep.append(
                {
                    "capacity_factor": factor,
                    "dropped_fraction": [round(d / m, 6) for d, m in zip(dropped, made)],
                    "loss": round(sum(losses) / len(losses), 5),
                }
            )
    finally:
        for layer, factor in zip(layers, saved):
            layer.capacity_factor = factor
        net.train(was_training)
    return sweep
