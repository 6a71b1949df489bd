"""Scaling laws: Kaplan et al.'s power laws, Chinchilla's three approaches and the refit.

Published fits are data with their sources; the functions are the algebra every chapter uses.
With C = 6·N·D, minimising the parametric loss L(N, D) = E + A/N^α + B/D^β at fixed C gives
(Hoffmann et al. 2022, eq. 4)

    N*(C) = G·(C/6)^a,  D*(C) = (C/6)^b / G,  G = (αA / βB)^(1/(α+β)),  a = β/(α+β),  b = α/(α+β).

Kaplan et al. 2020 instead fit separate power laws in N (non-embedding parameters), D and
C_min (PF-days) and read the compute-efficient frontier N_opt ∝ C_min^0.73 off their runs.
Hoffmann et al.'s Approaches 1 and 2 publish exponents (their Table 2) and tables of
compute-optimal sizes (Table 3, Table A3), from which `PowerLawFrontier.fit` recovers the
frontiers; Approach 3 is the parametric law.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .. import presets
from .._validate import number_array, scalar_or_array
from ..units import PF_DAY


@dataclass(frozen=True)
class ParametricLaw:
    """L(N, D) = E + A/N^α + B/D^β, in nats per token; N parameters, D training tokens."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("A", "B", "alpha", "beta"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be > 0 in a ParametricLaw")
        if not self.E >= 0:
            raise ValueError(f"E={self.E!r} must be >= 0 (an entropy, in nats per token)")

    def loss(self, n_params, tokens):
        """Predicted loss (nats/token) for N parameters trained on D tokens (arrays broadcast)."""
        n, d = np.asarray(n_params, dtype=float), np.asarray(tokens, dtype=float)
        if np.any(n <= 0) or np.any(d <= 0):
            raise ValueError("n_params and tokens must be > 0")
        return self.E + self.A / n**self.alpha + self.B / d**self.beta

    @property
    def a(self) -> float:
        """Exponent of N*(C) ∝ C^a."""
        return self.beta / (self.alpha + self.beta)

    @property
    def b(self) -> float:
        """Exponent of D*(C) ∝ C^b."""
        return self.alpha / (self.alpha + self.beta)

    @property
    def G(self) -> float:
        return (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))

    def compute_optimal(self, flops):
        """(N*, D*) minimising L at training compute C = 6·N·D FLOPs."""
        c = np.asarray(flops, dtype=float)
        if np.any(c <= 0):
            raise ValueError("flops must be > 0")
        return self.G * (c / 6.0) ** self.a, (c / 6.0) ** self.b / self.G

    def tokens_per_param(self, flops):
        """D*/N* at compute C: about 20 for Chinchilla's fit at its own scale."""
        n, d = self.compute_optimal(flops)
        return d / n

    def optimal_loss(self, flops):
        """The lowest loss reachable with C FLOPs: L(N*(C), D*(C)) (nats/token)."""
        return self.loss(*self.compute_optimal(flops))

    def optimal_for_loss(self, target_loss):
        """(N, D) reaching `target_loss` with the least training compute 6·N·D.

        At the optimum α·A/N^α = β·B/D^β, so the reducible loss R = target − E splits as
        A/N^α = a·R and B/D^β = b·R: the dual of `compute_optimal`.
        """
        target = np.asarray(target_loss, dtype=float)
        if np.any(~np.isfinite(target)) or np.any(target <= self.E):
            raise ValueError(
                f"target_loss={target_loss!r} must be above the irreducible loss E={self.E}; choose a target > E"
            )
        reducible = target - self.E
        n = (self.A / (self.a * reducible)) ** (1.0 / self.alpha)
        d = (self.B / (self.b * reducible)) ** (1.0 / self.beta)
        return n, d


# Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", eq. (10), approach 3:
# the constants as printed in the body of the paper (rounded).
CHINCHILLA = ParametricLaw(
    E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28, source="Hoffmann et al. 2022, eq. 10 (approach 3), as printed"
)
# The same fit with the unrounded exponents of the paper's arXiv TeX source, as quoted by
# Besiroglu et al. 2024 (E = 1.6934, α = 0.3392, β = 0.2849); A and B as printed.
CHINCHILLA_TEX = ParametricLaw(
    E=1.6934,
    A=406.4,
    B=410.7,
    alpha=0.3392,
    beta=0.2849,
    source="Hoffmann et al. 2022, approach 3, unrounded values of the "
    "arXiv TeX source as quoted by Besiroglu et al. 2024",
)
# Besiroglu, Erdil, Barnett & You 2024, "Chinchilla Scaling: A replication attempt", their
# refit of approach 3 on data extracted from Hoffmann et al.'s Figure 4 (standard errors
# E 0.03, A 124.58, B 1293.23, α 0.02, β 0.02).
BESIROGLU = ParametricLaw(
    E=1.8172,
    A=482.01,
    B=2085.43,
    alpha=0.3478,
    beta=0.3658,
    source="Besiroglu et al. 2024, their refit of Hoffmann et al.'s approach 3",
)


@dataclass(frozen=True)
class KaplanLaw:
    """Kaplan et al. 2020's power laws on WebText2 (nats/token).

    N counts non-embedding parameters; C_min is the compute at a batch far below the critical
    batch size, in PF-days. The compute-efficient frontier is N_opt = N_e·C_min^p_N (Table 6).
    """

    alpha_n: float
    n_c: float
    alpha_d: float
    d_c: float
    alpha_c_min: float
    c_c_min_pf_days: float
    joint_alpha_n: float
    joint_alpha_d: float
    joint_n_c: float
    joint_d_c: float
    p_n: float
    n_e: float
    p_d: float
    d_e: float
    source: str = ""

    def loss_n(self, n_params):
        """L(N) = (N_c/N)^α_N: converged loss of N non-embedding parameters (eq. 1.1)."""
        n = number_array("n_params", n_params, "1e9")
        return scalar_or_array((self.n_c / n) ** self.alpha_n)

    def loss_d(self, tokens):
        """L(D) = (D_c/D)^α_D: early-stopped loss of a large model on D tokens (eq. 1.2)."""
        d = number_array("tokens", tokens, "1e10")
        return scalar_or_array((self.d_c / d) ** self.alpha_d)

    def loss_c_min(self, flops):
        """L(C_min) = (C_c^min/C_min)^α_C^min with C_min given in FLOPs (eq. 1.3)."""
        c = number_array("flops", flops, "1e21")
        return scalar_or_array((self.c_c_min_pf_days / (c / PF_DAY)) ** self.alpha_c_min)

    def loss(self, n_params, tokens):
        """L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D with the joint fit of Table 2 (eq. 1.5)."""
        n = number_array("n_params", n_params, "1e9")
        d = number_array("tokens", tokens, "1e10")
        ratio = self.joint_alpha_n / self.joint_alpha_d
        return scalar_or_array(((self.joint_n_c / n) ** ratio + self.joint_d_c / d) ** self.joint_alpha_d)

    def compute_optimal(self, flops, critical_batch: bool = True):
        """(N_opt, D) for a training budget of `flops` FLOPs.

        Training at the critical batch size spends C = 2·C_min (Kaplan et al. eq. 6.7), so
        C_min = C/2 by default; with critical_batch=False, C_min = C. D = C/(6·N_opt).
        """
        c = number_array("flops", flops, "1e21")
        c_min = c / 2.0 if critical_batch else c
        n = self.n_e * (c_min / PF_DAY) ** self.p_n
        return scalar_or_array(n), scalar_or_array(c / (6.0 * n))

    def tokens_per_param(self, flops, critical_batch: bool = True):
        """D/N_opt on Kaplan's frontier: it falls as C grows, unlike Chinchilla's."""
        n, d = self.compute_optimal(flops, critical_batch)
        return d / n


