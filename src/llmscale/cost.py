"""From FLOPs to GPU-hours, days, dollars and energy, through peak FLOP/s and MFU.

MFU (model FLOPs utilisation) is the fraction of the accelerators' dense peak that goes into
the model's own FLOPs (6·N·D plus attention, no recomputation): C = n_gpus · peak · MFU · t.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import hardware
from .units import SECONDS_PER_DAY


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name}={value!r} must be > 0")


def _accelerator(acc) -> hardware.Accelerator:
    return hardware.get(acc) if isinstance(acc, str) else acc


def gpu_hours(flops: float, accelerator, mfu: float, dtype: str = "bf16") -> float:
    """Accelerator-hours to run `flops` FLOPs at utilisation `mfu` of the dense peak."""
    _positive("flops", flops)
    if not 0 < mfu <= 1:
        raise ValueError(f"mfu={mfu!r} must be in (0, 1], e.g. mfu=0.4 for 40%")
    return flops / (_accelerator(accelerator).flops(dtype) * mfu) / 3600.0


def implied_mfu(flops: float, accelerator, n_gpus: float, days: float, dtype: str = "bf16") -> float:
    """The MFU a run must have had to do `flops` FLOPs on `n_gpus` accelerators in `days` days."""
    _positive("n_gpus", n_gpus)
    _positive("days", days)
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
        return (f"{self.flops:.3g} FLOPs on {self.n_gpus:,} × {self.accelerator} at {self.mfu:.0%} MFU: "
                f"{self.gpu_hours:,.0f} GPU-hours, {self.days:,.1f} days, ${self.dollars:,.0f}, "
                f"{self.energy_mwh:,.0f} MWh")


def estimate(flops: float, accelerator="a100", n_gpus: int = 1, mfu: float = 0.4,
             price_per_gpu_hour: float = 0.0, dtype: str = "bf16", pue: float = 1.1,
             watts: float | None = None) -> CostEstimate:
    """Cost of `flops` training FLOPs: GPU-hours, wall-clock days, dollars, energy in MWh.

    `watts` per accelerator defaults to its TDP (an upper bound for the chip alone); `pue` is the
    data centre's power usage effectiveness (1.1 is a modern hyperscaler's).
    """
    acc = _accelerator(accelerator)
    _positive("n_gpus", n_gpus)
    if price_per_gpu_hour < 0:
        raise ValueError(f"price_per_gpu_hour={price_per_gpu_hour!r} must be >= 0 (dollars per GPU-hour)")
    if pue < 1:
        raise ValueError(f"pue={pue!r} must be >= 1 (a data centre cannot use less than its IT load)")
    hours = gpu_hours(flops, acc, mfu, dtype)
    power = acc.tdp_watts if watts is None else watts
    _positive("watts", power)
    return CostEstimate(flops=flops, accelerator=acc.name, n_gpus=n_gpus, mfu=mfu, gpu_hours=hours,
                        days=hours / n_gpus / 24.0, dollars=hours * price_per_gpu_hour,
                        energy_mwh=hours * power * pue / 1e6)
