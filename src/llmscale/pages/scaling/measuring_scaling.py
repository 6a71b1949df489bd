"""Measuring a scaling law ourselves: the page's exercises (answers from the stored sweep)."""

from __future__ import annotations

import functools

import numpy as np

from ... import exercises, experiments
from ...experiments import isoflop_sweep
from ...scaling import fitting

BUDGET_FLOPS = 1e14  # the budget the exercises ask about, beyond the sweep's largest


@functools.lru_cache(maxsize=1)
def _law():
    """Approach 3 on the stored sweep with E held at the language's entropy rate, as on the page."""
    record = experiments.load("isoflop-sweep")
    cols = isoflop_sweep.run_columns(record)
    return fitting.fit_law(
        cols["n_params"], cols["tokens"], cols["val_loss"], fixed_E=record["data"]["entropy_rate"]
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
)
exercises.register(
    "measuring-scaling-3",
    lambda: float(6 * np.prod(_law().optimal_for_loss(_law().E + 0.01))),
    rel_tol=0.02,
    unit="FLOPs",
    hint="At the optimum the reducible loss R = L − E splits as A/N^α = a·R and B/D^β = b·R; "
    "solve each for N and D (or call optimal_for_loss) and take C = 6·N·D.",
)
