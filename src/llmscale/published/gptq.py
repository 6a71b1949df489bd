"""Quantization: what Frantar et al. report for GPTQ (GPTQ: Accurate Post-Training Quantization for
Generative Pre-trained Transformers, ICLR 2023) on LLaMA, against round-to-nearest: WikiText-2
perplexity of LLaMA-7B to -65B with their weights at 4 and 3 bits (per output channel), and at 3
bits with groups of 128 columns.

Source of every figure: the official repository's README (github.com/IST-DASLab/gptq, "Here is a
summary of LLaMa results", read on the fetched snapshot of the repository, commit 2d65066 of
July 2023). Those runs use `--act-order` (columns in order of decreasing Hessian diagonal) and
`--true-sequential` (each layer calibrated on inputs from the layers before it, already
quantized); the README notes they fix "GPTQ's strangely bad performance on the 7B model (from
7.15 to 6.09 Wiki2 PPL)". Calibration: 128 random C4 segments of 2,048 tokens."""

from __future__ import annotations

from . import Figure

_SRC = "github.com/IST-DASLab/gptq README (Frantar et al. 2023), LLaMA WikiText-2 perplexity table: "
SIZES = ("7b", "13b", "30b", "65b")
SCHEMES = ("fp16", "rtn-4", "gptq-4", "rtn-3", "gptq-3", "gptq-3-g128")
_TABLE = {
    "7b": (5.68, 6.29, 6.09, 25.54, 8.07, 6.61),
    "13b": (5.09, 5.53, 5.36, 11.40, 6.63, 5.62),
    "30b": (4.10, 4.54, 4.45, 14.89, 5.69, 4.80),
    "65b": (3.53, 3.92, 3.84, 10.59, 5.04, 4.17),
}
_LABELS = {
    "fp16": "FP16",
    "rtn-4": "4bit-RTN",
    "gptq-4": "4bit-GPTQ",
    "rtn-3": "3bit-RTN",
    "gptq-3": "3bit-GPTQ",
    "gptq-3-g128": "3g128-GPTQ",
}

FIGURES: dict[str, Figure] = {
    f"gptq.llama-{size}.{scheme}_ppl": Figure(value, "perplexity", f"{_SRC}LLaMa-{size.upper()}, {_LABELS[scheme]}")
    for size, row in _TABLE.items()
    for scheme, value in zip(SCHEMES, row, strict=True)
}

FIGURES["gptq.llama-7b.gptq-4-plain_ppl"] = Figure(
    7.15,
    "perplexity",
    "github.com/IST-DASLab/gptq README: --act-order and --true-sequential 'fix GPTQ's strangely bad performance "
    "on the 7B model (from 7.15 to 6.09 Wiki2 PPL)', 4 bits",
)
FIGURES["gptq.opt-175b.quantize_gpu_hours"] = Figure(
    4,
    "GPU-hours",
    "Frantar et al. 2023 (GPTQ), abstract: GPTQ quantizes GPT models with 175 billion parameters 'in approximately "
    "four GPU hours' (one NVIDIA A100 80GB)",
)


def llama_ppl(size: str, scheme: str) -> float:
    """WikiText-2 perplexity of LLaMA-`size` ("7b", "13b", "30b", "65b") under `scheme` (one of
    `SCHEMES`: "fp16", "rtn-4", "gptq-4", "rtn-3", "gptq-3", "gptq-3-g128")."""
    if size not in SIZES:
        raise ValueError(f"size={size!r} is not in the GPTQ LLaMA table; choose one of {SIZES}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme={scheme!r} is not in the GPTQ LLaMA table; choose one of {SCHEMES}")
    return FIGURES[f"gptq.llama-{size}.{scheme}_ppl"].value
