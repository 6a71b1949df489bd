"""The claims ledger and the exercise checkers."""

import pytest

from llmscale import claims, exercises
from llmscale.claims import VERDICTS, verdict


def test_every_claim_has_the_ledger_fields_and_a_valid_verdict():
    records = claims.evaluate()
    assert len({r.id for r in records}) == len(records)
    for r in records:
        assert r.verdict in VERDICTS
        assert r.seed.endswith(".txt") and r.claim and r.unit and r.note
        if r.verdict not in ("unverifiable", "out of scope"):
            assert r.computed is not None


def test_growth_claims_verdicts():
    by_id = {r.id: r for r in claims.evaluate(seed="002_ec05182d8266db35.txt")}
    assert by_id["growth-gpt3-compute"].verdict == "inconsistent"
    assert by_id["growth-gpt3-compute"].computed == pytest.approx(3.14e23, rel=0.01)
    assert by_id["growth-context-gpt3"].computed == 2048
    assert by_id["growth-gpt2-layers"].computed == 48
    assert by_id["growth-params-gpt3"].verdict == "consistent"
    # 400B is the filtered Common Crawl set (Table 2.2: 410B), not the 300B tokens trained on
    tokens = by_id["growth-gpt3-tokens"]
    assert (tokens.computed, tokens.basis, tokens.verdict) == (410e9, "primary-source", "consistent")
    assert "300B" in tokens.note and "180B" in tokens.note
    # the paper's 65M is the reference; the book's count (63.1M) is in the note and decides the factor
    transformer = by_id["growth-params-transformer"]
    assert (transformer.computed, transformer.basis, transformer.verdict) == (65e6, "primary-source", "consistent")
    assert "63.1M" in transformer.note
    factor = by_id["growth-params-factor"]
    assert factor.claimed == 2700 and factor.rel_tol == claims.tolerance(2700)  # the two digits of "65M"
    assert factor.computed == pytest.approx(2768, abs=1) and factor.verdict == "inconsistent"
    comparable = by_id["growth-gpt2-gpt3-comparable"]
    assert comparable.kind == "bound" and comparable.computed > 100 and comparable.verdict == "inconsistent"
    doubled = by_id["growth-gpt3-double-layers"]
    assert doubled.computed == 2 and doubled.verdict == "consistent"
    assert by_id["growth-context-transformer"].verdict == "unverifiable"
    counts = claims.counts(by_id.values())
    assert (counts["consistent"], counts["inconsistent"], counts["unverifiable"]) == (9, 5, 1)


def test_seed_files_named_in_the_ledger_exist():
    from pathlib import Path

    seeds = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
    if not seeds.exists():
        pytest.skip("shared/seeds is not beside this checkout")
    for r in claims.evaluate():
        assert (seeds / r.seed).exists(), r.seed


# --- the ledger's rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "figure,digits,expected",
    [
        (175e9, 3, 0.5e9 / 175e9),  # "175B": ±0.5B
        (1.8e12, 2, 0.05e12 / 1.8e12),  # "1.8 trillion": ±0.05T
        (25_000, 2, 500 / 25_000),  # "25,000": trailing zeros of a whole number are not significant
        (0.447, 3, 0.0005 / 0.447),  # "44.7%"
        (14.8, 3, 0.05 / 14.8),
        (96, 2, 0.5 / 96),
        (6, 1, 0.5 / 6),
    ],
)
def test_the_tolerance_is_half_a_unit_of_the_last_stated_digit(figure, digits, expected):
    assert claims.stated_digits(figure) == digits
    assert claims.tolerance(figure) == pytest.approx(expected, rel=1e-12)


def test_digits_override_the_figures_own_and_bad_input_is_named():
    assert claims.tolerance(3700 / 560, digits=2) == pytest.approx(0.05 / 6.6, rel=0.01)
    assert claims.round_to_digits(175e9 / 65e6, 2) == 2700.0  # a ratio the book forms, at the article's digits
    with pytest.raises(ValueError, match="digits"):
        claims.tolerance(10.0, digits=0)
    with pytest.raises(ValueError, match="figure"):
        claims.tolerance(0.0)


def test_every_tolerance_in_the_ledger_comes_from_the_one_rule():
    # register() takes no tolerance: each record's rel_tol is the rule applied to its figure
    # at the digits the article states, and only single figures have one.
    import inspect

    assert "rel_tol" not in inspect.signature(claims.register).parameters
    for r in claims.evaluate():
        spec = claims._REGISTRY[r.id]
        if r.kind == "figure":
            assert r.rel_tol == claims.tolerance(r.claimed, spec.digits), r.id
        else:
            assert r.rel_tol is None, r.id


