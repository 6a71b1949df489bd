"""The reader's machine, measured: achieved matmul FLOP/s per dtype and memory bandwidth, so that
its roofline is drawn from measured numbers and not from a datasheet.

Method (`measure_machine`): FLOP/s is the best of `repeats` timed products of two n×n matrices
(2·n³ FLOPs each) after one warm-up, per dtype; bandwidth is the best of `repeats` passes over
a tensor far larger than the caches, measured two ways, a copy (`dst.copy_(src)`, bytes counted
as read + written, 2× the tensor) and a read (a sum over it, bytes read, 1× the tensor); the
machine's `memory_bw` is the higher of the two, the best the memory system showed, as a
datasheet's peak is the best it can do. A `Machine` stands in for a `hardware.Accelerator` in
`llmscale.inference.roofline` (it has `flops(dtype)`, `hbm_bw`, `ridge_flops_per_byte`).
Timings vary from run to run and with the machine's load; pages assert ranges, not values.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from .._validate import choice, positive_int
from ..measure import synchronize

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Machine:
    """A measured machine: achieved matmul FLOP/s by dtype, memory bytes/s (`memory_bw`, the
    higher of `copy_bw` and `read_bw`), how they were measured, on which device and threads."""

    name: str
    matmul_flops: dict[str, float]
    memory_bw: float
    copy_bw: float
    read_bw: float
    method: str
    device: str = "cpu"
    threads: int = 1
    matmul_size: int = 0
    tensor_bytes: int = 0
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def hbm_bw(self) -> float:
        """`memory_bw` under the name `hardware.Accelerator` uses, so the roofline takes either."""
        return self.memory_bw

    @property
    def peak_flops(self) -> dict[str, float]:
        return dict(self.matmul_flops)

    def flops(self, dtype: str = "fp32") -> float:
        """Achieved matmul FLOP/s for `dtype`, as measured."""
        if dtype not in self.matmul_flops:
            raise ValueError(
                f"{self.name} was not measured in dtype={dtype!r}; choose one of {sorted(self.matmul_flops)} "
                "or measure it with measure_machine(dtypes=...)"
            )
        return self.matmul_flops[dtype]

    def ridge_flops_per_byte(self, dtype: str = "fp32") -> float:
        """The measured ridge point: achieved matmul FLOP/s over measured bytes/s."""
        return self.flops(dtype) / self.memory_bw


def _check_device(device) -> torch.device:
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available; use device='cpu'")
    return dev


def _best_seconds(fn, device: torch.device, repeats: int) -> float:
    fn()  # warm-up: allocation, kernel selection, page faults
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


@dataclass(frozen=True)
class MatmulPoint:
    """One timed (m×k)·(k×n) product: its FLOPs (2·m·k·n), the bytes it must move at least (both
    inputs read, the output written), the best time, and the FLOP/s and FLOP/byte that gives."""

    m: int
    k: int
    n: int
    dtype: str
    flops: float
    bytes: float
    seconds: float

    @property
    def achieved_flops(self) -> float:
        return self.flops / self.seconds

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes


def measure_matmul(m: int, k: int, n: int, dtype: str = "fp32", device="cpu", repeats: int = 5) -> MatmulPoint:
    """Time an (m×k)·(k×n) product in `dtype` on `device`, best of `repeats` after a warm-up; the
    inner loop repeats small products until one sample lasts about 10 ms, so the clock resolves it."""
    m, k, n = positive_int("m", m, "1"), positive_int("k", k, "1024"), positive_int("n", n, "1024")
    dtype = choice("dtype", dtype, tuple(DTYPES))
    repeats = positive_int("repeats", repeats, "5")
    dev = _check_device(device)
    gen = torch.Generator(device=dev).manual_seed(0)
    a = torch.randn(m, k, generator=gen, device=dev).to(DTYPES[dtype])
    b = torch.randn(k, n, generator=gen, device=dev).to(DTYPES[dtype])
    out = torch.empty(m, n, device=dev, dtype=DTYPES[dtype])
    once = _best_seconds(lambda: torch.matmul(a, b, out=out), dev, 1)
    inner = max(1, min(1000, int(0.01 / max(once, 1e-7))))

    def run():
        for _ in range(inner):
            torch.matmul(a, b, out=out)

    seconds = _best_seconds(run, dev, repeats) / inner
    size = a.element_size()
    return MatmulPoint(m, k, n, dtype, 2.0 * m * k * n, float(size * (m * k + k * n + m * n)), seconds)


def _cpu_model() -> str:
    try:  # Linux names the model; elsewhere the architecture must do
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() + " CPU"
    except OSError:
        pass
    return (platform.processor() or platform.machine() or "unknown") + " CPU"


def last_level_cache_bytes() -> int | None:
    """The largest CPU cache this machine reports (Linux sysfs), in bytes; None where none is
    reported. Some servers have L3 caches of hundreds of MiB: a "large" tensor may fit in them."""
    sizes = []
    for f in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        try:
            text = f.read_text().strip()
        except OSError:
            continue
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        if text[:-1].isdigit() and text[-1] in units:
            sizes.append(int(text[:-1]) * units[text[-1]])
        elif text.isdigit():
            sizes.append(int(text))
    return max(sizes) if sizes else None


def stream_bytes() -> int:
    """Bytes of a CPU tensor that a pass over must read from memory, not from a cache: twice the
    last-level cache, and at least 1 GiB (a 128 MiB tensor sits inside a 480 MiB L3)."""
    return max(2**30, 2 * (last_level_cache_bytes() or 0))


def _default_sizes(dev: torch.device) -> tuple[int, int]:
    # Large enough to leave the caches (and, on a GPU, to fill the chip), small enough for seconds.
    return (8192, 2**30) if dev.type == "cuda" else (1024, stream_bytes())


def measure_machine(
    device="cpu",
    dtypes: tuple[str, ...] = ("fp32", "bf16"),
    matmul_size: int | None = None,
    tensor_bytes: int | None = None,
    repeats: int = 5,
) -> Machine:
    """Measure `device` (see the module docstring for the method): matmul FLOP/s of two
    `matmul_size`² matrices per dtype (None: 1024 on a CPU, 8192 on a GPU) and bandwidth over a
    float32 tensor of `tensor_bytes` (None: `stream_bytes()` on a CPU, 1 GiB on a GPU), best of `repeats`,
    on PyTorch's current number of CPU threads."""
    dev = _check_device(device)
    if isinstance(dtypes, str) or not dtypes:
        raise ValueError(f"dtypes={dtypes!r} must be a non-empty tuple of dtype names, e.g. dtypes=('fp32',)")
    for d in dtypes:
        choice("dtypes", d, tuple(DTYPES))
    default_n, default_bytes = _default_sizes(dev)
    n = default_n if matmul_size is None else positive_int("matmul_size", matmul_size, "1024")
    nbytes = default_bytes if tensor_bytes is None else positive_int("tensor_bytes", tensor_bytes, "2**27")
    repeats = positive_int("repeats", repeats, "5")
    flops = {d: measure_matmul(n, n, n, d, dev, repeats).achieved_flops for d in dtypes}
    numel = max(1, nbytes // 4)
    src = torch.ones(numel, device=dev)
    dst = torch.empty_like(src)
    size = float(src.numel() * src.element_size())
    copy_bw = 2 * size / _best_seconds(lambda: dst.copy_(src), dev, repeats)
    read_bw = size / _best_seconds(lambda: src.sum(), dev, repeats)
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev)
    else:
        threads = torch.get_num_threads()
        name = f"{_cpu_model()}, {threads} thread{'' if threads == 1 else 's'}"
    method = (
        f"matmul: best of {repeats} products of two {n}×{n} matrices (2·n³ FLOPs) per dtype; "
        f"bandwidth: best of {repeats} passes over a {size / 2**20:.0f} MiB float32 tensor, the higher of "
        "a copy (read + write counted, 2× its bytes) and a sum (read, 1× its bytes)"
    )
    return Machine(
        name=name,
        matmul_flops=flops,
        memory_bw=max(copy_bw, read_bw),
        copy_bw=copy_bw,
        read_bw=read_bw,
        method=method,
        device=str(dev),
        threads=torch.get_num_threads(),
        matmul_size=n,
        tensor_bytes=int(size),
    )


