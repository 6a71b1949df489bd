"""LiGO: what Wang et al. 2023 report (Learning to Grow Pretrained Models for Efficient Transformer
Training, ICLR; seed 004)."""

from __future__ import annotations

from . import Figure

FIGURES: dict[str, Figure] = {
    "ligo.bert_base_flops_saving": Figure(
        0.447,
        "fraction",
        "Wang et al. 2023, Learning to Grow Pretrained Models for Efficient "
        "Transformer Training (ICLR): 44.7% of the FLOPs of training BERT-Base from scratch saved",
    ),
    "ligo.bert_base_walltime_saving": Figure(
        0.407, "fraction", "Wang et al. 2023: 40.7% of the wall-clock time of training BERT-Base saved"
    ),
    "ligo.headline_saving": Figure(
        0.50,
        "fraction",
        "Wang et al. 2023, abstract: LiGO 'can save up to 50% computational cost of training from scratch'",
    ),
}
