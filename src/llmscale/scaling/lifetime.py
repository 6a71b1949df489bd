"""Training versus inference: the lifetime compute of a model that must reach a target loss.

A model of N parameters trained on D tokens costs 6·N·D FLOPs to train (forward and backward)
and 2·N FLOPs per token it serves (one forward pass; the attention term 2·2·L·S·d per token is
left out, a few percent at the contexts of 2023's models). To reach a target loss L* under a
parametric law L(N, D) = E + A/N^α + B/D^β, each N needs its own D(N), so

    lifetime(N) = 6·N·D(N) + 2·N·T,    D(N) = (B / (L* − E − A/N^α))^(1/β),

for T served tokens. With T = 0 the minimum is the compute-optimal (Chinchilla) model; as T
grows the minimum moves to smaller models trained on more tokens, towards the smallest model
that can reach L* at all (D → ∞). This is the argument of Touvron et al. 2023 (LLaMA) and of
Sardana & Frankle 2023.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .. import counting
from .._validate import scalar_or_array
from .laws import ParametricLaw

TRAIN_FLOPS_PER_PARAM_TOKEN = 6.0  # forward 2 + backward 4 FLOPs per parameter per token
FORWARD_FLOPS_PER_PARAM_TOKEN = 2.0  # one multiply-accumulate per parameter per served token


def _check_target(law: ParametricLaw, target_loss: float) -> float:
    target = float(target_loss)
    if not np.isfinite(target) or target <= law.E:
        raise ValueError(
            f"target_loss={target_loss!r} is at or below the law's irreducible loss E={law.E}; choose a target above E"
        )
    return target


def _check_served(served_tokens) -> np.ndarray:
    t = np.asarray(served_tokens, dtype=float)
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"served_tokens={served_tokens!r} must be >= 0 tokens, e.g. 1e12")
    return t


def min_params(law: ParametricLaw, target_loss: float) -> float:
    """The smallest model that reaches `target_loss` at all (with infinitely many tokens)."""
    target = _check_target(law, target_loss)
    return (law.A / (target - law.E)) ** (1.0 / law.alpha)


def tokens_to_reach(law: ParametricLaw, n_params, target_loss: float):
    """Training tokens D that bring a model of N parameters to `target_loss` under `law`."""
    target = _check_target(law, target_loss)
    n = np.asarray(n_params, dtype=float)
    floor = min_params(law, target)
    if np.any(~np.isfinite(n)) or np.any(n <= floor):
        raise ValueError(
            f"n_params={n_params!r} cannot reach target_loss={target} even with "
            f"infinite data: it needs n_params > {floor:.4g} (where A/N^α = "
            f"target − E); choose a larger model or a higher target"
        )
    return scalar_or_array((law.B / (target - law.E - law.A / n**law.alpha)) ** (1.0 / law.beta))


def inference_flops(n_params, served_tokens):
    """2·N·T: FLOPs to serve T tokens (prompt or generated) with N parameters."""
    t = _check_served(served_tokens)
    return FORWARD_FLOPS_PER_PARAM_TOKEN * np.asarray(n_params, dtype=float) * t


def lifetime_flops(law: ParametricLaw, n_params, target_loss: float, served_tokens):
    """Training to `target_loss` plus serving `served_tokens`: 6·N·D(N) + 2·N·T (FLOPs)."""
    n = np.asarray(n_params, dtype=float)
    d = np.asarray(tokens_to_reach(law, n, target_loss))
    return scalar_or_array(counting.approx_training_flops(n, d) + inference_flops(n, served_tokens))


def _slope(law: ParametricLaw, n: float, target: float, served: float) -> float:
    # d(lifetime)/dN = 6·D(N)·[1 − (α/β)·(A/N^α)/(L* − E − A/N^α)] + 2·T
    x = law.A / n**law.alpha
    u = target - law.E - x
    d = (law.B / u) ** (1.0 / law.beta)
    return (
        TRAIN_FLOPS_PER_PARAM_TOKEN * d * (1.0 - (law.alpha / law.beta) * x / u)
        + FORWARD_FLOPS_PER_PARAM_TOKEN * served
    )


def optimal_params(law: ParametricLaw, target_loss: float, served_tokens):
    """The N that minimises lifetime compute for `target_loss` and `served_tokens` served.

    Between the smallest model able to reach the loss and the compute-optimal one (T = 0),
    the lifetime's slope in N changes sign once; the root is found by bisection (Brent).
    """
    target = _check_target(law, target_loss)
    served = _check_served(served_tokens)
    n_lo = min_params(law, target)
    n_hi = float(law.optimal_for_loss(target)[0])

    def one(t: float) -> float:
        if t == 0:
            return n_hi
        log_n = brentq(
            lambda ln: _slope(law, np.exp(ln), target, t), np.log(n_lo) + 1e-12, np.log(n_hi), xtol=1e-12, rtol=1e-12
        )
        return float(np.exp(log_n))

    return scalar_or_array(np.vectorize(one, otypes=[float])(served))


def served_tokens_for_optimum(law: ParametricLaw, n_params: float, target_loss: float) -> float:
    """The served volume T at which a model of N parameters is the lifetime optimum for
    `target_loss`: the T that zeroes the slope,
    T = −3·D(N)·[1 − (α/β)·(A/N^α)/(L* − E − A/N^α)].
    Models larger than the compute-optimal one are never optimal."""
    target = _check_target(law, target_loss)
    n_opt = float(law.optimal_for_loss(target)[0])
    tokens_to_reach(law, n_params, target)  # validates n_params against the floor
    if n_params > n_opt * (1 + 1e-12):
        raise ValueError(
            f"n_params={n_params:.4g} is larger than the compute-optimal model for "
            f"this loss ({n_opt:.4g}); no served volume makes it optimal"
        )
    return max(0.0, -_slope(law, float(n_params), target, 0.0) / FORWARD_FLOPS_PER_PARAM_TOKEN)


def break_even_tokens(law: ParametricLaw, n_small: float, n_large: float, target_loss: float) -> float:
    """Served tokens T at which a smaller model, trained longer to the same loss, has spent
    as much in total as a larger one: T = 6·(N_s·D_s − N_l·D_l) / (2·(N_l − N_s)).

    Beyond T the smaller model is cheaper over its lifetime. Returns 0.0 when the smaller model
    is already no dearer to train (it wins at any volume).
    """
    if not n_small < n_large:
        raise ValueError(f"n_small={n_small!r} must be smaller than n_large={n_large!r}")
    target = _check_target(law, target_loss)
    d_small, d_large = tokens_to_reach(law, n_small, target), tokens_to_reach(law, n_large, target)
    extra_training = float(
        counting.approx_training_flops(n_small, d_small) - counting.approx_training_flops(n_large, d_large)
    )
    if extra_training <= 0:
        return 0.0
    saving_per_token = FORWARD_FLOPS_PER_PARAM_TOKEN * (n_large - n_small)
    return extra_training / saving_per_token


@dataclass(frozen=True)
class TradeOff:
    """A model trained past its compute-optimal point, against the compute-optimal model that
    reaches the same loss: what the first costs more to train and saves per served token."""

    target_loss: float
    n_params: float
    tokens: float
    optimal_params: float
    optimal_tokens: float
    extra_training_flops: float
    saving_per_token: float
    break_even_tokens: float

    @property
    def extra_training_fraction(self) -> float:
        """Extra training compute as a fraction of the compute-optimal model's."""
        return self.extra_training_flops / float(
            counting.approx_training_flops(self.optimal_params, self.optimal_tokens)
        )