@torch.inference_mode()
def measure_decode_step(model, batch: int, context: int, steps: int = 5, device=None) -> float:
    """Seconds of one decode step of `model` (a `Decoder`) for `batch` sequences with `context`
    tokens already cached, the best of `steps` consecutive steps after a warm-up one.

    The cache is filled without a prefill: its buffers are allocated by the warm-up step and
    its length advanced to `context`, so the cached keys and values are zeros. Reading them
    costs what reading a real prompt's would, and the step does the same work on them."""
    batch = positive_int("batch", batch, "8")
    context = positive_int("context", context, "256")
    steps = positive_int("steps", steps, "5")
    cfg = model.cfg
    if context + steps + 1 > cfg.seq_len:
        raise ValueError(
            f"context={context} + steps={steps} + 1 exceeds the model's seq_len={cfg.seq_len}; "
            "use a shorter context or fewer steps"
        )
    dev = _check_device(device if device is not None else next(model.parameters()).device)
    cache = model.new_cache(context + steps + 1)
    token = torch.zeros(batch, 1, dtype=torch.long, device=dev)
    model(token, cache=cache)  # allocates the buffers for this batch: one token cached
    cache.advance(context - 1)
    best = float("inf")
    for _ in range(steps):
        synchronize(dev)
        start = time.perf_counter()
        model(token, cache=cache)
        synchronize(dev)
        best = min(best, time.perf_counter() - start)
    return best


