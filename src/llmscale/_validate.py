"""Argument checks shared by every module: each raises a `ValueError` naming the field and the fix.

A check returns the value in the type the caller computes with (an `int`, a `float`, a float
array), so a function validates and converts in one line::

    n_gpus = positive_int("n_gpus", n_gpus, "2048")

Booleans are refused wherever a number is asked for (`True` is an `int` to Python, never a
count to a reader), and so are NaN and infinities unless a check says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

_INTS = (int, np.integer)
_NUMBERS = (int, float, np.integer, np.floating)


def _example(name: str, example: str) -> str:
    return f", e.g. {name}={example}" if example else ""


def is_number(value: Any) -> bool:
    """True for a real number (int or float, NumPy's too), False for bool, str, None and the rest."""
    return isinstance(value, _NUMBERS) and not isinstance(value, (bool, np.bool_))


def _finite(value: Any) -> bool:
    """math.isfinite, with an int too large for a float (10**400) counted as not finite."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def positive_int(name: str, value: Any, example: str = "1") -> int:
    """`value` as an int >= 1."""
    if not isinstance(value, _INTS) or isinstance(value, (bool, np.bool_)) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer{_example(name, example)}")
    return int(value)


def non_negative_int(name: str, value: Any, example: str = "0") -> int:
    """`value` as an int >= 0."""
    if not isinstance(value, _INTS) or isinstance(value, (bool, np.bool_)) or value < 0:
        raise ValueError(f"{name}={value!r} must be an integer >= 0{_example(name, example)}")
    return int(value)


def optional_positive_int(name: str, value: Any, example: str = "1", none_means: str = "the default") -> int | None:
    """`value` as an int >= 1, or None (which the caller resolves to `none_means`)."""
    if value is None:
        return None
    if not isinstance(value, _INTS) or isinstance(value, (bool, np.bool_)) or value < 1:
        raise ValueError(
            f"{name}={value!r} must be a positive integer or None (None means {none_means}){_example(name, example)}"
        )
    return int(value)


def positive_number(name: str, value: Any, example: str = "1") -> float:
    """`value` as a finite float > 0."""
    if not is_number(value) or not _finite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a finite number > 0{_example(name, example)}")
    return float(value)


def non_negative_number(name: str, value: Any, example: str = "0") -> float:
    """`value` as a finite float >= 0."""
    if not is_number(value) or not _finite(value) or value < 0:
        raise ValueError(f"{name}={value!r} must be a finite number >= 0{_example(name, example)}")
    return float(value)


def optional_positive_number(
    name: str, value: Any, example: str = "1", none_means: str = "the default"
) -> float | None:
    """`value` as a finite float > 0, or None (which the caller resolves to `none_means`)."""
    if value is None:
        return None
    if not is_number(value) or not _finite(value) or value <= 0:
        raise ValueError(
            f"{name}={value!r} must be a finite number > 0 or None (None means {none_means}){_example(name, example)}"
        )
    return float(value)


def finite_number(name: str, value: Any, example: str = "1") -> float:
    """`value` as a finite float of any sign."""
    if not is_number(value) or not _finite(value):
        raise ValueError(f"{name}={value!r} must be a finite number{_example(name, example)}")
    return float(value)


def fraction(name: str, value: Any, example: str = "0.4", *, allow_zero: bool = False) -> float:
    """`value` as a float in (0, 1] (or [0, 1] with `allow_zero`)."""
    low_ok = (lambda v: v >= 0) if allow_zero else (lambda v: v > 0)
    if not is_number(value) or not _finite(value) or not low_ok(value) or value > 1:
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name}={value!r} must be a number in {interval}{_example(name, example)}")
    return float(value)


def boolean(name: str, value: Any) -> bool:
    """`value` if it is True or False (not 0, 1, "yes" or None)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} must be True or False")
    return bool(value)


def choice(name: str, value: Any, options: Sequence[Any]) -> Any:
    """`value` if it is one of `options`."""
    try:
        ok = value in options
    except (TypeError, ValueError):  # unhashable, or an array whose truth is ambiguous
        ok = False
    if not ok or isinstance(value, (bool, np.bool_)) and not any(o is value for o in options):
        raise ValueError(f"{name}={value!r} is not one of {tuple(options)}; choose one of them")
    return value


def number_array(name: str, value: Any, example: str = "1e9", *, allow_zero: bool = False) -> np.ndarray:
    """`value` (a number or a sequence of them) as a float array of finite values > 0 (>= 0 with `allow_zero`)."""
    try:
        x = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        x = None
    bound = ">= 0" if allow_zero else "> 0"
    if x is None or x.size == 0 or np.any(~np.isfinite(x)) or np.any(x < 0 if allow_zero else x <= 0):
        raise ValueError(f"{name}={value!r} must be finite and {bound}{_example(name, example)}")
    return x


def scalar_or_array(x: np.ndarray) -> float | np.ndarray:
    """A 0-d result as a Python float, anything else as the array: functions answer in the shape asked."""
    return float(x) if np.ndim(x) == 0 else x
