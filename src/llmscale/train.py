"""A training loop for the book's decoder: AdamW, warm-up and cosine decay, periodic evaluation.

It runs where the reader is: CUDA if present, then Apple's MPS, then the CPU, with the same
code. It returns a `History` with the losses, throughput in tokens/s and the model FLOP/s the
run achieved (training FLOPs of `counting.flops_per_token`, per second of training time).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from . import counting
from ._validate import positive_int
from .config import ModelConfig
from .data.batches import Batcher
from .model.decoder import Decoder, build


def select_device(preference: str = "auto") -> torch.device:
    """ "auto" picks CUDA, then Apple MPS, then the CPU; or name one ("cpu", "cuda", "cuda:1", "mps")."""
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preference)
    except RuntimeError:
        raise ValueError(f"device={preference!r} is not a device; use 'auto', 'cpu', 'cuda' or 'mps'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no CUDA GPU is visible; use device='auto' or 'cpu'")
    return device


def lr_at(step: int, steps: int, lr: float, warmup_steps: int, min_lr_ratio: float) -> float:
    """Learning rate at `step`: linear warm-up to `lr`, then cosine decay to `min_lr_ratio`·lr."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, steps - warmup_steps)
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


@dataclass
class History:
    """What a run did: losses (nats/token), tokens/s and achieved model FLOP/s."""

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    tokens: int = 0
    train_seconds: float = 0.0
    flops_per_token: float = 0.0
    device: str = "cpu"
    n_params: int = 0
    model: Decoder | None = field(default=None, repr=False)
    # Mixture-of-experts runs only (logged at the same steps as train_loss): the weighted router
    # losses added to the objective, and each layer's assignments per expert in that batch.
    aux_loss: list[float] = field(default_factory=list)
    expert_load: list[list[list[int]]] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.train_seconds if self.train_seconds else 0.0

    @property
    def flops_per_s(self) -> float:
        return self.tokens_per_s * self.flops_per_token

    @property
    def train_flops(self) -> float:
        return self.tokens * self.flops_per_token

    @property
    def final_val_loss(self) -> float | None:
        return self.val_loss[-1] if self.val_loss else None


@torch.no_grad()
def evaluate(model: Decoder, batcher: Batcher, n_batches: int) -> float:
    """Mean cross-entropy (nats/token) over the first `n_batches` batches of `batcher`."""
    was_training = model.training
    model.eval()
    losses = []
    for i in range(n_batches):
        x, y = batcher.get_batch(i)
        losses.append(model(x, y)[1].item())
    model.train(was_training)
    return float(np.mean(losses))


def train(
    model: ModelConfig | Decoder,
    train_tokens,
    val_tokens=None,
    *,
    steps: int,
    batch_size: int,
    seq_len: int | None = None,
    lr: float = 3e-3,
    warmup_steps: int | None = None,
    min_lr_ratio: float = 0.1,
    weight_decay: float = 0.1,
    betas=(0.9, 0.95),
    grad_clip: float | None = 1.0,
    eval_every: int | None = None,
    eval_batches: int = 8,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
    log_every: int = 1,
    loss_fn=None,
) -> History:
    """Train `model` (a config is built first, seeded) on `train_tokens` for `steps` AdamW steps.

    Batches of `batch_size` random windows of `seq_len` tokens (default: the model's) are
    drawn deterministically from `seed`. Every `eval_every` steps (and at the end) the mean
    loss over `eval_batches` fixed validation batches is recorded. Weight decay applies to
    matrices only, not to norms or biases. A mixture-of-experts model minimises the
    cross-entropy plus its router losses (`Decoder.aux_loss`); `train_loss` logs the
    cross-entropy alone, `aux_loss` and `expert_load` the rest.

    `loss_fn` (optional) replaces the cross-entropy in the objective: it is called as
    loss_fn(x, y, logits) with the batch's input ids x and target ids y (B, S) and the model's
    logits (B, S, V), and returns a scalar tensor to minimise (router losses are still added).
    A distillation loss (`compression.distill.Distiller`) runs its teacher on x. `train_loss`
    keeps logging the hard cross-entropy, so curves stay comparable with and without a hook.
    """
    for name, value in (
        ("steps", steps),
        ("batch_size", batch_size),
        ("eval_batches", eval_batches),
        ("log_every", log_every),
    ):
        positive_int(name, value)
    if not lr > 0:
        raise ValueError(f"lr={lr!r} must be > 0, e.g. lr=3e-3")
    if loss_fn is not None and not callable(loss_fn):
        raise ValueError(f"loss_fn={loss_fn!r} must be None or a callable (x, y, logits) -> scalar loss tensor")
    dev = select_device(device)
    torch.manual_seed(seed)
    if isinstance(model, ModelConfig):
        model = build(model, seed=seed)
    if not isinstance(model, Decoder):
        raise ValueError(f"model must be a ModelConfig or an llmscale Decoder, got {type(model).__name__}")
    cfg = model.cfg
    seq_len = cfg.seq_len if seq_len is None else seq_len
    if seq_len > cfg.seq_len:
        raise ValueError(
            f"seq_len={seq_len} exceeds the model's seq_len={cfg.seq_len}; "
            "choose a shorter seq_len or build a longer model"
        )
    if int(np.max(train_tokens)) >= cfg.vocab_size:
        raise ValueError(
            f"train_tokens hold ids up to {int(np.max(train_tokens))} but vocab_size="
            f"{cfg.vocab_size}; build the model with the corpus's vocab_size"
        )
    model = model.to(dev)
    warmup = max(1, steps // 10) if warmup_steps is None else warmup_steps
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=betas,
        fused=dev.type in ("cpu", "cuda"),
    )
    train_batches = Batcher(train_tokens, batch_size, seq_len, seed=seed, device=dev)
    val_batches = (
        Batcher(val_tokens, batch_size, seq_len, seed=seed + 1, device=dev) if val_tokens is not None else None
    )
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else contextlib.nullcontext()
    hist = History(
        flops_per_token=counting.flops_per_token(cfg, context=seq_len, training=True),
        device=str(dev),
        n_params=counting.param_count(cfg),
        model=model,
    )
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="training", unit="step")
    model.train()
    for step in range(steps):
        t0 = time.perf_counter()
        rate = lr_at(step, steps, lr, warmup, min_lr_ratio)
        for group in opt.param_groups:
            group["lr"] = rate
        x, y = train_batches.get_batch(step)
        with autocast:
            logits, loss = model(x, y)
            objective = loss if loss_fn is None else loss_fn(x, y, logits)
            if cfg.is_moe:
                objective = objective + model.aux_loss
        opt.zero_grad(set_to_none=True)
        objective.backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        loss_value = loss.item()  # also synchronises the device before the clock stops
        hist.train_seconds += time.perf_counter() - t0
        hist.tokens += batch_size * seq_len
        if step % log_every == 0 or step == steps - 1:
            hist.steps.append(step + 1)
            hist.train_loss.append(loss_value)
            hist.lr.append(rate)
            if cfg.is_moe:
                hist.aux_loss.append(model.aux_loss.item())
                hist.expert_load.append([s.tokens_per_expert.tolist() for s in model.moe_stats()])
        last = step == steps - 1
        if val_batches is not None and ((eval_every and (step + 1) % eval_every == 0) or last):
            with autocast:
                hist.eval_steps.append(step + 1)
                hist.val_loss.append(evaluate(model, val_batches, eval_batches))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.3f}")
    if bar is not None:
        bar.close()
    return hist
