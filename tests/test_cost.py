"""Hardware table and cost arithmetic."""

import pytest

from llmscale import cost, hardware


def test_gpu_hours_and_implied_mfu_are_inverse():
    flops = 3.14e23
    est = cost.estimate(flops, "v100", n_gpus=10_000, mfu=0.2, dtype="fp16", price_per_gpu_hour=1.5)
    mfu = cost.implied_mfu(flops, "v100", n_gpus=10_000, days=est.days, dtype="fp16")
    assert mfu == pytest.approx(0.2)
    assert est.dollars == pytest.approx(est.gpu_hours * 1.5)
    assert est.gpu_hours == pytest.approx(flops / (125e12 * 0.2) / 3600)


def test_energy_uses_power_and_pue():
    est = cost.estimate(1e21, "a100", n_gpus=8, mfu=0.5, pue=1.2)
    assert est.energy_mwh == pytest.approx(est.gpu_hours * 400 * 1.2 / 1e6)


@pytest.mark.parametrize(
    "kwargs,field",
    [
        (dict(mfu=0), "mfu"),
        (dict(mfu=1.5), "mfu"),
        (dict(n_gpus=0), "n_gpus"),
        (dict(pue=0.9), "pue"),
        (dict(price_per_gpu_hour=-1), "price_per_gpu_hour"),
        (dict(dtype="fp4"), "dtype"),
        (dict(accelerator="tpu-v9"), "accelerator"),
    ],
)
def test_bad_inputs_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        cost.estimate(1e21, **{"accelerator": "a100", **kwargs})


def test_every_accelerator_cites_a_source_and_has_sane_numbers():
    for acc in hardware.ACCELERATORS.values():
        assert acc.source
        assert 1e13 < max(acc.peak_flops.values()) < 5e15
        assert acc.hbm_bw < 1e13 and acc.hbm_bytes < 2e11
    assert hardware.get("A100").flops("bf16") == 312e12
