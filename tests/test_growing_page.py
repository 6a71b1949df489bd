"""The Growing page's helpers: up-front FLOPs, seed pairing, budget points and the verdict words,
on synthetic runs whose savings are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmscale.pages.compression import growing as g

STEPS = list(range(0, 101, 10))


def _run(method, seed, lr, losses):
    return {"method": method, "seed": seed, "lr": lr, "steps": STEPS, "val_loss": list(losses)}


def synthetic(scratch_slopes=(1.0, 2.0), grown_shift=0.0, small_flops=1000.0, op_flops=7.0):
    """Two seeds; scratch seed s falls linearly, loss = 10 − slope_s · step / 10; every grown method
    follows its own seed's scratch curve shifted by `grown_shift` steps (ahead when positive)."""
    runs = []
    for seed, slope in enumerate(scratch_slopes):
        runs.append(_run("scratch", seed, 1e-3, [10 - slope * s / 10 for s in STEPS]))
        runs.append(_run("scratch", seed, 1e-2, [10.0] * len(STEPS)) if seed == 0 else None)
        for m in g.GROWN:
            runs.append(_run(m, seed, 3e-3, [10 - slope * (s + grown_shift) / 10 for s in STEPS]))
    return {
        "tokens_per_step": 10,
        "flops_per_token": {"large": 2.0, "small": 0.5},
        "settings": {"steps": 100, "op_steps": 3, "seeds": [0, 1]},
        "operator_step_flops": {"total": op_flops},
        "small_models": {"0": {"flops": small_flops}, "1": {"flops": 2 * small_flops}},
        "best_lr": {"scratch": 1e-3, **{m: 3e-3 for m in g.GROWN}},
        "runs": [r for r in runs if r is not None],
    }


def test_upfront_flops_count_the_small_model_for_every_grown_method_and_the_operator_for_ligo_only():
    data = synthetic()
    assert g.upfront_flops("scratch", 0, data) == 0
    assert g.upfront_flops("stack", 1, data) == 2000.0
    assert g.upfront_flops("ligo-untrained", 0, data) == 1000.0
    assert g.upfront_flops("ligo", 1, data) == 2000.0 + 3 * 7.0
    flops, _ = g.curve("ligo", 1, data)
    bare, _ = g.curve("ligo", 1, data, counted=False)
    assert flops[0] == 2021.0 and bare[0] == 0.0 and np.allclose(flops - bare, 2021.0)
    assert bare[-1] == 100 * g.step_flops(data) == 2000.0


def test_savings_pair_each_grown_seed_with_the_scratch_seed_of_the_same_number():
    # grown seed s is scratch seed s exactly: every paired saving is 0; crossing the seeds would not be
    data = synthetic(scratch_slopes=(1.0, 3.0))
    per_seed = g.paired_savings([9.0, 8.0, 7.5], "net2net", data, counted=False)
    assert per_seed.shape == (2, 3)
    assert np.allclose(per_seed, 0.0)


def test_a_grown_run_ahead_by_k_steps_saves_k_over_the_steps_scratch_needs():
    data = synthetic(scratch_slopes=(1.0, 1.0), grown_shift=20)
    # scratch reaches loss 5 at step 50; the grown run at step 30: saving 20/50
    per_seed = g.paired_savings([5.0], "stack", data, counted=False)
    assert np.allclose(per_seed, 0.4)
    # counted: the small model's FLOPs come off, seed by seed (1000 and 2000 FLOPs against 50 steps of 20)
    counted = g.paired_savings([5.0], "stack", data, counted=True)
    assert np.allclose(counted[:, 0], [0.4 - 1000 / 1000, 0.4 - 2000 / 1000])


def test_budget_points_take_the_loss_scratch_has_at_that_fraction_of_its_own_steps():
    data = synthetic(scratch_slopes=(1.0, 2.0), grown_shift=10, small_flops=0.0)
    assert g.loss_at_fraction("scratch", 0, 0.5, data) == pytest.approx(5.0)
    assert g.loss_at_fraction("scratch", 1, 0.5, data) == pytest.approx(0.0)
    values, (mean, low, high) = g.budget_saving("stack", 0.5, data)
    assert values == pytest.approx([10 / 50, 10 / 50])  # 10 steps ahead of the 50 scratch needs
    assert mean == pytest.approx(0.2) and low == pytest.approx(0.2) and high == pytest.approx(0.2)
    values, _ = g.budget_saving("stack", 1.0, data)
    assert values == pytest.approx([0.1, 0.1])
    with pytest.raises(ValueError, match="fraction"):
        g.loss_at_fraction("scratch", 0, 1.5, data)


def test_a_grown_run_that_never_reaches_the_target_has_minus_infinite_saving():
    data = synthetic(grown_shift=-30)  # 30 steps behind: never reaches scratch's final loss
    values, interval = g.budget_saving("ligo", 1.0, data, counted=False)
    assert all(v == -math.inf for v in values)
    assert g.sign_of(interval) == "negative"


def test_the_verdict_word_needs_the_whole_interval_on_one_side_of_zero():
    assert g.sign_of((0.2, 0.05, 0.35)) == "positive"
    assert g.sign_of((0.2, -0.05, 0.45)) == "undecided"
    assert g.sign_of((-0.2, -0.3, -0.1)) == "negative"
    assert g.sign_of((0.1, math.nan, math.nan)) == "undecided"


def test_the_lr_sweep_reads_seed_zero_and_flags_a_best_rate_at_the_grid_edge():
    data = synthetic()
    sweep = g.lr_sweep(data)
    assert list(sweep["scratch"]) == [1e-3, 1e-2] and sweep["scratch"][1e-2] == 10.0
    assert g.at_grid_edge(1e-3, [3e-4, 1e-3, 3e-3]) is None
    assert g.at_grid_edge(3e-4, [1e-3, 3e-4, 3e-3]) == "lowest"
    assert g.at_grid_edge(3e-3, [3e-4, 1e-3, 3e-3]) == "highest"
    with pytest.raises(ValueError, match="grid"):
        g.at_grid_edge(1e-3, [1e-3])


def test_bad_method_and_missing_run_are_named():
    data = synthetic()
    with pytest.raises(ValueError, match="method='bert2bert'"):
        g.upfront_flops("bert2bert", 0, data)
    with pytest.raises(ValueError, match="seed=5"):
        g.run("ligo", 5, data)


def test_break_even_steps_are_the_upfront_flops_in_large_steps():
    data = synthetic()
    assert g.break_even_steps(0, data) == pytest.approx((1000 + 21) / 20)


def test_the_stored_run_has_three_seeds_and_ligo_is_counted_more_than_the_baselines():
    data = g.stored()
    assert len(g.seeds(data)) >= 3
    for s in g.seeds(data):
        assert g.upfront_flops("ligo", s, data) > g.upfront_flops("stack", s, data) > 0
