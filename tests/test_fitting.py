"""Scaling-law fits (llmscale.scaling.fitting) recover the laws that generated synthetic runs."""

import numpy as np
import pytest

from llmscale.scaling import fitting
from llmscale.scaling.laws import CHINCHILLA, ParametricLaw

# A law at the book's scale: small models, a known floor E.
TRUE = ParametricLaw(E=1.8, A=300.0, B=2000.0, alpha=0.45, beta=0.5)


def isoflop_runs(law, budgets, sizes_per_budget=7, spread=8.0, noise=0.0, seed=0):
    """Runs on IsoFLOP lines C = 6·N·D around each budget's optimum, with multiplicative noise."""
    rng = np.random.default_rng(seed)
    c, n, d = [], [], []
    for budget in budgets:
        n_star, _ = law.compute_optimal(budget)
        for f in np.geomspace(1 / spread, spread, sizes_per_budget):
            c.append(budget)
            n.append(n_star * f)
            d.append(budget / (6 * n_star * f))
    c, n, d = map(np.array, (c, n, d))
    loss = law.loss(n, d) * np.exp(noise * rng.standard_normal(len(n)))
    return c, n, d, loss


BUDGETS = np.geomspace(1e12, 1e15, 5)


def test_huber_is_quadratic_inside_delta_and_linear_outside():
    assert fitting.huber(5e-4) == pytest.approx(0.5 * 5e-4**2)
    assert fitting.huber(-0.01) == pytest.approx(1e-3 * (0.01 - 0.5e-3))
    # continuous at the seam
    assert fitting.huber(1e-3 - 1e-12) == pytest.approx(fitting.huber(1e-3 + 1e-12))


def test_objective_gradient_matches_finite_differences():
    _, n, d, loss = isoflop_runs(TRUE, BUDGETS, noise=0.01)
    args = (np.log(n), np.log(d), np.log(loss), 1e-3)
    theta = np.array([5.0, 7.0, 0.5, 0.4, 0.55])
    _, grad = fitting._objective(theta, *args)
    eps = 1e-6
    numeric = [
        (fitting._objective(theta + eps * e, *args)[0] - fitting._objective(theta - eps * e, *args)[0]) / (2 * eps)
        for e in np.eye(5)
    ]
    assert grad == pytest.approx(numeric, rel=1e-4, abs=1e-10)


def test_fit_law_recovers_the_generating_law_from_noiseless_runs():
    _, n, d, loss = isoflop_runs(TRUE, BUDGETS)
    fit = fitting.fit_law(n, d, loss).law
    assert fit.E == pytest.approx(TRUE.E, rel=1e-3)
    assert fit.alpha == pytest.approx(TRUE.alpha, rel=1e-2)
    assert fit.beta == pytest.approx(TRUE.beta, rel=1e-2)
    assert fit.A == pytest.approx(TRUE.A, rel=0.05)
    assert fit.B == pytest.approx(TRUE.B, rel=0.05)
    assert np.max(np.abs(fitting.fit_law(n, d, loss).residuals(n, d, loss))) < 1e-4


def test_fit_law_recovers_chinchillas_own_law_at_its_scale():
    budgets = np.geomspace(6e18, 3e21, 5)
    _, n, d, loss = isoflop_runs(CHINCHILLA, budgets)
    fit = fitting.fit_law(n, d, loss).law
    assert fit.E == pytest.approx(CHINCHILLA.E, rel=1e-3)
    assert fit.alpha == pytest.approx(CHINCHILLA.alpha, rel=1e-2)
    assert fit.beta == pytest.approx(CHINCHILLA.beta, rel=1e-2)


def test_fit_law_with_noise_is_close_and_bootstrap_interval_covers_truth():
    _, n, d, loss = isoflop_runs(TRUE, BUDGETS, noise=0.003, seed=1)
    fit = fitting.fit_law(n, d, loss)
    assert fit.law.E == pytest.approx(TRUE.E, abs=0.03)
    boot = fitting.bootstrap_law(n, d, loss, n_boot=40, seed=0, start=fit)
    lo, hi = boot.interval("E", 0.95)
    assert lo < TRUE.E < hi and hi - lo < 0.2
    lo, hi = boot.interval("alpha", 0.95)
    assert lo < TRUE.alpha < hi


