"""Failures, checkpoints and goodput: how often a large synchronous job stops, how often to save it.

Arithmetic, no torch. Times are in seconds. Notation: M the mean time between failures (MTBF)
of the whole job, δ the time to write one checkpoint, R the time to restart after a failure
(relaunch, reload the checkpoint), τ the compute time between two checkpoints (the interval).

**Failure rates.** A synchronous job stops when any one of its n GPUs (or the host, link or
switch that serves it) fails. With independent failures at rate λ per GPU, the job fails at
rate n·λ: its MTBF is the per-GPU MTBF divided by n (eq. mtbf-cluster). Llama 3's report of
419 unexpected interruptions in a 54-day snapshot on 16,384 H100s (`published`,
``llama3-405b.*``) gives a per-GPU MTBF of 16,384 · 54 days / 419 ≈ 5.8 years, counting every
interruption as one GPU's (78% were hardware).

**Goodput** is the useful fraction of wall time (Llama 3's "effective training time"). The model
(eq. goodput): failures arrive as a Poisson process of rate 1/M in wall time; the job computes τ,
writes a checkpoint in δ, and repeats; a failure loses the work since the last completed
checkpoint, on average half a segment (τ + δ)/2, since a Poisson arrival is (to first order)
uniform over the segment it strikes, plus the restart R. Useful work T then takes wall time W
with::

    W = T·(τ + δ)/τ + (W/M)·(R + (τ + δ)/2)          (fault-free time, plus W/M failures)
    G = T/W = τ/(τ + δ) · (1 − (R + (τ + δ)/2)/M)       (eq. goodput)

It is first order in (τ + δ)/M and R/M. Setting dG/dτ = 0 gives (τ + δ)² = 2·δ·(M − R), so
τ* = √(2δ(M − R)) − δ (`best_interval_s`), which is Young's τ = √(2δM) (1974) when δ, R ≪ M.
Daly (2006) keeps the higher orders: for the same Poisson failures striking at any time
(during checkpoints and restarts too, a failed restart starting over), the expected wall time
is exactly W = M·e^{R/M}·(e^{(τ+δ)/M} − 1)·T/τ (`goodput_exponential`), and his estimate of its
optimum is τ = √(2δM)·[1 + ⅓·√(δ/2M) + (1/9)·(δ/2M)] − δ for δ < 2M, and τ = M beyond.
`simulate_goodput` runs that process by Monte Carlo (tests/test_reliability.py checks both
formulas against it).
"""

from __future__ import annotations

import math

import numpy as np

from .. import published
from .._validate import (
    non_negative_number,
    number_array,
    positive_int,
    positive_number,
    scalar_or_array,
)
from ..units import SECONDS_PER_DAY

# --- failure rates ------------------------------------------------------------------------------


def per_gpu_mtbf_s(n_failures: float, period_s: float, n_gpus: int) -> float:
    """Mean time between failures of one GPU (s) implied by `n_failures` job interruptions in
    `period_s` seconds on `n_gpus` GPUs, each interruption counted as one GPU's: n·period/failures."""
    n_failures = positive_number("n_failures", n_failures, "419")
    period_s = positive_number("period_s", period_s, "54 * 86400")
    n_gpus = positive_int("n_gpus", n_gpus, "16384")
    return n_gpus * period_s / n_failures


def cluster_mtbf_s(per_gpu_mtbf_s: float, n_gpus: int) -> float:
    """MTBF of a job on `n_gpus` GPUs that fail independently (s): per-GPU MTBF / n (eq. mtbf-cluster)."""
    per_gpu_mtbf_s = positive_number("per_gpu_mtbf_s", per_gpu_mtbf_s, "5e8")
    n_gpus = positive_int("n_gpus", n_gpus, "25000")
    return per_gpu_mtbf_s / n_gpus


def expected_failures(n_gpus: int, period_s: float, per_gpu_mtbf_s: float) -> float:
    """Expected failures of a job on `n_gpus` GPUs in `period_s` seconds: n·period/per-GPU MTBF."""
    period_s = non_negative_number("period_s", period_s, "90 * 86400")
    return period_s / cluster_mtbf_s(per_gpu_mtbf_s, n_gpus)


def llama3_per_gpu_mtbf_s(hardware_only: bool = False) -> float:
    """Per-GPU MTBF (s) implied by Llama 3's 419 unexpected interruptions in its 54-day snapshot on
    16,384 H100s; `hardware_only` counts only the 78% attributed to (suspected) hardware."""
    if not isinstance(hardware_only, bool):
        raise ValueError(f"hardware_only={hardware_only!r} must be True or False")
    failures = published.get("llama3-405b.unexpected_interruptions").value
    if hardware_only:
        failures *= published.get("llama3-405b.hardware_interruption_fraction").value
    days = published.get("llama3-405b.snapshot_days").value
    n_gpus = int(published.get("llama3-405b.n_gpus").value)
    return per_gpu_mtbf_s(failures, days * SECONDS_PER_DAY, n_gpus)


# --- checkpoint intervals -------------------------------------------------------------------------


