"""Pruning: the page's claims (the cost-slimming article's "pruning removes the small weights, which
matter little" and "the finer the pruning, the smaller the loss"), its exercises, and the helpers
it reads the stored `pruning-sweep` with."""

from __future__ import annotations

import math

import numpy as np

from ... import claims, exercises, experiments, hardware, presets, published
from ...compression import sparse_speed
from ...published import pruning as paper

METHODS = ("magnitude", "wanda", "sparsegpt")
LABELS = {"magnitude": "magnitude", "wanda": "Wanda", "sparsegpt": "SparseGPT"}
PATTERNS = ("unstructured", "4:8", "2:4")


def stored() -> dict:
    """The stored `pruning-sweep` data (its record's "data")."""
    return experiments.load("pruning-sweep")["data"]


def main_loss(language: str, method: str, pattern: str, data: dict | None = None) -> float:
    """Validation loss (nats/token) of the stored model of `language` pruned by `method` at 50% `pattern`."""
    rows = (data or stored())["languages"][language]["main"]
    return next(r["loss"] for r in rows if r["method"] == method and r["pattern"] == pattern)


def loss_increase(language: str, method: str, pattern: str, data: dict | None = None) -> float:
    """Loss after pruning minus the dense loss, nats/token."""
    data = data or stored()
    return main_loss(language, method, pattern, data) - data["languages"][language]["dense_loss"]


def published_increase(method: str, pattern: str = "unstructured") -> float:
    """LLaMA-2 7B's WikiText loss increase in nats/token, ln(pruned perplexity / dense perplexity)."""
    return math.log(paper.llama2_7b_ppl(method, pattern) / paper.llama2_7b_ppl("dense"))


def ordering(values: dict[str, float]) -> list[str]:
    """Method names from least to most damage."""
    return sorted(values, key=values.get)


def over_seeds(rows: list[dict], key: str, **match) -> tuple[list, np.ndarray, np.ndarray]:
    """(values of `key`, mean loss, standard error over seeds) of the rows matching `match`."""
    chosen = [r for r in rows if all(r[k] == v for k, v in match.items())]
    xs = sorted({r[key] for r in chosen}, key=lambda x: (isinstance(x, str), x))
    means, errors = [], []
    for x in xs:
        losses = np.array([r["loss"] for r in chosen if r[key] == x])
        means.append(losses.mean())
        errors.append(losses.std(ddof=1) / np.sqrt(len(losses)) if len(losses) > 1 else 0.0)
    return xs, np.array(means), np.array(errors)


def llama2_7b():
    """LLaMA-2 7B's shape: LLaMA-7B's (32 layers, d 4,096, SwiGLU 11,008, vocabulary 32,000) with a
    4,096-token context."""
    return presets.get("llama-7b").replace(seq_len=4096)


# --- claims --------------------------------------------------------------------------------------


@claims.register(
    "pruning-small-weights-matter-little",
    claims.COST_SLIMMING,
    "Pruning cuts away the smaller weights, which have little effect on the model, and so shrinks it "
    "(checked: removing the smallest half of LLaMA-2 7B's weights costs less than the gap to the next "
    "dense size, 13B).",
    True,
    "yes/no",
    basis="primary-source",
)
def _():
    magnitude = published_increase("magnitude")
    doubling = math.log(paper.llama2_7b_ppl("dense") / published.get("pruning.llama2-13b.dense_ppl").value)
    best = min(published_increase("sparsegpt"), published_increase("wanda"))
    return magnitude < doubling, (
        f"Sun et al.'s table: pruning the smallest 50% of LLaMA-2 7B's weights by magnitude raises its "
        f"WikiText perplexity from {paper.llama2_7b_ppl('dense'):.2f} to {paper.llama2_7b_ppl('magnitude'):.2f}, "
        f"+{magnitude:.2f} nats/token, {magnitude / doubling:.0f}× the {doubling:.2f} nats that separate it from "
        f"the dense 13B. Small weights are not unimportant by being small: the best one-shot methods "
        f"(Wanda, SparseGPT), which also weigh the inputs a weight meets, lose {best:.2f} nats, still more than "
        "the doubling buys. On the book's small models magnitude pruning costs little (the page's table): the "
        "article's picture holds there, not at the scale it speaks of."
    )


