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
        if r.verdict != "unverifiable":
            assert r.computed is not None


def test_growth_claims_verdicts():
    by_id = {r.id: r for r in claims.evaluate(seed="002_ec05182d8266db35.txt")}
    assert by_id["growth-gpt3-compute"].verdict == "inconsistent"
    assert by_id["growth-gpt3-compute"].computed == pytest.approx(3.14e23, rel=0.01)
    assert by_id["growth-context-gpt3"].computed == 2048
    assert by_id["growth-gpt2-layers"].computed == 48
    assert by_id["growth-params-gpt3"].verdict == "consistent"


def test_seed_files_named_in_the_ledger_exist():
    from pathlib import Path

    seeds = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
    if not seeds.exists():
        pytest.skip("shared/seeds is not beside this checkout")
    for r in claims.evaluate():
        assert (seeds / r.seed).exists(), r.seed


@pytest.mark.parametrize(
    "claimed,computed,tol,expected",
    [
        (175e9, 174.6e9, 0.05, "consistent"),
        (2.14e23, 3.14e23, 0.05, "inconsistent"),
        (1, None, 0.05, "unverifiable"),
        (1, 2, None, "unverifiable"),
        (0, 0, 0.0, "consistent"),
    ],
)
def test_verdict_rule(claimed, computed, tol, expected):
    assert verdict(claimed, computed, tol) == expected


def test_duplicate_claim_id_is_refused():
    claims.evaluate(page="scaling/parameter_growth")
    with pytest.raises(ValueError, match="registered twice"):
        claims.register("growth-layers-gpt3", "x.txt", "dup", 1, "x")(lambda: (1, ""))


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
    with pytest.raises(ValueError, match="must be a finite number"):
        exercises.check(exercises.ids()[0], "lots")
