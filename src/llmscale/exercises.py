"""Exercise checkers: `check(exercise_id, answer)` says whether an answer is right.

Each exercise's answer is computed by the package (never typed in), with a relative
tolerance suited to the question and a hint for a wrong answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import counting, presets


@dataclass(frozen=True)
class Exercise:
    """An exercise's expected answer (computed on demand), tolerance, unit and hint."""

    id: str
    answer: Callable[[], float]
    rel_tol: float
    unit: str
    hint: str


_EXERCISES: dict[str, Exercise] = {}


def register(id: str, answer: Callable[[], float], rel_tol: float, unit: str, hint: str) -> None:
    """Add an exercise. Ids are unique, e.g. 'growth-1'."""
    if id in _EXERCISES:
        raise ValueError(f"exercise id {id!r} is registered twice; choose a unique id")
    _EXERCISES[id] = Exercise(id, answer, rel_tol, unit, hint)


def ids() -> list[str]:
    """All exercise ids."""
    return sorted(_EXERCISES)


def expected(exercise_id: str) -> float:
    """The expected answer (for instructors and tests)."""
    return _get(exercise_id).answer()


def _get(exercise_id: str) -> Exercise:
    try:
        return _EXERCISES[exercise_id]
    except KeyError:
        raise ValueError(f"unknown exercise {exercise_id!r}; valid ids are {ids()}") from None


def check(exercise_id: str, answer: float, quiet: bool = False) -> bool:
    """Print whether `answer` is right (within the exercise's tolerance); return True if so."""
    ex = _get(exercise_id)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise ValueError(f"answer={answer!r} must be a number (in {ex.unit})") from None
    truth = ex.answer()
    ok = abs(value - truth) <= ex.rel_tol * abs(truth)
    if not quiet:
        if ok:
            print(f"✓ {exercise_id}: correct ({value:.4g} {ex.unit}).")
        else:
            direction = "too high" if value > truth else "too low"
            print(f"✗ {exercise_id}: not quite: {value:.4g} {ex.unit} is {direction}. Hint: {ex.hint}")
    return ok


# --- Parameter growth ---------------------------------------------------------------------

register("growth-1",
         lambda: counting.param_count(presets.get("gpt2-medium")),
         rel_tol=0.002, unit="parameters",
         hint="12·L·d² for the blocks, plus V·d for the tied embedding and S·d for positions; "
              "biases and LayerNorms add 13·d per layer and 2·d at the end.")
register("growth-2",
         lambda: (lambda b: b.embeddings / b.total)(counting.param_breakdown(presets.get("gpt2-small"))),
         rel_tol=0.01, unit="fraction",
         hint="The tied embedding is V·d = 50257·768 plus 1024·768 for positions; divide by the total.")
register("growth-3",
         lambda: counting.param_count(presets.get("llama-7b").replace(n_kv_heads=1))
         / counting.param_count(presets.get("llama-7b")),
         rel_tol=0.002, unit="ratio",
         hint="With one K/V head, K and V shrink from d×d to d×d_h each, in every one of the 32 layers.")
