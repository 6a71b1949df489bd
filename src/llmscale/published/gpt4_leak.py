"""GPT-4: the leaked figures, none of them published by OpenAI.

They come from the July 2023 leak as the seed article reports it (Metaverse Post's Persian-language
article of 11 July 2023, `llmscale.articles.get("gpt4-leak")`), or
(where the seed is silent) from the SemiAnalysis report that the leak came from (Patel & Wong
2023, 'GPT-4 Architecture, Infrastructure, Training Dataset, Costs, Vision, MoE'); each source
string says which. Training compute, GPUs, days, MFU and cost; epochs of the data; the
parallelism of training and of serving; the batch. GPT-4's 13T training tokens and its
configuration are the preset `gpt4`.
"""

from __future__ import annotations

from ..articles import get as _article
from . import Figure

_ARTICLE = _article("gpt4-leak").name  # the seed article, as pages cite it
_LEAK = (
    "Patel & Wong 2023, GPT-4 Architecture, Infrastructure, Training Dataset, Costs, Vision, MoE "
    f"(SemiAnalysis, 10 July 2023), as reported in {_ARTICLE}; OpenAI published none "
    "of these figures"
)
_LEAK_SHORT = f"Patel & Wong 2023 (SemiAnalysis), as reported in {_ARTICLE}; OpenAI published none of these figures"
_SEED = f"{_ARTICLE} (the July 2023 GPT-4 leak as reported)"
_SEMI = (
    "Patel and Wong 2023, 'GPT-4 Architecture, Infrastructure, Training Dataset, Costs, "
    "Vision, MoE', SemiAnalysis (the leak's source; not in the seed article)"
)

FIGURES: dict[str, Figure] = {
    # The training run and its cost.
    "gpt4.train_flops": Figure(
        2.15e25, "FLOP", _LEAK + " (the ~2.15e25 FLOPs is in the leak, not in the seed article)"
    ),
    "gpt4.n_gpus": Figure(25_000, "A100", _LEAK + ": ~25,000 A100s"),
    "gpt4.train_days_low": Figure(90, "day", _LEAK + ": 90 to 100 days"),
    "gpt4.train_days_high": Figure(100, "day", _LEAK + ": 90 to 100 days"),
    "gpt4.mfu_low": Figure(0.32, "fraction", _LEAK + ": 32% to 36% MFU"),
    "gpt4.mfu_high": Figure(0.36, "fraction", _LEAK + ": 32% to 36% MFU"),
    "gpt4.price_per_a100_hour": Figure(1.0, "USD/A100-hour", _LEAK + ": '$1 per A100 hour'"),
    "gpt4.train_dollars": Figure(63e6, "USD", _LEAK + ": about $63 million for this run alone"),
    # The data.
    "gpt4.text_epochs": Figure(2, "epoch", _LEAK_SHORT + ": two epochs for text data"),
    "gpt4.code_epochs": Figure(4, "epoch", _LEAK_SHORT + ": four epochs for code data"),
    "gpt4.vision_tokens": Figure(
        2e12,
        "token",
        _LEAK_SHORT + ": the vision model was fine-tuned on about 2 trillion more "
        "tokens after the text-only pre-training",
    ),
    # Parallelism and batch in training.
    "gpt4.tensor_parallel": Figure(8, "GPU", _SEED + ": 8-way tensor parallelism in training"),
    "gpt4.pipeline_parallel": Figure(15, "GPU", _SEED + ": 15-way pipeline parallelism in training"),
    "gpt4.batch_tokens": Figure(60e6, "token", _SEMI + ": batch ramped up to 60 million tokens"),
    "gpt4.batch_tokens_per_expert": Figure(7.5e6, "token", _SEMI + ": 'only' 7.5 million tokens per expert"),
    # Serving.
    "gpt4.serving_gpus": Figure(128, "GPU", _SEED + ": inference on clusters of 128 GPUs"),
    "gpt4.serving_tensor_parallel": Figure(8, "GPU", _SEED + ": 8-way tensor parallelism in inference"),
    "gpt4.serving_pipeline_parallel": Figure(16, "GPU", _SEED + ": 16-way pipeline parallelism in inference"),
    "gpt4.serving_nodes_for_layers": Figure(
        15, "node", _SEED + ": the 120 layers fit in 15 nodes (fewer layers on the first one)"
    ),
}