def finer_is_better(data: dict | None = None) -> tuple[bool, list[str]]:
    """(unstructured ≤ 4:8 ≤ 2:4 in loss for every method on both book models, the exceptions)."""
    data = data or stored()
    exceptions = []
    for language in data["languages"]:
        for method in METHODS:
            losses = [main_loss(language, method, p, data) for p in PATTERNS]
            if not losses[0] <= losses[1] <= losses[2]:
                exceptions.append(f"{language}/{method}")
    return not exceptions, exceptions


@claims.register(
    "pruning-finer-loses-less",
    claims.COST_SLIMMING,
    "Pruning is fine craftsmanship: the finer the pruning, the smaller the model's loss of accuracy "
    "(checked: at 50% sparsity, unstructured masks lose less than 4:8, which lose less than 2:4, for "
    "every method on both of the book's models).",
    True,
    "yes/no",
    basis="derived",
)
def _():
    holds, exceptions = finer_is_better()
    data = stored()
    detail = ", ".join(
        f"{lang} {LABELS[m]} " + " / ".join(f"{loss_increase(lang, m, p, data):+.3f}" for p in PATTERNS)
        for lang in data["languages"]
        for m in METHODS
    )
    llama = " / ".join(f"{published_increase('magnitude', p):+.2f}" for p in PATTERNS)
    published_holds = all(
        published_increase(m, "unstructured") < published_increase(m, "4:8") < published_increase(m, "2:4")
        for m in METHODS
    )
    llama_says = "shows the same order" if published_holds else "does not show this order"
    return holds, (
        f"Loss increase in nats/token, unstructured / 4:8 / 2:4: {detail}"
        + (f"; exceptions: {', '.join(exceptions)}" if exceptions else "")
        + f". LLaMA-2 7B (Sun et al.) {llama_says} for all three methods (magnitude {llama}). Finer "
        "masks lose less, but only the coarse 2:4 one runs faster on a GPU (the page's roofline)."
    )


# --- exercises -----------------------------------------------------------------------------------


def sparse_model_gb(cfg, bytes_per_value: float = 2) -> float:
    """GB (1e9 bytes) of a model with its block matrices in 2:4 (values and metadata) and every
    other weight dense at `bytes_per_value`."""
    from ... import counting

    linear = sparse_speed.block_linear_params(cfg)
    rest = counting.param_count(cfg) - linear
    return (rest * bytes_per_value + linear * sparse_speed.sparse_bytes_per_weight(bytes_per_value)) / 1e9


exercises.register(
    "pruning-1",
    lambda: sparse_model_gb(llama2_7b()),
    rel_tol=0.005,
    unit="GB",
    hint="The block matrices (sparse_speed.block_linear_params) at (2 + 1/4)/2 bytes each, the embeddings "
    "and head (2·V·d) and the norms at 2 bytes; 1 GB = 1e9 bytes.",
)
exercises.register(
    "pruning-2",
    lambda: sparse_speed.decode_step(llama2_7b(), hardware.get("h100"), batch=1, context=16384).speedup,
    rel_tol=0.01,
    unit="×",
    hint="A batch-1 decode step is memory-bound dense and sparse: the speed-up is the ratio of the bytes read, "
    "weights plus the 16,384-token KV cache, which stays dense.",
    kind="derive",
)


def _wanda_with_equal_norms_is() -> str:
    import torch

    from ...compression import prune

    g = torch.Generator().manual_seed(0)
    w = torch.randn(16, 32, generator=g)
    wanda = prune.mask(w, "wanda", "unstructured", 0.5, torch.full((32,), 3.0))
    if torch.equal(wanda, prune.mask(w, "magnitude", "unstructured", 0.5, group="row")):
        return "b"
    return "a" if torch.equal(wanda, prune.mask(w, "magnitude", "unstructured", 0.5)) else "c"


exercises.register_choice(
    "pruning-3",
    {
        "a": "magnitude pruning as the page runs it (compared over the whole layer)",
        "b": "magnitude pruning compared within each output row",
        "c": "neither: the activation term still reorders the weights",
    },
    _wanda_with_equal_norms_is,
    hint="Multiplying every score of a row by the same number changes no comparison within that row; "
    "but which group does Wanda compare in?",
    kind="predict",
)
