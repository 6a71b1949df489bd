"""What serving costs: dollars per 1,000 tokens for a layout of GPUs, and the inverse.

A layout of n GPUs rented at p dollars per GPU-hour that produces T tokens/s costs
n·p/(3600·T) dollars per token, 1,000 times that per 1,000 tokens (`dollars_per_1k_tokens`);
read backwards, a claimed price or a daily bill implies a throughput, a GPU count or a
utilisation (`tokens_per_s_for_price`, `gpus_for_price`, `gpus_for_daily_bill`, ...).

`layout_cost` prices a tensor × pipeline layout from the roofline (`inference.roofline`):
with ideal tensor and pipeline parallelism (no communication time, layers split evenly) the
n GPUs act as one accelerator with n times the FLOP/s, bandwidth and memory (`cluster`); one
micro-batch of B sequences passes one pipeline stage in the roofline's step time t of that
ideal cluster, and with m ≤ P_p micro-batches in flight the layout emits m·B tokens every
P_p·t seconds. The tokens priced are *generated* (decode) tokens unless a function says
prefill. Bytes are decimal counts, memory capacities as `hardware` gives them (GiB).
Arithmetic, no torch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .. import counting, hardware
from .._validate import fraction, optional_positive_int, positive_int, positive_number
from ..config import ModelConfig
from . import kv_cache, roofline

SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24.0
TOKENS_PER_PRICE_UNIT = 1000.0  # prices are per 1,000 tokens


# --- the price of a token, and its inverses -----------------------------------------------------


def dollars_per_1k_tokens(n_gpus: float, dollars_per_gpu_hour: float, tokens_per_s: float) -> float:
    """Dollars per 1,000 tokens of `n_gpus` GPUs at `dollars_per_gpu_hour` each that together
    produce `tokens_per_s`: 1000·n·p / (3600·T)."""
    n = positive_number("n_gpus", n_gpus, "128")
    p = positive_number("dollars_per_gpu_hour", dollars_per_gpu_hour, "1.0")
    t = positive_number("tokens_per_s", tokens_per_s, "7000")
    return TOKENS_PER_PRICE_UNIT * n * p / (SECONDS_PER_HOUR * t)


def tokens_per_s_for_price(dollars_per_1k: float, n_gpus: float, dollars_per_gpu_hour: float) -> float:
    """Tokens/s that `n_gpus` at `dollars_per_gpu_hour` must produce to cost `dollars_per_1k`
    per 1,000 tokens (the inverse of `dollars_per_1k_tokens`)."""
    price = positive_number("dollars_per_1k", dollars_per_1k, "0.0049")
    n = positive_number("n_gpus", n_gpus, "128")
    p = positive_number("dollars_per_gpu_hour", dollars_per_gpu_hour, "1.0")
    return TOKENS_PER_PRICE_UNIT * n * p / (SECONDS_PER_HOUR * price)


def gpus_for_price(dollars_per_1k: float, tokens_per_s: float, dollars_per_gpu_hour: float) -> float:
    """GPUs at `dollars_per_gpu_hour` whose cost per 1,000 of `tokens_per_s` tokens is `dollars_per_1k`."""
    price = positive_number("dollars_per_1k", dollars_per_1k, "0.0049")
    t = positive_number("tokens_per_s", tokens_per_s, "7000")
    p = positive_number("dollars_per_gpu_hour", dollars_per_gpu_hour, "1.0")
    return price * SECONDS_PER_HOUR * t / (TOKENS_PER_PRICE_UNIT * p)


def gpu_hour_price_for(dollars_per_1k: float, n_gpus: float, tokens_per_s: float) -> float:
    """Dollars per GPU-hour at which `n_gpus` producing `tokens_per_s` cost `dollars_per_1k`."""
    price = positive_number("dollars_per_1k", dollars_per_1k, "0.0049")
    n = positive_number("n_gpus", n_gpus, "128")
    t = positive_number("tokens_per_s", tokens_per_s, "7000")
    return price * SECONDS_PER_HOUR * t / (TOKENS_PER_PRICE_UNIT * n)


def daily_bill(n_gpus: float, dollars_per_gpu_hour: float) -> float:
    """Dollars a day for `n_gpus` rented around the clock at `dollars_per_gpu_hour`."""
    n = positive_number("n_gpus", n_gpus, "29000")
    p = positive_number("dollars_per_gpu_hour", dollars_per_gpu_hour, "1.0")
    return n * p * HOURS_PER_DAY


def gpus_for_daily_bill(dollars_per_day: float, dollars_per_gpu_hour: float) -> float:
    """GPUs rented around the clock that a daily bill pays for: bill / (24·p)."""
    bill = positive_number("dollars_per_day", dollars_per_day, "700000")
    p = positive_number("dollars_per_gpu_hour", dollars_per_gpu_hour, "1.0")
    return bill / (HOURS_PER_DAY * p)


def tokens_per_day_for_bill(dollars_per_day: float, dollars_per_1k: float) -> float:
    """Tokens a day that a daily bill buys at `dollars_per_1k` per 1,000 tokens."""
    bill = positive_number("dollars_per_day", dollars_per_day, "700000")
    price = positive_number("dollars_per_1k", dollars_per_1k, "0.002")
    return bill / price * TOKENS_PER_PRICE_UNIT


def compute_utilisation(
    tokens_per_s: float, flops_per_token: float, n_gpus: float, accelerator, dtype: str = "bf16"
) -> float:
    """Model FLOPs utilisation (MFU) of `n_gpus` producing `tokens_per_s` at `flops_per_token`:
    the achieved FLOP/s over the GPUs' dense peak for `dtype` (a fraction; above 1 is impossible)."""
    t = positive_number("tokens_per_s", tokens_per_s, "7000")
    f = positive_number("flops_per_token", flops_per_token, "5.6e11")
    n = positive_number("n_gpus", n_gpus, "128")
    return t * f / (n * _accelerator(accelerator).flops(dtype))


