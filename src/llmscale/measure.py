"""Measuring a PyTorch model: wall time with the accelerator synchronised, CPU thread counts,
FLOPs counted by PyTorch's own counter (`count_flops`, `step_flops`, `meta_step_flops`), and
parameter counts of models built on the `meta` device (`meta_param_count`,
`built_active_param_count`: shapes, no memory), and the bytes autograd saves for the backward pass
(`SavedActivations`).

These are the independent checks the book sets beside its formulas (`llmscale.counting`):
a count the package computes is compared with one PyTorch measures.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from ._validate import boolean, choice, positive_int
from .config import ModelConfig
from .model.decoder import Decoder
from .model.moe import MoELayer


def synchronize(device: torch.device | str) -> None:
    """Wait for queued kernels on a CUDA device (a no-op elsewhere), so a clock reading means what it says."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: torch.device | str = "cpu") -> tuple[Any, float]:
    """Run `fn()` and return (its result, the seconds it took), the device synchronised before and after."""
    synchronize(device)
    start = time.perf_counter()
    out = fn()
    synchronize(device)
    return out, time.perf_counter() - start


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run PyTorch's CPU operations on `n` threads inside the block, restoring the old count after
    (None leaves the count alone).

    One thread is fastest for the book's tiny models and makes results independent of the
    machine's core count; sweeps run one such process per core.
    """
    if n is None:
        yield
        return
    n = positive_int("threads", n, "1")
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


ATTENTION_KERNELS = ("math", "default")


def count_flops(fn: Callable[[], Any], *, attention: str = "math") -> dict[str, int]:
    """FLOPs PyTorch's `FlopCounterMode` counts while `fn()` runs, by operator as `str(op)` names
    it ({"aten.mm": ..., "aten.bmm": ...}); their sum is the total.

    attention="math" runs `scaled_dot_product_attention` on its math kernel, whose matrix products
    the counter knows; "default" leaves PyTorch's choice, and on a CPU its fused kernel is counted
    as zero FLOPs, without a warning.
    """
    attention = choice("attention", attention, ATTENTION_KERNELS)
    kernel = sdpa_kernel(SDPBackend.MATH) if attention == "math" else contextlib.nullcontext()
    with kernel, FlopCounterMode(display=False) as counter:
        fn()
    return {str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}


def step_flops(
    net: torch.nn.Module, tokens: torch.Tensor, *, training: bool = True, attention: str = "math"
) -> dict[str, int]:
    """FLOPs by operator (`count_flops`) of one pass of the decoder `net` over token ids (B, S):
    with training, the forward pass with the tokens as their own targets and the loss's backward
    pass (gradients accumulate in `net`); without, one forward pass under `torch.no_grad`."""
    training = boolean("training", training)
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2 or tokens.is_floating_point():
        raise ValueError(
            f"tokens must be an integer tensor of shape (batch, seq_len), got "
            f"{type(tokens).__name__} {tuple(getattr(tokens, 'shape', ()))}; "
            "e.g. torch.randint(0, cfg.vocab_size, (2, cfg.seq_len))"
        )

    def one_pass():
        if training:
            _, loss = net(tokens, tokens)
            loss.backward()
        else:
            with torch.no_grad():
                net(tokens)

    return count_flops(one_pass, attention=attention)


def _check_config(cfg: Any) -> ModelConfig:
    if not isinstance(cfg, ModelConfig):
        raise ValueError(f'cfg must be a ModelConfig, got {type(cfg).__name__}; e.g. presets.get("gpt2-small")')
    return cfg


def meta_decoder(cfg: ModelConfig) -> Decoder:
    """The decoder for `cfg` built on PyTorch's `meta` device: shapes without memory, so a
    175B-parameter model is built in seconds."""
    with torch.device("meta"):
        return Decoder(_check_config(cfg))


def meta_param_count(cfg: ModelConfig) -> int:
    """Parameters PyTorch allocates for `cfg`'s decoder, counted on the `meta` device (tied
    weights once): the independent check of `counting.param_count`."""
    return meta_decoder(cfg).num_params()


def built_active_param_count(net: Decoder) -> int:
    """Parameters one token of the built decoder `net` uses: every parameter outside the experts,
    plus `top_k` experts' worth in each mixture-of-experts layer (the check of
    `counting.active_param_count`)."""
    if not isinstance(net, Decoder):
        raise ValueError(
            f"net must be a llmscale.model.Decoder, got {type(net).__name__}; e.g. measure.meta_decoder(cfg)"
        )
    active = net.num_params()
    for block in net.blocks:
        if isinstance(block.ffn, MoELayer):
            expert_sizes = [sum(p.numel() for p in e.parameters()) for e in block.ffn.experts]
            active -= sum(expert_sizes) - block.ffn.top_k * expert_sizes[0]
    return active


def meta_step_flops(
    cfg: ModelConfig, seq_len: int | None = None, *, batch: int = 1, training: bool = True, attention: str = "math"
) -> dict[str, int]:
    """FLOPs by operator (`step_flops`) of one pass over `batch` sequences of `seq_len` tokens
    (None: cfg.seq_len) of `cfg`'s decoder, built on the `meta` device: LLaMA-7B's training step
    is counted in seconds."""
    cfg = _check_config(cfg)
    seq_len = cfg.seq_len if seq_len is None else positive_int("seq_len", seq_len, "1024")
    batch = positive_int("batch", batch, "1")
    if seq_len > cfg.seq_len:
        raise ValueError(
            f"seq_len={seq_len} exceeds cfg.seq_len={cfg.seq_len}; pass a shorter seq_len "
            f"or count cfg.replace(seq_len={seq_len})"
        )
    net = meta_decoder(cfg)
    with torch.device("meta"):
        tokens = torch.randint(0, cfg.vocab_size, (batch, seq_len))
    return step_flops(net, tokens, training=training, attention=attention)


class SavedActivations:
    """The bytes autograd saves for the backward pass: the activations, measured.

    Use as `with rec.hooks(): loss = ...` (`torch.autograd.graph.saved_tensors_hooks`). Each storage
    counts once while it is held (views of one tensor share it) and leaves the count when autograd
    frees it: `live_bytes` now, `peak_bytes` the most at once. `by_part` adds up, per value of
    `part` (set it while a block runs, e.g. "block 0"), the bytes that became saved under it.
    The tensors of `exclude` (a model's parameters and buffers: the model state, stored whether
    or not a backward pass follows) are left out.
    """

    def __init__(self, exclude: Iterable[torch.Tensor] = ()):
        self.exclude = {t.untyped_storage().data_ptr() for t in exclude}
        self.live: dict[int, list[int]] = {}  # storage pointer -> [references, bytes]
        self.live_bytes = 0
        self.peak_bytes = 0
        self.by_part: dict[str, int] = {}
        self.part = "outside the blocks"

    def pack(self, tensor: torch.Tensor):
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key in self.exclude or storage.nbytes() == 0:
            return tensor
        if key in self.live:
            self.live[key][0] += 1
        else:
            self.live[key] = [1, storage.nbytes()]
            self.live_bytes += storage.nbytes()
            self.peak_bytes = max(self.peak_bytes, self.live_bytes)
            self.by_part[self.part] = self.by_part.get(self.part, 0) + storage.nbytes()
        return _Held(tensor, key, self)

    @staticmethod
    def unpack(held):
        return held.tensor if isinstance(held, _Held) else held

    def hooks(self):
        return torch.autograd.graph.saved_tensors_hooks(self.pack, self.unpack)

    def _release(self, key: int) -> None:
        entry = self.live[key]
        entry[0] -= 1
        if entry[0] == 0:
            self.live_bytes -= entry[1]
            del self.live[key]


class _Held:
    """A saved tensor; when autograd frees it, the counter forgets it."""

    __slots__ = ("key", "owner", "tensor")

    def __init__(self, tensor, key, owner):
        self.tensor, self.key, self.owner = tensor, key, owner

    def __del__(self):
        self.owner._release(self.key)
