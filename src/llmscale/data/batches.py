"""Contiguous train/validation splits and seeded random-window batches.

The same seed always gives the same data order, so a run can be resumed or repeated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch


def _as_token_array(tokens: Any, name: str = "tokens") -> np.ndarray:
    """``tokens`` as a 1-D int64 array, or a ValueError that says what to pass."""
    if isinstance(tokens, torch.Tensor):
        tokens = tokens.detach().cpu().numpy()
    arr = np.asarray(tokens)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise ValueError(f"{name} has shape {arr.shape} and dtype {arr.dtype}; pass a 1-D array of integer token ids")
    return arr.astype(np.int64, copy=False)


def train_val_split(tokens: Any, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous split: the first ``1 - val_fraction`` of tokens train, the rest validate.

    Contiguous (not shuffled) so no validation window overlaps a training window.
    """
    arr = _as_token_array(tokens)
    if not (isinstance(val_fraction, (int, float)) and 0.0 < val_fraction < 1.0):
        raise ValueError(f"val_fraction={val_fraction!r} is invalid; choose a number in (0, 1), e.g. 0.1")
    n_val = int(round(len(arr) * val_fraction))
    if n_val < 1 or n_val >= len(arr):
        raise ValueError(
            f"val_fraction={val_fraction} of {len(arr)} tokens leaves an empty split; "
            "pass more tokens or a val_fraction closer to 0.5"
        )
    cut = len(arr) - n_val
    return arr[:cut], arr[cut:]


class Batcher:
    """Random windows of a token array as ``(x, y)`` LongTensors of shape (batch_size, seq_len).

    ``y`` is ``x`` shifted left by one token (the next-token targets).  Batch
    ``step`` depends only on ``(seed, step)``, so a run can be resumed or
    replayed exactly; iterating yields steps 0, 1, 2, ...
    """

    def __init__(
        self,
        tokens: Any,
        batch_size: int,
        seq_len: int,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        arr = _as_token_array(tokens)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} is invalid; choose an integer >= 1")
        if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
            raise ValueError(f"seq_len={seq_len!r} is invalid; choose an integer >= 1")
        if seq_len + 1 > len(arr):
            raise ValueError(
                f"seq_len={seq_len} needs at least seq_len+1={seq_len + 1} tokens but only "
                f"{len(arr)} were given; choose seq_len <= {len(arr) - 1} or pass more tokens"
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed={seed!r} is invalid; choose an integer >= 0")
        self.tokens = torch.from_numpy(np.ascontiguousarray(arr))
        self.batch_size = int(batch_size)
        self.seq_len = int(seq_len)
        self.seed = int(seed)
        self.device = torch.device(device)
        self._window = torch.arange(self.seq_len + 1)

    @property
    def n_offsets(self) -> int:
        """Number of distinct window start positions."""
        return len(self.tokens) - self.seq_len

    def _generator(self, step: int) -> torch.Generator:
        # Hash (seed, step) into a 64-bit seed so neighbouring steps and
        # neighbouring seeds give unrelated streams.
        state = np.random.SeedSequence([self.seed, step]).generate_state(1, dtype=np.uint64)[0]
        return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)

    def offsets(self, step: int) -> torch.Tensor:
        """Window start positions used by batch ``step`` (shape (batch_size,))."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"step={step!r} is invalid; choose an integer >= 0")
        return torch.randint(0, self.n_offsets, (self.batch_size,), generator=self._generator(int(step)))

    def get_batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch number ``step``: ``(x, y)``, both int64 of shape (batch_size, seq_len)."""
        idx = self.offsets(step)[:, None] + self._window[None, :]
        window = self.tokens[idx]
        x, y = window[:, :-1], window[:, 1:]
        if self.device.type != "cpu":
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        return x, y

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        step = 0
        while True:
            yield self.get_batch(step)
            step += 1


def batches(
    tokens: Any,
    batch_size: int,
    seq_len: int,
    seed: int = 0,
    n_batches: int | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``n_batches`` (or endless) ``(x, y)`` batches; same as iterating a :class:`Batcher`."""
    batcher = Batcher(tokens, batch_size, seq_len, seed)
    if n_batches is not None and (isinstance(n_batches, bool) or n_batches < 0):
        raise ValueError(f"n_batches={n_batches!r} is invalid; choose an integer >= 0 or None for endless")
    step = 0
    while n_batches is None or step < n_batches:
        yield batcher.get_batch(step)
        step += 1
