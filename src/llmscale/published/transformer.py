"""The Transformer: what Vaswani et al. 2017 report (Attention Is All You Need): its training data."""

from __future__ import annotations

from . import Figure

FIGURES: dict[str, Figure] = {
    "transformer.wmt14_en_fr_sentences": Figure(
        36e6, "sentence pair", "Vaswani et al. 2017, Section 5.1: WMT 2014 English-French, 36M sentences"
    ),
    "transformer.wmt14_en_de_sentences": Figure(
        4.5e6, "sentence pair", "Vaswani et al. 2017, Section 5.1: WMT 2014 English-German, ~4.5M sentence pairs"
    ),
}
