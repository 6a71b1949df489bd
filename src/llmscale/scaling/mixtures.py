"""Training data in arithmetic: mixtures, epochs, unique tokens and what a repeated token is worth.

A mixture draws a fraction w_i of its D training tokens from source i, so source i supplies

    D_i = w_i · D  tokens,   of which   U_i = D_i / e_i  are unique,

where e_i is the number of epochs (passes) over that source; a source's disk size M_i then
implies b_i = M_i / U_i bytes per token. Muennighoff et al. 2023 ("Scaling Data-Constrained Language
Models") value D tokens drawn from U unique ones (R = D/U − 1 repetitions) as

    D' = U + U · R*_D · (1 − exp(−R / R*_D)),

effective tokens that replace D in a Chinchilla-type law; excess parameters are discounted the
same way with R*_N. Repeated data is worth at most (1 + R*_D)·U, however long one trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .. import presets, published
from .._validate import number_array, scalar_or_array
from ..published import gpt3 as gpt3_paper
from ..published import llama as llama_paper

# ---------------------------------------------------------------------------
# Mixture arithmetic
# ---------------------------------------------------------------------------


def source_tokens(weights, total_tokens: float, tol: float = 0.02) -> np.ndarray:
    """Tokens each source supplies, D_i = w_i·D, with the weights normalised to sum to 1.

    Published weights are rounded (GPT-3's sum to 1.01); a sum further than `tol` from 1
    is refused, which catches weights given in percent.
    """
    w = number_array("weights", weights, allow_zero=True, example="[0.6, 0.4]")
    if w.ndim != 1:
        raise ValueError(f"weights has shape {w.shape}; pass one weight per source, e.g. [0.6, 0.4]")
    total = w.sum()
    if abs(total - 1.0) > tol:
        hint = " (they look like percent: divide by 100)" if 90 <= total <= 110 else ""
        raise ValueError(
            f"weights sum to {total:.4g}, not 1 within tol={tol}{hint}; pass fractions "
            "of the training tokens that sum to 1"
        )
    d = number_array("total_tokens", total_tokens, example="1.4e12")
    return w / total * float(d)


def unique_tokens(tokens, epochs):
    """Unique tokens U = D / e behind D tokens trained on at e epochs (arrays broadcast)."""
    return scalar_or_array(
        number_array("tokens", tokens, allow_zero=True) / number_array("epochs", epochs, example="1.1")
    )


def epochs_of(tokens, unique):
    """Epochs e = D / U: how many times D training tokens go over U unique ones."""
    return scalar_or_array(
        number_array("tokens", tokens, allow_zero=True) / number_array("unique", unique, example="1e9")
    )


def bytes_per_token(disk_bytes, unique):
    """Bytes of text per token, M / U, for a source of M bytes holding U unique tokens."""
    return scalar_or_array(number_array("disk_bytes", disk_bytes, example="3.3e12") / number_array("unique", unique))


def mixture_unique_tokens(total_tokens: float, weights, epochs, tol: float = 0.02) -> float:
    """Unique tokens behind a mixture: Σ_i w_i·D / e_i."""
    d_i = source_tokens(weights, total_tokens, tol)
    e = number_array("epochs", epochs, example="[2, 4]")
    if e.shape not in ((), d_i.shape):
        raise ValueError(
            f"epochs has shape {e.shape} but there are {d_i.size} weights; pass one epoch count per source"
        )
    return float(np.sum(d_i / e))


@dataclass(frozen=True)
class Mixture:
    """A training mixture: per source a weight and epochs, optionally disk size and public flag.

    weights: fractions of the training tokens (rounded published values are normalised);
    epochs: passes over each source during training; disk_bytes: each source's size on disk;
    dataset_tokens: each source's size in tokens, where the paper prints it; public: whether
    the source is publicly available.
    """

    name: str
    total_tokens: float
    sources: tuple[str, ...]
    labels: tuple[str, ...]
    weights: tuple[float, ...]
    epochs: tuple[float, ...]
    disk_bytes: tuple[float, ...] | None = None
    dataset_tokens: tuple[float, ...] | None = None
    public: tuple[bool, ...] | None = None
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.sources)
        if n == 0:
            raise ValueError("sources is empty; a mixture needs at least one source")
        for field in ("labels", "weights", "epochs", "disk_bytes", "dataset_tokens", "public"):
            value = getattr(self, field)
            if value is not None and len(value) != n:
                raise ValueError(f"{field} has {len(value)} entries but there are {n} sources; give one per source")
        source_tokens(self.weights, self.total_tokens)  # validates weights and total
        number_array("epochs", self.epochs, example="(1.1, 2.45)")

    @property
    def weight_sum(self) -> float:
        """The published weights' sum (1 up to rounding)."""
        return float(sum(self.weights))

    def tokens(self) -> np.ndarray:
        """Training tokens drawn from each source, D_i."""
        return source_tokens(self.weights, self.total_tokens)

    def unique_tokens(self) -> np.ndarray:
        """Unique tokens of each source seen in training, U_i = D_i / e_i."""
        return self.tokens() / np.asarray(self.epochs, dtype=float)

    def total_unique_tokens(self) -> float:
        return float(self.unique_tokens().sum())

    def bytes_per_token(self) -> np.ndarray:
        """Disk bytes per unique token of each source, M_i / U_i."""
        if self.disk_bytes is None:
            raise ValueError(f"mixture {self.name!r} has no disk sizes; pass disk_bytes to use bytes_per_token")
        return np.asarray(self.disk_bytes, dtype=float) / self.unique_tokens()

    def implied_epochs(self) -> np.ndarray:
        """Epochs implied by the weights and the printed data-set sizes, D_i / tokens_i."""
        if self.dataset_tokens is None:
            raise ValueError(
                f"mixture {self.name!r} has no data-set sizes in tokens; pass dataset_tokens to use implied_epochs"
            )
        return self.tokens() / np.asarray(self.dataset_tokens, dtype=float)

    def public_share(self) -> float:
        """Fraction of the training tokens drawn from public sources."""
        if self.public is None:
            raise ValueError(f"mixture {self.name!r} does not say which sources are public; pass public")
        return float(np.sum(self.tokens()[np.asarray(self.public, dtype=bool)]) / self.total_tokens)

    def share(self, *names: str) -> float:
        """Fraction of the training tokens drawn from the named sources."""
        unknown = [n for n in names if n not in self.sources]
        if unknown:
            raise ValueError(f"unknown sources {unknown} in mixture {self.name!r}; choose from {list(self.sources)}")
        idx = [self.sources.index(n) for n in names]
        return float(self.tokens()[idx].sum() / self.total_tokens)

    def get(self, source_name: str, field: str) -> float:
        """One source's value of `field` ("weights", "epochs", "disk_bytes", ...) or of a method
        ("tokens", "unique_tokens", "bytes_per_token", "implied_epochs")."""
        if source_name not in self.sources:
            raise ValueError(
                f"unknown source {source_name!r} in mixture {self.name!r}; choose from {list(self.sources)}"
            )
        i = self.sources.index(source_name)
        value = getattr(self, field, None)
        if value is None:
            raise ValueError(f"mixture {self.name!r} has no field {field!r}")
        return float(value()[i] if callable(value) else value[i])


def published_mixture(model: str) -> Mixture:
    """A published mixture from `llmscale.published`: "llama" (Table 1) or "gpt3" (Table 2.2)."""
    fig = lambda key: published.get(key).value  # noqa: E731
    if model not in ("llama", "gpt3"):
        raise ValueError(f"unknown mixture model={model!r}; choose 'llama' or 'gpt3'")
    paper = llama_paper if model == "llama" else gpt3_paper
    keys = paper.MIXTURE_SOURCES

    def column(field: str) -> tuple[float, ...]:
        return tuple(fig(f"{model}.{k}_{field}") for k in keys)

    common = dict(
        sources=keys,
        labels=tuple(paper.MIXTURE_LABELS[k] for k in keys),
        weights=column("weight"),
        epochs=column("epochs"),
        public=tuple(bool(p) for p in column("public")),
    )
    if model == "llama":
        return Mixture(
            "LLaMA",
            float(presets.preset("llama-65b").train_tokens),
            disk_bytes=column("disk_bytes"),
            source="Touvron et al. 2023, Table 1 (1.4T tokens: LLaMA-33B and -65B)",
            **common,
        )
    return Mixture(
        "GPT-3",
        fig("gpt3.train_tokens"),
        dataset_tokens=column("tokens"),
        source="Brown et al. 2020, Table 2.2 (300B tokens)",
        **common,
    )


# ---------------------------------------------------------------------------
# Repeated data: Muennighoff et al. 2023
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DataConstrainedLaw:
    """L(N, D, U) = E + A/N'^α + B/D'^β with D' and N' the effective data and parameters.

    rd_star and rn_star are the "half-lives" R*_D and R*_N of repeated tokens and of
    parameters in excess of the compute-optimal size for the unique data.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    rd_star: float
    rn_star: float
    source: str = ""

    @property
    def G(self) -> float:
        return (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / (self.alpha + self.beta))

    def optimal_params(self, tokens):
        """N at which a model is compute-optimal for D tokens: (D·G)^(β/α)·G."""
        d = number_array("tokens", tokens, example="25e9")
        return scalar_or_array((d * self.G) ** (self.beta / self.alpha) * self.G)

    def effective_tokens(self, tokens, unique):
        return effective_tokens(tokens, unique, self.rd_star)

    def effective_params(self, n_params, unique_tokens):
        """N' for N parameters when U unique tokens make only optimal_params(U) of them useful."""
        n = number_array("n_params", n_params, example="6e9")
        return effective_params(n, np.minimum(n, self.optimal_params(unique_tokens)), self.rn_star)

    def loss(self, n_params, tokens, unique):
        """Predicted loss (nats/token) of N parameters trained on D tokens from U unique ones."""
        n_eff = self.effective_params(n_params, unique)
        d_eff = self.effective_tokens(tokens, unique)
        return scalar_or_array(np.asarray(self.E + self.A / n_eff**self.alpha + self.B / d_eff**self.beta))


def effective_tokens(tokens, unique, r_star: float | None = None):
    """Effective tokens D' = U + U·R*·(1 − exp(−R/R*)), R = D/U − 1 (D' = D below one epoch)."""
    r_star = MUENNIGHOFF.rd_star if r_star is None else r_star
    if not (isinstance(r_star, (int, float)) and math.isfinite(r_star) and r_star > 0):
        raise ValueError(f"r_star={r_star!r} must be a number > 0, e.g. r_star={MUENNIGHOFF.rd_star}")
    d = number_array("tokens", tokens, allow_zero=True)
    u = number_array("unique", unique)
    seen = np.minimum(d, u)  # below one epoch only D distinct tokens are seen
    reps = np.maximum(d / u - 1.0, 0.0)
    return scalar_or_array(seen + seen * r_star * (1.0 - np.exp(-reps / r_star)))


def effective_params(n_params, unique_params, r_star: float | None = None):
    """Effective parameters N' = U_N + U_N·R*_N·(1 − exp(−R_N/R*_N)), R_N = N/U_N − 1."""
    r_star = MUENNIGHOFF.rn_star if r_star is None else r_star
    if not (isinstance(r_star, (int, float)) and math.isfinite(r_star) and r_star > 0):
        raise ValueError(f"r_star={r_star!r} must be a number > 0, e.g. r_star={MUENNIGHOFF.rn_star}")
    n = number_array("n_params", n_params, example="6e9")
    u = number_array("unique_params", unique_params, example="6e9")
    if np.any(u > n * (1 + 1e-12)):
        raise ValueError(
            "unique_params must not exceed n_params; pass min(n_params, the compute-optimal size for the unique data)"
        )
    reps = np.maximum(n / u - 1.0, 0.0)
    return scalar_or_array(u + u * r_star * (1.0 - np.exp(-reps / r_star)))


def repeat_value(epochs, r_star: float | None = None):
    """D'/D: what a token trained on is worth, on average, after e epochs (1 for e <= 1)."""
    e = number_array("epochs", epochs, example="4")
    return scalar_or_array(np.asarray(effective_tokens(e, 1.0, r_star)) / e)


def epoch_value(k, r_star: float | None = None):
    """What the k-th epoch adds, in fresh epochs: D'(k) − D'(k−1) for U = 1 (1 for k = 1)."""
    k_arr = number_array("k", k, allow_zero=True, example="4")
    if np.any(k_arr < 1):
        raise ValueError(f"k={k!r} counts epochs from 1; pass k >= 1")
    k = k_arr
    return scalar_or_array(
        np.asarray(effective_tokens(k, 1.0, r_star)) - np.asarray(effective_tokens(k - 1.0, 1.0, r_star))
    )


def marginal_value(epochs, r_star: float | None = None):
    """dD'/dD: what one more token trained on adds, in fresh tokens, after e epochs over the
    same data: exp(−(e − 1)/R*) (1 for e <= 1, where every token is fresh)."""
    r_star = MUENNIGHOFF.rd_star if r_star is None else r_star
    if not (isinstance(r_star, (int, float)) and math.isfinite(r_star) and r_star > 0):
        raise ValueError(f"r_star={r_star!r} must be a number > 0, e.g. r_star={MUENNIGHOFF.rd_star}")
    e = number_array("epochs", epochs, allow_zero=True, example="4")
    return scalar_or_array(np.exp(-np.maximum(e - 1.0, 0.0) / r_star))


def epochs_at_marginal_value(fraction: float, r_star: float | None = None) -> float:
    """Epochs after which one more token trained on adds only `fraction` of a fresh one
    (marginal_value = fraction), found numerically from `marginal_value`."""
    if not (isinstance(fraction, (int, float)) and 0 < fraction < 1):
        raise ValueError(f"fraction={fraction!r} must lie strictly between 0 and 1, e.g. 0.25")
    f = lambda e: float(marginal_value(e, r_star)) - fraction  # noqa: E731
    hi = 2.0
    while f(hi) > 0:
        hi *= 2
    return float(brentq(f, 1.0, hi, xtol=1e-10))


def epochs_at_value(fraction: float, r_star: float | None = None) -> float:
    """Epochs after which the average token is worth `fraction` of a fresh one (D'/D = fraction)."""
    if not (isinstance(fraction, (int, float)) and 0 < fraction < 1):
        raise ValueError(f"fraction={fraction!r} must lie strictly between 0 and 1, e.g. 0.5")
    f = lambda e: float(repeat_value(e, r_star)) - fraction  # noqa: E731
    hi = 2.0
    while f(hi) > 0:
        hi *= 2
    return float(brentq(f, 1.0, hi, xtol=1e-10))


# Muennighoff et al. 2023, fitted on C4 with the GPT-2 tokenizer; the constants as printed in
# the authors' repository (huggingface/datablations, README "Parametric Fit"): a, b, e are the
# logs of A, B, E, and α = β.
MUENNIGHOFF = DataConstrainedLaw(
    E=math.exp(0.6254804),
    A=math.exp(6.255414),
    B=math.exp(7.3049974),
    alpha=0.3526596,
    beta=0.3526596,
    rd_star=15.387756,
    rn_star=5.309743,
    source="Muennighoff et al. 2023, Scaling Data-Constrained Language Models, eq. 5 and "
    "Appendix; constants from the authors' repository (huggingface/datablations)",
)
