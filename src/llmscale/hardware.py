"""Accelerators: dense peak FLOP/s per dtype, memory, bandwidth, interconnect, power.

Published inputs, each with its source. Peaks are *dense* Tensor Core / MXU figures: the
2:4-sparsity figures NVIDIA also prints are twice these and no training run reaches them.
Units, one convention throughout: memory capacities in bytes from the vendor's binary figure
(the "80 GB" of an A100's HBM is 80 GiB = 80·2^30 bytes), bandwidths in decimal bytes/s
(2,039 GB/s = 2.039e12), link bandwidths both directions together as NVIDIA prints them.
Nodes (`Node`, `get_node`): a server's GPUs with its InfiniBand NICs, giving the intra-node
(NVLink) and inter-node (InfiniBand) bandwidth one GPU sees, each per direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .units import GiB


@dataclass(frozen=True)
class Accelerator:
    """One accelerator chip.

    peak_flops: dense peak FLOP/s by dtype; "fp64" is the plain FP64 pipeline, "fp64-tc" the
        FP64 Tensor Cores (A100 onwards, matrix multiplies only), twice as fast where both exist.
    hbm_bytes: memory capacity in bytes, from the vendor's figure read in binary units (GiB).
    hbm_bw: memory bandwidth, decimal bytes/s.
    interconnect_bw: the chip's links to its peers (NVLink, ICI), decimal bytes/s, both
        directions together as the datasheets print it: the A100's 600 GB/s is 300 GB/s each way.
        `interconnect_bw_per_direction` is what one direction carries.
    tdp_watts: the board's maximum power, W.
    """

    name: str
    peak_flops: dict[str, float]
    hbm_bytes: float
    hbm_bw: float
    interconnect_bw: float
    tdp_watts: float
    source: str
    notes: str = ""
    aliases: tuple[str, ...] = field(default=())

    @property
    def interconnect_bw_per_direction(self) -> float:
        """Link bandwidth one way, decimal bytes/s: half of `interconnect_bw` (the A100: 300e9).
        What a chip can send while it receives as much, e.g. in an all-to-all or a ring all-reduce."""
        return self.interconnect_bw / 2

    def flops(self, dtype: str = "bf16") -> float:
        """Dense peak FLOP/s for `dtype` (e.g. "bf16", "fp16", "tf32", "fp32", "fp8", "int8",
        "fp64" plain, "fp64-tc" on FP64 Tensor Cores)."""
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
    hbm_bytes=32 * GiB,
    hbm_bw=900e9,
    interconnect_bw=300e9,
    tdp_watts=300,
    source="NVIDIA Tesla V100 datasheet (SXM2): 125 TFLOP/s fp16 Tensor Core, 15.7 TFLOP/s fp32, "
    "7.8 TFLOP/s fp64 (no FP64 Tensor Cores), 32 GB (GiB) HBM2 at 900 GB/s, NVLink 300 GB/s "
    "(six links, both directions together: 150 GB/s each way), 300 W",
    aliases=("v100",),
)
_A100_PEAKS = {
    "bf16": 312e12,
    "fp16": 312e12,
    "tf32": 156e12,
    "fp32": 19.5e12,
    "int8": 624e12,
    "fp64": 9.7e12,
    "fp64-tc": 19.5e12,
}
_A100_SRC = (
    "NVIDIA A100 datasheet (SXM4): dense Tensor Core peaks (312 TFLOP/s bf16/fp16, 156 tf32, "
    "624 int8, 19.5 FP64 Tensor Core), 19.5 TFLOP/s fp32 and 9.7 fp64 without Tensor Cores, "
    "NVLink 600 GB/s (twelve links, both directions together: 300 GB/s each way), 400 W"
)
A100_SXM_40GB = Accelerator(
    "A100-SXM4-40GB",
    dict(_A100_PEAKS),
    hbm_bytes=40 * GiB,
    hbm_bw=1.555e12,
    interconnect_bw=600e9,
    tdp_watts=400,
    source=_A100_SRC + "; 40 GB (GiB) HBM2 at 1,555 GB/s",
    aliases=("a100-40gb",),
)
A100_SXM_80GB = Accelerator(
    "A100-SXM4-80GB",
    dict(_A100_PEAKS),
    hbm_bytes=80 * GiB,
    hbm_bw=2.039e12,
    interconnect_bw=600e9,
    tdp_watts=400,
    source=_A100_SRC + "; 80 GB (GiB) HBM2e at 2,039 GB/s",
    aliases=("a100", "a100-80gb"),
)
_HOPPER_PEAKS = {
    "fp8": 1978.9e12,
    "bf16": 989.4e12,
    "fp16": 989.4e12,
    "tf32": 494.7e12,
    "fp32": 66.9e12,
    "int8": 1978.9e12,
    "fp64": 33.5e12,
    "fp64-tc": 66.9e12,
}
H100_SXM = Accelerator(
    "H100-SXM5-80GB",
    dict(_HOPPER_PEAKS),
    hbm_bytes=80 * GiB,
    hbm_bw=3.35e12,
    interconnect_bw=900e9,
    tdp_watts=700,
    source="NVIDIA H100 Tensor Core GPU Architecture whitepaper, H100 SXM5 column: dense peaks "
    "(989.4 TFLOP/s bf16, 1,978.9 fp8), 66.9 TFLOP/s fp32 and 33.5 fp64 without Tensor Cores, "
    "66.9 FP64 Tensor Core (the datasheet rounds these to 67, 34 and 67 and prints the Tensor Core "
    "peaks with sparsity, twice these); datasheet: 80 GB (GiB) HBM3 at 3.35 TB/s, NVLink 900 GB/s "
    "(eighteen links, both directions together: 450 GB/s each way), 700 W",
    aliases=("h100",),
)
H200_SXM = Accelerator(
    "H200-SXM-141GB",
    dict(_HOPPER_PEAKS),
    hbm_bytes=141 * GiB,
    hbm_bw=4.8e12,
    interconnect_bw=900e9,
    tdp_watts=700,
    source="NVIDIA H200 datasheet (SXM): the H100's compute peaks, 141 GB HBM3e at 4.8 TB/s, "
    "NVLink 900 GB/s (both directions together: 450 GB/s each way), up to 700 W",
    notes="NVIDIA's 141 GB read in GiB, as its other HBM figures: nvidia-smi shows an H200 "
    "143,771 MiB (140.4 GiB after the driver's reserve), more than 141e9 bytes (131.3 GiB) could hold.",
    aliases=("h200",),
)
TPU_V4 = Accelerator(
    "TPU-v4",
    {"bf16": 275e12, "int8": 275e12},
    hbm_bytes=32 * GiB,
    hbm_bw=1.2e12,
    interconnect_bw=6 * 50e9,
    tdp_watts=192,
    source="Jouppi et al. 2023, TPU v4 (ISCA), Table 1: 275 TFLOP/s bf16, 32 GiB HBM2 at "
    "1,200 GB/s, six ICI links at 50 GB/s; mean power 170 W, 192 W max measured",
    notes="The paper does not say whether an ICI link's 50 GB/s is each way or both together; "
    "counted here as both together, like NVLink's.",
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


@dataclass(frozen=True)
class Node:
    """A server of `gpus_per_node` accelerators on NVLink/NVSwitch, with InfiniBand NICs to other nodes.

    nics: the adapters of the compute fabric (storage and management NICs not counted), each
        `nic_bits_per_s` one way (InfiniBand's 200 Gb/s HDR is 200e9 bit/s each way, full duplex).
    The two bandwidths a GPU sees, both decimal bytes/s per GPU per direction:
    `intra_node_bw_per_direction` (NVLink, from the accelerator) and `inter_node_bw_per_direction`
    (its share of the node's NICs).
    """

    name: str
    accelerator: Accelerator
    gpus_per_node: int
    nics: int
    nic_bits_per_s: float
    source: str
    aliases: tuple[str, ...] = field(default=())

    @property
    def intra_node_bw_per_direction(self) -> float:
        """NVLink bytes/s one GPU sends to its node's peers while it receives as much (the A100: 300e9)."""
        return self.accelerator.interconnect_bw_per_direction

    @property
    def inter_node_bw_per_direction(self) -> float:
        """InfiniBand bytes/s one GPU sends to other nodes while it receives as much: the node's NICs
        shared by its GPUs (the DGX A100: 8 × 200 Gb/s over 8 GPUs = 25e9)."""
        return self.nics * self.nic_bits_per_s / 8 / self.gpus_per_node


DGX_A100 = Node(
    "DGX-A100",
    A100_SXM_80GB,
    gpus_per_node=8,
    nics=8,
    nic_bits_per_s=200e9,
    source="NVIDIA DGX A100 datasheet: eight A100 SXM4 GPUs on NVSwitch (NVLink 600 GB/s per GPU, "
    "300 GB/s each way); compute fabric of 8× single-port Mellanox ConnectX-6 VPI 200 Gb/s HDR "
    "InfiniBand, one per GPU (25 GB/s each way per GPU); the two dual-port storage NICs not counted",
    aliases=("dgx-a100", "a100-node"),
)
DGX_H100 = Node(
    "DGX-H100",
    H100_SXM,
    gpus_per_node=8,
    nics=8,
    nic_bits_per_s=400e9,
    source="NVIDIA DGX H100 datasheet: eight H100 SXM5 GPUs on NVSwitch (NVLink 900 GB/s per GPU, "
    "450 GB/s each way); 4× OSFP ports serving 8× single-port ConnectX-7 VPI at 400 Gb/s "
    "InfiniBand (NDR), one per GPU (50 GB/s each way per GPU); the BlueField-3 DPUs not counted",
    aliases=("dgx-h100", "h100-node"),
)

NODES: dict[str, Node] = {n.name: n for n in (DGX_A100, DGX_H100)}


def get_node(name: str) -> Node:
    """A node by name or alias, case-insensitive (e.g. "dgx-a100")."""
    key = name.lower()
    for node in NODES.values():
        if key == node.name.lower() or key in node.aliases:
            return node
    raise ValueError(
        f"unknown node {name!r}; choose one of {sorted(NODES) + sorted(a for x in NODES.values() for a in x.aliases)}"
    )