# Kaplan et al. 2020, "Scaling Laws for Neural Language Models": eq. 1.1-1.3 and Table 5
# (single-variable fits), Table 2 (joint L(N, D) fit), Table 6 (compute-efficient frontier).
KAPLAN = KaplanLaw(
    alpha_n=0.076,
    n_c=8.8e13,
    alpha_d=0.095,
    d_c=5.4e13,
    alpha_c_min=0.050,
    c_c_min_pf_days=3.1e8,
    joint_alpha_n=0.076,
    joint_alpha_d=0.103,
    joint_n_c=6.4e13,
    joint_d_c=1.8e13,
    p_n=0.73,
    n_e=1.3e9,
    p_d=0.27,
    d_e=2e10,
    source="Kaplan et al. 2020, Tables 2, 5 and 6",
)


@dataclass(frozen=True)
class PowerLawFrontier:
    """A compute-optimal frontier N*(C) = k·C^a (C in FLOPs), with D*(C) = C/(6·N*(C))."""

    a: float
    k: float
    source: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.a < 1:
            raise ValueError(f"a={self.a!r} must lie in (0, 1): N* and D* both grow with C")
        if not self.k > 0:
            raise ValueError(f"k={self.k!r} must be > 0")

    @property
    def b(self) -> float:
        """Exponent of D*(C) ∝ C^b, b = 1 − a since C = 6·N·D."""
        return 1.0 - self.a

    def compute_optimal(self, flops):
        """(N*, D*) at C FLOPs."""
        c = number_array("flops", flops, "1e21")
        n = self.k * c**self.a
        return scalar_or_array(n), scalar_or_array(c / (6.0 * n))

    def tokens_per_param(self, flops):
        n, d = self.compute_optimal(flops)
        return d / n

    def optimal_flops(self, n_params):
        """The budget C for which N is compute-optimal: C = (N/k)^(1/a)."""
        n = number_array("n_params", n_params, "1e10")
        return scalar_or_array((n / self.k) ** (1.0 / self.a))

    def optimal_tokens(self, n_params):
        """The compute-optimal number of training tokens for a model of N parameters."""
        n = number_array("n_params", n_params, "1e10")
        return self.optimal_flops(n) / (6.0 * n)

    @classmethod
    def fit(cls, n_params, flops, source: str = "") -> PowerLawFrontier:
        """Least-squares fit of log N* = log k + a·log C to tabulated (N*, C) pairs."""
        n = number_array("n_params", n_params, "[1e9, 1e10]")
        c = number_array("flops", flops, "[1e20, 1e22]")
        if n.shape != c.shape or n.size < 2:
            raise ValueError(f"n_params and flops must be paired, with at least two points; got {n.size} and {c.size}")
        a, log_k = np.polyfit(np.log(c), np.log(n), 1)
        return cls(a=float(a), k=float(np.exp(log_k)), source=source)


