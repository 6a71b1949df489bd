"""Reported figures used by the page Data: training mixtures, epochs and data-set sizes.

Two published mixture tables, row by row: LLaMA's (Touvron et al. 2023, Table 1: sampling
proportion, epochs on 1.4T tokens, disk size) and GPT-3's (Brown et al. 2020, Table 2.2:
tokens, weight in the training mix, epochs elapsed at 300B tokens). Keys follow
`<model>.<source>_<field>`. GPT-3's Common Crawl size and weight and its 300B training tokens
are in `published/growth.py`; LLaMA's 1.4T and GPT-4's 13T training tokens are the presets'
`train_tokens`. Whether a source is public is recorded as 1 (public) or 0 (not released), from
the papers' own descriptions.
"""

from __future__ import annotations

from . import Figure

_LLAMA_T1 = ("Touvron et al. 2023, LLaMA: Open and Efficient Foundation Language Models, Table 1 "
             "(sampling proportion, epochs when training on 1.4T tokens, disk size)")
_LLAMA_S21 = ("Touvron et al. 2023, Section 2.1: 'we only use data that is publicly available, and "
              "compatible with open sourcing'")
_GPT3_T22 = ("Brown et al. 2020, Language Models are Few-Shot Learners, Table 2.2 (quantity in "
             "tokens, weight in training mix, epochs elapsed when training for 300B tokens)")
_GPT3_S22 = "Brown et al. 2020, Section 2.2"
_LEAK = ("Patel & Wong 2023 (SemiAnalysis), as reported in 000_4ec7ba283c4a0447.txt; OpenAI "
         "published none of these figures")

# LLaMA, Table 1: (key, label, sampling proportion, epochs, disk size in bytes).
_LLAMA_ROWS = (
    ("common_crawl", "CommonCrawl", 0.670, 1.10, 3.3e12),
    ("c4", "C4", 0.150, 1.06, 783e9),
    ("github", "Github", 0.045, 0.64, 328e9),
    ("wikipedia", "Wikipedia", 0.045, 2.45, 83e9),
    ("books", "Books", 0.045, 2.23, 85e9),
    ("arxiv", "ArXiv", 0.025, 1.06, 92e9),
    ("stackexchange", "StackExchange", 0.020, 1.03, 78e9),
)
# GPT-3, Table 2.2: (key, label, tokens, weight, epochs elapsed); Common Crawl's tokens and
# weight are already in published/growth.py.
_GPT3_ROWS = (
    ("common_crawl", "Common Crawl (filtered)", None, None, 0.44),
    ("webtext2", "WebText2", 19e9, 0.22, 2.9),
    ("books1", "Books1", 12e9, 0.08, 1.9),
    ("books2", "Books2", 55e9, 0.08, 0.43),
    ("wikipedia", "Wikipedia", 3e9, 0.03, 3.4),
)
# Public (1) or not released (0), with the paper's words.
_GPT3_PUBLIC = {
    "common_crawl": (1, _GPT3_S22 + ": filtered from 41 monthly shards of the public Common Crawl"),
    "webtext2": (0, _GPT3_S22 + ": 'an expanded version of the WebText dataset', scraped by OpenAI "
                 "and not released"),
    "books1": (0, _GPT3_S22 + ": 'two internet-based books corpora (Books1 and Books2)', contents "
               "not documented or released"),
    "books2": (0, _GPT3_S22 + ": 'two internet-based books corpora (Books1 and Books2)', contents "
               "not documented or released"),
    "wikipedia": (1, _GPT3_S22 + ": 'English-language Wikipedia'"),
}

LLAMA_SOURCES: tuple[str, ...] = tuple(r[0] for r in _LLAMA_ROWS)
GPT3_SOURCES: tuple[str, ...] = tuple(r[0] for r in _GPT3_ROWS)
LABELS: dict[str, dict[str, str]] = {"llama": {r[0]: r[1] for r in _LLAMA_ROWS},
                                     "gpt3": {r[0]: r[1] for r in _GPT3_ROWS}}

FIGURES: dict[str, Figure] = {}
for _key, _label, _weight, _epochs, _disk in _LLAMA_ROWS:
    FIGURES[f"llama.{_key}_weight"] = Figure(_weight, "fraction", f"{_LLAMA_T1}: {_label} {_weight:.1%}")
    FIGURES[f"llama.{_key}_epochs"] = Figure(_epochs, "epoch", f"{_LLAMA_T1}: {_label} {_epochs:.2f}")
    FIGURES[f"llama.{_key}_disk_bytes"] = Figure(_disk, "byte", f"{_LLAMA_T1}: {_label} {_disk / 1e9:,.0f} GB")
    FIGURES[f"llama.{_key}_public"] = Figure(1, "1 = public", _LLAMA_S21)
for _key, _label, _tokens, _weight, _epochs in _GPT3_ROWS:
    if _tokens is not None:
        FIGURES[f"gpt3.{_key}_tokens"] = Figure(_tokens, "token", f"{_GPT3_T22}: {_label} {_tokens / 1e9:.0f} billion")
        FIGURES[f"gpt3.{_key}_weight"] = Figure(_weight, "fraction", f"{_GPT3_T22}: {_label} {_weight:.0%}")
    FIGURES[f"gpt3.{_key}_epochs"] = Figure(_epochs, "epoch", f"{_GPT3_T22}: {_label} {_epochs:g}")
    _public, _why = _GPT3_PUBLIC[_key]
    FIGURES[f"gpt3.{_key}_public"] = Figure(_public, "1 = public", _why)

FIGURES.update({
    "llama.others_books_bytes": Figure(
        2e12, "byte", "Touvron et al. 2023, Section 3.6 (MMLU): Gopher, Chinchilla and PaLM 'were "
                      "trained on up to 2TB of books'"),
    "gpt3.common_crawl_disk_bytes": Figure(
        570e9, "byte", _GPT3_S22 + ": '45TB of compressed plaintext before filtering and 570GB after "
                       "filtering, roughly equivalent to 400 billion byte-pair-encoded tokens'"),
    "gpt3.common_crawl_raw_bytes": Figure(
        45e12, "byte", _GPT3_S22 + ": '45TB of compressed plaintext before filtering'"),
    "gpt4.text_epochs": Figure(2, "epoch", _LEAK + ": two epochs for text data"),
    "gpt4.code_epochs": Figure(4, "epoch", _LEAK + ": four epochs for code data"),
    "gpt4.vision_tokens": Figure(
        2e12, "token", _LEAK + ": the vision model was fine-tuned on about 2 trillion more "
                       "tokens after the text-only pre-training"),
})

del _key, _label, _weight, _epochs, _disk, _tokens, _public, _why
