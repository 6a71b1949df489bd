"""Balance and its failures: the page's exercises."""

from __future__ import annotations

from ... import exercises, experiments
from ...model import moe


def _no_drop_capacity_factor(run: str = "mixtral-top2/no-aux", seed: int = 2) -> float:
    # The capacity factor at which the busiest expert of the final logged batch just fits, in
    # both layers: the largest load over the even share T·k/E.
    data = experiments.load("moe-balance")["data"]
    (stored,) = [r for r in data["runs"][run] if r["seed"] == seed]
    return max(moe.load_imbalance(layer) for layer in stored["expert_load"][-1])


exercises.register(
    "balance-1",
    lambda: moe.expected_drop_fraction_uniform(n_tokens=2048, n_experts=16, top_k=2, capacity_factor=1.0),
    rel_tol=0.01,
    unit="fraction of assignments",
    hint="Each expert's load is Binomial(T, k/E) = Binomial(2048, 1/8); the expected drop is "
    "E·E[max(0, n − C)]/(T·k) with C = ceil(c·T·k/E) = 256.",
)
exercises.register(
    "balance-2",
    _no_drop_capacity_factor,
    rel_tol=0.005,
    unit="capacity factor",
    hint="The busiest expert of either layer must fit: c = max_i n_i / (T·k/E), the largest load over "
    "the even share, over both layers of the last recorded batch of seed 2.",
)

# The options of balance-3: how the uniform router's drop fraction at c = 1 changes when the batch doubles.
_DOUBLING = {"a": 0.5, "b": 2**-0.5, "c": 1.0, "d": 2.0}


def _doubling_label() -> str:
    ratio = moe.expected_drop_fraction_uniform(2048, 8, 2, 1.0) / moe.expected_drop_fraction_uniform(1024, 8, 2, 1.0)
    return min(_DOUBLING, key=lambda label: abs(_DOUBLING[label] - ratio))


exercises.register_choice(
    "balance-3",
    options={
        "a": "it halves",
        "b": "it falls by a factor of about √2",
        "c": "it stays the same",
        "d": "it doubles",
    },
    answer=_doubling_label,
    hint="At c = 1 the capacity is the mean load T·k/E; what overflows is the upper half of the load's "
    "fluctuation, about one standard deviation √(T·p·(1−p)), while the assignments grow as T.",
    kind="predict",
)