@pytest.mark.parametrize(
    "claimed,computed,kwargs,expected",
    [
        (175e9, 174.6e9, {}, "consistent"),  # rounds to 175B
        (175e9, 174.4e9, {}, "inconsistent"),  # rounds to 174B: the article's precision is tighter
        (2.14e23, 3.14e23, {}, "inconsistent"),
        (1, None, {}, "unverifiable"),
        (1, 2, {"basis": "none"}, "unverifiable"),
        (16, 16, {"basis": "from-claim"}, "assumed"),  # checked against itself: never consistent
        ((90, 100), 95.2, {}, "consistent"),
        ((90, 100), 89.9, {}, "inconsistent"),
        (10, 13.4, {"bound": ">"}, "consistent"),
        (10, 9.9, {"bound": ">"}, "inconsistent"),  # a bound is a bound: no tolerance widens it
        (5, 5, {"bound": ">="}, "consistent"),
        (5, 5, {"bound": ">"}, "inconsistent"),
        (True, 1.0, {}, "consistent"),
        (True, 0.0, {}, "inconsistent"),
        (None, None, {"basis": "none", "out_of_scope": True}, "out of scope"),
    ],
)
def test_verdict_rule(claimed, computed, kwargs, expected):
    assert verdict(claimed, computed, **kwargs) == expected


def test_no_consistent_verdict_rests_on_the_claims_own_figure():
    records = claims.evaluate()
    for r in records:
        assert r.basis in claims.BASES, r.id
        if r.basis == "from-claim":
            assert r.verdict == "assumed", r.id
        if r.verdict == "consistent":
            assert r.basis in ("derived", "primary-source"), r.id
    assert any(r.verdict == "assumed" for r in records), "the GPT-4 preset's inputs are assumptions"


def test_out_of_scope_claims_compute_nothing_and_leave_the_page_tables():
    records = claims.evaluate()
    hidden = [r for r in records if r.verdict == "out of scope"]
    assert hidden, "policies, opinions and forecasts are out of scope"
    for r in hidden:
        assert r.computed is None and r.basis == "none" and r.note, r.id
    for page in {r.page for r in hidden}:
        own = claims.evaluate(page=page)
        text = claims.page_markdown(own)
        table, _, collapsed = text.partition("<details>")
        for r in own:
            if r.verdict == "out of scope":
                assert f"`{r.id}`" not in table and f"`{r.id}`" in collapsed
            else:
                assert f"`{r.id}`" in table


def test_registering_a_bad_claim_names_the_field():
    ok = dict(seed=claims.SEEDS[0], claim="c", unit="u")
    with pytest.raises(ValueError, match="basis"):
        claims.register("t-basis", claimed=1.0, basis="guess", **ok)
    with pytest.raises(ValueError, match="bound"):
        claims.register("t-bound", claimed=1.0, basis="derived", bound="~", **ok)
    with pytest.raises(ValueError, match="range"):
        claims.register("t-range", claimed=(3.0, 1.0), basis="derived", **ok)
    with pytest.raises(ValueError, match="figure"):
        claims.register("t-zero", claimed=0.0, basis="derived", **ok)
    with pytest.raises(ValueError, match="out-of-scope"):
        claims.register("t-scope", claimed=None, basis="derived", out_of_scope=True, **ok)


def test_the_ledger_table_shows_tolerance_and_basis():
    records = claims.evaluate(page="scaling/parameter_growth")
    text = claims.table(records)
    header = text.splitlines()[0]
    assert "tolerance" in header and "basis" in header
    by_id = {r.id: r for r in records}
    assert "±0.29%" in claims.format_tolerance(by_id["growth-params-gpt3"])


def test_the_ledger_html_filters_carry_every_claim():
    records = claims.evaluate()
    page = claims.ledger_html(records)
    assert page.count('<tr id="claim-') == len(records)
    for v in claims.VERDICTS:
        assert f'data-verdict="{v}"' in page or v not in {r.verdict for r in records}
    assert "http" not in page  # self-contained: nothing fetched


def test_duplicate_claim_id_is_refused():
    claims.evaluate(page="scaling/parameter_growth")
    with pytest.raises(ValueError, match="registered twice"):
        claims.register("growth-layers-gpt3", "x.txt", "dup", 1, "x", basis="derived")(lambda: (1, ""))


@pytest.mark.parametrize("exercise_id", exercises.ids())
def test_check_accepts_the_expected_answer_and_rejects_a_wrong_one(exercise_id, capsys):
    truth = exercises.expected(exercise_id)
    assert exercises.check(exercise_id, truth)
    assert "✓" in capsys.readouterr().out
    ex = exercises.describe(exercise_id)
    wrong = next(k for k in ex.options if k != truth) if ex.is_choice else truth * 1.2
    assert not exercises.check(exercise_id, wrong)
    assert "Hint" in capsys.readouterr().out


def test_unknown_exercise_and_non_numeric_answer_are_clear_errors():
    with pytest.raises(ValueError, match="unknown exercise"):
        exercises.check("nope", 1)
    numeric = next(i for i in exercises.ids() if not exercises.describe(i).is_choice)
    with pytest.raises(ValueError, match="must be a finite number"):
        exercises.check(numeric, "lots")


def test_every_page_asks_the_reader_to_reason_at_least_once():
    from llmscale import pages

    for page in pages.names():
        kinds = {exercises.describe(i).kind for i in exercises.ids(page=page)}
        assert kinds - {"apply"}, f"{page}: add an exercise that asks to derive, predict or modify"


def test_a_choice_exercise_takes_a_label_and_names_the_labels_otherwise():
    choice = [i for i in exercises.ids() if exercises.describe(i).is_choice]
    assert choice, "at least one exercise is a choice among labelled options"
    ex = exercises.describe(choice[0])
    assert exercises.expected(ex.id) in ex.options
    with pytest.raises(ValueError, match="one of the labels"):
        exercises.check(ex.id, "zz")
