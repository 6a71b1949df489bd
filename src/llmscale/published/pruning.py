"""Pruning: what Sun et al. 2023 report (A Simple and Effective Pruning Approach for Large Language
Models, "Wanda", ICLR 2024): WikiText-2 perplexity of LLaMA-2 7B pruned without retraining by
magnitude, SparseGPT (Frantar & Alistarh 2023) and Wanda, all three run by the Wanda authors with
the same calibration set (128 C4 sequences of the model's context length: the repository's
main.py sets it to max_position_embeddings, 4,096 tokens for LLaMA-2) and evaluation.

Source of every figure: the paper's LLaMA-2 table (WikiText perplexity, 50% unstructured, 4:8
and 2:4), reproduced in the official repository's README (github.com/locuslab/wanda, "Pruning
LLaMA-2", its table of LLaMA-2 results; read on the fetched snapshot of the repository). The
magnitude baseline there compares weights per layer, Wanda per output row; SparseGPT updates the
kept weights, the other two do not."""

from __future__ import annotations

from . import Figure

_SRC = (
    "Sun et al. 2023 (Wanda), LLaMA-2 WikiText perplexity table (also github.com/locuslab/wanda README, "
    "'Pruning LLaMA-2'): LLaMA-2 7B, "
)

FIGURES: dict[str, Figure] = {
    "pruning.llama2-7b.dense_ppl": Figure(5.12, "perplexity", _SRC + "dense"),
    "pruning.llama2-7b.unstructured50.magnitude_ppl": Figure(14.89, "perplexity", _SRC + "50% unstructured, magnitude"),
    "pruning.llama2-7b.unstructured50.sparsegpt_ppl": Figure(6.51, "perplexity", _SRC + "50% unstructured, SparseGPT"),
    "pruning.llama2-7b.unstructured50.wanda_ppl": Figure(6.42, "perplexity", _SRC + "50% unstructured, Wanda"),
    "pruning.llama2-7b.4:8.magnitude_ppl": Figure(16.48, "perplexity", _SRC + "4:8, magnitude"),
    "pruning.llama2-7b.4:8.sparsegpt_ppl": Figure(8.12, "perplexity", _SRC + "4:8, SparseGPT"),
    "pruning.llama2-7b.4:8.wanda_ppl": Figure(7.97, "perplexity", _SRC + "4:8, Wanda"),
    "pruning.llama2-7b.2:4.magnitude_ppl": Figure(54.59, "perplexity", _SRC + "2:4, magnitude"),
    "pruning.llama2-7b.2:4.sparsegpt_ppl": Figure(10.17, "perplexity", _SRC + "2:4, SparseGPT"),
    "pruning.llama2-7b.2:4.wanda_ppl": Figure(11.02, "perplexity", _SRC + "2:4, Wanda"),
    # the same table's 13B column: a dense model twice the size, the yardstick of "little effect"
    "pruning.llama2-13b.dense_ppl": Figure(4.57, "perplexity", _SRC.replace("7B", "13B") + "dense"),
    "pruning.llama2-13b.unstructured50.magnitude_ppl": Figure(
        6.37, "perplexity", _SRC.replace("7B", "13B") + "50% unstructured, magnitude"
    ),
    "pruning.llama2-13b.unstructured50.sparsegpt_ppl": Figure(
        5.63, "perplexity", _SRC.replace("7B", "13B") + "50% unstructured, SparseGPT"
    ),
    "pruning.llama2-13b.unstructured50.wanda_ppl": Figure(
        5.56, "perplexity", _SRC.replace("7B", "13B") + "50% unstructured, Wanda"
    ),
    "pruning.calibration_sequences": Figure(
        128,
        "sequences",
        "Sun et al. 2023, Section 4, and the repository's --nsamples default: 128 calibration sequences from C4",
    ),
}

PATTERN_KEYS = {"unstructured": "unstructured50", "4:8": "4:8", "2:4": "2:4"}


def llama2_7b_ppl(method: str, pattern: str = "unstructured") -> float:
    """The Wanda paper's WikiText-2 perplexity of LLaMA-2 7B: method "dense", "magnitude",
    "sparsegpt" or "wanda", pattern "unstructured" (50%), "4:8" or "2:4"."""
    if method == "dense":
        return FIGURES["pruning.llama2-7b.dense_ppl"].value
    if pattern not in PATTERN_KEYS:
        raise ValueError(f"pattern={pattern!r} is not one of {tuple(PATTERN_KEYS)}")
    key = f"pruning.llama2-7b.{PATTERN_KEYS[pattern]}.{method}_ppl"
    if key not in FIGURES:
        raise ValueError(f"method={method!r} is not one of ('dense', 'magnitude', 'sparsegpt', 'wanda')")
    return FIGURES[key].value
