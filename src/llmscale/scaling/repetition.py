"""A live check of repeated data: a tiny model trained for the same steps on ever smaller
unique pools, so each run sees its pool more times (Muennighoff et al. 2023's experiment, in
miniature; `llmscale.scaling.mixtures` holds their law). `repetition_seeds` repeats the runs
over several seeds and `over_seeds` sums them up (mean, standard deviation, 95% interval), so a
page draws only the conclusions the seeds agree on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

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


SEEDS = (0, 1, 2)  # three seeds: each fixes a run's initial weights and the order of its batches


def repetition_seeds(cfg, train_tokens, val_tokens, epochs=(1, 2, 4, 8, 16, 32), *, seeds=SEEDS, **kwargs):
    """`repetition_runs` once per seed: {seed: [RepetitionRun per epochs value]}.

    The pools are the same for every seed (the first D/e tokens of `train_tokens`); a seed
    changes the initial weights and the random windows drawn from the pool. Keyword
    arguments go to `repetition_runs` (steps, batch_size, lr, eval_batches, threads).
    """
    if "seed" in kwargs:
        raise ValueError("pass seeds=(0, 1, 2), not seed=: repetition_seeds runs every seed of `seeds`")
    seeds = tuple(seeds)
    if len(seeds) < 2 or len(set(seeds)) != len(seeds) or not all(isinstance(s, int) for s in seeds):
        raise ValueError(f"seeds={seeds!r} must be at least two distinct whole numbers, e.g. (0, 1, 2)")
    return {s: repetition_runs(cfg, train_tokens, val_tokens, epochs, seed=s, **kwargs) for s in seeds}


@dataclass(frozen=True)
class OverSeeds:
    """A quantity measured once per seed at one epochs value: its mean, sample standard
    deviation and 95% confidence interval for the mean (Student's t, n − 1 degrees of freedom)."""

    epochs: float
    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1))

    @property
    def half_width(self) -> float:
        """Half the width of the 95% interval: t(0.975, n − 1)·std/√n."""
        return float(student_t.ppf(0.975, self.n - 1) * self.std / np.sqrt(self.n))

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def over_seeds(runs_by_seed, quantity: str = "val_loss", relative_to: float | None = None) -> list[OverSeeds]:
    """Sum up `quantity` ("val_loss" or "train_loss") of `repetition_seeds`'s runs over the
    seeds, one OverSeeds per epochs value. relative_to: an epochs value (1 for fresh data)
    whose run of the same seed is subtracted first, so each seed gives a paired difference:
    what repeating costs that seed's model, its initial weights held fixed."""
    if quantity not in ("val_loss", "train_loss"):
        raise ValueError(f"quantity={quantity!r} must be 'val_loss' or 'train_loss'")
    runs = list(runs_by_seed.values())
    if len(runs) < 2:
        raise ValueError(f"runs_by_seed has {len(runs)} seed(s); pass the runs of at least two seeds")
    epochs = [r.epochs for r in runs[0]]
    if any([r.epochs for r in rs] != epochs for rs in runs):
        raise ValueError("every seed's runs must cover the same epochs values in the same order")
    if relative_to is not None and relative_to not in epochs:
        raise ValueError(f"relative_to={relative_to!r} is not one of the runs' epochs {epochs}")
    out = []
    for i, e in enumerate(epochs):
        values = []
        for rs in runs:
            v = getattr(rs[i], quantity)
            if relative_to is not None:
                v -= getattr(rs[epochs.index(relative_to)], quantity)
            values.append(float(v))
        out.append(OverSeeds(e, tuple(values)))
    return out
