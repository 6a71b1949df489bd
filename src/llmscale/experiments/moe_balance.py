"""The experiment `moe-balance`: expert load with and without the load-balancing loss.

A small mixture-of-experts decoder (2 layers, 8 experts) learns the English corpus in four
settings: Switch top-1 and Mixtral top-2 gating, each with the Switch balancing loss
(coefficient 0.01) and without it (no router loss at all), each setting once per seed of
`SEEDS` (the seed fixes the initial weights and the order of the batches). Every `log_every`
steps the assignments per expert of each layer are recorded; at the end the trained routers,
and the untrained ones of each seed, are run on validation batches at a sweep of capacity
factors. The twenty runs took about ten minutes on the book's 2-core machine while other jobs
shared it (five minutes of CPU time, one thread).

The learning rate is constant after 20 warm-up steps, so a run of n steps is exactly the
first n steps of a longer one: the page re-runs a prefix live and compares. Runs use one CPU
thread: a model this small gains nothing from two, and one thread makes the run immune to a
second process on a shared two-core machine (which can slow two-thread runs a hundredfold)
and fixes the order of every sum.

The stored `runs[name]` ("switch-top1/no-aux", ...) is a list of runs, one per seed in the
order of `SEEDS`. The summaries at the end (`load_shares`, `imbalance`, `late_balance`,
`dropped_fraction`, `capacity_sweep_loss`, `capacity_loss_change`) read one run,
`experiments.load("moe-balance")["data"]["runs"][name][i]`; `over_seeds` sums one of them up
over the seeds (mean, standard deviation, standard error).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import data, measure, train
from ..config import ModelConfig
from ..model import build, moe
from . import Experiment

CORPUS = "english"
N_EXPERTS = 8
AUX_COEF = 0.01
WARMUP_STEPS = 20
LR = 3e-3
CAPACITY_FACTORS = (None, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
SEEDS = (0, 1, 2, 3, 4)  # five seeds per setting: the page's conclusions hold across them
GATINGS = {"switch-top1": ("softmax-topk", 1), "mixtral-top2": ("topk-softmax", 2)}
_SIZES = {
    # size: (n_layers, d_model, steps, batch_size, seq_len, log_every, eval batches)
    "tiny": (2, 32, 30, 4, 32, 10, 2),
    "small": (2, 64, 400, 16, 64, 10, 8),
    "large": (4, 256, 4000, 64, 256, 50, 32),
}


def balance_config(size: str, gating: str, aux: bool, vocab_size: int = 512) -> ModelConfig:
    """The page's model: `gating` is "switch-top1" or "mixtral-top2"; aux=False sets both router losses to 0."""
    if gating not in GATINGS:
        raise ValueError(f"gating={gating!r} is not one of {list(GATINGS)}")
    n_layers, d_model, _, _, seq_len, _, _ = _SIZES[size]
    kind, top_k = GATINGS[gating]
    return ModelConfig(
        n_layers=n_layers,
        d_model=d_model,
        n_heads=4,
        vocab_size=vocab_size,
        seq_len=seq_len,
        d_ff=d_model,
        n_experts=N_EXPERTS,
        top_k=top_k,
        gating=kind,
        router_aux_loss_coef=AUX_COEF if aux else 0.0,
        router_z_loss_coef=0.0,
    )


