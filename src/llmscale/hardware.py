"""Accelerators: dense peak FLOP/s per dtype, memory, bandwidth, interconnect, power.

Published inputs, each with its source. Peaks are *dense* Tensor Core / MXU figures: the
2:4-sparsity figures NVIDIA also prints are twice these and no training run reaches them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Accelerator:
    """One accelerator chip. FLOP/s are dense peaks; bytes and bytes/s are decimal (1e9)."""

    name: str
    peak_flops: dict[str, float]
    hbm_bytes: float
    hbm_bw: float
    interconnect_bw: float
    tdp_watts: float
    source: str
    notes: str = ""
    aliases: tuple[str, ...] = field(default=())

    def flops(self, dtype: str = "bf16") -> float:
        """Dense peak FLOP/s for `dtype` (e.g. "bf16", "fp16", "tf32", "fp32", "fp8", "int8")."""
        try:
            return self.peak_flops[dtype]
        except KeyError:
            raise ValueError(
                f"{self.name} has no published peak for dtype={dtype!r}; choose one of {sorted(self.peak_flops)}"
            ) from None

    def ridge_flops_per_byte(self, dtype: str = "bf16") -> float:
        """The roofline's ridge point: dense peak FLOP/s for `dtype` over HBM bytes/s. A kernel doing
        fewer FLOPs per byte it reads from memory is bandwidth-bound on this chip."""
        return self.flops(dtype) / self.hbm_bw


V100_SXM2 = Accelerator(
    "V100-SXM2-32GB",
    {"fp16": 125e12, "fp32": 15.7e12, "fp64": 7.8e12},
    hbm_bytes=32e9,
    hbm_bw=900e9,
    interconnect_bw=300e9,
    tdp_watts=300,
    source="NVIDIA Tesla V100 datasheet (SXM2): 125 TFLOP/s fp16 Tensor Core, 900 GB/s HBM2, 300 GB/s NVLink, 300 W",
    aliases=("v100",),
)
A100_SXM_40GB = Accelerator(
    "A100-SXM4-40GB",
    {"bf16": 312e12, "fp16": 312e12, "tf32": 156e12, "fp32": 19.5e12, "int8": 624e12, "fp64": 19.5e12},
    hbm_bytes=40e9,
    hbm_bw=1.555e12,
    interconnect_bw=600e9,
    tdp_watts=400,
    source="NVIDIA A100 datasheet: dense Tensor Core peaks, 1,555 GB/s HBM2, 600 GB/s NVLink, 400 W",
    aliases=("a100-40gb",),
)
A100_SXM_80GB = Accelerator(
    "A100-SXM4-80GB",
    {"bf16": 312e12, "fp16": 312e12, "tf32": 156e12, "fp32": 19.5e12, "int8": 624e12, "fp64": 19.5e12},
    hbm_bytes=80e9,
    hbm_bw=2.039e12,
    interconnect_bw=600e9,
    tdp_watts=400,
    source="NVIDIA A100 datasheet: dense Tensor Core peaks, 2,039 GB/s HBM2e, 600 GB/s NVLink, 400 W",
    aliases=("a100", "a100-80gb"),
)
H100_SXM = Accelerator(
    "H100-SXM5-80GB",
    {
        "fp8": 1978.9e12,
        "bf16": 989.4e12,
        "fp16": 989.4e12,
        "tf32": 494.7e12,
        "fp32": 66.9e12,
        "int8": 1978.9e12,
        "fp64": 66.9e12,
    },
    hbm_bytes=80e9,
    hbm_bw=3.35e12,
    interconnect_bw=900e9,
    tdp_watts=700,
    source="NVIDIA H100 datasheet (SXM), dense peaks (half the printed with-sparsity figures), "
    "3.35 TB/s HBM3, 900 GB/s NVLink, 700 W",
    aliases=("h100",),
)
H200_SXM = Accelerator(
    "H200-SXM-141GB",
    {
        "fp8": 1978.9e12,
        "bf16": 989.4e12,
        "fp16": 989.4e12,
        "tf32": 494.7e12,
        "fp32": 66.9e12,
        "int8": 1978.9e12,
        "fp64": 66.9e12,
    },
    hbm_bytes=141e9,
    hbm_bw=4.8e12,
    interconnect_bw=900e9,
    tdp_watts=700,
    source="NVIDIA H200 datasheet (SXM), dense peaks, 141 GB HBM3e at 4.8 TB/s, 700 W",
    aliases=("h200",),
)
TPU_V4 = Accelerator(
    "TPU-v4",
    {"bf16": 275e12, "int8": 275e12},
    hbm_bytes=32e9,
    hbm_bw=1.2e12,
    interconnect_bw=6 * 50e9,
    tdp_watts=192,
    source="Jouppi et al. 2023, TPU v4 (ISCA), Table 1: 275 TFLOP/s bf16, 32 GiB HBM2 at "
    "1,200 GB/s, six ICI links at 50 GB/s; mean power 170 W, 192 W max measured",
    aliases=("tpuv4",),
)

ACCELERATORS: dict[str, Accelerator] = {
    a.name: a for a in (V100_SXM2, A100_SXM_40GB, A100_SXM_80GB, H100_SXM, H200_SXM, TPU_V4)
}


def get(name: str) -> Accelerator:
    """An accelerator by name or alias, case-insensitive (e.g. "a100", "H100-SXM5-80GB")."""
    key = name.lower()
    for acc in ACCELERATORS.values():
        if key == acc.name.lower() or key in acc.aliases:
            return acc
    raise ValueError(
        f"unknown accelerator {name!r}; choose one of "
        f"{sorted(ACCELERATORS) + sorted(a for x in ACCELERATORS.values() for a in x.aliases)}"
    )
