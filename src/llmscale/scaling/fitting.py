"""Fitting scaling laws to measured runs, the two ways Hoffmann et al. (2022) do it.

Approach 3 (their §3.3 and appendix D.2) fits L(N, D) = E + A/N^α + B/D^β to every run at once
by minimising the Huber loss (δ = 10⁻³) between the log of the predicted and the log of the
observed loss, with the law written as a log-sum-exp so that all five parameters are free reals:

    log L̂ = LSE(a − α·log N, b − β·log D, e),   A = eᵃ, B = eᵇ, E = eᵉ,

using L-BFGS from a grid of initialisations and keeping the best optimum. (Here α, β and E are
bounded below by 10⁻³: the exponents so that every fit is a `scaling.ParametricLaw`, E so that a
fit that drives it towards 0 stops there.)

Approach 2 (their §3.2) fits, for each compute budget C, a parabola to the loss against log N;
its vertex is the compute-optimal size N*(C). A power law N*(C) = k·Cᵃ fitted to the vertices
gives the exponent a (and the same with D gives b).

Uncertainty comes from the bootstrap, which keeps every resample: approach 3 resamples the runs
with replacement and refits (`bootstrap_law`); approach 2 keeps the sizes trained at each budget
and resamples the residuals of its parabolas (`bootstrap_isoflop`), since resampling four or five
runs per budget leaves most resamples without three distinct sizes at some budget, and keeping
only those that still show a minimum would condition the interval on that selection.

A caution on floors. Every fitted floor lies below (or, for approach 3, at most a little above)
the lowest loss it is fitted to, whatever the true floor: the law adds positive terms to E, and
`fit_loss_frontier` imposes E <= min(losses). An upper bracket "E < best run" therefore holds by
construction and is no evidence about the true floor; only a bracket that could have failed is.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import optimize
from scipy.special import logsumexp

from .laws import ParametricLaw

HUBER_DELTA = 1e-3  # Hoffmann et al. 2022, appendix D.2

# Hoffmann et al.'s grid of initialisations (appendix D.2): α, β ∈ {0, 0.5, …, 2},
# e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25}: 4,500 starting points.
CHINCHILLA_GRID = {
    "a": tuple(np.arange(0.0, 25.1, 5.0)),
    "b": tuple(np.arange(0.0, 25.1, 5.0)),
    "e": tuple(np.arange(-1.0, 1.01, 0.5)),
    "alpha": tuple(np.arange(0.0, 2.01, 0.5)),
    "beta": tuple(np.arange(0.0, 2.01, 0.5)),
}
_ORDER = ("a", "b", "e", "alpha", "beta")


@contextlib.contextmanager
def _one_blas_thread():
    """Run SciPy's bundled OpenBLAS on one thread for the duration (no-op where it is absent).

    A five-parameter L-BFGS makes only tiny LAPACK calls; a multi-threaded BLAS spends far
    longer waking and synchronising its threads than computing, over 20x slower on a busy
    2-core machine.
    """
    import scipy

    libs = []
    for path in sorted((Path(scipy.__file__).parent.parent / "scipy.libs").glob("libscipy_openblas*.so")):
        try:
            lib = ctypes.CDLL(str(path))
            libs.append((lib, lib.scipy_openblas_get_num_threads()))
            lib.scipy_openblas_set_num_threads(1)
        except (OSError, AttributeError):
            continue
    try:
        yield
    finally:
        for lib, threads in libs:
            lib.scipy_openblas_set_num_threads(threads)


def huber(r, delta: float = HUBER_DELTA):
    """Huber loss of residuals r: r²/2 inside |r| ≤ δ, δ·(|r| − δ/2) outside."""
    r = np.abs(np.asarray(r, dtype=float))
    return np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))


def _check_runs(n_params, tokens, losses) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, d, l = (np.asarray(x, dtype=float).ravel() for x in (n_params, tokens, losses))
    if not (len(n) == len(d) == len(l)):
        raise ValueError(
            f"n_params, tokens and losses must have the same length, got "
            f"{len(n)}, {len(d)} and {len(l)}; pass one value per run"
        )
    for name, x in (("n_params", n), ("tokens", d), ("losses", l)):
        if not np.all(np.isfinite(x)) or np.any(x <= 0):
            raise ValueError(
                f"{name} must be finite and > 0 for every run; drop the runs that diverged or were not measured"
            )
    if len(n) < 5:
        raise ValueError(f"{len(n)} runs cannot determine the law's 5 parameters; pass at least 5 runs")
    return n, d, l


def _objective(theta, log_n, log_d, log_l, delta):
    """Σ Huber(LSE(a − α log N, b − β log D, e) − log L) and its gradient in (a, b, e, α, β)."""
    a, b, e, alpha, beta = theta
    t1, t2 = a - alpha * log_n, b - beta * log_d
    top = np.maximum(np.maximum(t1, t2), e)
    w1, w2, w3 = np.exp(t1 - top), np.exp(t2 - top), np.exp(e - top)
    total = w1 + w2 + w3
    r = top + np.log(total) - log_l
    dh = np.clip(r, -delta, delta) / total  # Huber'(r) times the softmax normaliser
    g1, g2 = dh * w1, dh * w2
    grad = np.array([g1.sum(), g2.sum(), (dh * w3).sum(), -(g1 @ log_n), -(g2 @ log_d)])
    abs_r = np.abs(r)
    value = np.where(abs_r <= delta, 0.5 * r * r, delta * (abs_r - 0.5 * delta)).sum()
    return float(value), grad


# a and b are free; the exponents stay positive (at α = 0 the term A/N^α is a constant that
# E already holds, and a loss that grows with N or D is no scaling law); E stays above 10⁻³
# nats, far below any floor here, so that a fit that drives E towards 0 stops there instead
# of wandering down a flat valley.
MIN_EXPONENT = 1e-3
MAX_EXPONENT = 10.0
MIN_E = 1e-3
MAX_LOG_COEF = 100.0  # log A and log B: e^100 is far beyond any fit, and keeps exp() finite
_BOUNDS = [(None, MAX_LOG_COEF), (None, MAX_LOG_COEF), (float(np.log(MIN_E)), None)] + [
    (MIN_EXPONENT, MAX_EXPONENT)
] * 2


def _scaled_objective(theta, log_n, log_d, log_l, delta):
    value, grad = _objective(theta, log_n, log_d, log_l, delta)
    return value / delta**2, grad / delta**2


def _grid_objective(grid: np.ndarray, log_n, log_d, log_l, delta) -> np.ndarray:
    """The objective at every row (a, b, e, α, β) of `grid`, vectorised."""
    a, b, e, alpha, beta = (grid[:, i : i + 1] for i in range(5))
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.broadcast_to(e, (len(grid), len(log_n)))])
    r = logsumexp(terms, axis=0) - log_l
    return huber(r, delta).sum(axis=1)


def _grid_points(grid: dict | None) -> np.ndarray:
    grid = CHINCHILLA_GRID if grid is None else grid
    missing = set(_ORDER) - set(grid)
    if missing:
        raise ValueError(f"grid is missing {sorted(missing)}; give values for each of {list(_ORDER)}")
    return np.array(list(itertools.product(*(grid[k] for k in _ORDER))), dtype=float)


@dataclass(frozen=True)
class LawFit:
    """A fitted L(N, D) = E + A/N^α + B/D^β, with the optimiser's objective and runs used."""

    law: ParametricLaw
    objective: float
    n_runs: int
    theta: tuple[float, float, float, float, float] = field(repr=False)  # (a, b, e, α, β)

    def residuals(self, n_params, tokens, losses) -> np.ndarray:
        """log L̂ − log L for each run (dimensionless; 0.01 is a 1% miss)."""
        n, d, l = (np.asarray(x, dtype=float) for x in (n_params, tokens, losses))
        return np.log(self.law.loss(n, d)) - np.log(l)