def compare_to_compute_optimal(law: ParametricLaw, n_params: float, tokens: float) -> TradeOff:
    """Take a model of N parameters trained on D tokens; find, under `law`, the loss it reaches,
    the compute-optimal model of the same loss and the served volume at which the first one's
    lifetime compute drops below the second's."""
    if not (n_params > 0 and tokens > 0):
        raise ValueError(f"n_params={n_params!r} and tokens={tokens!r} must be > 0")
    target = float(law.loss(n_params, tokens))
    n_opt, d_opt = (float(x) for x in law.optimal_for_loss(target))
    if n_params >= n_opt:
        raise ValueError(
            f"n_params={n_params:.4g} trained on {tokens:.4g} tokens is not past its "
            f"compute-optimal point (the optimal model for its loss has {n_opt:.4g} "
            f"parameters); pass more tokens per parameter"
        )
    extra = float(counting.approx_training_flops(n_params, tokens) - counting.approx_training_flops(n_opt, d_opt))
    saving = FORWARD_FLOPS_PER_PARAM_TOKEN * (n_opt - n_params)
    return TradeOff(
        target,
        float(n_params),
        float(tokens),
        n_opt,
        d_opt,
        extra,
        saving,
        break_even_tokens(law, n_params, n_opt, target),
    )