def test_huber_fit_ignores_an_outlier_that_least_squares_would_follow():
    _, n, d, loss = isoflop_runs(TRUE, BUDGETS)
    loss = loss.copy()
    loss[3] *= 1.2  # one run went badly
    fit = fitting.fit_law(n, d, loss).law
    assert fit.E == pytest.approx(TRUE.E, rel=0.01)


def test_isoflop_parabola_minima_give_the_frontier_exponents():
    c, n, d, loss = isoflop_runs(TRUE, BUDGETS, sizes_per_budget=9, spread=3.0)
    iso = fitting.fit_isoflop(c, n, d, loss)
    assert all(p.interior for p in iso.n_parabolas)
    # the parabola is a local approximation: close to, not exactly at, the true optimum
    assert iso.n_opt.exponent == pytest.approx(TRUE.a, abs=0.02)
    assert iso.d_opt.exponent == pytest.approx(TRUE.b, abs=0.02)
    n_star, _ = TRUE.compute_optimal(BUDGETS)
    assert [p.argmin for p in iso.n_parabolas] == pytest.approx(n_star, rel=0.1)
    boot = fitting.bootstrap_isoflop(c, n, d, loss * np.exp(0.002 * np.sin(np.arange(len(n)))), n_boot=50)
    lo, hi = boot.interval("a", 0.95)
    assert lo < TRUE.a < hi


def test_parabola_vertex_and_power_law_are_exact_on_exact_data():
    sizes = np.geomspace(1e3, 1e5, 6)
    x = np.log(sizes)
    p = fitting.fit_parabola(sizes, 0.1 * (x - np.log(1e4)) ** 2 + 2.0)
    assert p.argmin == pytest.approx(1e4) and p.min_loss == pytest.approx(2.0) and p.interior
    law = fitting.fit_power_law([1e10, 1e11, 1e12], [3 * 1e10**0.6, 3 * 1e11**0.6, 3 * 1e12**0.6])
    assert law.exponent == pytest.approx(0.6) and law.k == pytest.approx(3.0)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="same length"):
        fitting.fit_law([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2])
    with pytest.raises(ValueError, match="at least 5 runs"):
        fitting.fit_law([1, 2], [1, 2], [1, 2])
    with pytest.raises(ValueError, match="losses must be finite"):
        fitting.fit_law([1e3] * 5, [1e6] * 5, [2, 2, np.nan, 2, 2])
    with pytest.raises(ValueError, match="no minimum"):
        fitting.fit_parabola([1e3, 1e4, 1e5], [2.0, 3.0, 2.0])
    with pytest.raises(ValueError, match="at least 3 distinct"):
        fitting.fit_parabola([1e3, 1e3, 1e4], [2.0, 2.1, 2.0])
    _, n, d, loss = isoflop_runs(TRUE, BUDGETS)
    boot = fitting.bootstrap_law(n, d, loss, n_boot=2)
    with pytest.raises(ValueError, match="level"):
        boot.interval("E", 80)


# --- the IsoFLOP sweep's measurements (llmscale.experiments.isoflop) ---------------------------

import torch  # noqa: E402

from llmscale import counting, data  # noqa: E402
from llmscale.experiments import isoflop_sweep  # noqa: E402


class _ChainModel(torch.nn.Module):
    """Predicts with the true chain wherever it sees two tokens, uniformly at a window's start."""

    def __init__(self, language):
        super().__init__()
        self.log_probs = torch.nn.Parameter(torch.log(torch.tensor(language.probs, dtype=torch.float64)))
        self.v = language.vocab_size

    def forward(self, x):
        logits = torch.zeros(*x.shape, self.v, dtype=torch.float64)
        logits[:, 1:] = self.log_probs[x[:, :-1] * self.v + x[:, 1:]]
        return logits, None