def fit_law(
    n_params,
    tokens,
    losses,
    *,
    delta: float = HUBER_DELTA,
    grid: dict | None = None,
    n_starts: int = 20,
    starts=(),
    fixed_E: float | None = None,
    source: str = "fitted",
) -> LawFit:
    """Fit L(N, D) = E + A/N^α + B/D^β to runs (N parameters, D tokens, loss in nats/token).

    Hoffmann et al.'s approach 3: Huber(δ) on log loss, log-sum-exp form, L-BFGS. The
    objective is first evaluated at every point of the grid of initialisations (vectorised);
    L-BFGS then starts from the `n_starts` best grid points (and any extra `starts`, rows of
    (a, b, e, α, β)) and the lowest optimum is kept. n_starts=len(grid) runs L-BFGS from every
    grid point, as the paper does; the best few give the same optimum far faster.
    With `fixed_E` (nats/token) the floor is held at that value and the other four are fitted.
    Since A/N^α and B/D^β are positive, a fitted E lies below the losses of the runs the law
    fits (a little above the lowest only where the Huber loss treats that run as an outlier),
    whatever the true floor: "E < best run" is built into the fit, no evidence about E.
    """
    n, d, l = _check_runs(n_params, tokens, losses)
    if not delta > 0:
        raise ValueError(f"delta={delta!r} must be > 0 (Hoffmann et al. use 1e-3)")
    if isinstance(n_starts, bool) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise ValueError(f"n_starts={n_starts!r} must be a positive integer, e.g. 20")
    log_n, log_d, log_l = np.log(n), np.log(d), np.log(l)
    bounds = list(_BOUNDS)
    if fixed_E is not None:
        if not (np.isfinite(fixed_E) and fixed_E > 0):
            raise ValueError(f"fixed_E={fixed_E!r} must be a loss > 0 in nats/token, or None to fit E")
        grid = dict(CHINCHILLA_GRID if grid is None else grid, e=(float(np.log(fixed_E)),))
        bounds[2] = (float(np.log(fixed_E)),) * 2
    points = _grid_points(grid)
    values = _grid_objective(points, log_n, log_d, log_l, delta)
    best_rows = points[np.argsort(values, kind="stable")[:n_starts]]
    extra = np.asarray(starts, dtype=float).reshape(-1, 5).copy()
    if fixed_E is not None:
        extra[:, 2] = np.log(fixed_E)
    best = None
    with _one_blas_thread():
        for x0 in np.concatenate([best_rows, extra]):
            # The objective is ~δ² per run, tiny in absolute terms: scale it so L-BFGS's
            # tolerances mean something, and ask for a small gradient.
            res = optimize.minimize(
                _scaled_objective,
                x0,
                args=(log_n, log_d, log_l, delta),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-7},
            )
            if best is None or res.fun < best.fun:
                best = res
    a, b, e, alpha, beta = (float(v) for v in best.x)
    law = ParametricLaw(
        E=float(np.exp(e)), A=float(np.exp(a)), B=float(np.exp(b)), alpha=alpha, beta=beta, source=source
    )
    return LawFit(law, float(best.fun) * delta**2, len(n), (a, b, e, alpha, beta))


