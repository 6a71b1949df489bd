"""The roofline: how long a prefill or decode step takes on an accelerator, and whether its
arithmetic or its memory traffic sets the time.

A step does `flops` FLOPs and moves `bytes` bytes between memory and the chip. At peak it
takes at least flops/peak_flops (compute) and at least bytes/bandwidth (memory); the step
time is the larger of the two, and the step is compute-bound when its arithmetic intensity,
flops/bytes, exceeds the chip's *ridge point* peak_flops/bandwidth. A stated `efficiency`
(a fraction of the peak reached) scales both, or each separately.

Counted: FLOPs from `counting.flops_per_token` (the weight matmuls, the LM head and the
attention over the context); bytes as every weight the step uses read once (MoE: the
distinct experts the batch's tokens touch, `decode.decode_weight_params`) plus the KV cache
the step reads (decode) or writes (prefill), `kv_cache.bytes_per_token`. Activations are
left out: a decode step's are B·d values per layer against d² weights, and a prefill's
stay small next to its FLOPs (the step is compute-bound long before they matter).

An accelerator is anything with `flops(dtype)` (peak FLOP/s) and `hbm_bw` (bytes/s): a
`hardware.Accelerator`'s published peaks or a `machine.Machine` measured on the reader's
computer. Arithmetic, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import counting
from .._validate import non_negative_number, optional_positive_number, positive_int, positive_number
from ..config import ModelConfig
from . import decode, kv_cache

BOUNDS = ("compute", "memory")


@dataclass(frozen=True)
class StepTime:
    """One step on one accelerator: FLOPs, bytes moved, the time each would take at the stated
    efficiency (s), the step's time (the larger) and which of the two sets it."""

    flops: float
    bytes: float
    compute_s: float
    memory_s: float
    seconds: float
    bound: str

    @property
    def intensity(self) -> float:
        """Arithmetic intensity, FLOP per byte moved."""
        return self.flops / self.bytes


def check_accelerator(accelerator):
    """`accelerator` if it has `flops(dtype)` and a positive `hbm_bw` (a `hardware.Accelerator`
    or a measured `machine.Machine`), else a ValueError saying what to pass."""
    if not callable(getattr(accelerator, "flops", None)) or not hasattr(accelerator, "hbm_bw"):
        raise ValueError(
            f"accelerator={accelerator!r} needs flops(dtype) and hbm_bw; pass hardware.get('a100') "
            "or machine.measure_machine()"
        )
    positive_number("accelerator.hbm_bw", accelerator.hbm_bw, "2.039e12")
    return accelerator


def _peak(accelerator, dtype: str) -> float:
    return positive_number(f"accelerator.flops({dtype!r})", check_accelerator(accelerator).flops(dtype), "312e12")


def ridge_point(accelerator, dtype: str = "bf16") -> float:
    """The ridge point, FLOP/byte: peak FLOP/s for `dtype` over memory bytes/s. A step of lower
    arithmetic intensity is memory-bound on this accelerator."""
    return _peak(accelerator, dtype) / accelerator.hbm_bw


def attainable_flops(accelerator, intensity, dtype: str = "bf16") -> float:
    """The roofline: the FLOP/s a kernel of `intensity` FLOP/byte can reach, min(peak, intensity·bandwidth)."""
    i = positive_number("intensity", intensity, "100")
    return min(_peak(accelerator, dtype), i * accelerator.hbm_bw)


def matmul_intensity(m: int, k: int, n: int, bytes_per_value: float = 2) -> float:
    """Arithmetic intensity of an (m×k)·(k×n) product that reads both inputs and writes its output
    once: 2·m·k·n / (b·(m·k + k·n + m·n)) FLOP/byte. With m tokens against a k×n weight, it
    grows as m while m ≪ k, n: about m/b FLOP/byte."""
    m, k, n = positive_int("m", m, "1"), positive_int("k", k, "4096"), positive_int("n", n, "4096")
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    return 2 * m * k * n / (b * (m * k + k * n + m * n))