def test_full_context_loss_of_the_true_chain_equals_the_oracle_loss():
    lang = data.MarkovLanguage.make(vocab_size=5, order=2, concentration=0.3, seed=3)
    tokens = lang.sample(5_003, seed=4)
    model = _ChainModel(lang)
    for seq_len in (2, 7, 32):
        measured = isoflop_sweep.full_context_loss(model, tokens, seq_len, 4_000, batch_windows=50)
        # equal up to float32 rounding (the loss is computed in float32, as for the real models)
        assert measured == pytest.approx(isoflop_sweep.oracle_loss(lang, tokens, seq_len, 4_000), rel=1e-6)
    # scoring every target instead would add the one-token-context loss of each window's start
    every = lang.token_nll(tokens[:4_001]).mean()
    assert isoflop_sweep.oracle_loss(lang, tokens, 32, 4_000) != pytest.approx(every, rel=1e-6)


def test_steps_for_budget_spend_the_budget_to_within_one_step():
    cfg = isoflop_sweep.model_config(2, 32, 32, 32)
    per_step = counting.flops_per_token(cfg, context=32, training=True) * 32 * 32
    steps = isoflop_sweep.steps_for_budget(cfg, 1e11, 32, 32)
    assert abs(steps * per_step - 1e11) <= per_step / 2


def test_a_sweep_point_is_reproducible_and_spends_its_budget():
    corpus = data.load_corpus("markov", vocab_size=32, n_tokens=50_000)
    kw = dict(batch_size=8, seq_len=16, lr=5e-3, min_lr_ratio=0.01, eval_tokens=2_048)
    a = isoflop_sweep.run_point(corpus, 2, 32, 2e9, **kw)
    b = isoflop_sweep.run_point(corpus, 2, 32, 2e9, **kw)
    assert a["val_loss"] == b["val_loss"] and a["train_loss_last"] == b["train_loss_last"]
    assert a["flops"] == pytest.approx(2e9, rel=0.01)
    assert a["n_params"] == counting.param_count(isoflop_sweep.model_config(2, 32, 32, 16))
    assert corpus.entropy_rate < a["val_loss"] < np.log(32)


def test_fit_with_the_floor_known_recovers_the_other_parameters_and_profile_is_lowest_there():
    _, n, d, loss = isoflop_runs(TRUE, BUDGETS, noise=0.002, seed=2)
    fit = fitting.fit_law(n, d, loss, fixed_E=TRUE.E).law
    assert fit.E == pytest.approx(TRUE.E, rel=1e-12)
    assert fit.alpha == pytest.approx(TRUE.alpha, abs=0.03)
    assert fit.beta == pytest.approx(TRUE.beta, abs=0.03)
    floors = [1.6, 1.7, TRUE.E, 1.9]
    prof = fitting.profile_E(n, d, loss, floors)
    assert np.argmin(prof) == 2
    with pytest.raises(ValueError, match="fixed_E"):
        fitting.fit_law(n, d, loss, fixed_E=-1.0)


@pytest.mark.parametrize("size", ["small", "large"])
def test_every_run_of_the_sweep_takes_at_least_the_minimum_number_of_steps(size):
    spec = isoflop_sweep.SIZES[size]
    assert len(spec.budgets) == len(spec.shapes)
    for budget, shapes in zip(spec.budgets, spec.shapes):
        for n_layers, d_model in shapes:
            cfg = isoflop_sweep.model_config(n_layers, d_model, spec.vocab_size, spec.seq_len)
            steps = isoflop_sweep.steps_for_budget(cfg, budget, spec.batch_size, spec.seq_len)
            assert steps >= isoflop_sweep.MIN_STEPS, (budget, n_layers, d_model)
            # and no run reads more tokens than the training split holds (no repeated data)
            assert steps * spec.batch_size * spec.seq_len <= 0.9 * spec.n_tokens, (budget, n_layers, d_model)


