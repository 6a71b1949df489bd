"""Switch Transformers: what Fedus et al. 2022 report."""

from __future__ import annotations

from . import Figure

FIGURES: dict[str, Figure] = {
    "switch.pretraining_speedup": Figure(
        7,
        "×",
        "Fedus et al. 2022, Switch Transformers, abstract: 'up to 7x increases in "
        "pre-training speed with the same computational resources' (T5-Base and T5-Large "
        "against Switch models of equal FLOPs per token)",
    ),
}
