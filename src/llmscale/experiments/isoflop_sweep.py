"""The IsoFLOP sweep `isoflop-sweep`: small decoders trained to fixed compute budgets.

For each compute budget C (training FLOPs, counted by `counting.training_flops`), a ladder of
model shapes is trained for as many tokens D as the budget buys, with a cosine schedule that
ends with the run (Hoffmann et al. 2022 stress that a schedule longer than the run
overestimates the loss). The corpus is a synthetic order-2 Markov language whose entropy
rate, the loss no model can beat, is known exactly; the page "Measuring a scaling law
ourselves" fits L(N, D) to these runs and compares the fitted E with it.

Each run's final loss is measured on a fixed slice of the validation split, over every target
that has the chain's full order-2 context (all but the first of each window), so that its floor
is exactly the entropy rate; the true chain's loss on the same targets is recorded beside it.

On a CPU the runs go in parallel, one per core, each on one thread (`LLMSCALE_WORKERS` sets
how many): a seeded single-threaded run gives the same numbers whichever process runs it.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .. import counting, data, measure, train
from ..config import ModelConfig
from . import Experiment

HEAD_DIM = 8  # attention heads of width 8: four heads at the narrowest width, d_model = 32
FF_MULTIPLE = 16  # SwiGLU width 8/3·d rounded up to a multiple of 16, not LLaMA's 256


@dataclass(frozen=True)
class SweepSize:
    """The settings of one size of the sweep."""

    vocab_size: int  # of the Markov language
    n_tokens: int  # sampled from it (train + validation)
    budgets: tuple[float, ...]  # training FLOPs
    shapes: tuple[tuple[tuple[int, int], ...], ...]  # per budget: (n_layers, d_model) of each run
    batch_size: int
    seq_len: int
    lr: float  # peak learning rate
    min_lr_ratio: float  # the cosine ends at min_lr_ratio·lr on the run's last step
    eval_tokens: int  # validation tokens each final loss is measured on
    threads: int | None  # CPU threads (fixed, so the runs are reproducible bit for bit)


# The model ladder, smallest to largest (about ×1.8 in parameters per rung at V = 32): width
# and depth grow together, as in the small-model sweeps of Kaplan et al. and Hoffmann et al.
# It starts at two layers of width 32. In trials, narrower models learned this task
# erratically: depending on the seed, one landed a tenth of a nat or more above another. And a
# one-layer model must attend to the previous token and look the pair up in the same block; it
# fell off the others' trend.
LADDER = ((2, 32), (2, 48), (2, 64), (3, 80), (4, 96), (5, 112), (6, 128), (8, 160), (10, 192), (12, 256), (16, 384))


def _windows(first: int, n: int, budgets: int, every: int = 1) -> tuple[tuple[tuple[int, int], ...], ...]:
    """`n` consecutive rungs per budget, starting at rung `first` and moving up one rung every
    `every` budgets (the compute-optimal size grows with the budget, so the window follows it)."""
    return tuple(LADDER[first + i // every : first + i // every + n] for i in range(budgets))


# Every run takes at least MIN_STEPS optimizer steps. Shorter runs spend much of themselves in the
# warm-up and had not yet found the previous-token attention the chain needs: in the first
# version of this sweep, runs of under 300 steps sat 0.3–0.5 nats above their neighbours, far off
# any smooth law. The windows below were chosen with this rule before the sweep ran.
MIN_STEPS = 500

SIZES = {
    "tiny": SweepSize(
        vocab_size=32,
        n_tokens=200_000,
        budgets=(2e10, 4e10),
        shapes=_windows(0, 3, 2, 2),
        batch_size=64,
        seq_len=8,
        lr=5e-3,
        min_lr_ratio=0.01,
        eval_tokens=8_192,
        threads=1,
    ),
    # 26 runs at six budgets a factor of 2 apart, 4e11 to 1.28e13 FLOPs, 1.1e14 FLOPs in all:
    # about an hour of CPU time on the book's machine, half an hour of wall time on its two cores.
    # The window of sizes follows the optimum, which grows slowly: a trial at 1.28e13 FLOPs put
    # it between the 2×64 and 3×80 rungs. The 2×48 model at the largest budget reads 36M
    # tokens, so the sample is 44M tokens (39.6M for training) and no run repeats data.
    "small": SweepSize(
        vocab_size=32,
        n_tokens=44_000_000,
        budgets=(4e11, 8e11, 1.6e12, 3.2e12, 6.4e12, 1.28e13),
        shapes=(LADDER[0:3], LADDER[0:4], LADDER[0:5], LADDER[1:6], LADDER[1:6], LADDER[1:5]),
        batch_size=128,
        seq_len=8,
        lr=5e-3,
        min_lr_ratio=0.01,
        eval_tokens=262_144,
        threads=1,
    ),
    # 28 runs at five budgets 4× apart, up to 2e14 FLOPs and 2.2M parameters, for a GPU; the same
    # rule on steps, and a sample large enough that no run repeats data.
    "large": SweepSize(
        vocab_size=32,
        n_tokens=400_000_000,
        budgets=(8e11, 3.2e12, 1.28e13, 5.12e13, 2.048e14),
        shapes=(LADDER[0:4], LADDER[0:6], LADDER[1:7], LADDER[1:7], LADDER[2:8]),
        batch_size=128,
        seq_len=8,
        lr=5e-3,
        min_lr_ratio=0.01,
        eval_tokens=1_048_576,
        threads=None,
    ),
}


def load_language(size: str) -> data.Corpus:
    """The Markov corpus a size of the sweep trains on (seeded: the same tokens every time)."""
    spec = _spec(size)
    return data.load_corpus("markov", vocab_size=spec.vocab_size, n_tokens=spec.n_tokens)


def _spec(size: str) -> SweepSize:
    if size not in SIZES:
        raise ValueError(f"size={size!r} is not a size of isoflop-sweep; choose one of {list(SIZES)}")
    return SIZES[size]


def model_config(n_layers: int, d_model: int, vocab_size: int, seq_len: int) -> ModelConfig:
    """The sweep's decoder of a given depth and width (heads of width HEAD_DIM, SwiGLU, RoPE)."""
    return ModelConfig(
        n_layers=n_layers,
        d_model=d_model,
        n_heads=max(1, d_model // HEAD_DIM),
        vocab_size=vocab_size,
        seq_len=seq_len,
        multiple_of=FF_MULTIPLE,
    )


def steps_for_budget(cfg: ModelConfig, flops: float, batch_size: int, seq_len: int) -> int:
    """Optimizer steps whose training FLOPs come closest to `flops` (at least 1)."""
    per_step = counting.flops_per_token(cfg, context=seq_len, training=True) * batch_size * seq_len
    return max(1, round(flops / per_step))


@torch.no_grad()
def full_context_loss(
    model, tokens: np.ndarray, seq_len: int, n_tokens: int, order: int = 2, batch_windows: int = 256
) -> float:
    """Mean NLL (nats) of `model` on the first `n_tokens` of `tokens`, cut into windows of
    `seq_len`, over the targets that see at least `order` tokens (all but the first order-1)."""
    n_windows = min(n_tokens, len(tokens) - 1) // seq_len
    if n_windows < 1:
        raise ValueError(f"n_tokens={n_tokens} gives no window of seq_len={seq_len}; pass more tokens")
    device = next(model.parameters()).device
    x_all = torch.from_numpy(tokens[: n_windows * seq_len].reshape(n_windows, seq_len))
    y_all = torch.from_numpy(tokens[1 : n_windows * seq_len + 1].reshape(n_windows, seq_len))
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for i in range(0, n_windows, batch_windows):
        x, y = x_all[i : i + batch_windows].to(device), y_all[i : i + batch_windows].to(device)
        logits, _ = model(x)
        logits, y = logits[:, order - 1 :].float(), y[:, order - 1 :]
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train(was_training)
    return total / count


def oracle_loss(language: data.MarkovLanguage, tokens: np.ndarray, seq_len: int, n_tokens: int) -> float:
    """The true chain's mean NLL on exactly the targets `full_context_loss` scores."""
    n_windows = min(n_tokens, len(tokens) - 1) // seq_len
    windows = tokens[: n_windows * seq_len + 1]
    nll = language.token_nll(windows)  # the NLL of targets t = order, order + 1, …
    t = np.arange(language.order, len(windows))
    keep = (t - 1) % seq_len >= language.order - 1  # target t sits at slot (t - 1) % seq_len
    return float(nll[keep].mean())


def run_point(
    corpus: data.Corpus,
    n_layers: int,
    d_model: int,
    budget: float,
    *,
    batch_size: int,
    seq_len: int,
    lr: float,
    min_lr_ratio: float,
    eval_tokens: int,
    seed: int = 0,
    device: str = "cpu",
    threads: int | None = 1,
) -> dict:
    """Train one model of the sweep to `budget` FLOPs and measure its final loss."""
    cfg = model_config(n_layers, d_model, corpus.vocab_size, seq_len)
    steps = steps_for_budget(cfg, budget, batch_size, seq_len)
    dev = train.select_device(device)
    with measure.torch_threads(threads if dev.type == "cpu" else None):
        start = time.perf_counter()
        hist = train.train(
            cfg,
            corpus.train,
            None,
            steps=steps,
            batch_size=batch_size,
            seq_len=seq_len,
            lr=lr,
            min_lr_ratio=min_lr_ratio,
            seed=seed,
            device=device,
            progress=False,
            log_every=max(1, steps // 20),
        )
        loss = full_context_loss(hist.model, corpus.val, seq_len, eval_tokens)
        wall = time.perf_counter() - start
    tokens = hist.tokens
    n_params = counting.param_count(cfg)
    return {
        "budget": budget,
        "n_layers": n_layers,
        "d_model": d_model,
        "n_heads": cfg.n_heads,
        "d_ff": cfg.ff_dim,
        "n_params": n_params,
        "n_params_non_embedding": counting.non_embedding_param_count(cfg),
        "steps": steps,
        "tokens": tokens,
        "flops": counting.training_flops(cfg, tokens, context=seq_len),
        "flops_6nd": counting.approx_training_flops(n_params, tokens),
        "val_loss": round(loss, 6),
        "train_loss_last": round(hist.train_loss[-1], 5),
        "wall_seconds": round(wall, 1),
    }


def run_columns(record: dict) -> dict[str, np.ndarray]:
    """The runs of a stored sweep (`experiments.load("isoflop-sweep")`) as arrays, one entry per run:
    budget, n_params, tokens, flops, val_loss, ..."""
    runs = record["data"]["runs"]
    return {key: np.array([r[key] for r in runs]) for key in runs[0]}


def _report(r: dict) -> dict:
    print(
        f"C={r['budget']:.2g} L={r['n_layers']} d={r['d_model']} N={r['n_params']:,} D={r['tokens']:,} "
        f"loss={r['val_loss']:.4f} ({r['wall_seconds']:.0f} s)",
        file=sys.stderr,
        flush=True,
    )
    return r


def _workers(spec: SweepSize, device: str, n_jobs: int) -> int:
    """Runs in parallel: on a CPU, one per core (each run has `spec.threads` threads); else 1.
    `LLMSCALE_WORKERS` overrides it."""
    if "LLMSCALE_WORKERS" in os.environ:
        value = os.environ["LLMSCALE_WORKERS"]
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"LLMSCALE_WORKERS={value!r} must be a whole number >= 1, e.g. 2")
        return min(int(value), n_jobs)
    if train.select_device(device).type != "cpu" or spec.threads is None:
        return 1
    return max(1, min(n_jobs, (os.cpu_count() or 1) // spec.threads))


_WORKER_CORPUS: data.Corpus | None = None


def _init_worker(size: str) -> None:
    global _WORKER_CORPUS
    _WORKER_CORPUS = load_language(size)


def _worker_point(budget: float, n_layers: int, d_model: int, kwargs: dict) -> dict:
    return run_point(_WORKER_CORPUS, n_layers, d_model, budget, **kwargs)


def _isoflop_sweep(size: str, device: str) -> dict:
    """Every (budget, shape) run of the sweep at `size`, with the language's exact floor."""
    spec = _spec(size)
    corpus = load_language(size)
    jobs = [
        (budget, n_layers, d_model) for budget, shapes in zip(spec.budgets, spec.shapes) for n_layers, d_model in shapes
    ]
    kwargs = dict(
        batch_size=spec.batch_size,
        seq_len=spec.seq_len,
        lr=spec.lr,
        min_lr_ratio=spec.min_lr_ratio,
        eval_tokens=spec.eval_tokens,
        device=device,
        threads=spec.threads,
    )
    workers = _workers(spec, device, len(jobs))
    if workers == 1:
        runs = [_report(run_point(corpus, n_layers, d_model, budget, **kwargs)) for budget, n_layers, d_model in jobs]
    else:
        # Each run is seeded and single-threaded, so it gives the same numbers whichever worker
        # runs it and whatever else runs beside it. The largest budgets go first, to finish together.
        ctx = multiprocessing.get_context("spawn")
        order = sorted(range(len(jobs)), key=lambda i: -jobs[i][0])
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(size,)) as pool:
            futures = {i: pool.submit(_worker_point, *jobs[i], kwargs) for i in order}
            runs = [None] * len(jobs)
            for i in order:
                runs[i] = _report(futures[i].result())
    return {
        "corpus": corpus.description,
        "vocab_size": corpus.vocab_size,
        "order": corpus.language.order,
        "n_tokens": spec.n_tokens,
        "entropy_rate": corpus.entropy_rate,
        "oracle_val_loss": oracle_loss(corpus.language, corpus.val, spec.seq_len, spec.eval_tokens),
        "settings": {
            "batch_size": spec.batch_size,
            "seq_len": spec.seq_len,
            "lr": spec.lr,
            "min_lr_ratio": spec.min_lr_ratio,
            "schedule": f"linear warm-up over 10% of the steps, then cosine to "
            f"{spec.min_lr_ratio:.0%} of the peak at the run's last step",
            "weight_decay": 0.1,
            "seed": 0,
            "eval_tokens": spec.eval_tokens,
            "threads": spec.threads,
            "head_dim": HEAD_DIM,
            "ff_multiple": FF_MULTIPLE,
        },
        "runs": runs,
    }


EXPERIMENT = Experiment(
    "isoflop-sweep",
    version=2,
    sizes=tuple(SIZES),
    default_size="small",
    description="IsoFLOP sweep of small decoders on a synthetic Markov language.",
    run=_isoflop_sweep,
)