def test_the_sweep_gives_the_same_runs_in_parallel_as_one_at_a_time(monkeypatch):
    monkeypatch.setenv("LLMSCALE_WORKERS", "2")
    parallel = isoflop_sweep._isoflop_sweep("tiny", "cpu")["runs"]
    spec = isoflop_sweep.SIZES["tiny"]
    corpus = isoflop_sweep.load_language("tiny")
    assert [(r["budget"], r["n_layers"], r["d_model"]) for r in parallel] == [
        (b, L, d) for b, shapes in zip(spec.budgets, spec.shapes) for L, d in shapes
    ]
    for r in (parallel[0], parallel[-1]):
        alone = isoflop_sweep.run_point(
            corpus,
            r["n_layers"],
            r["d_model"],
            r["budget"],
            batch_size=spec.batch_size,
            seq_len=spec.seq_len,
            lr=spec.lr,
            min_lr_ratio=spec.min_lr_ratio,
            eval_tokens=spec.eval_tokens,
            threads=spec.threads,
        )
        assert alone["val_loss"] == r["val_loss"] and alone["train_loss_last"] == r["train_loss_last"]


def test_a_bad_worker_count_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("LLMSCALE_WORKERS", "two")
    with pytest.raises(ValueError, match="LLMSCALE_WORKERS"):
        isoflop_sweep._workers(isoflop_sweep.SIZES["tiny"], "cpu", 6)


def test_loss_frontier_recovers_the_floor_of_a_chinchilla_law():
    # along the compute-optimal frontier a Chinchilla law is exactly E + K·C^(−αβ/(α+β))
    budgets = np.geomspace(1e12, 1e15, 6)
    n_star, d_star = TRUE.compute_optimal(budgets)
    front = fitting.fit_loss_frontier(budgets, TRUE.loss(n_star, d_star))
    assert front.E == pytest.approx(TRUE.E, rel=1e-6)
    assert front.gamma == pytest.approx(TRUE.alpha * TRUE.beta / (TRUE.alpha + TRUE.beta), rel=1e-5)
    assert front(budgets) == pytest.approx(TRUE.loss(n_star, d_star), rel=1e-9)
    # through the parabolas' minima (approximate optima) it is still close
    c, n, d, loss = isoflop_runs(TRUE, BUDGETS, sizes_per_budget=9, spread=3.0)
    iso = fitting.fit_isoflop(c, n, d, loss)
    assert iso.frontier.E == pytest.approx(TRUE.E, abs=0.01)
    boot = fitting.bootstrap_isoflop(c, n, d, loss * np.exp(0.002 * np.sin(np.arange(len(n)))), n_boot=50)
    lo, hi = boot.interval("E", 0.95)
    assert lo < TRUE.E < hi


def test_bootstrap_interval_is_numpys_percentile_and_counts_a_missing_value_as_unbounded():
    x = np.random.default_rng(0).normal(size=101)
    boot = fitting.Bootstrap({"v": x}, 101, 0)
    assert boot.interval("v", 0.8) == tuple(np.percentile(x, [10, 90]))
    assert boot.interval("v", 0.5) == tuple(np.percentile(x, [25, 75]))
    # 5 resamples of 101 without a value: each end moves outwards, as if they lay beyond it ...
    y = x.copy()
    y[:5] = np.nan
    lo, hi = fitting.Bootstrap({"v": y}, 101, 0).interval("v", 0.8)
    assert lo < np.percentile(y[5:], 10) and hi > np.percentile(y[5:], 90)
    assert lo == np.percentile(np.concatenate([np.full(5, -1e9), y[5:]]), 10)
    # ... and once they fill a tail, that end is unbounded
    y[:15] = np.nan
    assert fitting.Bootstrap({"v": y}, 101, 0).interval("v", 0.8) == (-np.inf, np.inf)