PARAMETERS = ("E", "A", "B", "alpha", "beta", "a", "b")


@dataclass(frozen=True)
class Bootstrap:
    """Refitted values over bootstrap resamples of the runs: `samples[name]` is an array with
    one value per resample, all `n_boot` of them kept.

    NaN marks a resample whose refit has no value for `name` (in approach 2, some budget's
    curve has no minimum: `n_no_minimum` counts them). `n_outside` counts resamples kept with
    some budget's minimum outside the sizes trained (an extrapolated vertex).
    """

    samples: dict[str, np.ndarray]
    n_boot: int
    seed: int
    n_no_minimum: int = 0
    n_outside: int = 0

    def interval(self, name: str, level: float = 0.8) -> tuple[float, float]:
        """The central `level` percentile interval of `name` (0.8: 10th to 90th percentile).

        A resample without a value (NaN) counts as unbounded: below every value for the lower
        end, above every value for the upper, so that an end becomes ±inf once such resamples
        fill its tail. Dropping them instead would condition the interval on the resamples
        that happened to give a value.
        """
        if name not in self.samples:
            raise ValueError(f"name={name!r} is not bootstrapped; choose one of {sorted(self.samples)}")
        if not 0 < level < 1:
            raise ValueError(f"level={level!r} must be in (0, 1), e.g. 0.8 for the 10th-90th percentiles")
        x = np.asarray(self.samples[name], dtype=float)
        missing = int(np.isnan(x).sum())
        values = np.sort(x[~np.isnan(x)])
        lo = _percentile(np.concatenate([np.full(missing, -np.inf), values]), 50 * (1 - level))
        hi = _percentile(np.concatenate([values, np.full(missing, np.inf)]), 50 * (1 + level))
        return lo, hi


