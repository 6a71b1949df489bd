"""LiGO: what Wang et al. 2023 report (Learning to Grow Pretrained Models for Efficient Transformer
Training, ICLR; seed 004): the FLOPs (and wall time) it saves against training from scratch, for
BERT-Base (an encoder), GPT-2 Medium (its one GPT-style language model) and DeiT-B (vision)."""

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
    # The paper's one generative language model: GPT-2 Medium (24 layers, 1024 wide) grown from GPT-2 small
    # ("GPT2-Base", 12 layers, 768 wide), trained on C4. The paper gives FLOPs only for it (Figure 3(c) plots
    # log perplexity against FLOPs): no wall-clock saving is stated, so none is recorded.
    # What the paper trained on, as a yes/no against the article's description (1 = as described).
    "ligo.datasets_wikipedia_and_c4": Figure(
        1,
        "yes/no",
        "Wang et al. 2023, Section 4 (experimental setup): BERT and RoBERTa are pretrained on English "
        "Wikipedia (following Tan and Bansal 2020), GPT-2 on C4",
    ),
    "ligo.gpt2-medium.flops_saved": Figure(
        0.225,
        "fraction",
        "Wang et al. 2023, Section 4.2 and Figure 3(c): 'LiGO saves 22.5% computation cost of training "
        "GPT2-Medium (345M parameters) by reusing GPT2-Base (117M parameters)'; also in Section 1: "
        "'LiGO saves 44.7% and 22.5% FLOPs for training BERT-Base and GPT2-Medium from scratch'",
    ),
    "ligo.deit-b.flops_saved": Figure(
        0.554,
        "fraction",
        "Wang et al. 2023, Section 4.2 and Table 2: growing DeiT-B from DeiT-S saves 55.4% FLOPs "
        "(52.0% wall time) on ImageNet, a vision result that reaches the abstract's 'up to 50%'",
    ),
    "ligo.headline_saving": Figure(
        0.50,
        "fraction",
        "Wang et al. 2023, abstract: LiGO 'can save up to 50% computational cost of training from scratch'",
    ),
}
