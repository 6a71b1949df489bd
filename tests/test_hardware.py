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


# --- units: capacities in binary gigabytes, bandwidths decimal, links both directions ---------


@pytest.mark.parametrize(
    "acc,gib",
    [
        (hardware.V100_SXM2, 32),
        (hardware.A100_SXM_40GB, 40),
        (hardware.A100_SXM_80GB, 80),
        (hardware.H100_SXM, 80),
        (hardware.H200_SXM, 141),
        (hardware.TPU_V4, 32),
    ],
)
def test_memory_capacity_is_the_vendors_figure_in_gib(acc, gib):
    # The "80 GB" of an A100's HBM2e is five 16 GiB stacks: 80·2^30 bytes, not 80e9.
    assert acc.hbm_bytes == gib * 2**30
    assert acc.hbm_bytes > gib * 1e9


def test_an_a100_80gb_holds_80_gib_and_an_h100_the_same():
    assert hardware.get("a100").hbm_bytes == 80 * 2**30 == 85_899_345_920
    assert hardware.get("h100").hbm_bytes == hardware.get("a100").hbm_bytes
    assert hardware.get("a100").hbm_bytes / 2**30 == 80.0  # what a page prints as GiB


def test_bandwidths_are_decimal_bytes_per_second():
    assert hardware.get("a100").hbm_bw == 2_039e9
    assert hardware.get("h100").hbm_bw == 3.35e12
    assert hardware.get("a100").interconnect_bw == 600e9


@pytest.mark.parametrize(
    "name,total,each_way",
    [("v100", 300e9, 150e9), ("a100", 600e9, 300e9), ("a100-40gb", 600e9, 300e9), ("h100", 900e9, 450e9)],
)
def test_nvlink_total_is_both_directions_and_one_direction_is_half(name, total, each_way):
    acc = hardware.get(name)
    assert acc.interconnect_bw == total
    assert acc.interconnect_bw_per_direction == each_way == acc.interconnect_bw / 2


def test_plain_fp64_and_fp64_tensor_cores_are_different_peaks():
    a100, h100, v100 = hardware.get("a100"), hardware.get("h100"), hardware.get("v100")
    assert a100.flops("fp64") == 9.7e12 < a100.flops("fp64-tc") == 19.5e12
    assert h100.flops("fp64") == 33.5e12 < h100.flops("fp64-tc") == 66.9e12
    # On both, the FP64 Tensor Cores double the plain pipeline (within the datasheets' rounding).
    for acc in (a100, h100):
        assert acc.flops("fp64-tc") / acc.flops("fp64") == pytest.approx(2, rel=0.01)
    assert v100.flops("fp64") == 7.8e12
    with pytest.raises(ValueError, match="dtype='fp64-tc'"):
        v100.flops("fp64-tc")  # the V100 has no FP64 Tensor Cores


def test_every_chip_is_faster_in_bf16_or_fp16_than_in_fp64():
    for acc in hardware.ACCELERATORS.values():
        low = acc.peak_flops.get("bf16", acc.peak_flops.get("fp16"))
        for dtype in ("fp64", "fp64-tc"):
            if dtype in acc.peak_flops:
                assert acc.flops(dtype) < low, (acc.name, dtype)


def test_the_16gb_v100_is_16_gib_half_the_32gb_part():
    from llmscale import published

    assert published.get("v100.hbm_bytes_16gb").value == 16 * 2**30 == hardware.V100_SXM2.hbm_bytes / 2