# --- a layout priced from the roofline ----------------------------------------------------------


def _accelerator(accelerator) -> hardware.Accelerator:
    if isinstance(accelerator, str):
        return hardware.get(accelerator)
    if not isinstance(accelerator, hardware.Accelerator):
        raise ValueError(
            f"accelerator={accelerator!r} must be a hardware.Accelerator or a name such as 'a100' or 'h100'"
        )
    return accelerator


def cluster(accelerator, n_gpus: int) -> hardware.Accelerator:
    """`n_gpus` accelerators as one: n times the peak FLOP/s of every dtype, the memory
    bandwidth and the memory. The ideal of perfect tensor and pipeline parallelism (work split
    evenly, no communication time), so a step time computed on it is a lower bound."""
    acc = _accelerator(accelerator)
    n = positive_int("n_gpus", n_gpus, "128")
    return dataclasses.replace(
        acc,
        name=f"{n}×{acc.name}",
        peak_flops={k: v * n for k, v in acc.peak_flops.items()},
        hbm_bytes=acc.hbm_bytes * n,
        hbm_bw=acc.hbm_bw * n,
        aliases=(),
    )


@dataclass(frozen=True)
class LayoutCost:
    """A serving layout's decode throughput and price.

    batch: sequences per micro-batch (one new token each per step); microbatches: micro-batches
    in flight (at most `pipeline` keep every stage busy); concurrent: batch·microbatches
    sequences held. step: the roofline's `StepTime` of one micro-batch on the ideal cluster
    (= one pipeline stage's time for it). tokens_per_s: m·B/(P_p·t); seconds_per_token: what
    one sequence waits between its tokens (P_p·t). weights_bytes, kv_bytes: memory of the
    weights and of the cache of every concurrent sequence at `context` tokens; hbm_bytes: the
    layout's memory; fits: weights and cache fit in it. efficiency: the fraction of both roofs
    the step was computed at.
    """

    n_gpus: int
    tensor: int
    pipeline: int
    batch: int
    microbatches: int
    context: int
    step: object
    tokens_per_s: float
    seconds_per_token: float
    dollars_per_gpu_hour: float
    dollars_per_1k: float
    efficiency: float
    weights_bytes: float
    kv_bytes: float
    hbm_bytes: float

    @property
    def concurrent(self) -> int:
        return self.batch * self.microbatches

    @property
    def fits(self) -> bool:
        return self.weights_bytes + self.kv_bytes <= self.hbm_bytes

    @property
    def bound(self) -> str:
        return self.step.bound


def _layout(tensor, pipeline, microbatches) -> tuple[int, int, int]:
    tp = positive_int("tensor", tensor, "8")
    pp = positive_int("pipeline", pipeline, "16")
    m = optional_positive_int("microbatches", microbatches, "16", none_means="pipeline")
    m = pp if m is None else m
    if m > pp:
        raise ValueError(
            f"microbatches={m} exceeds pipeline={pp}: more micro-batches than stages wait in a queue; use at most {pp}"
        )
    return tp, pp, m


def layout_cost(
    cfg: ModelConfig,
    accelerator,
    tensor: int,
    pipeline: int,
    batch: int,
    context: int,
    dollars_per_gpu_hour: float,
    *,
    microbatches: int | None = None,
    bytes_per_value: float = 2,
    dtype: str = "bf16",
    efficiency: float = 1.0,
) -> LayoutCost:
    """Decode price of `cfg` on `tensor` × `pipeline` GPUs of `accelerator` at
    `dollars_per_gpu_hour`, micro-batches of `batch` sequences at `context` tokens each,
    `microbatches` of them in flight (None: one per stage), weights and cache at
    `bytes_per_value`, compute at `dtype`'s peak, both roofs at `efficiency` (see the module
    docstring; the roofline's `decode_step_time` does the step)."""
    tp, pp, m = _layout(tensor, pipeline, microbatches)
    b = positive_int("batch", batch, "256")
    s = positive_int("context", context, "8192")
    price = positive_number("dollars_per_gpu_hour", dollars_per_gpu_hour, "1.0")
    acc = _accelerator(accelerator)
    n = tp * pp
    step = roofline.decode_step_time(
        cfg, cluster(acc, n), b, s, bytes_per_value=bytes_per_value, dtype=dtype, efficiency=efficiency
    )
    tokens_per_s = m * b / (pp * step.seconds)
    return LayoutCost(
        n_gpus=n,
        tensor=tp,
        pipeline=pp,
        batch=b,
        microbatches=m,
        context=s,
        step=step,
        tokens_per_s=tokens_per_s,
        seconds_per_token=pp * step.seconds,
        dollars_per_gpu_hour=price,
        dollars_per_1k=dollars_per_1k_tokens(n, price, tokens_per_s),
        efficiency=efficiency,
        weights_bytes=float(counting.param_count(cfg)) * bytes_per_value,
        kv_bytes=kv_cache.kv_cache_bytes(cfg, s, b * m, bytes_per_value),
        hbm_bytes=acc.hbm_bytes * n,
    )