def young_interval_s(checkpoint_s: float, mtbf_s: float) -> float:
    """Young's (1974) first-order optimum compute time between checkpoints (s): √(2·δ·M)."""
    checkpoint_s = positive_number("checkpoint_s", checkpoint_s, "60")
    mtbf_s = positive_number("mtbf_s", mtbf_s, "7200")
    return math.sqrt(2 * checkpoint_s * mtbf_s)


def daly_interval_s(checkpoint_s: float, mtbf_s: float) -> float:
    """Daly's (2006, eq. 37) higher-order optimum compute time between checkpoints (s):
    √(2δM)·[1 + ⅓·√(δ/2M) + (1/9)·(δ/2M)] − δ for δ < 2M, else M."""
    checkpoint_s = positive_number("checkpoint_s", checkpoint_s, "60")
    mtbf_s = positive_number("mtbf_s", mtbf_s, "7200")
    if checkpoint_s >= 2 * mtbf_s:
        return mtbf_s
    x = checkpoint_s / (2 * mtbf_s)
    return math.sqrt(2 * checkpoint_s * mtbf_s) * (1 + math.sqrt(x) / 3 + x / 9) - checkpoint_s


def best_interval_s(checkpoint_s: float, restart_s: float, mtbf_s: float) -> float:
    """The interval that maximises `goodput` (s): √(2·δ·(M − R)) − δ (Young's when δ, R ≪ M)."""
    checkpoint_s = positive_number("checkpoint_s", checkpoint_s, "60")
    restart_s = non_negative_number("restart_s", restart_s, "600")
    mtbf_s = positive_number("mtbf_s", mtbf_s, "7200")
    if 2 * (mtbf_s - restart_s) <= checkpoint_s:
        raise ValueError(
            f"checkpoint_s={checkpoint_s} and restart_s={restart_s} are too long for mtbf_s={mtbf_s}: "
            "the first-order model needs 2·(M − R) > δ; shorten the checkpoint or restart, "
            "or use goodput_exponential"
        )
    return math.sqrt(2 * checkpoint_s * (mtbf_s - restart_s)) - checkpoint_s


# --- goodput ------------------------------------------------------------------------------------


def _times(checkpoint_s, restart_s, mtbf_s) -> tuple[float, float, float]:
    return (
        non_negative_number("checkpoint_s", checkpoint_s, "60"),
        non_negative_number("restart_s", restart_s, "600"),
        positive_number("mtbf_s", mtbf_s, "7200"),
    )


def goodput(interval_s, checkpoint_s: float, restart_s: float, mtbf_s: float):
    """Useful fraction of wall time, first order (eq. goodput): τ/(τ+δ) · (1 − (R + (τ+δ)/2)/M).

    `interval_s` (τ, compute between checkpoints) may be an array. Where a failure is expected
    before a restart and half a segment are through (R + (τ+δ)/2 ≥ M) the model breaks down and
    gives 0; `goodput_exponential` holds there too.
    """
    tau = number_array("interval_s", interval_s, "900")
    delta, restart, mtbf = _times(checkpoint_s, restart_s, mtbf_s)
    segment = tau + delta
    g = tau / segment * (1 - (restart + segment / 2) / mtbf)
    return scalar_or_array(np.maximum(g, 0.0))


def goodput_exponential(interval_s, checkpoint_s: float, restart_s: float, mtbf_s: float):
    """Useful fraction of wall time when failures are Poisson at any time, checkpoints and restarts
    included (Daly 2006): τ / (M·e^{R/M}·(e^{(τ+δ)/M} − 1)). `interval_s` may be an array."""
    tau = number_array("interval_s", interval_s, "900")
    delta, restart, mtbf = _times(checkpoint_s, restart_s, mtbf_s)
    return scalar_or_array(tau / (mtbf * math.exp(restart / mtbf) * np.expm1((tau + delta) / mtbf)))


def simulate_goodput(
    interval_s: float,
    checkpoint_s: float,
    restart_s: float,
    mtbf_s: float,
    n_intervals: int = 20_000,
    seed: int = 0,
) -> float:
    """Monte Carlo goodput: run `n_intervals` segments of τ compute plus a δ write under Poisson
    failures of mean gap M (in wall time, at any moment); a failure loses the segment in progress
    and costs a restart R, which starts over if a failure strikes it. Returns n·τ / wall time."""
    tau = positive_number("interval_s", interval_s, "900")
    delta, restart, mtbf = _times(checkpoint_s, restart_s, mtbf_s)
    n_intervals = positive_int("n_intervals", n_intervals, "20000")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed={seed!r} must be an integer, e.g. seed=0")
    rng = np.random.default_rng(seed)
    segment = tau + delta
    wall, done = 0.0, 0
    next_failure = rng.exponential(mtbf)
    while done < n_intervals:
        if next_failure >= wall + segment:  # the segment and its checkpoint complete
            wall += segment
            done += 1
            continue
        wall = next_failure  # the work since the last checkpoint is lost
        next_failure = wall + rng.exponential(mtbf)
        while next_failure < wall + restart:  # a failure during the restart: start it over
            wall = next_failure
            next_failure = wall + rng.exponential(mtbf)
        wall += restart
    return n_intervals * tau / wall