def _percentile(sorted_x: np.ndarray, q: float) -> float:
    """np.percentile's default (linear) of a sorted array that may hold ±inf at its ends:
    an end that interpolates with an infinite neighbour is that infinity."""
    pos = (len(sorted_x) - 1) * q / 100
    i, j = int(np.floor(pos)), int(np.ceil(pos))
    a, b = float(sorted_x[i]), float(sorted_x[j])
    if not np.isfinite(a) or not np.isfinite(b):
        return a if not np.isfinite(a) else b
    t = pos - i
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t  # as NumPy interpolates


def _law_values(law: ParametricLaw) -> dict[str, float]:
    return {"E": law.E, "A": law.A, "B": law.B, "alpha": law.alpha, "beta": law.beta, "a": law.a, "b": law.b}


def bootstrap_law(
    n_params,
    tokens,
    losses,
    *,
    n_boot: int = 200,
    seed: int = 0,
    delta: float = HUBER_DELTA,
    n_starts: int = 5,
    start: LawFit | None = None,
    fixed_E: float | None = None,
) -> Bootstrap:
    """Refit the law on `n_boot` resamples (with replacement) of the runs; every resample is kept.

    Each refit starts L-BFGS from the `n_starts` best grid points and from `start` (the fit to
    all runs, if given), so a resample finds the same basin the full data did when it is there.
    """
    n, d, l = _check_runs(n_params, tokens, losses)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot={n_boot!r} must be an integer >= 2, e.g. 200")
    rng = np.random.default_rng(seed)
    starts = [start.theta] if start is not None else []
    out: dict[str, list[float]] = {k: [] for k in PARAMETERS}
    for _ in range(n_boot):
        idx = rng.integers(0, len(n), len(n))
        fit = fit_law(n[idx], d[idx], l[idx], delta=delta, n_starts=n_starts, starts=starts, fixed_E=fixed_E)
        for k, v in _law_values(fit.law).items():
            out[k].append(v)
    return Bootstrap({k: np.array(v) for k, v in out.items()}, int(n_boot), int(seed))


def profile_E(n_params, tokens, losses, floors, *, delta: float = HUBER_DELTA, n_starts: int = 20) -> np.ndarray:
    """The best objective of approach 3 with E held at each value of `floors` (nats/token).

    A flat profile means the runs cannot tell those floors apart: the other four parameters
    make up for a wrong E. Each fit also starts from the free fit's optimum and from the
    previous floor's, so that a profile is not raised by an optimum L-BFGS failed to reach.
    """
    starts = [fit_law(n_params, tokens, losses, delta=delta, n_starts=n_starts).theta]
    out = []
    for e in np.atleast_1d(floors):
        fit = fit_law(n_params, tokens, losses, delta=delta, n_starts=n_starts, starts=starts, fixed_E=float(e))
        out.append(fit.objective)
        starts = [starts[0], fit.theta]
    return np.array(out)