@torch.inference_mode()
def measure_weight_products(model, batch: int = 1, repeats: int = 5) -> tuple[float, float]:
    """The matrix products of one decode step alone: every 2-D weight of `model` but the input
    embedding applied, one after another as a step meets them, to `batch` rows of ones, best of
    `repeats` after a warm-up. Returns (bytes of those weights, seconds): what the step's weight
    reads cost without attention, norms, activations or Python around them."""
    batch = positive_int("batch", batch, "1")
    repeats = positive_int("repeats", repeats, "5")
    embed = getattr(model, "embed", None)
    skip = {id(embed.weight)} if embed is not None and not model.cfg.tie_embeddings else set()
    weights = [p for p in model.parameters() if p.dim() == 2 and id(p) not in skip]
    if not weights:
        raise ValueError("model has no 2-D weights to multiply; pass a built Decoder")
    dev = weights[0].device
    inputs = [torch.ones(batch, w.shape[1], dtype=w.dtype, device=dev) for w in weights]

    def run():
        for x, w in zip(inputs, weights):
            torch.nn.functional.linear(x, w)

    return float(sum(w.nbytes for w in weights)), _best_seconds(run, dev, repeats)


def best_of(*machines: Machine) -> Machine:
    """One `Machine` from several measurements of the same machine: the highest FLOP/s of every
    dtype and the highest bandwidths, each the best the machine showed (load drifts between
    measurements; a roof is what the machine can do at best)."""
    if not machines or not all(isinstance(m, Machine) for m in machines):
        raise ValueError("best_of needs one or more Machine records from measure_machine()")
    first = machines[0]
    if any(m.device != first.device for m in machines):
        raise ValueError(f"best_of combines measurements of one device, got {sorted({m.device for m in machines})}")
    dtypes = set().union(*(m.matmul_flops for m in machines))
    flops = {d: max(m.matmul_flops.get(d, 0.0) for m in machines) for d in sorted(dtypes)}
    copy_bw, read_bw = max(m.copy_bw for m in machines), max(m.read_bw for m in machines)
    return replace(
        first,
        matmul_flops=flops,
        memory_bw=max(copy_bw, read_bw),
        copy_bw=copy_bw,
        read_bw=read_bw,
        method=f"the best of {len(machines)} measurements, each: " + first.method,
    )
