"""Exercise checkers: `check(exercise_id, answer)` says whether an answer is right.

Each exercise's answer is computed by the package (never typed in), with a relative
tolerance suited to the question and a hint for a wrong answer. A page registers its
exercises in its page module (`llmscale.pages.<chapter>.<page>`); an exercise's id is the
page's file stem with dashes and a number (`parameter-growth-1` lives in
`pages/scaling/parameter_growth.py`), so checking one imports only its page's module.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass

from . import pages


@dataclass(frozen=True)
class Exercise:
    """An exercise's expected answer (computed on demand), tolerance, unit and hint."""

    id: str
    answer: Callable[[], float | str]
    rel_tol: float
    unit: str
    hint: str
    page: str
    options: dict[str, str] | None = None  # label -> option text, for a choice among labelled options
    kind: str = "apply"  # one of KINDS: what the exercise asks the reader to do

    @property
    def is_choice(self) -> bool:
        return self.options is not None


_EXERCISES: dict[str, Exercise] = {}

# What an exercise asks: apply a formula or call of the page ("apply"); derive a formula and
# evaluate it at a point the page does not show ("derive"); predict a number or an outcome
# before a cell measures it ("predict"); change code or a configuration and explain what it
# does ("modify"). Every page has at least one exercise that is not "apply".
KINDS = ("apply", "derive", "predict", "modify")


_ID = re.compile(r"^([a-z0-9]+(?:-[a-z0-9]+)*)-([0-9]+)$")


def page_stem(exercise_id: str) -> str:
    """The file stem of the page an exercise id belongs to: 'parameter-growth-1' -> 'parameter_growth'."""
    match = _ID.match(exercise_id) if isinstance(exercise_id, str) else None
    if match is None:
        raise ValueError(
            f"exercise id {exercise_id!r} must be the page's file stem with dashes and a "
            "number, e.g. 'parameter-growth-1'"
        )
    return match.group(1).replace("-", "_")


def register(id: str, answer: Callable[[], float], rel_tol: float, unit: str, hint: str, kind: str = "apply") -> None:
    """Add an exercise of the page module that calls this; its id starts with that page's stem.
    kind: one of KINDS."""
    _add(id, answer, rel_tol, unit, hint, None, kind, sys._getframe(1).f_globals["__name__"])


def register_choice(
    id: str, options: dict[str, str], answer: Callable[[], str], hint: str, kind: str = "predict"
) -> None:
    """Add a choice among labelled options ({"a": "...", "b": "..."}): `answer()` returns the
    right label, computed by the package (a prediction checked against a measurement, say)."""
    if not isinstance(options, dict) or len(options) < 2:
        raise ValueError(f"exercise {id!r}: options must be a dict of at least two labels, e.g. {{'a': ..., 'b': ...}}")
    bad = [k for k in options if not (isinstance(k, str) and re.fullmatch(r"[a-z]", k))]
    if bad:
        raise ValueError(f"exercise {id!r}: option labels must be single lowercase letters, not {bad}")
    _add(id, answer, 0.0, "label", hint, dict(options), kind, sys._getframe(1).f_globals["__name__"])


def _add(id, answer, rel_tol, unit, hint, options, kind, module_name) -> None:
    if id in _EXERCISES:
        raise ValueError(f"exercise id {id!r} is registered twice; choose a unique id")
    if kind not in KINDS:
        raise ValueError(f"exercise {id!r}: kind={kind!r} must be one of {KINDS}")
    page = pages.page_of_module(module_name)
    stem = page.rsplit("/", 1)[-1]
    if page_stem(id) != stem:
        raise ValueError(
            f"exercise id {id!r} is registered by page {page!r}; name it "
            f"'{stem.replace('_', '-')}-N' so that its page can be found from it"
        )
    _EXERCISES[id] = Exercise(id, answer, rel_tol, unit, hint, page, options, kind)


def ids(page: str | None = None) -> list[str]:
    """All exercise ids, or those of one page."""
    if page is None:
        pages.load_all()
        return sorted(_EXERCISES)
    pages.load(page)
    return sorted(i for i, ex in _EXERCISES.items() if ex.page == page)


def expected(exercise_id: str) -> float | str:
    """The expected answer (for instructors and tests): a number, or a choice's label."""
    ex = _get(exercise_id)
    truth = ex.answer()
    if ex.is_choice and truth not in ex.options:
        raise ValueError(f"exercise {exercise_id!r} computed the label {truth!r}, not one of {sorted(ex.options)}")
    return truth


def _get(exercise_id: str) -> Exercise:
    if exercise_id not in _EXERCISES and isinstance(exercise_id, str) and _ID.match(exercise_id):
        page = pages.find_stem(page_stem(exercise_id))
        if page is not None:
            pages.load(page)
    try:
        return _EXERCISES[exercise_id]
    except KeyError:
        raise ValueError(f"unknown exercise {exercise_id!r}; valid ids are {ids()}") from None


def describe(exercise_id: str) -> Exercise:
    """An exercise's record (unit, tolerance, hint, page) without computing its answer."""
    return _get(exercise_id)


# When set (by `llmscale.teaching`'s grader), every check appends a JSON line to this file.
GRADE_LOG_ENV = "LLMSCALE_GRADE_LOG"


def _log(record: dict) -> None:
    path = os.environ.get(GRADE_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def check(exercise_id: str, answer: float | str, quiet: bool = False) -> bool:
    """Print whether `answer` is right (within the exercise's tolerance, or the right label of a
    choice); return True if so."""
    ex = _get(exercise_id)
    if ex.is_choice:
        return _check_choice(ex, answer, quiet)
    try:
        value = float(answer)
        if not math.isfinite(value):
            raise ValueError
    except (TypeError, ValueError):
        message = f"answer={answer!r} must be a finite number (in {ex.unit})"
        _log({"id": exercise_id, "ok": False, "error": message})
        raise ValueError(message) from None
    truth = ex.answer()
    ok = abs(value - truth) <= ex.rel_tol * abs(truth)
    _log({"id": exercise_id, "ok": bool(ok), "answer": value, "hint": "" if ok else ex.hint})
    if not quiet:
        if ok:
            print(f"✓ {exercise_id}: correct ({value:.4g} {ex.unit}).")
        else:
            direction = "too high" if value > truth else "too low"
            print(f"✗ {exercise_id}: not quite: {value:.4g} {ex.unit} is {direction}. Hint: {ex.hint}")
    return ok


def _check_choice(ex: Exercise, answer: str, quiet: bool) -> bool:
    label = answer.strip().lower() if isinstance(answer, str) else answer
    if label not in ex.options:
        message = f"answer={answer!r} must be one of the labels {sorted(ex.options)}"
        _log({"id": ex.id, "ok": False, "error": message})
        raise ValueError(message)
    ok = label == expected(ex.id)
    _log({"id": ex.id, "ok": bool(ok), "answer": label, "hint": "" if ok else ex.hint})
    if not quiet:
        if ok:
            print(f"✓ {ex.id}: correct ({label}).")
        else:
            print(f"✗ {ex.id}: not quite: ({label}) is not it. Hint: {ex.hint}")
    return ok