def matmul_rows_at_ridge(k: int, n: int, ridge_flops_per_byte: float, bytes_per_value: float = 2) -> float | None:
    """Rows m at which an (m×k)·(k×n) product reaches the ridge point I*, solving
    2·m·k·n / (b·(m·k + k·n + m·n)) = I*: m = I*·b·k·n / (2·k·n − I*·b·(k + n)), or None when
    no m does (the intensity tends to 2·k·n / (b·(k + n)) as m grows)."""
    k, n = positive_int("k", k, "8192"), positive_int("n", n, "8192")
    ridge = positive_number("ridge_flops_per_byte", ridge_flops_per_byte, "153")
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    denominator = 2 * k * n - ridge * b * (k + n)
    return None if denominator <= 0 else ridge * b * k * n / denominator


def _kv_bytes_per_token(cfg: ModelConfig, bytes_per_value: float) -> float:
    # The chapter's contract name: correct for latent attention (MLA) as well as for MHA/GQA/MQA.
    return kv_cache.bytes_per_token(cfg, bytes_per_value)


def _efficiencies(efficiency, bandwidth_efficiency) -> tuple[float, float]:
    if not isinstance(efficiency, (int, float)) or isinstance(efficiency, bool) or not 0 < efficiency <= 1:
        raise ValueError(f"efficiency={efficiency!r} must be a fraction of the peak in (0, 1], e.g. efficiency=0.5")
    bw = optional_positive_number("bandwidth_efficiency", bandwidth_efficiency, "0.8", none_means="efficiency")
    if bw is not None and bw > 1:
        raise ValueError(
            f"bandwidth_efficiency={bandwidth_efficiency!r} must be a fraction of the bandwidth in (0, 1], "
            "e.g. bandwidth_efficiency=0.8"
        )
    return float(efficiency), float(efficiency if bw is None else bw)


def step_time(
    flops: float,
    bytes_moved: float,
    accelerator,
    dtype: str = "bf16",
    efficiency: float = 1.0,
    bandwidth_efficiency: float | None = None,
) -> StepTime:
    """A step of `flops` FLOPs moving `bytes_moved` bytes on `accelerator`: compute time at
    `efficiency`·peak, memory time at `bandwidth_efficiency`·bandwidth (None: `efficiency`),
    the larger of the two, and which one it is (a tie counts as compute-bound)."""
    f = positive_number("flops", flops, "1e12")
    q = positive_number("bytes_moved", bytes_moved, "1e9")
    eff_c, eff_m = _efficiencies(efficiency, bandwidth_efficiency)
    compute_s = f / (_peak(accelerator, dtype) * eff_c)
    memory_s = q / (accelerator.hbm_bw * eff_m)
    bound = "compute" if compute_s >= memory_s else "memory"
    return StepTime(f, q, compute_s, memory_s, max(compute_s, memory_s), bound)


def decode_step_time(
    cfg: ModelConfig,
    accelerator,
    batch: int,
    context: float,
    bytes_per_value: float = 2,
    dtype: str = "bf16",
    efficiency: float = 1.0,
    bandwidth_efficiency: float | None = None,
) -> StepTime:
    """One decode step: `batch` sequences each generate one token, attending to `context`
    cached tokens. FLOPs B·flops_per_token(context) (with multi-head latent attention, the
    absorbed form that attends in the latent space, `counting.latent_decode_flops_per_token`);
    bytes: the weights the step uses (`decode.decode_weight_params`, the experts B tokens touch)
    and B·context cached tokens, both at `bytes_per_value`."""
    cfg = counting.check_decoder_only(cfg, "step times")
    batch = positive_int("batch", batch, "32")
    context = non_negative_number("context", context, "2048")
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    per_token = counting.latent_decode_flops_per_token if cfg.is_mla else counting.flops_per_token
    flops = batch * per_token(cfg, context=context)
    weights = decode.decode_weight_params(cfg, batch) * b
    kv = batch * context * _kv_bytes_per_token(cfg, b)
    return step_time(flops, weights + kv, accelerator, dtype, efficiency, bandwidth_efficiency)