# Hoffmann et al. 2022, Table 2: exponents (a, b) of N_opt ∝ C^a and D_opt ∝ C^b.
HOFFMANN_TABLE2 = {
    "approach 1": (0.50, 0.50),
    "approach 2": (0.49, 0.51),
    "approach 3": (0.46, 0.54),
    "Kaplan et al. 2020": (0.73, 0.27),
}
# Hoffmann et al. 2022, Table 3 (Approach 1): (parameters, FLOPs, tokens) of compute-optimal models.
HOFFMANN_TABLE3_APPROACH1 = (
    (400e6, 1.92e19, 8.0e9),
    (1e9, 1.21e20, 20.2e9),
    (10e9, 1.23e22, 205.1e9),
    (67e9, 5.76e23, 1.5e12),
    (175e9, 3.85e24, 3.7e12),
    (280e9, 9.90e24, 5.9e12),
    (520e9, 3.43e25, 11.0e12),
    (1e12, 1.27e26, 21.2e12),
    (10e12, 1.30e28, 216.2e12),
)
# Hoffmann et al. 2022, Table A3, Approach 2 columns.
HOFFMANN_TABLEA3_APPROACH2 = (
    (400e6, 1.84e19, 7.7e9),
    (1e9, 1.20e20, 20.0e9),
    (10e9, 1.32e22, 219.5e9),
    (67e9, 6.88e23, 1.7e12),
    (175e9, 4.54e24, 4.3e12),
    (280e9, 1.18e25, 7.1e12),
    (520e9, 4.19e25, 13.4e12),
    (1e12, 1.59e26, 26.5e12),
    (10e12, 1.75e28, 292.0e12),
)
# Hoffmann et al. 2022, Table A3, Approach 3 columns, as printed. The 175B row prints
# 1.26e+24 FLOPs; its own 6·N·D (175e9 × 12.0e12 × 6) is 1.26e25, so the exponent is a typo.
HOFFMANN_TABLEA3_APPROACH3 = (
    (400e6, 2.21e19, 9.2e9),
    (1e9, 1.62e20, 27.1e9),
    (10e9, 2.46e22, 410.1e9),
    (67e9, 1.71e24, 4.1e12),
    (175e9, 1.26e24, 12.0e12),
    (280e9, 3.52e25, 20.1e12),
    (520e9, 1.36e26, 43.5e12),
    (1e12, 5.65e26, 94.1e12),
    (10e12, 8.55e28, 1425.5e12),
)

APPROACH_1 = PowerLawFrontier.fit(
    [r[0] for r in HOFFMANN_TABLE3_APPROACH1],
    [r[1] for r in HOFFMANN_TABLE3_APPROACH1],
    source="Hoffmann et al. 2022, Approach 1, fitted to Table 3",
)
APPROACH_2 = PowerLawFrontier.fit(
    [r[0] for r in HOFFMANN_TABLEA3_APPROACH2],
    [r[1] for r in HOFFMANN_TABLEA3_APPROACH2],
    source="Hoffmann et al. 2022, Approach 2, fitted to Table A3",
)


def non_embedding_params(total_params, vocab_size: int, context: int, aspect_ratio: float):
    """Kaplan's N (non-embedding) of a GPT-shaped model with `total_params` parameters.

    The blocks hold 12·L·d² = 12·d³/r for an aspect ratio r = d/L, the embeddings (V + S)·d
    (token and learned position embeddings, the output layer tied); solves
    total = 12·d³/r + (V + S)·d for d and returns 12·d³/r.
    """
    total = number_array("total_params", total_params, "1e8")
    for name, value in (("vocab_size", vocab_size), ("context", context), ("aspect_ratio", aspect_ratio)):
        if not value > 0:
            raise ValueError(f"{name}={value!r} must be > 0")
    width = vocab_size + context

    def d_for(t):
        return brentq(lambda d: 12.0 * d**3 / aspect_ratio + width * d - t, 0.0, max(t / width, 1.0))

    d = np.vectorize(d_for, otypes=[float])(total)
    return scalar_or_array(12.0 * d**3 / aspect_ratio)


def fitted_exponent(x, y) -> float:
    """The slope of log y against log x (a power law's exponent), by least squares."""
    lx, ly = np.log(number_array("x", x, "[1, 10]")), np.log(number_array("y", y, "[1, 10]"))
    if lx.shape != ly.shape or lx.size < 2:
        raise ValueError("x and y must be paired, with at least two points")
    return float(np.polyfit(lx, ly, 1)[0])


def preset_loss(law: ParametricLaw, name: str) -> float:
    """The loss `law` predicts (nats/token) for a published model from its parameter count and
    training tokens (`presets`): scale alone, not data or architecture."""
    preset = presets.preset(name)
    if preset.train_tokens is None:
        raise ValueError(f"preset {name!r} reports no training tokens; choose a preset that does, e.g. 'llama-13b'")
    return float(law.loss(preset.n_params, preset.train_tokens))
