"""A seeded synthetic language whose entropy rate is known exactly.

That number is the irreducible loss: the best cross-entropy any model can reach, the floor of
a scaling law, measured rather than fitted.
"""

from __future__ import annotations

import bisect
import functools
import math
from dataclasses import dataclass, field

import numpy as np

# Probability mass mixed into every transition.  Dirichlet draws with a small
# concentration can underflow to exactly 0; the floor keeps every transition
# possible, which makes the chain irreducible and aperiodic (so its stationary
# distribution is unique) and bounds the NLL of any token by ~14 nats.
_MARKOV_FLOOR = 1e-6
# Largest transition table we allow (V**(order+1) float64 entries, ~128 MiB).
_MARKOV_MAX_ENTRIES = 2**24


def _stationary_dense(transition: np.ndarray) -> np.ndarray:
    """Stationary distribution of a dense (n, n) row-stochastic matrix, by a linear solve."""
    n = transition.shape[0]
    # pi (T - I) = 0 with sum(pi) = 1: replace one (redundant) equation by the normalisation.
    a = transition.T - np.eye(n)
    a[-1, :] = 1.0
    b = np.zeros(n)
    b[-1] = 1.0
    pi = np.linalg.solve(a, b)
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


@dataclass(frozen=True, eq=False)
class MarkovLanguage:
    """An order-1 or order-2 Markov chain over ``vocab_size`` tokens with Dirichlet transitions.

    The state is the last ``order`` tokens, encoded as the integer
    ``sum(tok_i * V**(order-1-i))`` (so for order 2, state ``a*V + b``).
    ``probs[s, t]`` is P(next token = t | state s).  Build one with
    :meth:`make`.
    """

    vocab_size: int
    order: int
    concentration: float
    seed: int
    probs: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        # Checked here too, not only in make(), so hand-built chains (used for
        # closed-form checks) are held to the same contract.
        if self.order not in (1, 2):
            raise ValueError(f"order={self.order!r} is not supported; choose order=1 or order=2")
        probs = np.array(self.probs, dtype=np.float64)
        expected = (self.vocab_size**self.order, self.vocab_size)
        if probs.shape != expected:
            raise ValueError(f"probs has shape {probs.shape}; pass shape (vocab_size**order, vocab_size) = {expected}")
        if not np.all(probs > 0) or not np.allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-9):
            raise ValueError(
                "probs rows must be strictly positive and sum to 1 (positivity keeps the chain "
                "irreducible and aperiodic); mix in a little uniform mass"
            )
        probs.setflags(write=False)
        object.__setattr__(self, "probs", probs)

    @classmethod
    def make(
        cls,
        vocab_size: int = 64,
        order: int = 2,
        concentration: float = 0.05,
        seed: int = 0,
    ) -> MarkovLanguage:
        """Draw each state's next-token distribution from a symmetric Dirichlet(concentration).

        Small ``concentration`` gives peaked distributions (low entropy, learnable);
        large gives near-uniform ones (entropy near log(vocab_size)).
        """
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 2:
            raise ValueError(f"vocab_size={vocab_size!r} is invalid; choose an integer >= 2")
        if isinstance(order, bool) or order not in (1, 2):
            raise ValueError(f"order={order!r} is not supported; choose order=1 or order=2")
        if not isinstance(concentration, (int, float, np.floating)) or not (
            math.isfinite(concentration) and concentration > 0
        ):
            raise ValueError(
                f"concentration={concentration!r} is invalid; choose a finite number > 0 "
                "(e.g. 0.05 for a learnable, low-entropy language)"
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed={seed!r} is invalid; choose an integer >= 0")
        vocab_size, order, seed = int(vocab_size), int(order), int(seed)
        if vocab_size ** (order + 1) > _MARKOV_MAX_ENTRIES:
            raise ValueError(
                f"vocab_size={vocab_size} with order={order} needs a table of "
                f"{vocab_size ** (order + 1):,} probabilities; reduce vocab_size so that "
                f"vocab_size**(order+1) <= {_MARKOV_MAX_ENTRIES:,}"
            )
        rng = np.random.default_rng(seed)
        n_states = vocab_size**order
        probs = rng.dirichlet(np.full(vocab_size, float(concentration)), size=n_states)
        probs = (probs + _MARKOV_FLOOR) / (1.0 + vocab_size * _MARKOV_FLOOR)
        probs /= probs.sum(axis=1, keepdims=True)
        return cls(vocab_size, order, float(concentration), seed, probs)

    @property
    def n_states(self) -> int:
        """Number of states, ``vocab_size ** order``."""
        return self.vocab_size**self.order

    def step_distribution(self, pi: np.ndarray) -> np.ndarray:
        """One step of the chain applied to a distribution over states: returns ``pi @ T``."""
        v = self.vocab_size
        if self.order == 1:
            return pi @ self.probs
        # State (a, b) moves to (b, c) with probability P(c | a, b); T is V**2 x V**2
        # but has only V non-zeros per row, so apply it without building it.
        p = self.probs.reshape(v, v, v)
        return np.einsum("ab,abc->bc", pi.reshape(v, v), p).reshape(-1)

    def transition_matrix(self) -> np.ndarray:
        """The dense (n_states, n_states) transition matrix over states (for small chains)."""
        v, n = self.vocab_size, self.n_states
        if self.order == 1:
            return np.array(self.probs)
        t = np.zeros((n, n))
        states = np.arange(n)
        for c in range(v):
            t[states, (states % v) * v + c] = self.probs[:, c]
        return t

    @functools.cached_property
    def stationary(self) -> np.ndarray:
        """Stationary distribution over states (float64, sums to 1), solved to machine precision."""
        n = self.n_states
        if n <= 512:
            return _stationary_dense(self.transition_matrix())
        # Power iteration on the structured chain is far cheaper than a dense
        # n x n solve; the floor makes it mix quickly.  Fall back to the exact
        # solve if it has not converged (a nearly reducible chain).
        pi = np.full(n, 1.0 / n)
        for _ in range(20_000):
            nxt = self.step_distribution(pi)
            nxt /= nxt.sum()
            if np.abs(nxt - pi).sum() < 1e-15:
                return nxt
            pi = nxt
        return _stationary_dense(self.transition_matrix())

    def conditional_entropies(self) -> np.ndarray:
        """H(P(. | s)) for every state s, in nats."""
        p = self.probs
        return -(p * np.log(p)).sum(axis=1)  # the floor keeps every p > 0

    def entropy_rate(self) -> float:
        """Exact entropy rate in nats/token: sum_s pi(s) H(P(. | s))."""
        return float(self.stationary @ self.conditional_entropies())

    def entropy_rate_bits(self) -> float:
        """Exact entropy rate in bits/token."""
        return self.entropy_rate() / math.log(2)

    def sample(self, n_tokens: int, seed: int = 0) -> np.ndarray:
        """A stationary sample of ``n_tokens`` tokens (int64), reproducible from ``seed``.

        The first ``order`` tokens are drawn from the stationary distribution, so
        every position has the same marginal law and the sample's mean NLL is an
        unbiased estimate of the entropy rate.
        """
        if isinstance(n_tokens, bool) or not isinstance(n_tokens, (int, np.integer)) or n_tokens < 1:
            raise ValueError(f"n_tokens={n_tokens!r} is invalid; choose an integer >= 1")
        n_tokens = int(n_tokens)
        v, order = self.vocab_size, self.order
        rng = np.random.default_rng(seed)
        state = int(rng.choice(self.n_states, p=self.stationary))
        first = [state] if order == 1 else [state // v, state % v]
        if n_tokens <= order:
            return np.array(first[:n_tokens], dtype=np.int64)

        # The chain is inherently sequential, so the loop stays; what makes it
        # fast (~0.6 us/token) is that every step is one C-level bisect into a
        # precomputed cumulative row, on plain Python lists rather than numpy
        # scalars.
        cdf = np.cumsum(self.probs, axis=1)
        cdf[:, -1] = 1.0  # guard rounding: u < 1 always lands on a valid token
        rows = cdf.tolist()
        uniforms = rng.random(n_tokens - order).tolist()
        out = first + [0] * (n_tokens - order)
        find = bisect.bisect_right
        i = order
        if order == 1:
            for u in uniforms:
                state = find(rows[state], u)
                out[i] = state
                i += 1
        else:
            prev = first[1]
            for u in uniforms:
                tok = find(rows[state], u)
                out[i] = tok
                state = prev * v + tok
                prev = tok
                i += 1
        return np.array(out, dtype=np.int64)

    def token_nll(self, tokens: np.ndarray) -> np.ndarray:
        """Per-token NLL in nats under the true model, for ``tokens[order:]`` (length n - order)."""
        t = np.asarray(tokens, dtype=np.int64)
        if t.ndim != 1 or len(t) <= self.order:
            raise ValueError(f"tokens has shape {t.shape}; pass a 1-D array longer than order={self.order}")
        if t.min() < 0 or t.max() >= self.vocab_size:
            raise ValueError(f"tokens must lie in [0, {self.vocab_size}); got [{t.min()}, {t.max()}]")
        if self.order == 1:
            states = t[:-1]
        else:
            states = t[:-2] * self.vocab_size + t[1:-1]
        return -np.log(self.probs[states, t[self.order :]])
