"""Mixtral 8x7B: what Jiang et al. 2024 report (Mixtral of Experts), and the released model's count."""

from __future__ import annotations

from . import Figure

FIGURES: dict[str, Figure] = {
    "mixtral.total_params": Figure(
        47e9, "parameter", "Jiang et al. 2024, Mixtral of Experts, abstract: each token has access to 47B parameters"
    ),
    "mixtral.active_params": Figure(
        13e9,
        "parameter",
        "Jiang et al. 2024, Mixtral of Experts, abstract: it uses only 13B active parameters per token",
    ),
    # Not from the paper: the checkpoint as released.
    "mixtral.released_params": Figure(
        46_702_792_704,
        "parameter",
        "mistralai/Mixtral-8x7B-v0.1 as released: the parameters transformers' MixtralForCausalLM "
        "instantiates from the released config.json (tests/test_counting.py rebuilds it)",
    ),
}
