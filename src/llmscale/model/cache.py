"""The key/value cache of autoregressive decoding: what each layer keeps of the tokens already seen.

`KVCache(n_layers, max_len)` holds one `LayerCache` per layer and the number of tokens cached so
far (`length`, the same for every sequence of the batch). A layer calls `LayerCache.update(k, v)`
with the tensors of its new tokens, each shaped (B, S_new, ...), and gets back the full tensors
(B, length + S_new, ...): any number and shape of tensors, so multi-head latent attention can cache
its latent instead of K and V. The decoder advances `length` once all layers have seen the new
tokens (`KVCache.advance`), so during a forward pass every layer reads the same `length`: the
position of the first new token. `truncate` drops the tail (speculative decoding rolls back
rejected tokens).

Buffers are allocated once, at `max_len` tokens, on the first update (batch, dtype and device of
that update's tensors), and returned as views: a decode step writes its token and copies nothing
else. A 4-D tensor (B, S, heads, width) is stored head-major, (B, heads, max_len, width), so that
the returned view, transposed to (B, heads, S, width), is what `scaled_dot_product_attention`
reads, with each head's rows contiguous.
"""

from __future__ import annotations

import torch

from .._validate import positive_int


class LayerCache:
    """One layer's cached tensors, preallocated for `max_len` tokens.

    Standalone (owner None) it keeps its own length, advanced with `advance`; inside a `KVCache`
    its length is the cache's.
    """

    def __init__(self, max_len: int, owner: KVCache | None = None):
        self.max_len = positive_int("max_len", max_len, "2048")
        self._owner = owner
        self._length = 0
        self.buffers: list[torch.Tensor] | None = None

    @property
    def length(self) -> int:
        """Tokens cached before the current update: the position of the first new token."""
        return self._owner.length if self._owner is not None else self._length

    def advance(self, n: int) -> None:
        """Commit n new tokens (standalone use; a `KVCache` advances all its layers at once)."""
        if self._owner is not None:
            raise ValueError("this LayerCache belongs to a KVCache: call KVCache.advance(n) instead")
        self._length = _advanced(self._length, n, self.max_len)

    def truncate(self, length: int) -> None:
        """Keep the first `length` tokens (standalone use)."""
        if self._owner is not None:
            raise ValueError("this LayerCache belongs to a KVCache: call KVCache.truncate(length) instead")
        self._length = _truncated(self._length, length)

    def update(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Write the new tokens' tensors (B, S_new, ...) at `length` and return the full tensors
        (B, length + S_new, ...) as views of the buffers."""
        if not tensors:
            raise ValueError("LayerCache.update needs at least one tensor shaped (batch, new_tokens, ...)")
        start = self.length
        s_new = tensors[0].shape[1] if tensors[0].dim() >= 2 else 0
        for t in tensors:
            if t.dim() < 3 or t.shape[1] != s_new:
                raise ValueError(
                    f"LayerCache.update: every tensor must be (batch, new_tokens, ...) with the same "
                    f"new_tokens; got shapes {[tuple(x.shape) for x in tensors]}"
                )
        end = start + s_new
        if end > self.max_len:
            raise ValueError(
                f"the cache holds max_len={self.max_len} tokens: {start} cached + {s_new} new exceeds it; "
                "build the cache with a larger max_len (at most cfg.seq_len) or truncate it"
            )
        if self.buffers is None:
            self.buffers = [_allocate(t, self.max_len) for t in tensors]
        elif len(tensors) != len(self.buffers) or any(
            _stored_shape(t, self.max_len) != b.shape or t.dtype != b.dtype for t, b in zip(tensors, self.buffers)
        ):
            raise ValueError(
                "LayerCache.update: the tensors' number, batch, shape or dtype differ from the first update "
                f"({[tuple(b.shape) for b in self.buffers]}); start a new cache for a new batch"
            )
        out = []
        for t, buf in zip(tensors, self.buffers):
            view = _seq_view(buf)  # (B, max_len, ...)
            view[:, start:end] = t
            out.append(view[:, :end])
        return tuple(out)

    @property
    def nbytes(self) -> int:
        """Bytes of the preallocated buffers (0 before the first update)."""
        return sum(b.nbytes for b in self.buffers) if self.buffers is not None else 0


def _stored_shape(t: torch.Tensor, max_len: int) -> torch.Size:
    if t.dim() == 4:  # (B, S, H, D) stored as (B, H, max_len, D)
        return torch.Size((t.shape[0], t.shape[2], max_len, t.shape[3]))
    return torch.Size((t.shape[0], max_len, *t.shape[2:]))


def _allocate(t: torch.Tensor, max_len: int) -> torch.Tensor:
    return torch.zeros(_stored_shape(t, max_len), dtype=t.dtype, device=t.device)


def _seq_view(buf: torch.Tensor) -> torch.Tensor:
    """The buffer seen as (B, max_len, ...)."""
    return buf.transpose(1, 2) if buf.dim() == 4 else buf


def _advanced(length: int, n: int, max_len: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0 or length + n > max_len:
        raise ValueError(f"advance(n={n!r}): n must be an int >= 0 with length {length} + n <= max_len={max_len}")
    return length + n


def _truncated(length: int, new_length: int) -> int:
    if isinstance(new_length, bool) or not isinstance(new_length, int) or not 0 <= new_length <= length:
        raise ValueError(
            f"truncate(length={new_length!r}): length must be an int between 0 and the {length} tokens cached"
        )
    return new_length


class KVCache:
    """Per-layer caches of a decoder for up to `max_len` tokens per sequence (see the module docstring)."""

    def __init__(self, n_layers: int, max_len: int):
        self.n_layers = positive_int("n_layers", n_layers, "12")
        self.max_len = positive_int("max_len", max_len, "2048")
        self.length = 0
        self.layers = [LayerCache(self.max_len, owner=self) for _ in range(self.n_layers)]

    def advance(self, n: int) -> None:
        """Commit n new tokens, written by every layer during one forward pass."""
        self.length = _advanced(self.length, n, self.max_len)

    def truncate(self, length: int) -> None:
        """Keep the first `length` tokens of every sequence; the next forward writes from there."""
        self.length = _truncated(self.length, length)

    @property
    def batch_size(self) -> int | None:
        """Sequences the buffers were allocated for (None before the first forward)."""
        bufs = self.layers[0].buffers
        return None if bufs is None else bufs[0].shape[0]

    @property
    def nbytes(self) -> int:
        """Bytes of all preallocated buffers: max_len tokens of every layer."""
        return sum(layer.nbytes for layer in self.layers)

    def __repr__(self) -> str:
        return f"KVCache(n_layers={self.n_layers}, max_len={self.max_len}, length={self.length})"
