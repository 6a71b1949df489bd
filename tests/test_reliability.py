"""Failures, checkpoint intervals and goodput (`llmscale.parallelism.reliability`)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmscale import published
from llmscale.parallelism import reliability as rel

DAY = 86_400.0
HOUR = 3_600.0


# --- failure rates --------------------------------------------------------------------------------


def test_cluster_mtbf_is_the_per_gpu_mtbf_divided_by_the_gpu_count():
    assert rel.cluster_mtbf_s(1e6, 1000) == pytest.approx(1000.0)
    assert rel.cluster_mtbf_s(1e6, 1) == pytest.approx(1e6)
    assert rel.expected_failures(1000, 10_000, 1e6) == pytest.approx(10.0)


def test_llama3_snapshot_gives_one_interruption_every_three_hours_and_a_gpu_mtbf_of_5_8_years():
    per_gpu = rel.llama3_per_gpu_mtbf_s()
    assert per_gpu == pytest.approx(16_384 * 54 * DAY / 419)  # hand-computed: 2,111.5 GPU-days
    assert per_gpu / (365.25 * DAY) == pytest.approx(5.781, abs=0.001)
    # Back on the cluster it came from, the per-GPU figure returns the observed gap: 54 days / 419.
    assert rel.cluster_mtbf_s(per_gpu, 16_384) == pytest.approx(54 * 24 * HOUR / 419)
    assert rel.cluster_mtbf_s(per_gpu, 16_384) / HOUR == pytest.approx(3.093, abs=0.001)
    # 25,000 GPUs at that rate: one failure every 2.03 hours, about 1,066 in 90 days.
    assert rel.cluster_mtbf_s(per_gpu, 25_000) / HOUR == pytest.approx(2.027, abs=0.001)
    assert rel.expected_failures(25_000, 90 * DAY, per_gpu) == pytest.approx(1065.6, abs=0.1)


def test_hardware_only_counts_78_percent_of_the_interruptions():
    ratio = rel.llama3_per_gpu_mtbf_s(hardware_only=True) / rel.llama3_per_gpu_mtbf_s()
    assert ratio == pytest.approx(1 / 0.78)
    assert published.get("llama3-405b.unexpected_interruptions").value == 419
    assert (
        published.get("llama3-405b.job_interruptions").value
        == 419 + published.get("llama3-405b.planned_interruptions").value
    )


# --- intervals ------------------------------------------------------------------------------------


def test_young_and_daly_at_hand_computed_points():
    assert rel.young_interval_s(60, 7200) == pytest.approx(math.sqrt(864_000))  # 929.5 s
    # δ = 50, M = 10,000: δ/2M = 0.0025, √(2δM) = 1000, so 1000·(1 + 0.05/3 + 0.0025/9) − 50.
    assert rel.daly_interval_s(50, 10_000) == pytest.approx(1000 * (1 + 0.05 / 3 + 0.0025 / 9) - 50)
    assert rel.daly_interval_s(20_000, 10_000) == 10_000  # δ ≥ 2M: checkpoint every MTBF
    assert rel.best_interval_s(50, 0, 10_000) == pytest.approx(950.0)  # √(2·50·10⁴) − 50
    assert rel.best_interval_s(50, 5_000, 10_000) == pytest.approx(math.sqrt(500_000) - 50)


@pytest.mark.parametrize("checkpoint_s, mtbf_s", [(60, 7297.5), (600, 7297.5), (0.05, 1.0)])
def test_daly_finds_the_optimum_of_the_exponential_model_and_young_overshoots(checkpoint_s, mtbf_s):
    grid = np.linspace(mtbf_s * 1e-4, 2 * mtbf_s, 400_001)
    best = grid[np.argmax(rel.goodput_exponential(grid, checkpoint_s, 0.0, mtbf_s))]
    daly, young = rel.daly_interval_s(checkpoint_s, mtbf_s), rel.young_interval_s(checkpoint_s, mtbf_s)
    assert daly == pytest.approx(best, rel=2e-3)
    assert young > best and abs(young - best) > 5 * abs(daly - best)


def test_best_interval_maximises_the_first_order_goodput():
    delta, restart, mtbf = 60.0, 600.0, 7297.5
    tau = rel.best_interval_s(delta, restart, mtbf)
    grid = np.linspace(10, 5000, 200_001)
    assert grid[np.argmax(rel.goodput(grid, delta, restart, mtbf))] == pytest.approx(tau, rel=1e-3)


# --- goodput --------------------------------------------------------------------------------------


def test_goodput_at_a_hand_computed_point():
    # τ = 900, δ = 100, R = 0, M = 10,000: 0.9 · (1 − 500/10,000) = 0.855.
    assert rel.goodput(900, 100, 0, 10_000) == pytest.approx(0.855)
    # with R = 1000: 0.9 · (1 − 1500/10,000) = 0.765
    assert rel.goodput(900, 100, 1000, 10_000) == pytest.approx(0.765)
    # no failures to speak of: only the checkpoint overhead τ/(τ+δ) is left
    assert rel.goodput(900, 100, 0, 1e15) == pytest.approx(0.9)
    assert rel.goodput(20_000, 100, 0, 10_000) == 0.0  # the first-order model breaks down: clipped
    g = rel.goodput(np.array([100.0, 900.0]), 100, 0, 10_000)
    assert g.shape == (2,) and g[1] == pytest.approx(0.855)


def test_first_order_goodput_matches_monte_carlo_when_failures_are_rare():
    # (τ + δ)/M = 0.02, R/M = 0.005: second-order terms are ~1e-4, the Monte Carlo error ~4e-4.
    tau, delta, restart, mtbf = 0.018, 0.002, 0.005, 1.0
    simulated = rel.simulate_goodput(tau, delta, restart, mtbf, n_intervals=100_000, seed=0)
    predicted = rel.goodput(tau, delta, restart, mtbf)
    assert simulated == pytest.approx(predicted, abs=1.5e-3)
    # Losing a whole segment per failure instead of half would be 1% off: the test can tell.
    whole_segment = tau / (tau + delta) * (1 - (restart + tau + delta) / mtbf)
    assert abs(simulated - whole_segment) > 5e-3


def test_exponential_goodput_matches_monte_carlo_where_first_order_fails():
    # (τ + δ)/M = 0.5, R/M = 0.2: failures strike often, checkpoints and restarts included.
    tau, delta, restart, mtbf = 0.45, 0.05, 0.2, 1.0
    simulated = rel.simulate_goodput(tau, delta, restart, mtbf, n_intervals=100_000, seed=1)
    assert simulated == pytest.approx(rel.goodput_exponential(tau, delta, restart, mtbf), rel=0.01)
    assert rel.goodput(tau, delta, restart, mtbf) < 0.9 * simulated  # first order is 13% low here


def test_monte_carlo_is_reproducible_and_checkpoint_free_without_failures():
    a = rel.simulate_goodput(900, 60, 600, 7200, n_intervals=2000, seed=3)
    assert a == rel.simulate_goodput(900, 60, 600, 7200, n_intervals=2000, seed=3)
    assert rel.simulate_goodput(900, 100, 600, 1e18, n_intervals=100) == pytest.approx(0.9)


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: rel.per_gpu_mtbf_s(0, 54 * DAY, 16_384), "n_failures"),
        (lambda: rel.per_gpu_mtbf_s(419, -1, 16_384), "period_s"),
        (lambda: rel.cluster_mtbf_s(1e8, 2.5), "n_gpus"),
        (lambda: rel.cluster_mtbf_s(float("nan"), 8), "per_gpu_mtbf_s"),
        (lambda: rel.young_interval_s(0, 7200), "checkpoint_s"),
        (lambda: rel.daly_interval_s(60, True), "mtbf_s"),
        (lambda: rel.goodput(-5, 60, 0, 7200), "interval_s"),
        (lambda: rel.goodput(900, 60, -1, 7200), "restart_s"),
        (lambda: rel.goodput_exponential(900, 60, 0, 0), "mtbf_s"),
        (lambda: rel.simulate_goodput(900, 60, 0, 7200, n_intervals=0), "n_intervals"),
        (lambda: rel.simulate_goodput(900, 60, 0, 7200, seed=1.5), "seed"),
        (lambda: rel.best_interval_s(60, 7200, 7200), "restart_s"),
        (lambda: rel.llama3_per_gpu_mtbf_s(hardware_only="yes"), "hardware_only"),
    ],
)
def test_bad_inputs_raise_naming_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()
