"""Figures that papers report (other than model configurations and hardware), with sources.

These are the independent numbers the book checks its computations against: a paper's own
compute total, a dataset's size, a run's reported GPU-hours. Model configurations live in
`presets`, chips in `hardware`. The package keeps one module per subject, the paper or source
a figure comes from, each holding a dict `FIGURES`; keys are unique across modules:

* `gpt3`: Brown et al. 2020 (compute of every size, tokens, the Table 2.2 mixture), and
  GPT-3 175B's run as others report it (Patterson et al.'s energy, Lambda's cost);
* `gpt4_leak`: the leaked GPT-4 figures (SemiAnalysis, as the seed article reports them);
* `llama`: Touvron et al. 2023 (the Table 1 mixture, GPU-hours, energy, the 65B run);
* `palm`: Chowdhery et al. 2022 (compute, MFU, chips and hours, energy of PaLM 540B);
* `chinchilla`: Gopher (Rae et al. 2021), Chinchilla and Hoffmann et al. 2022, and the
  replication of Besiroglu et al. 2024;
* `transformer`: Vaswani et al. 2017 (the WMT 2014 data);
* `mixtral`: Jiang et al. 2024, and the released Mixtral 8x7B;
* `switch`: Fedus et al. 2022 (Switch Transformers);
* `ligo`: Wang et al. 2023 (LiGO);
* `hardware_and_energy`: datasheets of GPUs and systems, and a yardstick for energy.

`get(key)` returns one figure, e.g. get("gpt3-175b.train_flops"); `figures()` all of them.
A new subject is a new module here: `figures()` finds it by its file.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One reported number, its unit and where it is printed."""

    value: float
    unit: str
    source: str


_ALL: dict[str, Figure] = {}


def _subject_modules() -> list[str]:
    """Names of this package's subject modules (its public submodules), sorted, not imported."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def figures() -> dict[str, Figure]:
    """Every reported figure, by key (imports this package's subject modules, nothing else)."""
    if not _ALL:
        merged: dict[str, Figure] = {}
        for name in _subject_modules():
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
