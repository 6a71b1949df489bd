"""Measuring a scaling law ourselves: the page's exercises (answers from the stored sweep)."""

from __future__ import annotations

import functools

import numpy as np

from ... import exercises, experiments
from ...experiments import isoflop_sweep
from ...scaling import fitting

BUDGET_FLOPS = 1e14  # the budget the exercises ask about, beyond the sweep's largest
FLOOR_SHIFT = 0.1  # nats below the entropy rate: a floor the runs fit almost as well (exercise 4)


@functools.lru_cache(maxsize=2)
def _law(shift: float = 0.0):
    """Approach 3 on the stored sweep with E held at the language's entropy rate (less `shift`
    nats), as on the page."""
    record = experiments.load("isoflop-sweep")
    cols = isoflop_sweep.run_columns(record)
    return fitting.fit_law(
        cols["n_params"], cols["tokens"], cols["val_loss"], fixed_E=record["data"]["entropy_rate"] - shift
    ).law


exercises.register(
    "measuring-scaling-1",
    lambda: float(_law().compute_optimal(BUDGET_FLOPS)[0]),
    rel_tol=0.02,
    unit="parameters",
    hint="Fit the law with fitting.fit_law(..., fixed_E=H) on the stored runs, then use its "
    "compute_optimal(C): N* = G·(C/6)^a with a = β/(α+β) and G = (αA/βB)^(1/(α+β)).",
)
exercises.register(
    "measuring-scaling-2",
    lambda: float(_law().tokens_per_param(BUDGET_FLOPS)),
    rel_tol=0.02,
    unit="tokens per parameter",
    hint="D*/N* at the same budget: D* = (C/6)^b / G, so D*/N* = (C/6)^(b−a) / G².",
    kind="derive",
)
exercises.register(
    "measuring-scaling-3",
    lambda: float(6 * np.prod(_law().optimal_for_loss(_law().E + 0.01))),
    rel_tol=0.02,
    unit="FLOPs",
    hint="At the optimum the reducible loss R = L − E splits as A/N^α = a·R and B/D^β = b·R; "
    "solve each for N and D (or call optimal_for_loss) and take C = 6·N·D.",
)


def _shifted_floor_label() -> str:
    """How N*(C) at BUDGET_FLOPS moves when the floor is held FLOOR_SHIFT nats below H."""
    ratio = float(_law(FLOOR_SHIFT).compute_optimal(BUDGET_FLOPS)[0] / _law().compute_optimal(BUDGET_FLOPS)[0])
    if ratio < 0.9:
        return "d"
    return "a" if ratio <= 1.1 else "b" if ratio <= 2 else "c"


exercises.register_choice(
    "measuring-scaling-4",
    options={
        "a": "N* stays within 10% of the page's",
        "b": "N* grows by 10% to a factor of 2",
        "c": "N* grows by more than a factor of 2",
        "d": "N* shrinks by more than 10%",
    },
    answer=_shifted_floor_label,
    hint="Refit with fitting.fit_law(..., fixed_E=H - 0.1) and compare compute_optimal(1e14)[0] "
    "with the page's law. A lower floor leaves more reducible loss for A/N^α to explain over the "
    "same runs: look at how α and a change.",
    kind="modify",
)
