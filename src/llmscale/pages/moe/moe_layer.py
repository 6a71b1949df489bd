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
