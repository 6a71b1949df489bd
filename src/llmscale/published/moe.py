"""Reported figures used by the mixture-of-experts pages (expert arithmetic and costs).

GPT-4's figures are not published by OpenAI: they come from the July 2023 leak, as the seed
article 000_4ec7ba283c4a0447.txt reports it, or (where the seed is silent) from the
SemiAnalysis report that the leak came from. Mixtral's come from its paper. GPT-4's GPU
count and MFU are in `published/compute_cost.py` ("gpt4.n_gpus", "gpt4.mfu_low", "gpt4.mfu_high").
"""

from __future__ import annotations

from . import Figure

_SEED = "000_4ec7ba283c4a0447.txt (the July 2023 GPT-4 leak as reported)"
_SEMI = ("Patel and Wong 2023, 'GPT-4 Architecture, Infrastructure, Training Dataset, Costs, "
         "Vision, MoE', SemiAnalysis (the leak's source; not in the seed article)")

FIGURES: dict[str, Figure] = {
    "mixtral.total_params": Figure(
        47e9, "parameter", "Jiang et al. 2024, Mixtral of Experts, abstract: each token has access "
                           "to 47B parameters"),
    "mixtral.active_params": Figure(
        13e9, "parameter", "Jiang et al. 2024, Mixtral of Experts, abstract: it uses only 13B active "
                           "parameters per token"),
    "mixtral.released_params": Figure(
        46_702_792_704, "parameter",
        "mistralai/Mixtral-8x7B-v0.1 as released: the parameters transformers' MixtralForCausalLM "
        "instantiates from the released config.json (tests/test_counting.py rebuilds it)"),
    "switch.pretraining_speedup": Figure(
        7, "×", "Fedus et al. 2022, Switch Transformers, abstract: 'up to 7x increases in "
                "pre-training speed with the same computational resources' (T5-Base and T5-Large "
                "against Switch models of equal FLOPs per token)"),
    "gpt4.tensor_parallel": Figure(8, "GPU", _SEED + ": 8-way tensor parallelism in training"),
    "gpt4.pipeline_parallel": Figure(15, "GPU", _SEED + ": 15-way pipeline parallelism in training"),
    "gpt4.batch_tokens": Figure(60e6, "token", _SEMI + ": batch ramped up to 60 million tokens"),
    "gpt4.batch_tokens_per_expert": Figure(
        7.5e6, "token", _SEMI + ": 'only' 7.5 million tokens per expert"),
    "gpt4.serving_gpus": Figure(128, "GPU", _SEED + ": inference on clusters of 128 GPUs"),
    "gpt4.serving_tensor_parallel": Figure(8, "GPU", _SEED + ": 8-way tensor parallelism in inference"),
    "gpt4.serving_pipeline_parallel": Figure(16, "GPU", _SEED + ": 16-way pipeline parallelism in inference"),
    "gpt4.serving_nodes_for_layers": Figure(
        15, "node", _SEED + ": the 120 layers fit in 15 nodes (fewer layers on the first one)"),
    "dgx-a100.infiniband_bw_per_gpu": Figure(
        25e9, "byte/s", "NVIDIA DGX A100 datasheet: eight single-port ConnectX-6 200 Gb/s HDR "
                        "InfiniBand adapters, one per GPU (200 Gb/s = 25 GB/s each way)"),
}
