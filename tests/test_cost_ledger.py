"""The cost-slimming ledger's helpers: distillation FLOPs, half the cost in dollars, a token's
cost, and the grouping of the two articles' claims by theme."""

import math

import pytest

from llmscale import claims, counting, published
from llmscale.pages.compression import cost_ledger as pg


def test_distillation_flops_are_the_teachers_forward_plus_the_students_training():
    d = pg.distillation_cost(100e9, 50e6, 1e12)
    assert d.teacher_flops == pytest.approx(2e23)
    assert d.student_flops == pytest.approx(6 * 50e6 * 1e12)
    assert d.total_flops == pytest.approx(2e23 + 3e20)
    # the ratio is N_T / (3 N_S), whatever the tokens
    for tokens in (1e9, 1e12):
        assert pg.distillation_cost(90e9, 1e9, tokens).teacher_over_student == pytest.approx(30)


def test_the_teacher_is_cheaper_than_the_student_only_above_a_third_of_its_size():
    assert pg.distillation_cost(100e9, 30e9, 1e12).teacher_over_student > 1
    assert pg.distillation_cost(100e9, 40e9, 1e12).teacher_over_student < 1


def test_two_flops_per_parameter_is_a_fair_forward_count_for_a_175b_model():
    from llmscale import presets

    cfg = presets.get("gpt3-175b")
    assert 2.0 <= counting.flops_per_token(cfg) / counting.param_count(cfg) < 2.1


def test_student_for_a_teacher_share_inverts_the_share():
    for share in (0.5, 0.9, 0.99):
        n_s = pg.student_for_teacher_share(100e9, share)
        assert pg.distillation_cost(100e9, n_s, 1e10).teacher_share == pytest.approx(share)
    assert pg.student_for_teacher_share(100e9, 0.9) == pytest.approx(100e9 / 27)


def test_bad_distillation_inputs_name_the_field():
    with pytest.raises(ValueError, match="student_params"):
        pg.distillation_cost(1e9, 2e9, 1e12)
    with pytest.raises(ValueError, match="tokens"):
        pg.distillation_cost(1e11, 1e9, 0)
    with pytest.raises(ValueError, match="share"):
        pg.student_for_teacher_share(1e11, 1.0)


def test_run_dollars_are_gpu_hours_times_the_price():
    hours, usd = pg.run_dollars(312e12 * 0.5 * 3600, "a100", mfu=0.5, dollars_per_gpu_hour=3.0)
    assert hours == pytest.approx(1.0) and usd == pytest.approx(3.0)


def test_half_the_flops_is_half_the_dollars_only_at_equal_utilisation_price_and_a_free_small_model():
    assert pg.dollars_saved(0.5) == pytest.approx(0.5)
    assert pg.dollars_saved(0.5, utilisation=0.8) < 0.5
    assert pg.dollars_saved(0.5, price_ratio=1.2) < 0.5
    assert pg.dollars_saved(0.5, small_model_share=0.3) == pytest.approx(0.2)
    # on the same GPUs dollars follow time: u from (f, t) gives back t
    u = pg.utilisation_ratio(0.447, 0.407)
    assert u == pytest.approx(0.553 / 0.593)
    assert pg.dollars_saved(0.447, u) == pytest.approx(0.407)
    with pytest.raises(ValueError, match="utilisation"):
        pg.dollars_saved(0.4, utilisation=0)


def test_no_published_ligo_case_saves_half_the_dollars():
    cases = pg.ligo_dollar_cases()
    assert max(cases.values()) < 0.5
    assert cases["GPT-2 Medium, small model trained for it"] < 0  # GPT-2 small costs more than LiGO saves
    assert 0.3 < pg.small_model_share() < 0.4


def test_a_token_costs_less_at_larger_batches_and_the_cache_limits_the_batch():
    costs = [pg.cost_per_token(b) for b in (1, 8, 32)]
    assert costs == sorted(costs, reverse=True) and costs[0] < 0.01
    largest = pg.largest_batch()
    pg.cost_per_token(largest)
    with pytest.raises(ValueError, match="batch"):
        pg.cost_per_token(largest + 1)
    # at $3 per A100-hour even the fullest batch of GPT-3 175B costs more than gpt-3.5-turbo's price
    assert pg.cost_per_token(largest) > published.get("serving.gpt35_turbo_api_price").value / 1000


def test_gpt3_energy_reproduces_pattersons_table():
    hours, mwh, homes = pg.gpt3_energy()
    assert hours == pytest.approx(3.546e6, rel=1e-3)
    assert mwh == pytest.approx(published.get("gpt3-175b.energy_mwh").value, rel=0.005)
    assert homes == pytest.approx(mwh * 1000 / 10_715)


def test_every_claim_of_the_two_articles_has_a_theme_and_one_only():
    records = pg.article_claims()
    assert {r.seed for r in records} == set(pg.SEEDS)
    groups = pg.by_theme(records)
    assert sum(len(v) for v in groups.values()) == len(records)
    assert "Other" not in groups
    assert pg.theme_of("cost-palm-energy") == "Energy"
    assert pg.theme_of("grow-anything") == "LiGO and half the cost"
    assert pg.theme_of("quant-int4") == "Compression"
    assert pg.theme_of("cost-gpt3-days") == "Training dollars"
    assert pg.theme_of("unheard-of") == "Other"
    with pytest.raises(ValueError, match="claim_id"):
        pg.theme_of("")


def test_theme_tables_link_other_pages_and_keep_out_of_scope_claims_apart():
    records = pg.article_claims()
    energy = pg.theme_markdown(pg.by_theme(records)["Energy"])
    assert "{doc}`../scaling/training_cost`" in energy and "cost-palm-energy" in energy
    business = pg.by_theme(records)["Business"]
    assert pg.theme_markdown(business) == ""  # all out of scope
    hidden = pg.out_of_scope_markdown(records)
    assert all(r.claim.replace("|", "\\|") in hidden for r in records if r.verdict == "out of scope")
    assert pg.doc_link(pg.HERE) == "this page"


def test_claimed_against_computed_puts_palms_kwh_first():
    data = pg.claimed_vs_computed(pg.article_claims())
    assert data[0][0] == "cost-palm-energy" and data[0][1] == pytest.approx(1.01e6, rel=0.01)
    assert all(r > 0 for _, r, _ in data)


def test_the_pages_verdicts():
    by_id = {r.id: r for r in claims.evaluate(page=pg.HERE)}
    assert all(i.startswith("slim-") for i in by_id)
    assert by_id["slim-distill-100b-compute"].verdict == "consistent"
    assert by_id["slim-token-under-cent"].verdict == "consistent"
    assert by_id["slim-ligo-half-dollars"].verdict == "inconsistent"
    assert math.isclose(by_id["slim-ligo-half-dollars"].computed, 0.225)
    assert by_id["slim-ligo-flops-per-second"].verdict == "inconsistent"
    for i in ("slim-distill-size-gap", "slim-ernie-8-10x", "slim-pangu-sparse", "slim-ernie4-cluster"):
        assert by_id[i].verdict == "unverifiable", i