# ---------------------------------------------------------------------------
# Approach 2: IsoFLOP minima
# ---------------------------------------------------------------------------


def _paired(x_name: str, x, y_name: str, y) -> tuple[np.ndarray, np.ndarray]:
    """Two 1-D float arrays of equal length, or a ValueError that names them."""
    x, y = (np.asarray(v, dtype=float).ravel() for v in (x, y))
    if len(x) != len(y):
        raise ValueError(f"{x_name} and {y_name} must have the same length, got {len(x)} and {len(y)}")
    return x, y


@dataclass(frozen=True)
class Parabola:
    """loss = c2·x² + c1·x + c0 with x = log(size), fitted to one IsoFLOP curve."""

    c2: float
    c1: float
    c0: float
    x_min: float  # smallest log(size) sampled
    x_max: float  # largest log(size) sampled

    @property
    def log_argmin(self) -> float:
        return -self.c1 / (2 * self.c2)

    @property
    def argmin(self) -> float:
        """The size (N or D) at the vertex: the compute-optimal size at this budget."""
        return float(np.exp(self.log_argmin))

    @property
    def min_loss(self) -> float:
        x = self.log_argmin
        return float(self.c2 * x**2 + self.c1 * x + self.c0)

    @property
    def interior(self) -> bool:
        """Whether the vertex lies inside the sampled sizes (else it is an extrapolation)."""
        return self.x_min <= self.log_argmin <= self.x_max

    def __call__(self, size):
        x = np.log(np.asarray(size, dtype=float))
        return self.c2 * x**2 + self.c1 * x + self.c0


def fit_parabola(sizes, losses) -> Parabola:
    """Fit loss against log(size) with a parabola (least squares); it must open upwards."""
    sizes, y = _paired("sizes", sizes, "losses", losses)
    x = np.log(sizes)
    if len(np.unique(x)) < 3:
        raise ValueError(
            f"a parabola needs at least 3 distinct sizes, got {len(np.unique(x))}; "
            "train more model sizes at this budget"
        )
    c2, c1, c0 = np.polyfit(x, y, 2)
    if not c2 > 0:
        raise ValueError(
            f"the IsoFLOP curve bends downwards (c2={c2:.3g}): it has no minimum. "
            "Add smaller and larger models at this budget so they bracket the optimum"
        )
    return Parabola(float(c2), float(c1), float(c0), float(x.min()), float(x.max()))


@dataclass(frozen=True)
class PowerLaw:
    """y = k·x^exponent, fitted by least squares in log-log space."""

    k: float
    exponent: float

    def __call__(self, x):
        return self.k * np.asarray(x, dtype=float) ** self.exponent


def fit_power_law(x, y) -> PowerLaw:
    """Least-squares fit of log y = log k + exponent·log x."""
    lx, ly = (np.log(v) for v in _paired("x", x, "y", y))
    if len(np.unique(lx)) < 2:
        raise ValueError("a power law needs at least 2 distinct x values")
    exponent, log_k = np.polyfit(lx, ly, 1)
    return PowerLaw(float(np.exp(log_k)), float(exponent))


@dataclass(frozen=True)
class LossFrontier:
    """L*(C) = E + K·(C/c_ref)^(−γ): the lowest loss reachable with compute C, falling as a power
    law towards a floor E. Henighan et al. (2020) fit this form, L(C) = L∞ + (C₀/C)^α_C, to
    their compute frontiers and read L∞ as an estimate of the data's entropy. For a Chinchilla
    law it is exact, with γ = αβ/(α+β)."""

    E: float
    K: float
    gamma: float
    c_ref: float  # the smallest budget fitted; K is the reducible loss there

    def __call__(self, compute):
        return self.E + self.K * (np.asarray(compute, dtype=float) / self.c_ref) ** (-self.gamma)


LOG_K_BOUNDS = (-30.0, 10.0)  # K between e^-30 and e^10 nats: far beyond any frontier here
GAMMA_BOUNDS = (1e-4, 10.0)


