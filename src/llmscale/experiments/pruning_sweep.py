"""The experiment `pruning-sweep`: magnitude, Wanda and SparseGPT on the two compression models
(`compression-models`), their loss after pruning, and how it depends on the calibration set.

For each language ("english", "markov"), on the stored model (`compression_models.load`):

- `main`: every method at 50% unstructured, 4:8 and 2:4, plus two ablations at 50% unstructured
  and 2:4: magnitude compared per output row (what Wanda's comparison group alone gives) and
  Wanda compared over the whole layer (what its activation term alone gives);
- `sweep`: every method at unstructured sparsities `SPARSITIES`;
- `calibration_size`: Wanda and SparseGPT at 2:4 with 1 to 128 windows of the training split, for
  each calibration seed of `SEEDS`;
- `calibration_source`: the same at 16 windows drawn from the right corpus (the
  training split), another corpus (English: the PSF licence text that ships with the package,
  tokenised by the same BPE; Markov: another order-2 chain over the same 32 tokens, seed 1) and
  uniformly random tokens, for each seed.

Calibration windows are `compression_models.SEQ_LEN` (128) tokens, `CALIBRATION_WINDOWS` (128)
of them unless a row says otherwise, drawn with seed 0; losses are `compression_models.val_loss`
(nats/token on the fixed validation windows). One CPU thread, so a page that recomputes one
point gets the same bits. Budget: about 160 prunings, each a few seconds; about ten minutes on the
book's 2-core machine (shared with other jobs).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from .. import data, measure
from ..compression import calibration
from ..compression import prune as P
from . import Experiment
from . import compression_models as cm

METHODS = P.METHODS
PATTERNS = P.PATTERNS
CALIBRATION_WINDOWS = 128
SEEDS = (0, 1, 2)
SENSITIVITY_PATTERN = "2:4"  # where the calibration set matters most (the largest damage at 50%)
SOURCES = ("right corpus", "other corpus", "random tokens")
# size: sparsities of the sweep, windows of the size sweep, windows of the source comparison, seeds
_SIZES = {
    "tiny": ((0.5,), (4,), 4, (0,)),
    "small": ((0.2, 0.4, 0.5, 0.6, 0.7, 0.8), (1, 4, 16, 128), 16, SEEDS),
}
# ablations at 50%: (label, method, group)
ABLATIONS = (("magnitude per row", "magnitude", "row"), ("wanda per layer", "wanda", "layer"))


@lru_cache(maxsize=2)
def _train_tokens(language: str) -> np.ndarray:
    return cm.corpus(language).train


@lru_cache(maxsize=2)
def other_tokens(language: str) -> np.ndarray:
    """Tokens of "another corpus" for `language`'s model: the PSF licence text through the English
    BPE, or a different Markov chain (seed 1) over the same vocabulary."""
    if language == "english":
        from importlib.resources import files

        text = (files("llmscale.data") / "LICENSE-PSF.txt").read_text(encoding="utf-8")
        return np.asarray(cm.corpus("english").tokenizer.encode(text), dtype=np.int64)
    if language == "markov":
        settings = {**cm.MARKOV, "seed": 1, "n_tokens": 100_000}
        return data.load_corpus("markov", **settings).train
    raise ValueError(f"language={language!r} is not one of {cm.LANGUAGES}")


def calibration_set(language: str, source: str, n_windows: int, seed: int) -> torch.Tensor:
    """(n_windows, SEQ_LEN) calibration windows from `source` (one of SOURCES), seeded."""
    if source == "right corpus":
        # as compression_models.calibration_windows draws them, the corpus loaded once
        return calibration.windows(_train_tokens(language), n_windows, cm.SEQ_LEN, seed)
    if source == "other corpus":
        return calibration.windows(other_tokens(language), n_windows, cm.SEQ_LEN, seed)
    if source == "random tokens":
        vocab = cm.model_config(language).vocab_size
        g = torch.Generator().manual_seed(seed)
        return torch.randint(0, vocab, (n_windows, cm.SEQ_LEN), generator=g)
    raise ValueError(f"source={source!r} is not one of {SOURCES}")


def model(language: str, size: str) -> torch.nn.Module:
    """The model a size prunes: the stored compression model ("small"), or a freshly trained tiny one."""
    if size == "small":
        return cm.load(language)
    return cm.train_model(language, "tiny")[0]


def point(
    dense,
    language: str,
    method: str,
    pattern: str = "unstructured",
    sparsity: float = 0.5,
    n_windows: int = CALIBRATION_WINDOWS,
    seed: int = 0,
    source: str = "right corpus",
    group: str | None = None,
) -> dict:
    """Prune `dense` once and measure it: validation loss (nats/token) and sparsity reached."""
    windows = None if method == "magnitude" else calibration_set(language, source, n_windows, seed)
    with measure.torch_threads(1):
        pruned = P.prune(dense, method, pattern, sparsity, windows, group=group)
        loss = cm.val_loss(pruned, language)
    return {"loss": loss, "sparsity_reached": P.sparsity_reached(pruned)}


def _run(size: str, device: str) -> dict:
    sparsities, sizes, source_windows, seeds = _SIZES[size]
    out = {
        "calibration_windows": CALIBRATION_WINDOWS,
        "seq_len": cm.SEQ_LEN,
        "seeds": list(seeds),
        "sources": list(SOURCES),
        "threads": 1,
        "languages": {},
    }
    for language in cm.LANGUAGES:
        dense = model(language, size)
        with measure.torch_threads(1):
            dense_loss = cm.val_loss(dense, language)
        main = []
        for pattern in PATTERNS:
            for method in METHODS:
                main.append({"method": method, "pattern": pattern, **point(dense, language, method, pattern)})
        for label, method, group in ABLATIONS:
            for pattern in ("unstructured", "2:4"):
                row = point(dense, language, method, pattern, group=group)
                main.append({"method": label, "pattern": pattern, **row})
        sweep = [
            {"method": m, "sparsity": s, **point(dense, language, m, "unstructured", s)}
            for s in sparsities
            for m in METHODS
        ]
        by_size, by_source = [], []
        for method in ("wanda", "sparsegpt"):
            for pattern in (SENSITIVITY_PATTERN,):
                for seed in seeds:
                    for n in sizes:
                        row = point(dense, language, method, pattern, n_windows=n, seed=seed)
                        by_size.append({"method": method, "pattern": pattern, "n_windows": n, "seed": seed, **row})
                    for source in SOURCES:
                        row = point(
                            dense, language, method, pattern, n_windows=source_windows, seed=seed, source=source
                        )
                        by_source.append({"method": method, "pattern": pattern, "source": source, "seed": seed, **row})
        out["languages"][language] = {
            "dense_loss": dense_loss,
            "entropy_rate": cm.entropy_rate(language),
            "prunable_params": P.prunable_params(dense),
            "n_params": sum(p.numel() for p in dense.parameters()),
            "main": main,
            "sweep": sweep,
            "calibration_size": by_size,
            "calibration_source": by_source,
            "source_windows": source_windows,
        }
    return out


EXPERIMENT = Experiment(
    name="pruning-sweep",
    version=1,
    sizes=tuple(_SIZES),
    default_size="small",
    description="magnitude, Wanda and SparseGPT on the compression models: patterns, sparsities, calibration sets",
    run=_run,
)