def balance_run(
    size: str, gating: str, aux: bool, steps: int | None = None, device: str = "cpu", seed: int = 0, threads: int = 1
) -> train.History:
    """Train the page's model; steps=None runs the size's full length, fewer runs its prefix."""
    corpus = data.load_corpus(CORPUS)
    _, _, full_steps, batch_size, _, log_every, eval_batches = _SIZES[size]
    steps = full_steps if steps is None else steps
    cfg = balance_config(size, gating, aux, corpus.vocab_size)
    with measure.torch_threads(threads):
        return train.train(
            cfg,
            corpus.train,
            corpus.val,
            steps=steps,
            batch_size=batch_size,
            lr=LR,
            warmup_steps=WARMUP_STEPS,
            min_lr_ratio=1.0,
            eval_every=max(1, full_steps // 4),
            eval_batches=eval_batches,
            seed=seed,
            device=device,
            progress=False,
            log_every=log_every,
        )


def _sweep(net, size: str, device: str) -> list[dict]:
    corpus = data.load_corpus(CORPUS)
    _, _, _, batch_size, seq_len, _, eval_batches = _SIZES[size]
    batcher = data.Batcher(corpus.val, batch_size, seq_len, seed=1, device=device)
    with measure.torch_threads(1):
        return moe.capacity_sweep(net, [batcher.get_batch(i) for i in range(eval_batches)], CAPACITY_FACTORS)


def _one_run(size: str, gating: str, aux: bool, seed: int, device: str) -> dict:
    hist = balance_run(size, gating, aux, device=device, seed=seed)
    return {
        "gating": gating,
        "aux": aux,
        "seed": seed,
        "steps": hist.steps,
        "train_loss": [round(v, 5) for v in hist.train_loss],
        "eval_steps": hist.eval_steps,
        "val_loss": [round(v, 5) for v in hist.val_loss],
        "expert_load": hist.expert_load,
        "capacity_sweep": _sweep(hist.model, size, device),
    }


def _balance(size: str, device: str) -> dict:
    runs = {}
    for gating in GATINGS:
        for aux in (True, False):
            runs[f"{gating}/{'aux' if aux else 'no-aux'}"] = [
                _one_run(size, gating, aux, seed, device) for seed in SEEDS
            ]
        runs[f"{gating}/untrained"] = [
            {
                "gating": gating,
                "seed": seed,
                "capacity_sweep": _sweep(build(balance_config(size, gating, True), seed=seed).to(device), size, device),
            }
            for seed in SEEDS
        ]
    n_layers, d_model, steps, batch_size, seq_len, log_every, eval_batches = _SIZES[size]
    return {
        "corpus": CORPUS,
        "n_layers": n_layers,
        "d_model": d_model,
        "n_experts": N_EXPERTS,
        "steps": steps,
        "batch_size": batch_size,
        "seq_len": seq_len,
        "log_every": log_every,
        "eval_batches": eval_batches,
        "threads": 1,
        "seeds": list(SEEDS),
        "lr": LR,
        "warmup_steps": WARMUP_STEPS,
        "aux_coef": AUX_COEF,
        "capacity_factors": [f for f in CAPACITY_FACTORS if f is not None],
        "runs": runs,
    }


# --- summaries of one stored run, and over the seeds ------------------------------------------


@dataclass(frozen=True)
class SeedStats:
    """A quantity measured once per seed: the values, their mean, their standard deviation
    (ddof=1) and the standard error of the mean (sd/√n)."""

    values: tuple[float, ...]
    mean: float
    sd: float
    se: float

    @property
    def low(self) -> float:
        """The smallest value over the seeds."""
        return min(self.values)

    @property
    def high(self) -> float:
        """The largest value over the seeds."""
        return max(self.values)


def over_seeds(values) -> SeedStats:
    """Mean, standard deviation and standard error of one value per seed (at least two)."""
    vals = tuple(float(v) for v in values)
    if len(vals) < 2:
        raise ValueError(f"values={list(vals)!r}: over_seeds needs one value per seed, at least two")
    arr = np.array(vals)
    sd = float(arr.std(ddof=1))
    return SeedStats(vals, float(arr.mean()), sd, sd / float(np.sqrt(len(vals))))


def _recorded_index(run: dict, step: int) -> int:
    steps = run["steps"]
    if step not in steps:
        raise ValueError(
            f"step={step!r} was not recorded; choose a recorded step, one of {steps[:3]} ... {steps[-1]} (run['steps'])"
        )
    return steps.index(step)


def load_shares(run: dict, step: int) -> np.ndarray:
    """(layers, E) each expert's share of its layer's assignments in the batch recorded at `step`."""
    load = np.array(run["expert_load"][_recorded_index(run, step)], dtype=float)
    return load / load.sum(axis=1, keepdims=True)


def imbalance(run: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per recorded step, the worst layer's busiest load over the even share ρ (`moe.load_imbalance`)
    and its normalised load entropy H (`moe.load_entropy`)."""
    loads = run["expert_load"]
    rho = [max(moe.load_imbalance(layer) for layer in step) for step in loads]
    entropy = [min(moe.load_entropy(layer) for layer in step) for step in loads]
    return np.array(rho), np.array(entropy)


@dataclass(frozen=True)
class LateBalance:
    """A run's balance late in training: ρ and H of the worst layer, averaged over the recorded
    batches of the last quarter of the run, and the final validation loss (nats per token)."""

    rho: float
    entropy: float
    val_loss: float


def late_balance(run: dict) -> LateBalance:
    """`imbalance` averaged over the last quarter of the recorded steps, with the final validation loss."""
    rho, entropy = imbalance(run)
    last = slice(3 * len(rho) // 4, None)
    return LateBalance(
        rho=float(rho[last].mean()), entropy=float(entropy[last].mean()), val_loss=float(run["val_loss"][-1])
    )


def _sweep_row(run: dict, capacity_factor: float | None) -> dict:
    by_factor = {row["capacity_factor"]: row for row in run["capacity_sweep"]}
    if capacity_factor not in by_factor:
        raise ValueError(
            f"capacity_factor={capacity_factor!r} is not in the stored sweep; choose one of "
            f"{list(by_factor)} (None: no limit)"
        )
    return by_factor[capacity_factor]


def dropped_fraction(run: dict, capacity_factor: float | None) -> float:
    """Fraction of the assignments dropped at `capacity_factor` in the validation sweep, mean over layers."""
    return float(np.mean(_sweep_row(run, capacity_factor)["dropped_fraction"]))


def capacity_sweep_loss(run: dict, capacity_factor: float | None) -> float:
    """Validation loss (nats per token) at `capacity_factor` in the sweep (None: no limit)."""
    return float(_sweep_row(run, capacity_factor)["loss"])


def capacity_loss_change(run: dict, capacity_factor: float | None) -> float:
    """What the drops cost: validation loss at `capacity_factor` minus the loss with no limit (nats per token)."""
    return capacity_sweep_loss(run, capacity_factor) - capacity_sweep_loss(run, None)


EXPERIMENT = Experiment(
    "moe-balance",
    version=3,
    sizes=tuple(_SIZES),
    default_size="small",
    description="Expert load with and without the balancing loss, five seeds; drops against capacity.",
    run=_balance,
)
