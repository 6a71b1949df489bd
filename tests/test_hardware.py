"""hardware: the accelerators' published figures and the ridge point derived from them."""

import pytest

from llmscale import hardware


def test_a100_ridge_point_is_its_datasheet_peak_over_its_bandwidth():
    a100 = hardware.get("a100")
    assert a100 is hardware.A100_SXM_80GB
    # NVIDIA A100 datasheet: 312 TFLOP/s dense bf16, 2,039 GB/s HBM2e (80 GB SXM4)
    assert a100.flops("bf16") == 312e12 and a100.hbm_bw == 2.039e12
    assert a100.ridge_flops_per_byte("bf16") == pytest.approx(312e12 / 2.039e12, rel=1e-15)
    assert round(a100.ridge_flops_per_byte()) == 153  # bf16 is the default
    # The 40 GB card has the same peak on slower memory (1,555 GB/s): a higher ridge.
    assert round(hardware.A100_SXM_40GB.ridge_flops_per_byte("bf16")) == 201


def test_ridge_point_is_peak_over_bandwidth_for_every_chip_and_dtype():
    for acc in hardware.ACCELERATORS.values():
        for dtype, peak in acc.peak_flops.items():
            assert acc.ridge_flops_per_byte(dtype) == peak / acc.hbm_bw


def test_ridge_point_falls_with_a_lower_precision_peak_and_rises_with_newer_chips():
    a100, h100 = hardware.A100_SXM_80GB, hardware.H100_SXM
    assert a100.ridge_flops_per_byte("fp32") < a100.ridge_flops_per_byte("tf32") < a100.ridge_flops_per_byte("bf16")
    assert h100.ridge_flops_per_byte("bf16") > a100.ridge_flops_per_byte("bf16")
    assert round(h100.ridge_flops_per_byte("bf16")) == 295  # 989.4 TFLOP/s over 3.35 TB/s


def test_ridge_point_of_an_unpublished_dtype_raises_naming_the_dtype():
    with pytest.raises(ValueError, match="dtype='bf16'"):
        hardware.V100_SXM2.ridge_flops_per_byte("bf16")  # the V100 has no bf16 Tensor Cores
    assert hardware.V100_SXM2.ridge_flops_per_byte("fp16") == 125e12 / 900e9
