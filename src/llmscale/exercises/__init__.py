"""Exercise checkers: `check(exercise_id, answer)` says whether an answer is right.

Each exercise's answer is computed by the package (never typed in), with a relative
tolerance suited to the question and a hint for a wrong answer. Each chapter page registers
its exercises in a module of this package (e.g. `exercises/growth.py`); every module here is
imported on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .._discover import import_submodules


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


def _load() -> None:
    import_submodules(__name__)


def ids() -> list[str]:
    """All exercise ids."""
    _load()
    return sorted(_EXERCISES)


def expected(exercise_id: str) -> float:
    """The expected answer (for instructors and tests)."""
    return _get(exercise_id).answer()


def _get(exercise_id: str) -> Exercise:
    _load()
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
