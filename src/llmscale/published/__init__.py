"""Figures that papers report (other than model configurations and hardware), with sources.

These are the independent numbers the book checks its computations against: a paper's own
compute total, a dataset's size, a run's reported GPU-hours. Model configurations live in
`presets`, chips in `hardware`. Each chapter page keeps its figures in a module of this
package holding a dict `FIGURES`; keys are unique across modules.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from .._registry import import_submodules


@dataclass(frozen=True)
class Figure:
    """One reported number, its unit and where it is printed."""

    value: float
    unit: str
    source: str


_ALL: dict[str, Figure] = {}


def figures() -> dict[str, Figure]:
    """Every reported figure, by key."""
    if not _ALL:
        merged: dict[str, Figure] = {}
        for name in import_submodules(__name__):
            module = importlib.import_module(f"{__name__}.{name}")
            for key, fig in getattr(module, "FIGURES", {}).items():
                if key in merged:
                    raise ValueError(f"published figure {key!r} is defined twice (again in {name}.py)")
                merged[key] = fig
        _ALL.update(merged)
    return _ALL


def get(key: str) -> Figure:
    """A reported figure by key, e.g. get("gpt3-175b.train_flops")."""
    try:
        return figures()[key]
    except KeyError:
        raise ValueError(f"unknown published figure {key!r}; choose one of {sorted(figures())}") from None
