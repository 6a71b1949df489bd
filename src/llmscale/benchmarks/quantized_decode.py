"""Decode speed of quantized weights on this CPU: the matrix products of a batch-1 decode step
with fp32, bf16, int8 and int4 weights, side by side in one process, against the roofline.

    .venv/bin/python -m llmscale.benchmarks.quantized_decode [--threads 1] [--repeats 7] [--gib 1]

A batch-1 decode step multiplies one row of activations by every weight matrix once: it reads
each weight from memory and does 2 FLOPs per weight, far below any machine's ridge point, so the
roofline predicts its time as bytes read / memory bandwidth, and fewer bits per weight should buy
proportionally less time. This measures whether the kernels deliver it. Each kernel gets its own
stack of 4096 × 4096 weight matrices, at least `--gib` GiB of them (default: `machine.stream_bytes()`,
twice the last-level cache), so that every pass reads them from memory; one pass over a stack is
timed, the kernels taking turns (the best of `--repeats` turns each, so load on a shared machine
falls on all alike). Kernels, all PyTorch's own CPU ones:

- fp32 and bf16: `F.linear` (oneDNN, with AMX/AVX-512 where the CPU has them);
- int8 weight-only: `torch.ops.aten._weight_int8pack_mm` (int8 weights, one bf16 scale per
  output row, bf16 activations), and the naive path that dequantizes to bf16 then multiplies;
- int4 weight-only, groups of 128: `torch.ops.aten._weight_int4pack_mm_for_cpu` (the weights
  packed two per byte, bf16 scales and zeros per group);
- with `--torchao` (where torchao is installed): torchao's `Int8WeightOnlyConfig` applied to
  an `nn.Linear` of the same weights.

Printed per kernel: bytes per pass, time, achieved GB/s, the roofline's time (bytes / the
measured bandwidth, `machine.measure_machine`) and the ratio; then what each would give a
LLaMA-7B-shaped decode step here, and the roofline's batch-1 tokens/s for the same schemes on an
A100 and an H100 (`inference.roofline`, weights as `compression.formats` weighs them). A
benchmark, not a test: timings depend on the machine and its load. A kernel slower than bf16
here is reported as such.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import counting, hardware, measure, presets
from ..compression import formats
from ..inference import kv_cache, roofline
from ..inference.machine import measure_machine, stream_bytes

SHAPE = (4096, 4096)  # (out, in): one LLaMA-7B attention projection
GROUP = 128


@dataclass
class Kernel:
    """A timed kernel: its name, the scheme it stores weights in, one pass over its stack, and the
    bytes and parameters that pass reads."""

    name: str
    scheme: str
    run: Callable[[], None]
    bytes: float
    params: int


def _matrices(n_bytes_target: float, bytes_per_matrix: float) -> int:
    return max(1, math.ceil(n_bytes_target / bytes_per_matrix))


def _int8_rowwise(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    scale = w.abs().amax(dim=1).clamp(min=1e-8) / 127
    q = torch.clamp(torch.round(w / scale[:, None]), -127, 127).to(torch.int8)
    return q, scale


def _int4_grouped(w: torch.Tensor, group: int = GROUP) -> tuple[torch.Tensor, torch.Tensor]:
    """w ≈ (q − 8)·scale + zero per group of `group` inputs (the layout of aten's CPU int4 kernel)."""
    n, k = w.shape
    g = w.reshape(n, k // group, group)
    lo, hi = g.amin(-1), g.amax(-1)
    scale = ((hi - lo) / 15).clamp(min=1e-8)
    zero = lo + 8 * scale
    q = torch.clamp(torch.round((g - lo[..., None]) / scale[..., None]), 0, 15).to(torch.int32).reshape(n, k)
    packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(q, 1)
    scales_zeros = torch.stack([scale.T, zero.T], -1).to(torch.bfloat16).contiguous()  # (k/g, n, 2)
    return packed, scales_zeros


def kernels(target_bytes: float, seed: int = 0, with_torchao: bool = False) -> list[Kernel]:
    """The kernels, each with its own stack of SHAPE matrices of at least `target_bytes`."""
    n, k = SHAPE
    gen = torch.Generator().manual_seed(seed)

    def weight():
        return torch.randn(n, k, generator=gen) * 0.02

    out: list[Kernel] = []
    x32 = torch.randn(1, k, generator=gen)
    x16 = x32.to(torch.bfloat16)

    w32 = [weight() for _ in range(_matrices(target_bytes, 4 * n * k))]
    out.append(Kernel("fp32, F.linear", "fp32", lambda: [F.linear(x32, w) for w in w32], 4.0 * n * k * len(w32),
                      n * k * len(w32)))  # fmt: skip
    w16 = [weight().to(torch.bfloat16) for _ in range(_matrices(target_bytes, 2 * n * k))]
    out.append(Kernel("bf16, F.linear", "bf16", lambda: [F.linear(x16, w) for w in w16], 2.0 * n * k * len(w16),
                      n * k * len(w16)))  # fmt: skip

    q8 = [_int8_rowwise(weight()) for _ in range(_matrices(target_bytes, n * k + 2 * n))]
    q8 = [(q, s.to(torch.bfloat16)) for q, s in q8]
    bytes8 = float(sum(q.nbytes + s.nbytes for q, s in q8))
    out.append(Kernel("int8 weight-only, aten._weight_int8pack_mm", "int8-channel",
                      lambda: [torch.ops.aten._weight_int8pack_mm(x16, q, s) for q, s in q8], bytes8,
                      n * k * len(q8)))  # fmt: skip
    out.append(Kernel("int8, dequantize to bf16 then F.linear", "int8-channel",
                      lambda: [F.linear(x16, q.to(torch.bfloat16) * s[:, None]) for q, s in q8], bytes8,
                      n * k * len(q8)))  # fmt: skip

    per4 = n * k / 2 + 2 * 2 * n * (k // GROUP)
    q4 = [_int4_grouped(weight()) for _ in range(_matrices(target_bytes, per4))]
    bytes4 = float(sum(p.nbytes + sz.nbytes for p, sz in q4))
    out.append(Kernel(f"int4 g{GROUP} weight-only, aten._weight_int4pack_mm_for_cpu", "int4-g128-asym",
                      lambda: [torch.ops.aten._weight_int4pack_mm_for_cpu(x16, p, GROUP, sz) for p, sz in q4],
                      bytes4, n * k * len(q4)))  # fmt: skip

    if with_torchao:
        out += _torchao_kernels(target_bytes, weight, x16)
    return out


def _torchao_kernels(target_bytes: float, weight, x16) -> list[Kernel]:
    try:
        from torchao.quantization import Int8WeightOnlyConfig, quantize_
    except ImportError as e:  # not a dependency of the book: run in a venv that has it
        print(f"   torchao not importable ({e}); its kernel is left out")
        return []
    n, k = SHAPE
    layers = torch.nn.Sequential(
        *[torch.nn.Linear(k, n, bias=False) for _ in range(_matrices(target_bytes, n * k + 2 * n))]
    ).to(torch.bfloat16)
    with torch.no_grad():
        for lin in layers:
            lin.weight.copy_(weight())
    quantize_(layers, Int8WeightOnlyConfig())
    return [Kernel("int8 weight-only, torchao Int8WeightOnlyConfig", "int8-channel",
                   lambda: [lin(x16) for lin in layers], float(len(layers) * (n * k + 2 * n)),
                   n * k * len(layers))]  # fmt: skip


@torch.inference_mode()
def measure_kernels(target_bytes: float | None = None, repeats: int = 7, with_torchao: bool = False) -> list[dict]:
    """Best seconds of one pass per kernel, the kernels taking turns, and what it gives."""
    target = stream_bytes() if target_bytes is None else target_bytes
    ks = kernels(target, with_torchao=with_torchao)
    for kern in ks:
        kern.run()  # warm-up: page faults, kernel selection, packing caches
    best = {kern.name: float("inf") for kern in ks}
    for _ in range(repeats):
        for kern in ks:
            start = time.perf_counter()
            kern.run()
            best[kern.name] = min(best[kern.name], time.perf_counter() - start)
    return [
        {
            "kernel": kern.name,
            "scheme": kern.scheme,
            "bytes": kern.bytes,
            "params": kern.params,
            "seconds": best[kern.name],
            "bytes_per_s": kern.bytes / best[kern.name],
            "seconds_per_param": best[kern.name] / kern.params,
        }
        for kern in ks
    ]


def gpu_tokens_per_s(cfg, scheme: str, accelerator: str, context: int = 512) -> float:
    """Roofline batch-1 tokens/s of `cfg` on `accelerator` with weights in `scheme` (embeddings
    kept in 16 bits; the input embedding is a lookup, not a read of the whole table) and a bf16 cache."""
    acc = hardware.get(accelerator)
    w = formats.model_bytes(cfg, scheme, keep_embeddings=True)
    lookup = cfg.vocab_size * cfg.d_model * w.embedding_bytes / counting.param_breakdown(cfg).embeddings
    read = w.total_bytes - lookup + kv_cache.bytes_per_sequence(cfg, context)
    step = roofline.step_time(counting.flops_per_token(cfg, context=context), read, acc, dtype="bf16")
    return 1 / step.seconds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--gib", type=float, default=None, help="GiB of weights per kernel (default: stream_bytes())")
    p.add_argument("--torchao", action="store_true", help="add torchao's int8 weight-only (if installed)")
    args = p.parse_args(argv)
    target = None if args.gib is None else args.gib * 2**30
    with measure.torch_threads(args.threads):
        machine = measure_machine(dtypes=("fp32",), repeats=5)
        rows = measure_kernels(target, args.repeats, args.torchao)
    bw = machine.memory_bw
    print(f"torch {torch.__version__}, {machine.name}; measured memory bandwidth {bw / 1e9:.1f} GB/s")
    print(f"batch-1 products with {SHAPE[0]}×{SHAPE[1]} weights, about {(target or stream_bytes()) / 2**30:.2f} GiB "
          "per kernel, best pass of each:")  # fmt: skip
    fp32 = rows[0]
    print(f"   {'kernel':58s} {'MB/pass':>8s} {'ms':>8s} {'GB/s':>6s} {'roof ms':>8s} {'/roof':>6s} {'vs fp32':>7s}")
    for r in rows:
        roof = r["bytes"] / bw
        speed = fp32["seconds_per_param"] / r["seconds_per_param"]
        print(
            f"   {r['kernel']:58s} {r['bytes'] / 1e6:8.0f} {r['seconds'] * 1e3:8.1f} {r['bytes_per_s'] / 1e9:6.1f} "
            f"{roof * 1e3:8.1f} {r['seconds'] / roof:6.2f} {speed:6.2f}x"
        )
    cfg = presets.get("llama-7b")
    n_mm = counting.param_count(cfg) - cfg.vocab_size * cfg.d_model  # the head is read, the table looked up
    print(f"a LLaMA-7B decode step's {n_mm / 1e9:.2f}B weights at these kernels' speed, batch 1 (matmuls only):")
    for r in rows:
        print(f"   {r['kernel']:58s} {1 / (r['seconds_per_param'] * n_mm):6.2f} tokens/s")
    print("roofline, batch 1, context 512, LLaMA-7B (weights as compression.formats weighs them, bf16 cache):")
    for scheme in ("fp32", "bf16", "int8-channel", "int4-g128-asym"):
        gpu = ", ".join(f"{a}: {gpu_tokens_per_s(cfg, scheme, a):5.0f}" for a in ("a100", "h100"))
        print(f"   {scheme:16s} {formats.bits_per_weight(scheme, 4096):6.3f} bits/weight  tokens/s {gpu}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
