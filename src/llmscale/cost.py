"""From FLOPs to GPU-hours, days, dollars and energy, through peak FLOP/s and MFU.

MFU (model FLOPs utilisation) is the fraction of the accelerators' dense peak that goes into
the model's own FLOPs (6·N·D plus attention, no recomputation): C = n_gpus · peak · MFU · t.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import counting, hardware, presets
from ._validate import positive_number
from .config import ModelConfig
from .units import SECONDS_PER_DAY


def _accelerator(acc) -> hardware.Accelerator:
    return hardware.get(acc) if isinstance(acc, str) else acc


def gpu_hours(flops: float, accelerator, mfu: float, dtype: str = "bf16") -> float:
    """Accelerator-hours to run `flops` FLOPs at utilisation `mfu` of the dense peak."""
    positive_number("flops", flops)
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu={mfu!r} must be in (0, 1], e.g. mfu=0.4 for 40%")
    return flops / (_accelerator(accelerator).flops(dtype) * mfu) / 3600.0


def implied_mfu(flops: float, accelerator, n_gpus: float, days: float, dtype: str = "bf16") -> float:
    """The MFU a run must have had to do `flops` FLOPs on `n_gpus` accelerators in `days` days."""
    positive_number("n_gpus", n_gpus)
    positive_number("days", days)
    return flops / (_accelerator(accelerator).flops(dtype) * n_gpus * days * SECONDS_PER_DAY)


@dataclass(frozen=True)
class CostEstimate:
    """What a training run costs. Hours are accelerator-hours; energy is at the wall (× PUE)."""

    flops: float
    accelerator: str
    n_gpus: int
    mfu: float
    gpu_hours: float
    days: float
    dollars: float
    energy_mwh: float

    def __str__(self) -> str:
        return (
            f"{self.flops:.3g} FLOPs on {self.n_gpus:,} × {self.accelerator} at {self.mfu:.0%} MFU: "
            f"{self.gpu_hours:,.0f} GPU-hours, {self.days:,.1f} days, ${self.dollars:,.0f}, "
            f"{self.energy_mwh:,.0f} MWh"
        )


def estimate(
    flops: float,
    accelerator="a100",
    n_gpus: int = 1,
    mfu: float = 0.4,
    price_per_gpu_hour: float = 0.0,
    dtype: str = "bf16",
    pue: float = 1.1,
    watts: float | None = None,
) -> CostEstimate:
    """Cost of `flops` training FLOPs: GPU-hours, wall-clock days, dollars, energy in MWh.

    `watts` per accelerator defaults to its TDP (an upper bound for the chip alone); `pue` is the
    data centre's power usage effectiveness (1.1 is a modern hyperscaler's).
    """
    acc = _accelerator(accelerator)
    positive_number("n_gpus", n_gpus)
    if price_per_gpu_hour < 0:
        raise ValueError(f"price_per_gpu_hour={price_per_gpu_hour!r} must be >= 0 (dollars per GPU-hour)")
    if pue < 1:
        raise ValueError(f"pue={pue!r} must be >= 1 (a data centre cannot use less than its IT load)")
    hours = gpu_hours(flops, acc, mfu, dtype)
    power = acc.tdp_watts if watts is None else watts
    positive_number("watts", power)
    return CostEstimate(
        flops=flops,
        accelerator=acc.name,
        n_gpus=n_gpus,
        mfu=mfu,
        gpu_hours=hours,
        days=hours / n_gpus / 24.0,
        dollars=hours * price_per_gpu_hour,
        energy_mwh=hours * power * pue / 1e6,
    )


# Throughput, utilisation, energy, and a whole-run calculator (page "What training costs").


def _mfu_in_range(mfu: float) -> None:
    if isinstance(mfu, bool) or not isinstance(mfu, (int, float)) or not 0 < mfu <= 1:
        raise ValueError(f"mfu={mfu!r} must be in (0, 1], e.g. mfu=0.4 for 40%")


def tokens_per_second(flops_per_token: float, accelerator, mfu: float, n_gpus: float = 1, dtype: str = "bf16") -> float:
    """Training tokens per second of `n_gpus` accelerators at utilisation `mfu`.

    `flops_per_token` is the training cost of one token (forward + backward), e.g. 6·N.
    """
    positive_number("flops_per_token", flops_per_token)
    positive_number("n_gpus", n_gpus)
    _mfu_in_range(mfu)
    return n_gpus * _accelerator(accelerator).flops(dtype) * mfu / flops_per_token


def mfu_from_throughput(
    tokens_per_s: float, flops_per_token: float, accelerator, n_gpus: float = 1, dtype: str = "bf16"
) -> float:
    """MFU of a run that trains on `tokens_per_s` tokens per second with `n_gpus` accelerators.

    PaLM's definition: model FLOPs per second achieved (throughput × training FLOPs per
    token, no recomputation) over the accelerators' dense peak.
    """
    positive_number("tokens_per_s", tokens_per_s)
    positive_number("flops_per_token", flops_per_token)
    positive_number("n_gpus", n_gpus)
    return tokens_per_s * flops_per_token / (n_gpus * _accelerator(accelerator).flops(dtype))


def mfu_from_gpu_hours(flops: float, accelerator, gpu_hours: float, dtype: str = "bf16") -> float:
    """The MFU a run must have had to do `flops` model FLOPs in `gpu_hours` accelerator-hours."""
    positive_number("flops", flops)
    positive_number("gpu_hours", gpu_hours)
    return flops / (_accelerator(accelerator).flops(dtype) * gpu_hours * 3600.0)


def gpus_needed(flops: float, accelerator, days: float, mfu: float, dtype: str = "bf16") -> float:
    """Accelerators needed to do `flops` FLOPs in `days` days at utilisation `mfu` (not rounded)."""
    positive_number("flops", flops)
    positive_number("days", days)
    _mfu_in_range(mfu)
    return flops / (_accelerator(accelerator).flops(dtype) * mfu * days * SECONDS_PER_DAY)


def energy_mwh(gpu_hours: float, watts: float, pue: float = 1.0) -> float:
    """Energy at the wall in MWh: `gpu_hours` accelerator-hours at `watts` each, times the PUE.

    `watts` is the power per accelerator that the estimate charges: the chip's TDP, or a
    measured system power per chip that includes its share of hosts and network (PaLM's 378.5 W).
    """
    positive_number("gpu_hours", gpu_hours)
    positive_number("watts", watts)
    if pue < 1:
        raise ValueError(f"pue={pue!r} must be >= 1 (a data centre cannot use less than its IT load)")
    return gpu_hours * watts * pue / 1e6


@dataclass(frozen=True)
class TrainingRun:
    """A whole training run: FLOPs per token and in all, throughput, time, money and energy.

    `params` is the count the FLOPs come from (active parameters for a mixture of experts);
    `flops_per_token` is the training cost of one token (forward + backward); `method` says
    whether it is the exact count of `llmscale.counting` (attention included) or 6·N.
    """

    model: str
    params: float
    tokens: float
    flops_per_token: float
    flops: float
    method: str
    accelerator: str
    n_gpus: float
    mfu: float
    tokens_per_s_per_gpu: float
    gpu_hours: float
    days: float
    dollars: float
    energy_mwh: float

    def __str__(self) -> str:
        return (
            f"{self.model}: {self.tokens:.3g} tokens × {self.flops_per_token:.3g} FLOP/token "
            f"({self.method}) = {self.flops:.3g} FLOPs; on {self.n_gpus:,.0f} × {self.accelerator} "
            f"at {self.mfu:.0%} MFU: {self.tokens_per_s_per_gpu:,.0f} tokens/s/GPU, "
            f"{self.gpu_hours:,.0f} GPU-hours, {self.days:,.1f} days, ${self.dollars:,.0f}, "
            f"{self.energy_mwh:,.0f} MWh"
        )


def training_run(
    model,
    tokens: float | None = None,
    accelerator="a100",
    n_gpus: float = 1,
    mfu: float = 0.4,
    price_per_gpu_hour: float = 0.0,
    dtype: str = "bf16",
    pue: float = 1.1,
    watts: float | None = None,
    context: float | None = None,
) -> TrainingRun:
    """What it costs to train `model` on `tokens` tokens with `n_gpus` accelerators at `mfu`.

    `model` is a `ModelConfig` (FLOPs counted exactly, attention at `context` keys per query,
    default its seq_len), the name of a preset (the same, and `tokens` defaults to the tokens
    the paper reports), or a parameter count N (FLOPs from the rule 6·N per token).
    Hours are accelerator-hours; dollars are hours × `price_per_gpu_hour`; energy is at the
    wall, `watts` per accelerator (default its TDP) times `pue`.
    """
    if isinstance(model, str):
        preset = presets.preset(model)
        if tokens is None:
            tokens = preset.train_tokens
        label, model = preset.title, preset.config
    else:
        label = None
    if isinstance(model, ModelConfig):
        per_token = counting.flops_per_token(model, context=context, training=True)
        params = counting.active_param_count(model)
        method = f"exact, attention over {model.seq_len if context is None else context:,.0f} keys"
        label = label or "model"
    elif isinstance(model, (int, float)) and not isinstance(model, bool):
        positive_number("model (a parameter count)", model)
        if context is not None:
            raise ValueError(
                "context applies to a ModelConfig; a bare parameter count uses 6·N "
                "per token. Pass a ModelConfig or drop context"
            )
        params, per_token, method, label = float(model), 6.0 * model, "6·N", f"N = {model:.3g}"
    else:
        raise ValueError(
            f"model={model!r} must be a ModelConfig, a preset name (e.g. 'llama-65b') or a parameter count (e.g. 65e9)"
        )
    if tokens is None:
        raise ValueError("tokens=None: give the number of training tokens, e.g. tokens=1.4e12")
    if isinstance(tokens, bool) or not isinstance(tokens, (int, float)) or not tokens > 0:
        raise ValueError(f"tokens={tokens!r} must be a number of training tokens > 0, e.g. 1.4e12")
    flops = tokens * per_token
    est = estimate(
        flops,
        accelerator,
        n_gpus=n_gpus,
        mfu=mfu,
        price_per_gpu_hour=price_per_gpu_hour,
        dtype=dtype,
        pue=pue,
        watts=watts,
    )
    return TrainingRun(
        model=label,
        params=params,
        tokens=float(tokens),
        flops_per_token=per_token,
        flops=flops,
        method=method,
        accelerator=est.accelerator,
        n_gpus=n_gpus,
        mfu=mfu,
        tokens_per_s_per_gpu=tokens / (est.gpu_hours * 3600.0),
        gpu_hours=est.gpu_hours,
        days=est.days,
        dollars=est.dollars,
        energy_mwh=est.energy_mwh,
    )