def prefill_dollars_per_1k(
    cfg: ModelConfig,
    accelerator,
    n_gpus: int,
    batch: int,
    prompt_len: int,
    dollars_per_gpu_hour: float,
    *,
    bytes_per_value: float = 2,
    dtype: str = "bf16",
    efficiency: float = 1.0,
) -> float:
    """Dollars per 1,000 *prompt* tokens: `batch` prompts of `prompt_len` tokens processed in one
    prefill step (the roofline's `prefill_step_time`) on the ideal cluster of `n_gpus`."""
    n = positive_int("n_gpus", n_gpus, "128")
    b = positive_int("batch", batch, "16")
    s = positive_int("prompt_len", prompt_len, "1024")
    step = roofline.prefill_step_time(
        cfg, cluster(accelerator, n), b, s, bytes_per_value=bytes_per_value, dtype=dtype, efficiency=efficiency
    )
    return dollars_per_1k_tokens(n, dollars_per_gpu_hour, b * s / step.seconds)


def max_concurrent_sequences(
    cfg: ModelConfig, accelerator, n_gpus: int, context: int, bytes_per_value: float = 2, usable: float = 1.0
) -> int:
    """Most sequences of `context` tokens whose KV cache fits beside the weights in `n_gpus`
    GPUs, each of whose memory a fraction `usable` is free for the model (0 if the weights
    alone do not fit)."""
    acc = _accelerator(accelerator)
    n = positive_int("n_gpus", n_gpus, "128")
    s = positive_int("context", context, "8192")
    u = fraction("usable", usable, "0.9")
    free = acc.hbm_bytes * n * u - float(counting.param_count(cfg)) * bytes_per_value
    per_sequence = kv_cache.kv_cache_bytes(cfg, s, 1, bytes_per_value)
    return max(0, math.floor(free / per_sequence))


def min_gpus_to_hold(
    cfg: ModelConfig, accelerator, context: int, batch: int = 1, bytes_per_value: float = 2, usable: float = 1.0
) -> int:
    """Fewest GPUs whose memory (a fraction `usable` of each) holds the weights and the KV
    cache of `batch` sequences of `context` tokens, if they could be split freely."""
    acc = _accelerator(accelerator)
    u = fraction("usable", usable, "0.9")
    memory = kv_cache.serving_bytes(cfg, context, batch, bytes_per_value)
    return memory.devices_needed(acc.hbm_bytes * u)


def batch_for_price(
    dollars_per_1k: float,
    cfg: ModelConfig,
    accelerator,
    tensor: int,
    pipeline: int,
    context: int,
    dollars_per_gpu_hour: float,
    *,
    microbatches: int | None = None,
    bytes_per_value: float = 2,
    dtype: str = "bf16",
    efficiency: float = 1.0,
    max_batch: int = 2**22,
) -> int | None:
    """Smallest micro-batch at which `layout_cost` costs at most `dollars_per_1k`, or None if
    no batch up to `max_batch` does (the price falls with the batch until the compute roof)."""
    target = positive_number("dollars_per_1k", dollars_per_1k, "0.0049")
    hi = positive_int("max_batch", max_batch, "2**22")

    def price(b: int) -> float:
        return layout_cost(
            cfg,
            accelerator,
            tensor,
            pipeline,
            b,
            context,
            dollars_per_gpu_hour,
            microbatches=microbatches,
            bytes_per_value=bytes_per_value,
            dtype=dtype,
            efficiency=efficiency,
        ).dollars_per_1k

    if price(hi) > target:
        return None
    if price(1) <= target:
        return 1
    lo = 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if price(mid) <= target:
            hi = mid
        else:
            lo = mid
    return hi


def efficiency_for_price(dollars_per_1k: float, priced: LayoutCost) -> float:
    """Efficiency (fraction of both roofs) at which the layout `priced` would cost
    `dollars_per_1k`: the roofline's time scales as 1/efficiency, so the price does too.
    Above 1: the price is below what the roofline allows."""
    target = positive_number("dollars_per_1k", dollars_per_1k, "0.0049")
    if not isinstance(priced, LayoutCost):
        raise ValueError(f"priced={priced!r} must be a LayoutCost (from layout_cost)")
    return priced.efficiency * priced.dollars_per_1k / target
