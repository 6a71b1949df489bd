"""Hardware and energy facts from datasheets and statistics, not from a model's paper.

NVIDIA's datasheets (a GPU: the V100's smaller memory; a system: the DGX A100's InfiniBand)
and a yardstick for energy (the U.S. EIA's yearly electricity of a home). The chips the book
computes with are in `llmscale.hardware`; these are the facts about hardware it only quotes.
"""

from __future__ import annotations

from ..units import GiB
from . import Figure

FIGURES: dict[str, Figure] = {
    # GPUs.
    "v100.hbm_bytes_16gb": Figure(
        16 * GiB,
        "byte",
        "NVIDIA Tesla V100 datasheet: the V100 was sold with 16 GB or 32 GB of HBM2, binary "
        "gigabytes as in llmscale.hardware (16 GiB; the 32 GB part is hardware.V100_SXM2)",
    ),
    # Systems.
    "dgx-a100.infiniband_bw_per_gpu": Figure(
        25e9,
        "byte/s",
        "NVIDIA DGX A100 datasheet: eight single-port ConnectX-6 200 Gb/s HDR "
        "InfiniBand adapters, one per GPU (200 Gb/s = 25 GB/s each way)",
    ),
    # A yardstick for energy.
    "us.household_kwh_per_year": Figure(
        10_715,
        "kWh/year",
        "U.S. Energy Information Administration, FAQ 'How much electricity does an "
        "American home use?': 10,715 kWh per residential customer in 2020",
    ),
}
