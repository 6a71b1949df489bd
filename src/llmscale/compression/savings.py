"""Compute saved by growing a model: FLOPs to reach a loss along a training curve, and the saving
1 − C_grown(ℓ) / C_scratch(ℓ) as a curve over target losses ℓ, with intervals over seeds.

Pure arithmetic on recorded curves (NumPy and SciPy, no torch): `llmscale.experiments.ligo_growth`
records the curves, the Growing page turns them into savings with these functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats


def _curve(flops, losses) -> tuple[np.ndarray, np.ndarray]:
    f, loss = np.asarray(flops, dtype=float), np.asarray(losses, dtype=float)
    if f.ndim != 1 or f.shape != loss.shape or len(f) < 1:
        raise ValueError(f"flops and losses must be 1-D of the same length >= 1, got shapes {f.shape} and {loss.shape}")
    if np.any(np.diff(f) < 0):
        raise ValueError("flops must be non-decreasing along the curve (cumulative FLOPs at each evaluation)")
    if not np.all(np.isfinite(loss)):
        raise ValueError("losses must be finite; a diverged run has no FLOPs-to-reach")
    return f, loss


def flops_to_reach(flops: Sequence[float], losses: Sequence[float], target: float) -> float:
    """Cumulative FLOPs at which a run first reaches validation loss `target` (nats/token), linearly
    interpolated between the two evaluations around the crossing; `math.inf` if it never does.

    flops[i] is the compute spent when losses[i] was measured (include the starting point, FLOPs
    spent before training: the small model and the operator for a grown model)."""
    f, loss = _curve(flops, losses)
    below = np.nonzero(loss <= target)[0]
    if len(below) == 0:
        return math.inf
    i = int(below[0])
    if i == 0:
        return float(f[0])
    # between evaluation i-1 (above the target) and i (at or below it)
    frac = (loss[i - 1] - target) / (loss[i - 1] - loss[i])
    return float(f[i - 1] + frac * (f[i] - f[i - 1]))


def saving(grown_flops: float, scratch_flops: float) -> float:
    """1 − C_grown / C_scratch: the fraction of scratch's compute growth saves (negative: it costs more).
    −inf when the grown run never reaches the target; nan when scratch does not either."""
    if math.isinf(scratch_flops):
        return math.nan
    if math.isinf(grown_flops):
        return -math.inf
    if scratch_flops <= 0:
        raise ValueError(f"scratch_flops={scratch_flops!r} must be > 0 (the target is reached before training starts)")
    return 1.0 - grown_flops / scratch_flops


def savings_curve(
    targets: Sequence[float],
    scratch: tuple[Sequence[float], Sequence[float]],
    grown: tuple[Sequence[float], Sequence[float]],
) -> np.ndarray:
    """`saving` at each target loss, for one pair of runs given as (flops, losses) curves."""
    return np.array(
        [saving(flops_to_reach(*grown, target), flops_to_reach(*scratch, target)) for target in targets], dtype=float
    )


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval for the mean of independent values (one per seed).
    nan bounds for fewer than two values; -inf or nan values make the whole interval -inf or nan."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} must be between 0 and 1, e.g. 0.95")
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        raise ValueError("values is empty; pass one value per seed")
    if np.any(np.isnan(x)):
        return (math.nan, math.nan, math.nan)
    if np.any(np.isinf(x)):
        m = float(x.mean())
        return (m, m, m)
    mean = float(x.mean())
    if len(x) < 2:
        return (mean, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return (mean, mean - half, mean + half)
