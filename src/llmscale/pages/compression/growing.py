"""Growing a model: the page's claims (the LiGO article's "growing from a small model saves training
compute" and "LiGO beats the other growth methods", checked on the book's own growth run), its
exercises, and the helpers it reads the stored `ligo-growth` run with.

Compute is counted as in `experiments.ligo_growth`: every training step of the large model costs
`tokens_per_step × flops_per_token["large"]`; a grown model's curve starts at its up-front FLOPs
(the small model's training, plus the operator's steps for LiGO) when `counted` is True.
Savings pair seeds: grown seed s against scratch seed s (same data order, same validation batches).
"""

from __future__ import annotations

import math

import numpy as np

from ... import claims, exercises, experiments
from ...compression import savings

METHODS = ("scratch", "ligo", "ligo-untrained", "stack", "net2net")
GROWN = METHODS[1:]
LABELS = {
    "scratch": "scratch",
    "ligo": "LiGO",
    "ligo-untrained": "LiGO untrained",
    "stack": "stacking (StackBERT)",
    "net2net": "Net2Net",
}
BUDGET_FRACTIONS = (0.5, 1.0)


def stored() -> dict:
    """The stored `ligo-growth` data (its record's "data")."""
    return experiments.load("ligo-growth")["data"]


def _method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {METHODS}")
    return method


def seeds(data: dict) -> list[int]:
    """The seeds every method was run on at its best learning rate."""
    return [int(s) for s in data["settings"]["seeds"]]


def step_flops(data: dict) -> float:
    """FLOPs of one training step of the large model (forward and backward, one batch)."""
    return float(data["tokens_per_step"] * data["flops_per_token"]["large"])


def budget_flops(data: dict) -> float:
    """FLOPs of scratch's whole run: its steps × one step."""
    return data["settings"]["steps"] * step_flops(data)


def upfront_flops(method: str, seed: int, data: dict) -> float:
    """FLOPs a method spends before its large model's first step: 0 for scratch; the small model's
    training for every grown model; plus the operator's steps for LiGO (trained)."""
    if _method(method) == "scratch":
        return 0.0
    key = str(seed)
    if key not in data["small_models"]:
        raise ValueError(f"seed={seed!r} has no small model; choose one of {list(data['small_models'])}")
    total = float(data["small_models"][key]["flops"])
    if method == "ligo":
        total += data["settings"]["op_steps"] * float(data["operator_step_flops"]["total"])
    return total


def run(method: str, seed: int, data: dict, lr: float | None = None) -> dict:
    """The stored run of `method` on `seed` at `lr` (default: the method's best learning rate)."""
    lr = data["best_lr"][_method(method)] if lr is None else lr
    for r in data["runs"]:
        if r["method"] == method and r["seed"] == seed and math.isclose(r["lr"], lr):
            return r
    raise ValueError(f"no stored run of method={method!r} at seed={seed!r}, lr={lr!r}")