def _frontier_linear_part(u: np.ndarray, y: np.ndarray, top: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row of u = (C/c_ref)^(−γ) (one row per γ), the least-squares E in [0, top] and
    K in the bounds of LOG_K_BOUNDS of y ≈ E + K·u, and its sum of squares.

    The problem is a convex quadratic in (E, K) on a box: its minimum is the unconstrained one
    when that lies in the box, else the best of the minima on the box's four sides.
    """
    k_min, k_max = np.exp(LOG_K_BOUNDS[0]), np.exp(LOG_K_BOUNDS[1])
    u_mean, y_mean = u.mean(axis=1), y.mean()
    du = u - u_mean[:, None]
    k_free = (du @ (y - y_mean)) / (du * du).sum(axis=1)
    candidates = [(y_mean - k_free * u_mean, k_free)]
    uu = (u * u).sum(axis=1)
    for e_side in (0.0, top):  # E at a bound, K its best value there
        candidates.append((np.full(len(u), e_side), np.clip((u @ (y - e_side)) / uu, k_min, k_max)))
    for k_side in (k_min, k_max):  # K at a bound, E its best value there
        candidates.append((np.clip(y_mean - k_side * u_mean, 0.0, top), np.full(len(u), k_side)))
    best_e, best_k, best_sse = None, None, None
    for e, k in candidates:
        sse = ((e[:, None] + k[:, None] * u - y) ** 2).sum(axis=1)
        feasible = (e >= 0) & (e <= top) & (k >= k_min) & (k <= k_max)
        sse = np.where(feasible, sse, np.inf)
        if best_sse is None:
            best_e, best_k, best_sse = e, k, sse
        else:
            better = sse < best_sse
            best_e, best_k, best_sse = (
                np.where(better, e, best_e),
                np.where(better, k, best_k),
                np.where(better, sse, best_sse),
            )
    return best_e, best_k, best_sse


def fit_loss_frontier(budgets, min_losses) -> LossFrontier:
    """Least-squares fit of L*(C) = E + K·(C/c_ref)^(−γ) to the best loss at each budget.

    E is kept between 0 and the lowest loss given (a floor above a measured loss is no floor),
    so the fitted floor never exceeds the lowest loss: that upper bracket is built in, and says
    nothing about the true floor. For a given γ the law is linear in E and K, which are solved
    exactly (`_frontier_linear_part`); γ is searched on a grid over GAMMA_BOUNDS and refined
    by Brent's method between the best grid point's neighbours.
    """
    c, y = _paired("budgets", budgets, "min_losses", min_losses)
    if len(np.unique(c)) < 4:
        raise ValueError(
            f"a floor, a scale and an exponent need at least 4 budgets, got {len(np.unique(c))}; "
            "run the sweep at more compute budgets"
        )
    if not (np.all(np.isfinite(c)) and np.all(c > 0) and np.all(np.isfinite(y)) and np.all(y > 0)):
        raise ValueError("budgets and min_losses must be finite and > 0 (FLOPs and nats/token)")
    c_ref = float(c.min())
    x = np.log(c / c_ref)
    top = float(y.min())

    def fit_at(gammas):
        return _frontier_linear_part(np.exp(-np.outer(gammas, x)), y, top)

    grid = np.geomspace(*GAMMA_BOUNDS, 241)
    sse = fit_at(grid)[2]
    i = int(np.argmin(sse))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(
        lambda g: float(fit_at(np.array([g]))[2][0]), bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
    )
    gamma = float(res.x) if res.fun <= sse[i] else float(grid[i])
    e, k, _ = fit_at(np.array([gamma]))
    return LossFrontier(E=float(e[0]), K=float(k[0]), gamma=gamma, c_ref=c_ref)


@dataclass(frozen=True)
class IsoFlopFit:
    """Approach 2: one parabola per budget (in log N and in log D) and the frontier power laws;
    with four budgets or more, also the floor the parabolas' minimum losses fall towards."""

    budgets: tuple[float, ...]
    n_parabolas: tuple[Parabola, ...]
    d_parabolas: tuple[Parabola, ...]
    n_opt: PowerLaw  # N*(C) = k·C^a
    d_opt: PowerLaw  # D*(C) = k·C^b
    frontier: LossFrontier | None = None  # L*(C) through the minima of the parabolas in log N


def fit_isoflop(budgets, n_params, tokens, losses) -> IsoFlopFit:
    """Hoffmann et al.'s approach 2 on runs labelled by their compute budget (FLOPs)."""
    c = np.asarray(budgets, dtype=float).ravel()
    n, d, l = _check_runs(n_params, tokens, losses)
    if len(c) != len(n):
        raise ValueError(f"budgets must have one value per run, got {len(c)} for {len(n)} runs")
    levels = tuple(float(v) for v in np.unique(c))
    if len(levels) < 2:
        raise ValueError("approach 2 needs runs at 2 or more compute budgets")
    n_par, d_par = [], []
    for level in levels:
        at = c == level
        n_par.append(fit_parabola(n[at], l[at]))
        d_par.append(fit_parabola(d[at], l[at]))
    n_opt = fit_power_law(levels, [p.argmin for p in n_par])
    d_opt = fit_power_law(levels, [p.argmin for p in d_par])
    frontier = fit_loss_frontier(levels, [p.min_loss for p in n_par]) if len(levels) >= 4 else None
    return IsoFlopFit(levels, tuple(n_par), tuple(d_par), n_opt, d_opt, frontier)


def bracketed_budgets(budgets, n_params, losses) -> list[float]:
    """The budgets whose best run is neither the smallest nor the largest model trained there.

    Only these locate a minimum: where the best run sits at an end of its window, the optimum
    lies beyond the sizes trained and a parabola's vertex would be an extrapolation.
    """
    c = np.asarray(budgets, dtype=float).ravel()
    n, l = _paired("n_params", n_params, "losses", losses)
    if len(c) != len(n):
        raise ValueError(f"budgets must have one value per run, got {len(c)} for {len(n)} runs")
    kept = []
    for level in np.unique(c):
        at = np.flatnonzero(c == level)
        sizes = n[at]
        best = sizes[np.argmin(l[at])]
        if sizes.min() < best < sizes.max():
            kept.append(float(level))
    return kept


def leave_one_budget_out(
    budgets, n_params, tokens, losses, *, fixed_E: float | None = None, n_starts: int = 20
) -> dict[float, LawFit]:
    """Approach 3 refitted once per budget, with that budget's runs left out: how much one
    budget moves the fitted law (a jackknife over budgets).

    Each refit starts L-BFGS from the `n_starts` best grid points and from the fit to all runs,
    as `profile_E` does: from the grid alone a refit can stop in a worse basin (on the stored
    isoflop sweep, leaving out 6.4e12 FLOPs gave E = 0.98 at an objective 0.1% above the
    E = 1.03 that the full fit's optimum leads to).
    """
    c = np.asarray(budgets, dtype=float).ravel()
    n, d, l = _check_runs(n_params, tokens, losses)
    if len(c) != len(n):
        raise ValueError(f"budgets must have one value per run, got {len(c)} for {len(n)} runs")
    levels = np.unique(c)
    if len(levels) < 2:
        raise ValueError("leaving a budget out needs runs at 2 or more budgets")
    starts = [fit_law(n, d, l, fixed_E=fixed_E, n_starts=n_starts).theta]
    return {
        float(level): fit_law(
            n[c != level], d[c != level], l[c != level], fixed_E=fixed_E, n_starts=n_starts, starts=starts
        )
        for level in levels
    }


def _leverages(x: np.ndarray) -> np.ndarray:
    """Diagonal of the hat matrix of a least-squares parabola in x: how much each point pulls
    the fitted curve towards itself (3 of them sum to 3)."""
    q, _ = np.linalg.qr(np.vander(x, 3))
    return (q * q).sum(axis=1)


def isoflop_residuals(budgets, n_params, losses) -> tuple[np.ndarray, np.ndarray]:
    """Each run's loss on its budget's parabola in log N, and its residual from it, divided by
    sqrt(1 − leverage) so that it has the variance of the noise (Davison and Hinkley's modified
    residuals); a run its parabola passes through exactly (three sizes) gives a residual of 0.
    Returns (fitted, residuals), both in nats/token, in the order of the runs."""
    c = np.asarray(budgets, dtype=float).ravel()
    n, l = _paired("n_params", n_params, "losses", losses)
    if len(c) != len(n):
        raise ValueError(f"budgets must have one value per run, got {len(c)} for {len(n)} runs")
    fitted, resid = np.empty_like(l), np.zeros_like(l)
    for level in np.unique(c):
        at = np.flatnonzero(c == level)
        p = fit_parabola(n[at], l[at])
        fitted[at] = p(n[at])
        h = _leverages(np.log(n[at]))
        free = h < 1 - 1e-9
        resid[at[free]] = (l[at] - fitted[at])[free] / np.sqrt(1 - h[free])
    return fitted, resid


def bootstrap_isoflop(budgets, n_params, tokens, losses, *, n_boot: int = 200, seed: int = 0) -> Bootstrap:
    """Exponents a, b of approach 2 over `n_boot` residual resamples (and, with four budgets or
    more, the floor E and exponent gamma of the loss frontier); every resample is kept.

    The sizes trained stay as they are: each resample adds to every run's fitted loss
    (`isoflop_residuals`) a residual drawn with replacement from its own budget's residuals,
    centred (the runs of a small budget scatter far more than those of a large one), and
    refits. Resampling the runs themselves would leave a budget of four or five runs with fewer
    than three distinct sizes in a third of the resamples, and keeping only those with a
    minimum everywhere would condition the interval on that selection. A resample in which some
    budget's curve bends down has no minimum there: its values are NaN, counted in
    `n_no_minimum`, and `Bootstrap.interval` treats them as unbounded (the optimum may lie
    anywhere beyond the sizes trained). One whose minimum lies outside the sizes trained is kept
    (an extrapolated vertex) and counted in `n_outside`.
    """
    c = np.asarray(budgets, dtype=float).ravel()
    n, d, l = _check_runs(n_params, tokens, losses)
    if len(c) != len(n):
        raise ValueError(f"budgets must have one value per run, got {len(c)} for {len(n)} runs")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot={n_boot!r} must be an integer >= 2, e.g. 200")
    fitted, resid = isoflop_residuals(c, n, l)
    groups = [np.flatnonzero(c == level) for level in np.unique(c)]
    centred = [resid[g] - resid[g].mean() for g in groups]
    rng = np.random.default_rng(seed)
    with_frontier = len(groups) >= 4
    keys = ("a", "b", "E", "gamma") if with_frontier else ("a", "b")
    out = {k: np.full(n_boot, np.nan) for k in keys}
    no_minimum = outside = 0
    for i in range(n_boot):
        resampled = fitted.copy()
        for g, r in zip(groups, centred):
            resampled[g] += r[rng.integers(0, len(g), len(g))]
        try:
            fit = fit_isoflop(c, n, d, resampled)
        except ValueError as err:
            if "no minimum" not in str(err):
                raise
            no_minimum += 1  # some budget's curve bends down: no minimum there
            continue
        outside += not all(p.interior for p in fit.n_parabolas + fit.d_parabolas)
        out["a"][i], out["b"][i] = fit.n_opt.exponent, fit.d_opt.exponent
        if with_frontier:
            out["E"][i], out["gamma"][i] = fit.frontier.E, fit.frontier.gamma
    return Bootstrap(out, int(n_boot), int(seed), n_no_minimum=no_minimum, n_outside=outside)
