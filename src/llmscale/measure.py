"""Measuring a PyTorch model: wall time with the accelerator synchronised, CPU thread counts,
matmul FLOPs counted by PyTorch's own counter, and parameter counts of models built on the
`meta` device (shapes, no memory).

These are the independent checks the book sets beside its formulas (`llmscale.counting`):
a count the package computes is compared with one PyTorch measures.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from ._validate import positive_int


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


def count_flops(fn: Callable[[], Any]) -> tuple[Any, int, dict[str, int]]:
    """Run `fn()` under PyTorch's `FlopCounterMode`: (its result, total FLOPs, FLOPs by operator).

    Attention runs through the math kernel of `scaled_dot_product_attention` while counting:
    the fused CPU kernels are counted as zero FLOPs, the math one as the matrix products it is.
    """
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        out = fn()
    by_op = {str(op).split(".")[-2] if "." in str(op) else str(op): int(n)
             for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return out, int(counter.get_total_flops()), by_op


def meta_param_count(build: Callable[[], torch.nn.Module]) -> int:
    """Parameters of the module `build()` makes, built on the `meta` device: shapes without memory,
    so a 175B-parameter model is counted in a second. Tied weights count once."""
    with torch.device("meta"):
        module = build()
    return sum(p.numel() for p in module.parameters())
