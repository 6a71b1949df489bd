"""Parallelism papers: what Korthikanti et al. 2022 report about activation memory.

Korthikanti, Casper, Lym, McAfee, Andersch, Shoeybi and Catanzaro 2022, "Reducing Activation
Recomputation in Large Transformer Models" (arXiv:2205.05198; MLSys 2023). Its per-layer formula
(Section 4, Table 2) is `parallelism.memory.activation_bytes_per_layer`; these are the figures the
tests check that formula against, with the shapes of the two models the paper quotes them for
(GPT-3 175B is the preset `gpt3-175b`; MT-NLG 530B, Smith et al. 2022, has no preset).
"""

from __future__ import annotations

from . import Figure

_K = "Korthikanti et al. 2022, Reducing Activation Recomputation in Large Transformer Models"

FIGURES: dict[str, Figure] = {
    "korthikanti2022.activation_reduction": Figure(
        5,
        "×",
        _K + ", abstract: 'our method reduces activation memory by 5x' (sequence parallelism and "
        "selective recomputation together, on models up to one trillion parameters)",
    ),
    "korthikanti2022.gpt3_selective_saving": Figure(
        0.70,
        "fraction",
        _K + ", Section 5: selective activation recomputation reduces the activation memory of GPT-3 (175B) by 70%",
    ),
    "korthikanti2022.mt_nlg_selective_saving": Figure(
        0.65,
        "fraction",
        _K + ", Section 5: selective activation recomputation reduces the activation memory of MT-NLG (530B) by 65%",
    ),
    "korthikanti2022.mt_nlg_heads": Figure(128, "head", _K + ", Table 3: MT-NLG 530B has 128 attention heads"),
    "korthikanti2022.mt_nlg_hidden": Figure(20480, "width", _K + ", Table 3: MT-NLG 530B has hidden size 20480"),
    "korthikanti2022.mt_nlg_layers": Figure(105, "layer", _K + ", Table 3: MT-NLG 530B has 105 layers"),
    "korthikanti2022.seq_len": Figure(2048, "token", _K + ", Table 3: sequence length 2048 for every model"),
    "korthikanti2022.tensor_parallel": Figure(8, "GPU", _K + ", Table 3: 8-way tensor parallelism for every model"),
}
