"""A mixture-of-experts layer: the page's exercises."""

from __future__ import annotations

import torch

from ... import exercises, presets
from ...model import moe


def _balance_of_lopsided_router(share: float = 0.4, n_experts: int = 8) -> float:
    # A fraction `share` of assignments and of router probability on expert 0, the rest spread evenly.
    shares = torch.tensor([share] + [(1 - share) / (n_experts - 1)] * (n_experts - 1), dtype=torch.float64)
    return float(moe.balance_loss(shares[None, :], shares, top_k=1))


exercises.register(
    "moe-layer-1",
    lambda: moe.capacity(
        n_tokens=8192,
        n_experts=presets.get("gpt4-reported").n_experts,
        top_k=presets.get("gpt4-reported").top_k,
        capacity_factor=moe.SWITCH_CAPACITY_FACTORS[-1],
    ),
    rel_tol=0.0,
    unit="assignments per expert",
    hint="C = ceil(c·T·k/E): 8192 tokens make 2·8192 assignments, shared by 16 experts, times 1.25.",
)
exercises.register(
    "moe-layer-2",
    _balance_of_lopsided_router,
    rel_tol=0.002,
    unit="(dimensionless)",
    hint="With f_i = P_i the loss is E·Σ f_i²: 8·(0.4² + 7·(0.6/7)²).",
)

# The capacity section's four-token batch: each token's first and second choice (E = 4, k = 2, C = 2).
TOY_FIRST, TOY_SECOND = (0, 0, 0, 1), (1, 1, 2, 0)


def _token_major_casualty() -> str:
    # Queue the batch token by token (rows of one assignment each, row = 2·token + slot) and
    # find the token none of whose assignments is kept.
    rows = torch.tensor([[e] for pair in zip(TOY_FIRST, TOY_SECOND) for e in pair])
    plan = moe.plan_dispatch(rows, 4, 2)
    kept = torch.bincount(plan.token // 2, minlength=len(TOY_FIRST))
    lost = tuple(t for t in range(len(TOY_FIRST)) if kept[t] == 0)
    labels = {(): "a", (1,): "b", (2,): "c", (3,): "d"}
    if lost not in labels:
        raise ValueError(f"tokens {lost} lose every choice; the options cover none or one of tokens 1 to 3")
    return labels[lost]


exercises.register_choice(
    "moe-layer-3",
    options={"a": "no token", "b": "token 1", "c": "token 2", "d": "token 3"},
    answer=_token_major_casualty,
    hint="Write each expert's queue in token order: expert 0 gets t0, t1, t2, t3 and keeps two; "
    "expert 1 gets t0, t1, t3 and keeps two. Which token is left with nothing?",
    kind="predict",
)
