"""Reported figures used by the page Parameter growth."""

from __future__ import annotations

from . import Figure

FIGURES: dict[str, Figure] = {
    "gpt3-175b.train_flops": Figure(
        3.14e23, "FLOP", "Brown et al. 2020, Table D.1 (3.14E+23 FLOPs, 3,640 PF-days)"),
    "gpt3-175b.train_pf_days": Figure(
        3640, "PF-day", "Brown et al. 2020, Table D.1"),
    "gpt3.common_crawl_tokens": Figure(
        410e9, "token", "Brown et al. 2020, Table 2.2: Common Crawl (filtered), 410 billion tokens"),
    "gpt3.common_crawl_weight": Figure(
        0.60, "fraction", "Brown et al. 2020, Table 2.2: weight in training mix 60%"),
    "gpt3.train_tokens": Figure(
        300e9, "token", "Brown et al. 2020, Table 2.1 and Section 2.2: all models trained on 300B tokens"),
    "transformer.wmt14_en_fr_sentences": Figure(
        36e6, "sentence pair", "Vaswani et al. 2017, Section 5.1: WMT 2014 English-French, 36M sentences"),
    "transformer.wmt14_en_de_sentences": Figure(
        4.5e6, "sentence pair", "Vaswani et al. 2017, Section 5.1: WMT 2014 English-German, ~4.5M sentence pairs"),
}

