"""Scaling laws: the parametric loss L(N, D) = E + A/N^α + B/D^β and its compute-optimal frontier.

Published fits are data with their sources; the functions are the algebra every chapter uses.
With C = 6·N·D, minimising L at fixed C gives (Hoffmann et al. 2022, eq. 4)

    N*(C) = G·(C/6)^a,  D*(C) = (C/6)^b / G,  G = (αA / βB)^(1/(α+β)),  a = β/(α+β),  b = α/(α+β).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ParametricLaw:
    """L(N, D) = E + A/N^α + B/D^β, in nats per token; N parameters, D training tokens."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str = ""

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


# Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", eq. (10), approach 3.
CHINCHILLA = ParametricLaw(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28,
                           source="Hoffmann et al. 2022, eq. 10 (approach 3)")
# Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt", refit of approach 3 on
# the data extracted from Hoffmann et al.'s Figure 4.
BESIROGLU = ParametricLaw(E=1.8172, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658,
                          source="Besiroglu et al. 2024, Table 1 (their refit)")
