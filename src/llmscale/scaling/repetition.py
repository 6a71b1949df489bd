"""A live check of repeated data: a tiny model trained for the same steps on ever smaller
unique pools, so each run sees its pool more times (Muennighoff et al. 2023's experiment, in
miniature; `llmscale.scaling.mixtures` holds their law)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import number_array
from ..measure import torch_threads
from ..train import train


@dataclass(frozen=True)
class RepetitionRun:
    """One run of `repetition_runs`: the epochs over its unique pool and the losses reached."""

    epochs: float
    unique_tokens: int
    tokens: int
    val_loss: float
    train_loss: float


def repetition_runs(
    cfg,
    train_tokens,
    val_tokens,
    epochs=(1, 2, 4, 8, 16, 32),
    *,
    steps: int,
    batch_size: int,
    lr: float = 1e-2,
    seed: int = 0,
    eval_batches: int = 32,
    threads: int = 1,
) -> list[RepetitionRun]:
    """Train `cfg` for the same `steps` on the first D/e tokens of `train_tokens`, for each e.

    D = steps·batch_size·seq_len tokens are trained on in every run; only the pool they are
    drawn from shrinks, so run e sees its pool about e times (batches are random windows, so
    epochs hold on average). Validation is on `val_tokens`, never trained on. Runs use
    `threads` CPU threads (one is fastest for tiny models and keeps results machine-independent).
    """
    e = number_array("epochs", epochs, "(1, 2, 4)")
    if e.ndim != 1 or np.any(e < 1):
        raise ValueError(f"epochs={epochs!r} must be a list of numbers >= 1 (1 is fresh data)")
    budget = steps * batch_size * cfg.seq_len
    if len(train_tokens) < budget / e.min() + cfg.seq_len:
        raise ValueError(
            f"train_tokens holds {len(train_tokens):,} tokens but one epoch of "
            f"{budget:,} needs {int(budget / e.min()) + cfg.seq_len:,}; pass more tokens, "
            "fewer steps or a smaller batch"
        )
    with torch_threads(threads):
        runs = []
        for ep in e:
            pool = int(round(budget / ep)) + cfg.seq_len  # a window needs seq_len + 1 tokens
            hist = train(
                cfg,
                train_tokens[:pool],
                val_tokens,
                steps=steps,
                batch_size=batch_size,
                lr=lr,
                seed=seed,
                eval_batches=eval_batches,
                device="cpu",
                progress=False,
            )
            runs.append(
                RepetitionRun(float(ep), pool, hist.tokens, float(hist.final_val_loss), float(hist.train_loss[-1]))
            )
    return runs
