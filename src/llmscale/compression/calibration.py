"""What each linear layer of a decoder sees: input statistics over calibration tokens.

GPTQ and SparseGPT need XᵀX of every linear layer's inputs, Wanda the norm of each input column
(the square root of XᵀX's diagonal), activation-aware scaling the mean magnitude of each input
column. `linear_stats` runs the model over calibration windows once, with forward hooks, and keeps
those running sums per layer, never the activations themselves (they would not fit: every layer
sees tokens × width floats).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._validate import positive_int


@dataclass
class LinearStats:
    """Running sums over the n calibration tokens a linear layer saw (float64)."""

    xtx: torch.Tensor  # Σ x xᵀ, (in, in)
    abs_sum: torch.Tensor  # Σ |x|, (in,)
    n: int = 0

    def hessian(self) -> torch.Tensor:
        """H = 2 XᵀX / n, as `hessian.hessian` computes it from the inputs themselves."""
        return 2.0 * self.xtx / self.n

    def column_norms(self) -> torch.Tensor:
        """‖X_j‖₂ over the calibration tokens, per input column (Wanda's activation term)."""
        return torch.sqrt(torch.diag(self.xtx))

    def abs_mean(self) -> torch.Tensor:
        """Mean |x_j| per input column (the activation-aware scaling's salience)."""
        return self.abs_sum / self.n


def linear_layers(model: nn.Module, include_head: bool = False) -> dict[str, nn.Linear]:
    """The model's linear layers by qualified name, in forward order; the output head (`lm_head`)
    only with include_head (quantizers and pruners conventionally leave it dense)."""
    return {
        name: m
        for name, m in model.named_modules()
        if isinstance(m, nn.Linear) and (include_head or not name.endswith("lm_head"))
    }


def windows(tokens, n_windows: int, seq_len: int, seed: int = 0) -> torch.Tensor:
    """`n_windows` random windows of `seq_len` tokens from a token array, (n_windows, seq_len), seeded."""
    positive_int("n_windows", n_windows)
    positive_int("seq_len", seq_len)
    tokens = np.asarray(tokens)
    if len(tokens) <= seq_len:
        raise ValueError(f"seq_len={seq_len} needs more than {len(tokens)} tokens; pass a longer array")
    starts = np.random.default_rng(seed).integers(0, len(tokens) - seq_len, n_windows)
    return torch.as_tensor(np.stack([tokens[s : s + seq_len] for s in starts]).astype(np.int64))


@contextmanager
def recording(layers: dict[str, nn.Linear]):
    """Within the block, every forward of a layer in `layers` adds its inputs to the running sums of
    the `LinearStats` yielded by name (a dict filled as the layers run); the hooks go at exit."""
    stats: dict[str, LinearStats] = {}

    def hook(name):
        def record(module, args):
            x = args[0].detach().reshape(-1, args[0].shape[-1]).to(torch.float64)
            s = stats.get(name)
            if s is None:
                s = stats[name] = LinearStats(
                    torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64, device=x.device),
                    torch.zeros(x.shape[1], dtype=torch.float64, device=x.device),
                )
            s.xtx += x.T @ x
            s.abs_sum += x.abs().sum(dim=0)
            s.n += x.shape[0]

        return record

    handles = [m.register_forward_pre_hook(hook(name)) for name, m in layers.items()]
    try:
        yield stats
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def linear_stats(
    model: nn.Module, calibration: torch.Tensor, layers: dict[str, nn.Linear] | None = None, batch_size: int = 8
) -> dict[str, LinearStats]:
    """Input statistics of each layer in `layers` (default `linear_layers(model)`) over the
    calibration windows (n_windows, seq_len) of token ids, run `batch_size` windows at a time."""
    if calibration.dim() != 2:
        raise ValueError(
            f"calibration has shape {tuple(calibration.shape)}; pass token windows (n_windows, seq_len), "
            "e.g. calibration.windows(tokens, 32, 128)"
        )
    positive_int("batch_size", batch_size)
    layers = linear_layers(model) if layers is None else layers
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        with recording(layers) as stats:
            for i in range(0, calibration.shape[0], batch_size):
                model(calibration[i : i + batch_size].to(device))
    finally:
        model.train(was_training)
    return stats