def curve(method: str, seed: int, data: dict, counted: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(cumulative FLOPs, validation loss) of the best-rate run; FLOPs include the up-front ones
    when `counted`."""
    r = run(method, seed, data)
    flops = np.asarray(r["steps"], dtype=float) * step_flops(data)
    if counted:
        flops = flops + upfront_flops(method, seed, data)
    return flops, np.asarray(r["val_loss"], dtype=float)


def lr_sweep(data: dict) -> dict[str, dict[float, float]]:
    """Per method, {learning rate: final validation loss} of the seed-0 sweep."""
    first = seeds(data)[0]
    out: dict[str, dict[float, float]] = {m: {} for m in METHODS}
    for r in data["runs"]:
        if r["seed"] == first:
            out[r["method"]][r["lr"]] = r["val_loss"][-1]
    return {m: dict(sorted(v.items())) for m, v in out.items()}


def at_grid_edge(best: float, grid) -> str | None:
    """ "lowest" or "highest" when `best` is the grid's end (a better rate may lie beyond), else None."""
    grid = sorted(grid)
    if len(grid) < 2:
        raise ValueError(f"grid={grid!r} needs at least two learning rates to have an inside")
    if math.isclose(best, grid[0]):
        return "lowest"
    if math.isclose(best, grid[-1]):
        return "highest"
    return None


def loss_at_fraction(method: str, seed: int, fraction: float, data: dict) -> float:
    """Validation loss of the best-rate run at `fraction` of its steps (linear between evaluations)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction={fraction!r} must be in (0, 1], e.g. 0.5 for half the budget")
    r = run(method, seed, data)
    return float(np.interp(fraction * r["steps"][-1], r["steps"], r["val_loss"]))


def paired_savings(targets, method: str, data: dict, counted: bool = True) -> np.ndarray:
    """(seeds × targets) savings 1 − C_method(ℓ) / C_scratch(ℓ), grown seed s against scratch seed s."""
    return np.array(
        [
            savings.savings_curve(targets, curve("scratch", s, data, counted), curve(method, s, data, counted))
            for s in seeds(data)
        ]
    )


def band(per_seed: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, low, high) over seeds (rows) of each column: `savings.t_interval` per target."""
    per_seed = np.asarray(per_seed, dtype=float)
    cols = [savings.t_interval(per_seed[:, j], confidence) for j in range(per_seed.shape[1])]
    return tuple(np.array(x) for x in zip(*cols)) if cols else (np.array([]),) * 3


def budget_saving(method: str, fraction: float, data: dict, counted: bool = True) -> tuple[list[float], tuple]:
    """(per-seed savings, (mean, low, high)) at the loss scratch seed s reaches at `fraction` of its
    steps, for grown seed s."""
    values = []
    for s in seeds(data):
        target = loss_at_fraction("scratch", s, fraction, data)
        grown = savings.flops_to_reach(*curve(method, s, data, counted), target)
        scratch = savings.flops_to_reach(*curve("scratch", s, data, counted), target)
        values.append(savings.saving(grown, scratch))
    return values, savings.t_interval(values)


def sign_of(interval: tuple[float, float, float]) -> str:
    """ "positive" or "negative" when the interval lies on one side of 0, "undecided" when it
    contains 0 (or cannot be computed)."""
    _, low, high = interval
    if math.isnan(low) or math.isnan(high):
        return "undecided"
    if low > 0:
        return "positive"
    if high < 0:
        return "negative"
    return "undecided"


def paired_difference(method: str, other: str, fraction: float, data: dict, counted: bool = True) -> tuple:
    """t-interval over seeds of (saving of `method` − saving of `other`) at a budget point."""
    a, _ = budget_saving(method, fraction, data, counted)
    b, _ = budget_saving(other, fraction, data, counted)
    with np.errstate(invalid="ignore"):
        return savings.t_interval(np.array(a) - np.array(b))


def break_even_steps(seed: int, data: dict, method: str = "ligo") -> float:
    """Large-model steps the grown run must save against scratch to pay for its up-front FLOPs."""
    return upfront_flops(method, seed, data) / step_flops(data)


def fmt_interval(interval, minus_inf: str = "−∞ (not reached on every seed)", plus_inf: str = "+∞") -> str:
    """ "+15.2% [+12.1%, +18.4%]" for (mean, low, high); the given words for an infinite mean."""
    mean, low, high = interval
    if math.isnan(mean):
        return "undefined"
    if math.isinf(mean):
        return minus_inf if mean < 0 else plus_inf
    if math.isnan(low):
        return f"{mean:+.1%}"
    return f"{mean:+.1%} [{low:+.1%}, {high:+.1%}]"


_fmt = fmt_interval


# --- claims --------------------------------------------------------------------------------------


@claims.register(
    "grow-ligo-saves-compute",
    claims.LIGO_HALF_COST,
    "Initialising a large model from a small pretrained one with LiGO saves training compute "
    "(checked on the book's run: the FLOPs LiGO needs to reach the loss scratch reaches with its whole "
    "budget, the small model and the operator counted, are fewer than scratch's, with 95% confidence "
    "over paired seeds).",
    True,
    "yes/no",
    basis="derived",
)
def _():
    data = stored()
    full = budget_saving("ligo", 1.0, data)[1]
    half = budget_saving("ligo", 0.5, data)[1]
    uncounted = budget_saving("ligo", 1.0, data, counted=False)[1]
    return sign_of(full) == "positive", (
        f"At the loss scratch reaches after its {data['settings']['steps']} steps LiGO saves {_fmt(full)} "
        f"of the FLOPs (mean and 95% t-interval over seeds), {_fmt(uncounted)} if the small model and "
        f"the operator were free; at the loss of half the budget {_fmt(half)}. A 2-layer d = 64 model grown "
        f"to 4 layers d = 128 on a synthetic language, {data['settings']['steps']} steps of "
        f"{data['tokens_per_step']:,} tokens: the saving depends on the target loss (the page's curves), "
        "and this run is far from the paper's scale."
    )


def beats_baselines(fraction: float, data: dict, counted: bool = True) -> tuple[bool, dict[str, tuple]]:
    """(LiGO's saving exceeds every baseline's with 95% confidence over paired seeds, the intervals)."""
    diffs = {m: paired_difference("ligo", m, fraction, data, counted) for m in GROWN if m != "ligo"}
    return all(sign_of(d) == "positive" for d in diffs.values()), diffs


@claims.register(
    "grow-ligo-beats-baselines",
    claims.LIGO_HALF_COST,
    "LiGO's growth operator trains more efficiently than the other ways of growing a model "
    "(StackBERT, bert2BERT and the like) (checked on the book's run: LiGO's counted saving at the loss "
    "scratch reaches with its whole budget exceeds that of stacking, Net2Net's function-preserving "
    "growth and the untrained operator, each difference with 95% confidence over paired seeds).",
    True,
    "yes/no",
    basis="derived",
)
def _():
    data = stored()
    holds, diffs = beats_baselines(1.0, data)
    _, diffs_uncounted = beats_baselines(1.0, data, counted=False)
    plus = "+∞ (it misses the target on a seed LiGO reaches)"
    detail = "; ".join(
        f"{LABELS[m]} {_fmt(d, plus_inf=plus)} ({_fmt(diffs_uncounted[m], plus_inf=plus)} uncounted)"
        for m, d in diffs.items()
    )
    return holds, (
        "LiGO's saving minus each baseline's, paired by seed, at the full-budget loss (mean and 95% "
        f"t-interval): {detail}. "
        "The paper compares against StackBERT, MSLT, bert2BERT and KI on BERT and GPT-2; the book "
        "reimplements stacking and function-preserving growth only."
    )


# --- exercises -----------------------------------------------------------------------------------


exercises.register(
    "growing-1",
    lambda: break_even_steps(0, stored()),
    rel_tol=0.01,
    unit="steps",
    hint="LiGO's up-front FLOPs are the small model's training (its steps × tokens per step × its "
    "FLOPs per token) plus the operator's steps (operator_step_flops['total'] each); divide by one "
    "step of the large model.",
    kind="derive",
)


def _net2net_starts_at() -> str:
    data = stored()
    s = seeds(data)[0]
    start = run("net2net", s, data)["val_loss"][0]
    small_end = data["small_models"][str(s)]["val_loss"][-1]
    if abs(start - small_end) < 1e-3:
        return "a"
    return "b" if start < small_end else "c"


exercises.register_choice(
    "growing-2",
    {
        "a": "the small model's final validation loss, to within a thousandth",
        "b": "below the small model's loss: the large model has more capacity",
        "c": "above the small model's loss: the new units are random",
    },
    _net2net_starts_at,
    hint="Net2Net copies each unit and splits the weights that read the copies so they sum to the "
    "original; new layers have zero output projections. What function does the grown model compute?",
    kind="predict",
)
