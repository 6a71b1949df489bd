"""Scaling laws (llmscale.scaling.laws) and lifetime budgets (llmscale.scaling.lifetime)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from llmscale import claims, counting, hardware, presets, published
from llmscale.inference import kv_cache
from llmscale.scaling import laws, lifetime
from llmscale.scaling.laws import (
    BESIROGLU,
    CHINCHILLA,
    CHINCHILLA_TEX,
    KAPLAN,
    ParametricLaw,
    PowerLawFrontier,
)
from llmscale.units import GiB

LAWS = [CHINCHILLA, CHINCHILLA_TEX, BESIROGLU]


def _numeric_optimum(law, flops):
    """argmin over N of L(N, C/(6N)), by a bounded scalar search in log N."""
    res = minimize_scalar(
        lambda ln: float(law.loss(np.exp(ln), flops / (6 * np.exp(ln)))),
        bounds=(np.log(1e3), np.log(flops / 6 / 1e3)),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return float(np.exp(res.x))


random_laws = st.builds(
    ParametricLaw,
    E=st.floats(0.5, 2.5),
    A=st.floats(50, 5000),
    B=st.floats(50, 5000),
    alpha=st.floats(0.15, 0.6),
    beta=st.floats(0.15, 0.6),
)


@settings(max_examples=60, deadline=None)
@given(law=random_laws, log_c=st.floats(18, 26))
def test_closed_form_optimum_equals_numeric_minimisation_at_fixed_compute(law, log_c):
    c = 10.0**log_c
    n, d = law.compute_optimal(c)
    assert 6 * n * d == pytest.approx(c, rel=1e-12)
    if not 1e4 < n < c / 6 / 1e4:  # keep the optimum inside the search bracket
        return
    assert _numeric_optimum(law, c) == pytest.approx(float(n), rel=1e-4)


@pytest.mark.parametrize("law", LAWS)
@pytest.mark.parametrize("flops", [1e19, 5.76e23, 1e26])
def test_published_laws_optimum_is_the_numeric_minimum(law, flops):
    n, _ = law.compute_optimal(flops)
    assert _numeric_optimum(law, flops) == pytest.approx(float(n), rel=1e-5)


@settings(max_examples=40, deadline=None)
@given(law=random_laws)
def test_exponents_are_beta_and_alpha_over_their_sum(law):
    assert law.a == pytest.approx(law.beta / (law.alpha + law.beta))
    assert law.a + law.b == pytest.approx(1.0)
    c = np.array([1e20, 1e24])
    n, d = law.compute_optimal(c)
    assert math.log(n[1] / n[0]) / math.log(c[1] / c[0]) == pytest.approx(law.a)
    assert math.log(d[1] / d[0]) / math.log(c[1] / c[0]) == pytest.approx(law.b)


@pytest.mark.parametrize("law", LAWS)
def test_optimal_for_loss_is_the_dual_of_compute_optimal(law):
    c = np.array([1e20, 5.76e23, 1e25])
    n, d = law.optimal_for_loss(law.optimal_loss(c))
    n_star, d_star = law.compute_optimal(c)
    np.testing.assert_allclose(n, n_star, rtol=1e-9)
    np.testing.assert_allclose(d, d_star, rtol=1e-9)


def test_table2_exponents_need_the_unrounded_constants():
    # Table 2 prints a = 0.46 for Approach 3; the rounded eq. 10 gives 0.45, the TeX values 0.46.
    assert round(CHINCHILLA_TEX.a, 2) == laws.HOFFMANN_TABLE2["approach 3"][0]
    assert round(CHINCHILLA.a, 2) != laws.HOFFMANN_TABLE2["approach 3"][0]
    assert round(BESIROGLU.a, 2) == 0.51


def test_frontiers_fitted_to_the_tables_recover_table2_exponents():
    assert round(laws.APPROACH_1.a, 2) == laws.HOFFMANN_TABLE2["approach 1"][0]
    assert round(laws.APPROACH_2.a, 2) == laws.HOFFMANN_TABLE2["approach 2"][0]
    assert laws.APPROACH_1.b == pytest.approx(1 - laws.APPROACH_1.a)


def test_tables_obey_six_n_d_except_the_printed_typo():
    tables = [laws.HOFFMANN_TABLE3_APPROACH1, laws.HOFFMANN_TABLEA3_APPROACH2, laws.HOFFMANN_TABLEA3_APPROACH3]
    off = [(n, c / (6 * n * d)) for table in tables for n, c, d in table]
    bad = [(n, r) for n, r in off if not 0.95 < r < 1.05]
    assert bad == [(175e9, pytest.approx(0.1, rel=0.01))]  # 1.26e24 printed for 1.26e25


def test_frontiers_reproduce_the_papers_own_numbers():
    at_1e21 = published.get("hoffmann.approach1_params_at_1e21").value
    assert laws.APPROACH_1.compute_optimal(1e21)[0] == pytest.approx(at_1e21, rel=0.01)
    kaplan_1e21 = published.get("hoffmann.kaplan_params_at_1e21").value
    assert KAPLAN.compute_optimal(1e21)[0] == pytest.approx(kaplan_1e21, rel=0.01)
    # without the critical-batch factor C = 2·C_min Kaplan's size is 1.66× larger
    assert KAPLAN.compute_optimal(1e21, critical_batch=False)[0] > 1.5 * kaplan_1e21
    gopher = published.get("hoffmann.gopher_budget_flops").value
    forty = published.get("hoffmann.approach3_gopher_params").value
    assert CHINCHILLA_TEX.compute_optimal(gopher)[0] == pytest.approx(forty, rel=0.02)
    assert abs(CHINCHILLA.compute_optimal(gopher)[0] / forty - 1) > 0.15
    row = next(r for r in laws.HOFFMANN_TABLE3_APPROACH1 if r[0] == 10e9)
    assert laws.APPROACH_1.optimal_tokens(10e9) == pytest.approx(row[2], rel=0.01)


def test_kaplan_law_values():
    assert KAPLAN.loss_n(KAPLAN.n_c) == pytest.approx(1.0)
    assert KAPLAN.loss_n(1e9) == pytest.approx((8.8e13 / 1e9) ** 0.076)
    assert KAPLAN.loss_d(1e10) == pytest.approx((5.4e13 / 1e10) ** 0.095)
    assert KAPLAN.loss_c_min(3.1e8 * 8.64e19) == pytest.approx(1.0)
    # the joint law tends to its own L(N) as D grows, and adds loss at finite D
    n = 1e9
    assert KAPLAN.loss(n, 1e30) == pytest.approx((6.4e13 / n) ** 0.076, rel=1e-6)
    assert KAPLAN.loss(n, 1e10) > KAPLAN.loss(n, 1e12)
    c = np.logspace(18, 25, 8)
    n_opt, d_opt = KAPLAN.compute_optimal(c)
    assert laws.fitted_exponent(c, n_opt) == pytest.approx(0.73)
    assert laws.fitted_exponent(c, d_opt) == pytest.approx(0.27)
    assert np.all(np.diff(KAPLAN.tokens_per_param(c)) < 0)


def test_non_embedding_params_matches_the_counted_gpt2_xl():
    cfg = presets.get("gpt2-xl")
    total = counting.param_count(cfg)
    guess = laws.non_embedding_params(total, cfg.vocab_size, cfg.seq_len, cfg.d_model / cfg.n_layers)
    assert guess == pytest.approx(counting.non_embedding_param_count(cfg), rel=0.01)


def test_embeddings_steepen_the_exponent_at_small_scale_only():
    c = np.logspace(13, 16, 20)
    n, d = BESIROGLU.compute_optimal(c)
    n_e = laws.non_embedding_params(n, 50257, 1024, 40)
    assert laws.fitted_exponent(6 * n_e * d, n_e) > BESIROGLU.a + 0.15
    c = np.logspace(23, 26, 20)
    n, d = BESIROGLU.compute_optimal(c)
    n_e = laws.non_embedding_params(n, 50257, 1024, 40)
    assert laws.fitted_exponent(6 * n_e * d, n_e) == pytest.approx(BESIROGLU.a, abs=0.01)


# ---- budgets -------------------------------------------------------------------------------

TARGET = float(BESIROGLU.loss(6.7e9, 1e12))


def test_tokens_to_reach_inverts_the_law():
    for n in [3e9, 7e9, 30e9]:
        d = lifetime.tokens_to_reach(BESIROGLU, n, TARGET)
        assert BESIROGLU.loss(n, d) == pytest.approx(TARGET, rel=1e-12)
    assert lifetime.tokens_to_reach(BESIROGLU, 6.7e9, TARGET) == pytest.approx(1e12)


@pytest.mark.parametrize("served", [0.0, 1e11, 1e12, 1e13, 1e14])
def test_optimal_params_is_the_grid_minimum_of_lifetime_compute(served):
    n_min = lifetime.min_params(BESIROGLU, TARGET)
    grid = np.geomspace(n_min * 1.0001, 1e11, 20001)
    life = lifetime.lifetime_flops(BESIROGLU, grid, TARGET, served)
    n_grid = grid[np.argmin(life)]
    n_opt = lifetime.optimal_params(BESIROGLU, TARGET, served)
    assert n_opt == pytest.approx(n_grid, rel=2e-3)
    assert lifetime.lifetime_flops(BESIROGLU, n_opt, TARGET, served) <= life.min() * (1 + 1e-9)


def test_no_inference_gives_the_compute_optimal_model_and_volume_shrinks_it():
    n_co, _ = BESIROGLU.optimal_for_loss(TARGET)
    volumes = np.array([0, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15])
    sizes = lifetime.optimal_params(BESIROGLU, TARGET, volumes)
    assert sizes[0] == pytest.approx(float(n_co))
    assert np.all(np.diff(sizes) < 0)
    assert sizes[-1] > lifetime.min_params(BESIROGLU, TARGET)


def test_served_tokens_for_optimum_inverts_optimal_params():
    for served in [1e11, 1e12, 1e13]:
        n = lifetime.optimal_params(BESIROGLU, TARGET, served)
        assert lifetime.served_tokens_for_optimum(BESIROGLU, n, TARGET) == pytest.approx(served, rel=1e-6)


@pytest.mark.parametrize("law", LAWS)
def test_break_even_is_a_true_crossing(law):
    t = lifetime.compare_to_compute_optimal(law, 6.7e9, 1e12)
    assert t.extra_training_flops > 0 and t.saving_per_token > 0
    at = lifetime.lifetime_flops(law, np.array([t.n_params, t.optimal_params]), t.target_loss, t.break_even_tokens)
    assert at[0] == pytest.approx(at[1], rel=1e-9)
    before = lifetime.lifetime_flops(
        law, np.array([t.n_params, t.optimal_params]), t.target_loss, 0.9 * t.break_even_tokens
    )
    after = lifetime.lifetime_flops(
        law, np.array([t.n_params, t.optimal_params]), t.target_loss, 1.1 * t.break_even_tokens
    )
    assert before[0] > before[1] and after[0] < after[1]


def test_break_even_is_zero_when_the_small_model_is_cheaper_to_train():
    n_co, _ = BESIROGLU.optimal_for_loss(TARGET)
    # a model larger than compute-optimal costs more to train, so the optimal one wins at once
    assert lifetime.break_even_tokens(BESIROGLU, float(n_co), 3 * float(n_co), TARGET) == 0.0


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: lifetime.min_params(BESIROGLU, 1.5), "irreducible loss"),
        (lambda: lifetime.tokens_to_reach(BESIROGLU, 1e6, TARGET), "cannot reach target_loss"),
        (lambda: lifetime.lifetime_flops(BESIROGLU, 7e9, TARGET, -1), "served_tokens"),
        (lambda: lifetime.break_even_tokens(BESIROGLU, 7e9, 7e9, TARGET), "must be smaller"),
        (lambda: lifetime.compare_to_compute_optimal(BESIROGLU, 70e9, 1e11), "not past its compute-optimal"),
        (lambda: lifetime.served_tokens_for_optimum(BESIROGLU, 1e11, TARGET), "larger than the compute-optimal"),
        (lambda: BESIROGLU.optimal_for_loss(1.0), "irreducible loss"),
        (lambda: BESIROGLU.compute_optimal(0), "flops must be > 0"),
        (lambda: KAPLAN.loss_n(-1), "n_params"),
        (lambda: KAPLAN.compute_optimal([1e21, 0]), "flops"),
        (lambda: PowerLawFrontier(a=1.2, k=1.0), "must lie in"),
        (lambda: PowerLawFrontier.fit([1e9], [1e20]), "at least two"),
        (lambda: ParametricLaw(E=1.7, A=-1, B=400, alpha=0.3, beta=0.3), "A=-1"),
        (lambda: laws.non_embedding_params(1e8, 0, 1024, 40), "vocab_size"),
    ],
)
def test_bad_input_is_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- claims --------------------------------------------------------------------------------


def test_laws_and_budgets_claims_verdicts():
    by_id = {r.id: r for r in claims.evaluate() if r.id.startswith("laws-")}
    one_v100 = by_id["laws-llama13b-one-v100"]
    assert (one_v100.verdict, one_v100.bound, one_v100.computed) == ("consistent", "<=", 1)
    tenth = by_id["laws-llama13b-tenth-of-gpt3"]
    assert tenth.computed == pytest.approx(13.4, abs=0.1)
    assert tenth.verdict == "consistent" and tenth.rel_tol == pytest.approx(0.5)  # "10", one significant digit
    hoffmann = by_id["laws-hoffmann-10b-200b"]
    table3 = next(d for n, _, d in laws.HOFFMANN_TABLE3_APPROACH1 if n == 10e9)
    assert (hoffmann.verdict, hoffmann.basis, hoffmann.computed) == ("consistent", "primary-source", table3)
    for yes_no in ["laws-smaller-model-fixed-compute", "laws-smaller-cheaper-lifetime", "laws-llama-overtrained"]:
        r = by_id[yes_no]
        assert (r.claimed, r.kind, r.unit, r.computed, r.verdict) == (True, "yes/no", "yes/no", 1.0, "consistent")
    for none in ["laws-llama13b-beats-gpt3", "laws-llama65b-vs-chinchilla-palm", "laws-7b-improves-after-1t"]:
        assert (by_id[none].verdict, by_id[none].basis) == ("unverifiable", "none")
    assert by_id["laws-gpt4-tokens-per-active-param"].verdict == "unverifiable"
    assert not any(r.verdict == "consistent" and r.basis == "from-claim" for r in by_id.values())


def test_one_v100_counts_memory_in_gib():
    # LLaMA-13B's 26e9 bytes of fp16 weights are 24.2 GiB: it fits a 32 GiB V100, not a 16 GiB one
    assert hardware.V100_SXM2.hbm_bytes == 32 * GiB
    mem = kv_cache.serving_bytes(presets.get("llama-13b"), bytes_per_value=2)
    assert mem.devices_needed(hardware.V100_SXM2.hbm_bytes) == 1
    assert mem.devices_needed(published.get("v100.hbm_bytes_16gb").value) == 2


def test_llama3_8b_repays_its_over_training_within_its_training_tokens():
    preset = presets.preset("llama3-8b")
    n = counting.param_count(preset.config)
    assert preset.train_tokens / n == pytest.approx(1868, rel=0.001)  # ~94× Chinchilla's ~20
    for law in LAWS:
        t = lifetime.compare_to_compute_optimal(law, n, preset.train_tokens)
        assert t.extra_training_flops > 0 and 0 < t.break_even_tokens < preset.train_tokens
    t = lifetime.compare_to_compute_optimal(BESIROGLU, n, preset.train_tokens)
    assert lifetime.served_tokens_for_optimum(BESIROGLU, n, t.target_loss) > 10 * preset.train_tokens


def test_every_laws_claim_lives_on_one_of_the_two_pages():
    ids = {r.id for r in claims.evaluate() if r.id.startswith("laws-")}
    laws_page = {r.id for r in claims.evaluate(page="scaling/scaling_laws")}
    budgets_page = {r.id for r in claims.evaluate(page="scaling/inference_budgets")}
    assert laws_page.isdisjoint(budgets_page) and laws_page | budgets_page == ids
