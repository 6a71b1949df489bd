"""Serving: prices of GPU-hours and of tokens, and the serving figures the articles' estimates rest on.

Inputs of the page "What serving costs". The leak's serving figures (batch, context, the price
per 1,000 tokens it estimates) come from the GPT-4 leak as the seed article reports it, or, where
the seed is silent, from the SemiAnalysis report it came from (Patel & Wong 2023); the GPU-hour
prices are the ones those estimates assume, and one third-party estimate of a cloud price; the
API price is OpenAI's own. The layout (128 GPUs, 8 × 16) is in `gpt4_leak`.
"""

from __future__ import annotations

from ..articles import get as _article
from . import Figure

_LEAK_ARTICLE = _article("gpt4-leak").name
_SLIMMING = _article("cost-slimming").name
_HALF_COST = _article("ligo-half-cost").name
_SEMI = (
    "Patel and Wong 2023, 'GPT-4 Architecture, Infrastructure, Training Dataset, Costs, "
    "Vision, MoE', SemiAnalysis (the leak's source; not in the seed article)"
)

FIGURES: dict[str, Figure] = {
    # GPT-4 as the leak serves it.
    "serving.gpt4_price_a100": Figure(
        0.0049,
        "USD per 1,000 tokens",
        f"{_LEAK_ARTICLE}: about $0.0049 per 1,000 tokens on 128 A100s for GPT-4 8k, assuming good "
        "utilisation and large batches (the SemiAnalysis original writes '$0.0049 cents')",
    ),
    "serving.gpt4_price_h100": Figure(
        0.0021,
        "USD per 1,000 tokens",
        f"{_LEAK_ARTICLE}: $0.0021 per 1,000 tokens on 128 H100s (the article writes 'dollar cents', "
        "the SemiAnalysis original '$0.0021 cents')",
    ),
    "serving.gpt4_context": Figure(8192, "token", f"{_LEAK_ARTICLE}: the prices are for GPT-4 with 8k context"),
    "serving.gpt4_batch": Figure(
        4096,
        "sequence",
        _SEMI + ": 'OpenAI regularly hits a batch size of 4k+ on their inference clusters' "
        "(with optimal balance, experts see batches of about 500)",
    ),
    "serving.gpt4_kv_heads": Figure(
        1, "key/value head", f"{_LEAK_ARTICLE}: multi-query attention, a single key/value head"
    ),
    "serving.price_per_h100_hour": Figure(
        2.0, "USD/H100-hour", _SEMI + ": '$2 per H100 hour' (its price for pre-training GPT-4 on H100s today)"
    ),
    # A third-party cloud price, and OpenAI's own API price.
    "serving.azure_a100_hour_goldstein": Figure(
        3.0,
        "USD/A100-hour",
        "Tom Goldstein, thread of 6 December 2022 ('How many GPUs does it take to run ChatGPT?'): "
        "'on Azure cloud, each A100 card costs about $3 an hour'; the same thread says five 80 GB "
        "A100s are needed 'just to load the model and text' of a 175B model in half precision",
    ),
    "serving.gpt35_turbo_api_price": Figure(
        0.002,
        "USD per 1,000 tokens",
        "OpenAI, 'Introducing ChatGPT and Whisper APIs' (1 March 2023): gpt-3.5-turbo at $0.002 per "
        "1,000 tokens (prompt and completion alike), a price, not a cost",
    ),
    # The articles' serving figures that the page reads backwards.
    "serving.gpt3_min_a100s": Figure(5, "A100", f"{_SLIMMING}: GPT-3 175B needs at least five A100s to serve"),
    "serving.ernie_speedup": Figure(
        10, "×", f"{_SLIMMING}: ERNIE Bot's inference ~10× faster a month after launch, its cost cut to a tenth"
    ),
    "serving.chatgpt_dollars_per_day": Figure(
        700_000, "USD/day", f"{_HALF_COST}: about $700,000 a day to answer queries with ChatGPT (no source given)"
    ),
}
