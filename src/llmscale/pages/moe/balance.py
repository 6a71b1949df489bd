"""Balance and its failures: the page's exercises."""

from __future__ import annotations

from ... import exercises, experiments
from ...model import moe


def _no_drop_capacity_factor(run: str = "switch-top1/no-aux", layer: int = 1) -> float:
    # The capacity factor at which the busiest expert of the final logged batch just fits.
    data = experiments.load("moe-balance")["data"]
    load = data["runs"][run]["expert_load"][-1][layer]
    return max(load) / (sum(load) / data["n_experts"])


exercises.register(
    "balance-1",
    lambda: moe.expected_drop_fraction_uniform(n_tokens=1024, n_experts=8, top_k=2, capacity_factor=1.0),
    rel_tol=0.01,
    unit="fraction of assignments",
    hint="Each expert's load is Binomial(T, k/E); the expected drop is E·E[max(0, n − C)]/(T·k) "
    "with C = ceil(c·T·k/E).",
)
exercises.register(
    "balance-2",
    _no_drop_capacity_factor,
    rel_tol=0.005,
    unit="capacity factor",
    hint="The busiest expert must fit: c = max_i n_i / (T·k/E), the largest load over the even share.",
)
