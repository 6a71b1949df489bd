"""The distillation page's helpers: DistilBERT's figures, the gap and interval helpers, the
equal-total-compute reading of the stored curves, and the large-T gradient of the soft term."""

import copy

import pytest

from llmscale import claims, exercises
from llmscale.pages.compression import distillation as pg


def test_distilbert_abstract_figures_follow_from_its_tables():
    m = pg.distilbert_measures()
    assert m["smaller"] == pytest.approx(1 - 66 / 110)
    assert m["retained"] == pytest.approx(77.0 / 79.5)
    assert m["faster"] == pytest.approx(668 / 410 - 1)
    assert m["time_saved"] == pytest.approx(1 - 410 / 668)
    assert m["gap_over_elmo"] == pytest.approx((77.0 - 68.7) / (79.5 - 68.7))
    # "60% faster" is the throughput ratio (63%), not the time saved (39%)
    assert pg.rounds_to(m["faster"], 0.6) and not pg.rounds_to(m["time_saved"], 0.6)
    assert pg.rounds_to(m["smaller"], 0.4) and pg.rounds_to(m["retained"], 0.97, digits=2)


def test_gap_closed_is_zero_at_scratch_one_at_teacher_and_refuses_no_gap():
    assert pg.gap_closed(3.0, 3.0, 2.0) == 0.0
    assert pg.gap_closed(3.0, 2.0, 2.0) == 1.0
    assert pg.gap_closed(3.0, 2.75, 2.0) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="teacher_loss"):
        pg.gap_closed(2.0, 1.9, 2.5)


def test_interval_half_width_is_students_t_and_zero_test_is_two_sided():
    iv = pg.interval([1.0, 2.0, 3.0])
    assert iv["mean"] == 2.0 and iv["half_width"] == pytest.approx(4.302653 * 1.0 / 3**0.5, rel=1e-5)
    assert pg.excludes_zero({"mean": 0.5, "half_width": 0.4})
    assert pg.excludes_zero({"mean": -0.5, "half_width": 0.4})
    assert not pg.excludes_zero({"mean": 0.3, "half_width": 0.4})
    with pytest.raises(ValueError, match="two seeds"):
        pg.interval([1.0])


def test_stored_intervals_and_gains_are_recomputed_from_the_runs():
    data = pg.stored()
    for lang in pg.LANGUAGES:
        for method in pg.METHODS:
            runs = pg.main_runs(lang, method, data)
            assert [r["seed"] for r in runs] == [0, 1, 2]
            iv = pg.interval([r["val_loss"] for r in runs])
            assert iv["mean"] == pytest.approx(data[lang][method]["mean"], abs=1e-12)
            assert iv["half_width"] == pytest.approx(data[lang][method]["half_width"], abs=1e-12)
        assert pg.paired_gain(lang, data)["mean"] == pytest.approx(data[lang]["gain"]["mean"], abs=1e-12)


def test_paired_gain_notices_a_missing_seed():
    data = copy.deepcopy(pg.stored())
    data["markov"]["runs"] = [r for r in data["markov"]["runs"] if not (r["method"] == "scratch" and r["seed"] == 2)]
    with pytest.raises(ValueError, match="seeds"):
        pg.paired_gain("markov", data)


def test_first_step_at_or_below_and_the_compute_to_match():
    assert pg.first_step_at_or_below([25, 50, 75], [3.0, 2.5, 2.0], 2.5) == 50
    assert pg.first_step_at_or_below([25, 50, 75], [3.0, 2.5, 2.0], 1.0) is None
    with pytest.raises(ValueError, match="eval_loss"):
        pg.first_step_at_or_below([25, 50], [3.0], 2.0)
    data = pg.stored()
    overhead = pg.teacher_overhead("markov", data)
    fwd = data["markov"]["teacher"]["forward_flops_per_token"] / data["markov"]["student"]["train_flops_per_token"]
    assert overhead == pytest.approx(fwd)
    for row in pg.compute_to_match("markov", data):
        assert row["total_compute_ratio"] == pytest.approx(row["step"] * (1 + overhead) / 300)


def test_a_curve_that_never_matches_gives_no_ratio():
    data = copy.deepcopy(pg.stored())
    for r in data["english"]["runs"]:
        if r["method"] == "distilled":
            r["eval_loss"] = [9.0] * len(r["eval_loss"])
    assert all(
        row["step"] is None and row["total_compute_ratio"] is None for row in pg.compute_to_match("english", data)
    )


def test_total_compute_factor_is_one_plus_a_third_of_the_size_ratio():
    assert pg.total_compute_factor(3.0, 1.0) == pytest.approx(2.0)
    assert pg.total_compute_factor(110e6, 66e6) == pytest.approx(1 + 110 / 198)
    with pytest.raises(ValueError, match="student_params"):
        pg.total_compute_factor(1.0, 0.0)


def test_the_soft_gradient_tends_to_logit_matching_at_large_temperature():
    limit = [(z - v) / 4 for z, v in zip(pg.GRAD_STUDENT, pg.GRAD_TEACHER)]
    for i, expected in enumerate(limit):
        assert pg.soft_gradient(1e4, i) == pytest.approx(expected, rel=1e-3)
    assert pg.soft_gradient(1.0) != pytest.approx(limit[0], rel=0.05)
    assert exercises.check("distillation-2", limit[0], quiet=True)


def test_entropy_of_uniform_and_refusal_of_a_non_distribution():
    assert pg.entropy_nats([0.25] * 4) == pytest.approx(1.3862943611)
    with pytest.raises(ValueError, match="probs"):
        pg.entropy_nats([0.5, 0.6])


def test_book_measures_and_the_claims_verdicts():
    markov = pg.book_measures("markov")
    assert 0 < markov["excess_ratio"] < markov["loss_ratio"] < 1
    assert pg.book_measures("english")["excess_ratio"] is None
    holds, closed = pg.students_similar()
    assert closed["markov"] > pg.SIMILAR > closed["english"] and not holds
    by_id = {r.id: r for r in claims.evaluate(page="compression/distillation")}
    assert by_id["distill-distilbert-similar-cheaper"].verdict == "consistent"
    assert by_id["distill-book-students-similar"].verdict == "inconsistent"
    assert all(i.startswith("distill-") for i in by_id)