def prefill_step_time(
    cfg: ModelConfig,
    accelerator,
    batch: int,
    prompt_len: int,
    bytes_per_value: float = 2,
    dtype: str = "bf16",
    efficiency: float = 1.0,
    bandwidth_efficiency: float | None = None,
) -> StepTime:
    """Prefill of `batch` prompts of `prompt_len` tokens in one step: FLOPs B·S·flops_per_token
    with each query meeting (S+1)/2 keys on average (a causal kernel that skips masked
    blocks); bytes: the weights the B·S tokens use, read once, and their keys and values
    written to the cache."""
    cfg = counting.check_decoder_only(cfg, "step times")
    batch = positive_int("batch", batch, "8")
    prompt_len = positive_int("prompt_len", prompt_len, "2048")
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    tokens = batch * prompt_len
    flops = tokens * counting.flops_per_token(cfg, context=(prompt_len + 1) / 2)
    weights = decode.decode_weight_params(cfg, tokens) * b
    kv = tokens * _kv_bytes_per_token(cfg, b)
    return step_time(flops, weights + kv, accelerator, dtype, efficiency, bandwidth_efficiency)


def tokens_per_s(
    cfg: ModelConfig,
    accelerator,
    batch: int,
    context: float,
    bytes_per_value: float = 2,
    dtype: str = "bf16",
    efficiency: float = 1.0,
    bandwidth_efficiency: float | None = None,
) -> float:
    """Tokens generated per second by decoding `batch` sequences at `context`: B / step time."""
    step = decode_step_time(cfg, accelerator, batch, context, bytes_per_value, dtype, efficiency, bandwidth_efficiency)
    return batch / step.seconds


def decode_intensity_limit(cfg: ModelConfig, context: float, bytes_per_value: float = 2) -> float:
    """The highest arithmetic intensity decoding reaches at `context`, as the batch grows without
    bound: the weight reads are shared by the batch but the KV reads are not, so FLOP/byte tends
    to flops_per_token(context) / (context·KV bytes per token). Infinite at context 0."""
    cfg = counting.check_decoder_only(cfg, "step times")
    context = non_negative_number("context", context, "2048")
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    kv = context * _kv_bytes_per_token(cfg, b)
    return float("inf") if kv == 0 else counting.flops_per_token(cfg, context=context) / kv


def crossover_batch(
    cfg: ModelConfig,
    accelerator,
    context: float,
    bytes_per_value: float = 2,
    dtype: str = "bf16",
    efficiency: float = 1.0,
    bandwidth_efficiency: float | None = None,
    max_batch: int = 10**7,
) -> int | None:
    """Smallest decode batch at which a step at `context` is compute-bound, or None if none is:
    the KV cache read grows with the batch as fast as the FLOPs do, so beyond some context no
    batch reaches the ridge (`decode_intensity_limit`). At context 0 it equals
    `decode.min_batch_compute_bound` at the efficiency-adjusted ridge point."""
    max_batch = positive_int("max_batch", max_batch, "10**7")

    def compute_bound(batch: int) -> bool:
        step = decode_step_time(
            cfg, accelerator, batch, context, bytes_per_value, dtype, efficiency, bandwidth_efficiency
        )
        return step.bound == "compute"

    eff_c, eff_m = _efficiencies(efficiency, bandwidth_efficiency)
    if decode_intensity_limit(cfg, context, bytes_per_value) < ridge_point(accelerator, dtype) * eff_c / eff_m:
        return None
    if context == 0:
        ridge = ridge_point(accelerator, dtype) * eff_c / eff_m
        try:
            return decode.min_batch_compute_bound(cfg, ridge, bytes_per_value, max_batch)
        except ValueError:
            return None
    if not compute_bound(max_batch):
        return None
    lo, hi = 0, max_batch  # compute_bound(hi) holds; intensity grows with the batch
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if compute_bound(mid):
            hi = mid
        else:
            lo = mid
    return hi


def longest_compute_bound_context(
    cfg: ModelConfig, accelerator, bytes_per_value: float = 2, dtype: str = "bf16"
) -> float:
    """The longest context at which some decode batch is compute-bound at peak: FLOPs per token
    grow as f₀ + a·c and the KV bytes as c·k, so the intensity limit f₀/(c·k) + a/k reaches the
    ridge point I* up to c = f₀ / (I*·k − a) (infinite when a/k alone reaches I*)."""
    cfg = counting.check_decoder_only(cfg, "step times")
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    f0 = counting.flops_per_token(cfg, context=0)
    a = counting.flops_per_token(cfg, context=1) - f0  # attention FLOPs per key
    k = _kv_bytes_per_token(cfg, b)
    excess = ridge_point(accelerator, dtype) * k - a
    return float("inf") if excess <= 0 else f0 / excess