def test_isoflop_bootstrap_keeps_every_resample_where_resampling_the_runs_would_lose_most():
    c, n, d, loss = isoflop_runs(TRUE, BUDGETS, sizes_per_budget=4, spread=3.0, noise=0.003, seed=3)
    boot = fitting.bootstrap_isoflop(c, n, d, loss, n_boot=60, seed=0)
    assert boot.n_boot == 60 and boot.n_no_minimum == 0
    for key in ("a", "b", "E", "gamma"):
        assert len(boot.samples[key]) == 60 and np.all(np.isfinite(boot.samples[key]))
    # resampling four runs per budget with replacement leaves fewer than three distinct sizes at
    # some budget in most resamples: keeping only the others would select on the data
    rng = np.random.default_rng(0)
    groups = [np.flatnonzero(c == b) for b in BUDGETS]
    usable = np.mean([all(len(set(rng.choice(g, len(g)))) >= 3 for g in groups) for _ in range(2000)])
    assert usable < 0.2


def test_isoflop_bootstrap_counts_a_curve_without_minimum_and_leaves_the_interval_unbounded():
    c, n, d, loss = isoflop_runs(TRUE, BUDGETS, sizes_per_budget=5, spread=3.0, noise=0.002, seed=0)
    at = c == BUDGETS[-1]
    x = np.log(n[at])
    loss = loss.copy()
    # at the largest budget a curve barely bent, and runs scattered about it far more than that
    loss[at] = loss[at].min() + 1e-3 * (x - x.mean()) ** 2 + 0.003 * np.array([1, -4, 6, -4, 1])
    assert fitting.fit_parabola(n[at], loss[at]).c2 > 0  # the runs themselves have a minimum
    boot = fitting.bootstrap_isoflop(c, n, d, loss, n_boot=100, seed=0)
    assert boot.n_boot == 100 and boot.n_no_minimum == np.isnan(boot.samples["a"]).sum()
    assert boot.n_no_minimum > 20  # not dropped: counted, and ...
    assert boot.interval("a", 0.8) == (-np.inf, np.inf)  # ... they leave a not pinned down


def test_isoflop_bootstrap_intervals_cover_the_truth_about_as_often_as_they_say():
    # Synthetic sweeps of the page's shape (5 budgets, 5 sizes each, 0.3% noise): the 80%
    # intervals of a and of the frontier's floor should hold what approach 2 gives on exact runs
    # of the same design (its target: the parabola is an approximation) in about 80% of sweeps.
    c, n, d, exact = isoflop_runs(TRUE, BUDGETS, sizes_per_budget=5, spread=3.0)
    target = fitting.fit_isoflop(c, n, d, exact)
    truth = {"a": target.n_opt.exponent, "E": target.frontier.E}
    sweeps = 30
    hits = {k: 0 for k in truth}
    for seed in range(sweeps):
        *_, loss = isoflop_runs(TRUE, BUDGETS, sizes_per_budget=5, spread=3.0, noise=0.003, seed=100 + seed)
        boot = fitting.bootstrap_isoflop(c, n, d, loss, n_boot=100, seed=seed)
        for key, value in truth.items():
            lo, hi = boot.interval(key, 0.8)
            hits[key] += lo <= value <= hi
    for key in truth:  # 30 sweeps: 80% ± 2.5 standard errors of 7%
        assert 0.6 <= hits[key] / sweeps <= 0.97, (key, hits[key])


def test_every_fitted_floor_lies_below_the_best_run_whatever_the_true_floor():
    # "E < best run" holds by construction: it brackets nothing about the true floor
    rng = np.random.default_rng(1)
    for _ in range(6):
        law = ParametricLaw(
            E=rng.uniform(0.5, 3.0), A=10 ** rng.uniform(1, 3), B=10 ** rng.uniform(1.5, 3.5), alpha=0.45, beta=0.5
        )
        c, n, d, loss = isoflop_runs(law, np.geomspace(1e13, 1e16, 5), spread=3.0, noise=0.003, seed=0)
        assert fitting.fit_law(n, d, loss, n_starts=5).law.E < loss.min()
        minima = [fitting.fit_parabola(n[c == b], loss[c == b]).min_loss for b in np.unique(c)]
        assert fitting.fit_loss_frontier(np.unique(c), minima).E <= min(minima)


