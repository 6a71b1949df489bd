"""DistilBERT: what Sanh et al. 2019 report (DistilBERT, a distilled version of BERT: smaller,
faster, cheaper and lighter, arXiv:1910.01108): the "40% smaller, 97% retained, 60% faster" of its
abstract and the tables behind each figure. The student keeps BERT-base's width (768) and halves
its layers (12 -> 6), initialised from one teacher layer out of two."""

from __future__ import annotations

from . import Figure

_PAPER = "Sanh et al. 2019, DistilBERT (arXiv:1910.01108)"

FIGURES: dict[str, Figure] = {
    "distilbert.bert_base_params": Figure(110e6, "parameters", f"{_PAPER}, Table 3: BERT-base, 110 M parameters"),
    "distilbert.student_params": Figure(66e6, "parameters", f"{_PAPER}, Table 3: DistilBERT, 66 M parameters"),
    "distilbert.bert_base_glue": Figure(
        79.5, "GLUE macro-score", f"{_PAPER}, Table 1: BERT-base, GLUE dev-set macro-score (median of 5 seeds)"
    ),
    "distilbert.student_glue": Figure(
        77.0, "GLUE macro-score", f"{_PAPER}, Table 1: DistilBERT, GLUE dev-set macro-score (median of 5 seeds)"
    ),
    "distilbert.elmo_glue": Figure(
        68.7, "GLUE macro-score", f"{_PAPER}, Table 1: the ELMo + BiLSTM baseline of the GLUE authors"
    ),
    "distilbert.bert_base_seconds": Figure(
        668, "s", f"{_PAPER}, Table 3: BERT-base, a full pass over STS-B dev on a CPU (Xeon E5-2690 v3), batch 1"
    ),
    "distilbert.student_seconds": Figure(
        410, "s", f"{_PAPER}, Table 3: DistilBERT, the same pass over STS-B dev on the same CPU, batch 1"
    ),
    "distilbert.bert_base_layers": Figure(12, "layers", f"{_PAPER}, Section 3: BERT-base's 12 layers"),
    "distilbert.student_layers": Figure(
        6, "layers", f"{_PAPER}, Section 3: 'the number of layers is reduced by a factor of 2'"
    ),
    "distilbert.train_gpus": Figure(8, "V100 (16 GB)", f"{_PAPER}, Section 3: trained on 8 16GB V100 GPUs"),
    "distilbert.train_hours": Figure(90, "h", f"{_PAPER}, Section 3: 'for approximately 90 hours'"),
    "distilbert.claimed_smaller": Figure(
        0.40, "fraction", f"{_PAPER}, abstract: 'reduce the size of a BERT model by 40%'"
    ),
    "distilbert.claimed_retained": Figure(
        0.97, "fraction", f"{_PAPER}, abstract: 'retaining 97% of its language understanding capabilities'"
    ),
    "distilbert.claimed_faster": Figure(0.60, "fraction", f"{_PAPER}, abstract: 'and being 60% faster'"),
}
