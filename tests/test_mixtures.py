"""Mixture arithmetic, Muennighoff et al.'s effective data, and the Data page's claims."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscale import claims, data, presets
from llmscale.config import ModelConfig
from llmscale.scaling import laws, mixtures, repetition

LAW = mixtures.MUENNIGHOFF


# --- Muennighoff et al. 2023 ----------------------------------------------------------------


def test_data_constrained_law_reproduces_the_authors_predictions():
    # The authors' README ("Parametric Fit") prints these for the two models of their Figure 1.
    assert LAW.loss(6.34e9, 242e9, 25e9) == pytest.approx(2.2256440889984477, rel=1e-12)
    assert LAW.loss(8.67e9, 178e9, 25e9) == pytest.approx(2.2269634075087867, rel=1e-12)


def test_data_constrained_law_is_chinchilla_form_without_repetition():
    n, d = 1e8, 5e9
    assert n < LAW.optimal_params(d)  # no excess parameters either
    plain = LAW.E + LAW.A / n**LAW.alpha + LAW.B / d**LAW.beta
    assert LAW.loss(n, d, d) == pytest.approx(plain, rel=1e-12)
    assert LAW.loss(n, d, 10 * d) == pytest.approx(plain, rel=1e-12)  # unused unique data is free


def test_effective_tokens_is_the_tokens_seen_up_to_one_epoch():
    assert mixtures.effective_tokens(1e9, 1e9) == 1e9
    assert mixtures.effective_tokens(3e8, 1e9) == 3e8
    assert mixtures.repeat_value(0.5) == 1.0


@settings(max_examples=200, deadline=None)
@given(
    unique=st.floats(1e3, 1e13), epochs=st.floats(1.0, 1e4), more=st.floats(1.001, 3.0), r_star=st.floats(0.5, 100.0)
)
def test_effective_tokens_grow_with_repeats_but_never_beyond_the_asymptote(unique, epochs, more, r_star):
    d_eff = mixtures.effective_tokens(epochs * unique, unique, r_star)
    assert d_eff <= epochs * unique * (1 + 1e-12)
    assert d_eff <= unique * (1 + r_star) * (1 + 1e-12)
    assert mixtures.effective_tokens(more * epochs * unique, unique, r_star) >= d_eff


def test_a_few_repeats_are_almost_as_good_as_fresh_data_and_many_are_not():
    # Muennighoff et al.: up to ~4 epochs change the loss negligibly; returns vanish by ~40.
    assert mixtures.repeat_value(2) > 0.98
    assert 0.9 < mixtures.repeat_value(4) < 0.95
    assert mixtures.repeat_value(40) < 0.4
    assert mixtures.effective_tokens(1e6 * 1e9, 1e9) == pytest.approx((1 + LAW.rd_star) * 1e9, rel=1e-9)


def test_epoch_values_add_up_to_the_effective_tokens():
    values = [mixtures.epoch_value(k) for k in range(1, 11)]
    assert values[0] == 1.0 and all(a > b for a, b in zip(values, values[1:]))
    assert sum(values) == pytest.approx(mixtures.effective_tokens(10, 1.0), rel=1e-12)


def test_marginal_value_is_the_derivative_of_the_effective_tokens():
    u, h = 1e9, 1e3
    for e in (1.5, 4.0, 22.0, 100.0):
        d = e * u
        slope = (mixtures.effective_tokens(d + h, u) - mixtures.effective_tokens(d - h, u)) / (2 * h)
        assert mixtures.marginal_value(e) == pytest.approx(slope, rel=1e-5)
    assert mixtures.marginal_value(0.5) == 1.0 and mixtures.marginal_value(1.0) == 1.0


@pytest.mark.parametrize("fraction", [0.9, 0.25, 0.01])
def test_epochs_at_marginal_value_is_one_plus_r_star_log_of_the_inverse(fraction):
    assert mixtures.epochs_at_marginal_value(fraction) == pytest.approx(1 + LAW.rd_star * math.log(1 / fraction))
    half = mixtures.epochs_at_marginal_value(fraction, r_star=LAW.rd_star / 2)
    assert half - 1 == pytest.approx((mixtures.epochs_at_marginal_value(fraction) - 1) / 2)


@pytest.mark.parametrize("fraction", [0.9, 0.5, 0.2])
def test_epochs_at_value_inverts_repeat_value(fraction):
    e = mixtures.epochs_at_value(fraction)
    assert e > 1 and mixtures.repeat_value(e) == pytest.approx(fraction, rel=1e-8)


def test_effective_params_discount_parameters_beyond_the_optimal_size():
    u = LAW.optimal_params(25e9)
    assert LAW.effective_params(u / 2, 25e9) == pytest.approx(u / 2)
    assert u < LAW.effective_params(3 * u, 25e9) < 3 * u


# --- Mixture arithmetic -----------------------------------------------------------------------


def test_source_tokens_normalise_rounded_weights():
    d = mixtures.source_tokens([0.60, 0.22, 0.08, 0.08, 0.03], 300e9)
    assert d.sum() == pytest.approx(300e9)
    assert d[0] == pytest.approx(0.60 / 1.01 * 300e9)


def test_llama_table1_arithmetic():
    m = mixtures.published_mixture("llama")
    assert m.weight_sum == pytest.approx(1.0)
    assert m.tokens().sum() == pytest.approx(1.4e12)
    assert m.get("common_crawl", "unique_tokens") == pytest.approx(0.67 * 1.4e12 / 1.10)
    assert m.get("wikipedia", "unique_tokens") == pytest.approx(0.045 * 1.4e12 / 2.45)
    assert m.total_unique_tokens() == pytest.approx(1.2634e12, rel=1e-4)
    assert m.public_share() == pytest.approx(1.0)


def test_llama_table1_is_self_consistent_on_web_text():
    # CommonCrawl and C4 are both filtered English web pages: the table's weights, epochs and
    # disk sizes must give them the same bytes per token if the three columns agree.
    m = mixtures.published_mixture("llama")
    cc, c4 = m.get("common_crawl", "bytes_per_token"), m.get("c4", "bytes_per_token")
    assert abs(cc / c4 - 1) < 0.05
    assert np.all((m.bytes_per_token() > 2.5) & (m.bytes_per_token() < 4.5))


def test_gpt3_table22_epochs_agree_with_weights_except_webtext2_and_wikipedia():
    g = mixtures.published_mixture("gpt3")
    implied, printed = g.implied_epochs(), np.asarray(g.epochs)
    off = implied / printed - 1
    ok = {k: abs(o) < 0.05 for k, o in zip(g.sources, off)}
    assert ok == {"common_crawl": True, "webtext2": False, "books1": True, "books2": True, "wikipedia": False}
    assert g.public_share() == pytest.approx((0.60 + 0.03) / 1.01)


def test_gpt4_unique_tokens_are_half_to_a_quarter_of_its_13t():
    d = presets.preset("gpt4-reported").train_tokens
    assert mixtures.mixture_unique_tokens(d, [1.0, 0.0], [2, 4]) == pytest.approx(d / 2)
    assert mixtures.mixture_unique_tokens(d, [0.0, 1.0], [2, 4]) == pytest.approx(d / 4)


# --- Clear errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: mixtures.source_tokens([67, 33], 1e12), "percent"),
        (lambda: mixtures.source_tokens([0.5, 0.2], 1e12), "sum to"),
        (lambda: mixtures.source_tokens([[0.5, 0.5]], 1e12), "one weight per source"),
        (lambda: mixtures.unique_tokens(1e9, 0), "epochs"),
        (lambda: mixtures.unique_tokens(-1, 2), "tokens"),
        (lambda: mixtures.mixture_unique_tokens(1e12, [0.5, 0.5], [1, 2, 3]), "one epoch count per source"),
        (lambda: mixtures.effective_tokens(1e9, 1e8, r_star=0), "r_star"),
        (lambda: mixtures.effective_params(1e9, 2e9), "unique_params"),
        (lambda: mixtures.epoch_value(0), "k >= 1"),
        (lambda: mixtures.epochs_at_value(1.5), "fraction"),
        (lambda: mixtures.epochs_at_marginal_value(0), "fraction"),
        (lambda: mixtures.marginal_value(4, r_star=-1), "r_star"),
        (lambda: mixtures.published_mixture("gpt4"), "choose 'llama' or 'gpt3'"),
        (lambda: mixtures.published_mixture("llama").get("reddit", "epochs"), "unknown source"),
        (lambda: mixtures.published_mixture("llama").implied_epochs(), "dataset_tokens"),
        (lambda: mixtures.Mixture("x", 1e9, ("a", "b"), ("A", "B"), (0.5, 0.5), (1.0,)), "epochs has 1"),
    ],
)
def test_bad_input_is_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- The live run -----------------------------------------------------------------------------


def _tiny():
    corpus = data.load_corpus("markov", n_tokens=20_000, order=1, seed=0)
    cfg = ModelConfig(
        n_layers=1,
        d_model=16,
        n_heads=2,
        vocab_size=corpus.vocab_size,
        seq_len=16,
        ffn="gelu",
        norm="layernorm",
        pos="learned",
        bias=True,
    )
    return corpus, cfg


def test_repetition_runs_shrink_the_pool_not_the_budget_and_are_deterministic():
    corpus, cfg = _tiny()
    kw = dict(epochs=(1, 4), steps=10, batch_size=4, eval_batches=2)
    runs = repetition.repetition_runs(cfg, corpus.train, corpus.val, **kw)
    budget = 10 * 4 * cfg.seq_len
    assert [r.tokens for r in runs] == [budget, budget]
    assert [r.unique_tokens for r in runs] == [budget + cfg.seq_len, budget // 4 + cfg.seq_len]
    again = repetition.repetition_runs(cfg, corpus.train, corpus.val, **kw)
    assert [r.val_loss for r in runs] == [r.val_loss for r in again]
    assert all(math.isfinite(r.val_loss) for r in runs)


def test_repetition_seeds_differ_by_seed_and_over_seeds_pairs_each_seed_with_its_fresh_run():
    corpus, cfg = _tiny()
    kw = dict(epochs=(1, 4), steps=10, batch_size=4, eval_batches=2)
    by_seed = repetition.repetition_seeds(cfg, corpus.train, corpus.val, seeds=(0, 1, 2), **kw)
    assert list(by_seed) == [0, 1, 2]
    assert [r.val_loss for r in by_seed[0]] == [
        r.val_loss for r in repetition.repetition_runs(cfg, corpus.train, corpus.val, seed=0, **kw)
    ]
    assert len({by_seed[s][0].val_loss for s in by_seed}) == 3  # a seed changes the run
    loss = repetition.over_seeds(by_seed)
    gap = repetition.over_seeds(by_seed, relative_to=1)
    assert [s.epochs for s in loss] == [1.0, 4.0] and all(s.n == 3 for s in loss)
    assert gap[0].values == (0.0, 0.0, 0.0)
    paired = [by_seed[s][1].val_loss - by_seed[s][0].val_loss for s in (0, 1, 2)]
    assert gap[1].mean == pytest.approx(np.mean(paired)) and gap[1].std == pytest.approx(np.std(paired, ddof=1))


def test_over_seeds_gives_the_students_t_interval():
    s = repetition.OverSeeds(4.0, (1.0, 2.0, 3.0))
    assert (s.mean, s.std) == (2.0, 1.0)
    assert s.half_width == pytest.approx(4.302652729911275 / math.sqrt(3))  # t(0.975, 2)
    assert s.low < s.mean < s.high


def test_repetition_seeds_and_over_seeds_refuse_bad_input():
    corpus, cfg = _tiny()
    with pytest.raises(ValueError, match="seeds="):
        repetition.repetition_seeds(cfg, corpus.train, corpus.val, seeds=(0,), steps=2, batch_size=2)
    with pytest.raises(ValueError, match="not seed="):
        repetition.repetition_seeds(cfg, corpus.train, corpus.val, seed=0, steps=2, batch_size=2)
    run = repetition.RepetitionRun(1.0, 10, 10, 1.0, 1.0)
    with pytest.raises(ValueError, match="at least two"):
        repetition.over_seeds({0: [run]})
    with pytest.raises(ValueError, match="quantity"):
        repetition.over_seeds({0: [run], 1: [run]}, quantity="loss")
    with pytest.raises(ValueError, match="relative_to"):
        repetition.over_seeds({0: [run], 1: [run]}, relative_to=2)


def test_repetition_runs_refuse_a_pool_smaller_than_one_epoch():
    corpus, cfg = _tiny()
    with pytest.raises(ValueError, match="pass more tokens"):
        repetition.repetition_runs(cfg, corpus.train[:100], corpus.val, epochs=(1,), steps=10, batch_size=4)
    with pytest.raises(ValueError, match=">= 1"):
        repetition.repetition_runs(cfg, corpus.train, corpus.val, epochs=(0.5,), steps=10, batch_size=4)


# --- Claims -----------------------------------------------------------------------------------


def test_data_claims_verdicts():
    by_id = {r.id: r for r in claims.evaluate(page="scaling/data")}
    assert len(by_id) == 23
    expected = {
        "consistent": {
            "data-llama-public-only",
            "data-others-private",
            "data-llama-tokens-65b-33b",
            "data-llama-tokens-7b",
            "data-llama-mixture",
            "data-llama-wikipedia-epochs",
            "data-llama-books-epochs",
            "data-llama-rest-once",
            "data-llama-books-177gb",
            "data-diminishing-returns",
            "data-gpt3-sources",
            "data-ligo-datasets",
        },
        "inconsistent": {"data-llama-dataset-size"},
        "out of scope": {"data-cost-drivers", "data-chinese-data-gap", "data-user-opt-out", "data-storage-costs"},
    }
    for verdict, ids in expected.items():
        assert {i for i, r in by_id.items() if r.verdict == verdict} == ids, verdict
    rest = set(by_id) - set().union(*expected.values())
    assert all(by_id[i].verdict == "unverifiable" and by_id[i].basis == "none" for i in rest)
    # yes/no claims are stated as True and computed as yes or no, never as "1 = holds"
    yes_no = [r for r in by_id.values() if r.kind == "yes/no"]
    assert len(yes_no) == 5 and all(r.claimed is True and r.unit == "yes/no" for r in yes_no)
    # "about two" epochs is one significant digit: 2.45 rounds to 2, 2.6 would not
    wiki = by_id["data-llama-wikipedia-epochs"]
    assert wiki.computed == pytest.approx(2.45) and wiki.rel_tol == pytest.approx(0.25)
    assert claims.verdict(2, 2.6) == "inconsistent"
    # the 177GB of Section 3.6 is what Table 1's disk sizes sum to, to the gigabyte
    assert by_id["data-llama-books-177gb"].computed == pytest.approx(177e9, abs=0.5e9)
    # the unique data is 10% short of the 1.4T trained on, beyond the ±0.05T of "1.4T"
    size = by_id["data-llama-dataset-size"]
    assert size.computed < 1.4e12 * (1 - size.rel_tol)
    assert by_id["data-llama-mixture"].rel_tol == pytest.approx(claims.tolerance(0.935))
    assert by_id["data-gpt4-instruction-data"].bound == ">="
    rule = [d / n for n, _, d in laws.HOFFMANN_TABLE3_APPROACH1]
    assert 19.5 < min(rule) and max(rule) < 23