def test_loss_frontier_reaches_the_least_squares_optimum_of_a_general_solver():
    from scipy import optimize

    budgets = np.geomspace(1e12, 1e14, 5)
    x = np.log(budgets / budgets[0])
    rng = np.random.default_rng(4)
    for _ in range(20):
        y = 1.2 + rng.uniform(0.02, 0.3) * np.exp(-rng.uniform(0.1, 2.0) * x) + rng.normal(0, 0.005, 5)
        front = fitting.fit_loss_frontier(budgets, y)
        ours = np.sum((front(budgets) - y) ** 2)
        for e0 in np.linspace(0, y.min(), 4, endpoint=False):
            for g0 in (0.2, 1.0):
                ref = optimize.least_squares(
                    lambda t, y=y: t[0] + np.exp(t[1] - t[2] * x) - y,
                    (e0, np.log(max(y[0] - e0, 1e-6)), g0),
                    bounds=([0, -30, 1e-4], [y.min(), 10, 10]),
                )
                assert ours <= 2 * ref.cost * (1 + 1e-6) + 1e-15
        assert 0 <= front.E <= y.min()


def test_loss_frontier_needs_four_budgets_and_keeps_its_floor_below_the_losses():
    with pytest.raises(ValueError, match="at least 4 budgets"):
        fitting.fit_loss_frontier([1e12, 2e12, 4e12], [2.0, 1.9, 1.85])
    with pytest.raises(ValueError, match="same length"):
        fitting.fit_loss_frontier([1e12, 2e12, 4e12, 8e12], [2.0, 1.9])
    # losses still falling fast: the floor may not rise above the lowest of them
    front = fitting.fit_loss_frontier([1e12, 2e12, 4e12, 8e12], [3.0, 2.5, 2.1, 1.8])
    assert 0 <= front.E <= 1.8


def test_bracketed_budgets_keep_only_those_whose_best_run_is_inside_the_window():
    budgets = [1, 1, 1, 2, 2, 2, 3, 3, 3]
    sizes = [10, 20, 40, 10, 20, 40, 10, 20, 40]
    losses = [
        2.0,
        2.1,
        2.2,  # best at the smallest size: the optimum lies below the window
        2.0,
        1.9,
        2.0,  # bracketed
        2.0,
        1.9,
        1.8,
    ]  # best at the largest size
    assert fitting.bracketed_budgets(budgets, sizes, losses) == [2.0]
    with pytest.raises(ValueError, match="one value per run"):
        fitting.bracketed_budgets(budgets[:-1], sizes, losses)


def test_leave_one_budget_out_refits_without_each_budget_in_turn():
    c, n, d, loss = isoflop_runs(TRUE, BUDGETS)
    fits = fitting.leave_one_budget_out(c, n, d, loss)
    assert sorted(fits) == sorted(set(c))
    for budget, fit in fits.items():
        assert fit.n_runs == np.sum(c != budget)
        # exact runs from one law: any four budgets recover its floor
        assert fit.law.E == pytest.approx(TRUE.E, rel=0.01)


def test_leave_one_budget_out_refits_reach_the_best_basin_on_the_stored_sweep():
    # From 20 grid starts alone, leaving out 6.4e12 FLOPs stopped in a worse basin (E = 0.98);
    # starting also from the full fit must reach what a 200-start search reaches.
    from llmscale import experiments

    runs = isoflop_sweep.run_columns(experiments.load("isoflop-sweep"))
    fits = fitting.leave_one_budget_out(runs["budget"], runs["n_params"], runs["tokens"], runs["val_loss"])
    keep = runs["budget"] != 6.4e12
    thorough = fitting.fit_law(runs["n_params"][keep], runs["tokens"][keep], runs["val_loss"][keep], n_starts=200)
    assert fits[6.4e12].objective <= thorough.objective * (1 + 1e-9)
    assert fits[6.4e12].law.E == pytest.approx(thorough.law.E, abs=1e-3)
