"""Exercises of the page What training costs."""

from .. import cost, counting, hardware, presets, published
from ..units import SECONDS_PER_DAY
from . import register

register("training-cost-1",
         lambda: cost.mfu_from_gpu_hours(
             counting.approx_training_flops(counting.param_count(presets.get("llama-13b")), 1e12), "a100",
             published.get("llama-13b.gpu_hours").value),
         rel_tol=0.02, unit="fraction",
         hint="MFU = 6·N·D / (GPU-hours × 3600 s × 312e12 FLOP/s), with N = 13.0e9 and D = 1e12.")
register("training-cost-2",
         lambda: published.get("chinchilla-70b.train_flops").value
         / (4096 * hardware.get("h100").flops("bf16") * 0.4) / SECONDS_PER_DAY,
         rel_tol=0.02, unit="days",
         hint="t = C / (n · peak · MFU): 5.76e23 / (4096 × 989.4e12 × 0.4) seconds, then divide by 86,400.")
register("training-cost-3",
         lambda: cost.energy_mwh(10_000 * 14.8 * 24, hardware.get("v100").tdp_watts, pue=1.1),
         rel_tol=0.02, unit="MWh",
         hint="GPU-hours = 10,000 × 14.8 × 24; energy = GPU-hours × 300 W × 1.1, in MWh (1e6 Wh).")
