"""DeepSeek-V3 (and DeepSeek-V2-Lite): what DeepSeek-AI report, and the released architecture.

The architecture of DeepSeek-V3 (DeepSeek-AI 2024, DeepSeek-V3 Technical Report, arXiv
2412.19437, §4.2 "Hyper-Parameters", and the released config.json of deepseek-ai/DeepSeek-V3):
61 layers of width 7168; multi-head latent attention with 128 heads, d_nope = d_v = 128, a
decoupled rotary key of 64, a KV latent of 512 and a query latent of 1536; the first three
layers dense (SwiGLU of 18432), the others 1 shared and 256 routed experts of 2048, 8 routed
per token, sigmoid gating with normalised top-k weights scaled by 2.5; vocabulary 129,280.
`presets` builds the "deepseek-v3" configuration from `DEEPSEEK_V3`.
"""

from __future__ import annotations

from . import Figure

_REPORT = "DeepSeek-AI 2024, DeepSeek-V3 Technical Report (arXiv 2412.19437)"
_WEIGHTS = "deepseek-ai/DeepSeek-V3, README_WEIGHTS.md (the released checkpoint's weight documentation)"

DEEPSEEK_V3_SOURCE = f"{_REPORT}, §4.2 Hyper-Parameters, and the released config.json"
DEEPSEEK_V3 = dict(
    n_layers=61,
    d_model=7168,
    n_heads=128,
    vocab_size=129280,
    d_ff=18432,  # the dense feed-forward of the first three layers
    kv_lora_rank=512,
    q_lora_rank=1536,
    qk_rope_head_dim=64,
    qk_nope_head_dim=128,
    v_head_dim=128,
    n_experts=256,
    top_k=8,
    n_shared_experts=1,
    expert_d_ff=2048,
    n_dense_layers=3,
    routed_scaling_factor=2.5,
    norm_eps=1e-6,
    rope_theta=10000.0,
)
DEEPSEEK_V3_PRETRAIN_CONTEXT = 4096  # §4.3: pre-trained at 4K, then extended to 32K and 128K (YaRN)
DEEPSEEK_V3_LONG_CONTEXT = 131072  # §4.3 "Long Context Extension": 128K after the second stage

DEEPSEEK_V2_LITE_SOURCE = (
    "DeepSeek-AI 2024, DeepSeek-V2: A Strong, Economical, and Efficient Mixture-of-Experts Language "
    "Model (arXiv 2405.04434), Appendix B (DeepSeek-V2-Lite), and the released config.json"
)
DEEPSEEK_V2_LITE = dict(
    n_layers=27,
    d_model=2048,
    n_heads=16,
    vocab_size=102400,
    d_ff=10944,
    kv_lora_rank=512,
    qk_rope_head_dim=64,
    qk_nope_head_dim=128,
    v_head_dim=128,
    n_experts=64,
    top_k=6,
    n_shared_experts=2,
    expert_d_ff=1408,
    n_dense_layers=1,
    gating="softmax-topk",
    norm_eps=1e-6,
    rope_theta=10000.0,
)

FIGURES: dict[str, Figure] = {
    "deepseek-v3.total_params": Figure(
        671e9, "parameter", f"{_REPORT}, abstract: 671B total parameters (the main model, without the MTP module)"
    ),
    "deepseek-v3.active_params": Figure(37e9, "parameter", f"{_REPORT}, abstract: 37B activated for each token"),
    "deepseek-v3.released_active_params": Figure(
        36.6e9, "parameter", f"{_WEIGHTS}: main model, activation parameters 36.6B"
    ),
    "deepseek-v3.mtp_params": Figure(
        11.5e9,
        "parameter",
        f"{_WEIGHTS}: the one multi-token-prediction module holds 11.5B unique parameters "
        "(it shares the embedding and output head with the main model); the checkpoint totals 685B",
    ),
    "deepseek-v3.checkpoint_params": Figure(
        685e9, "parameter", f"{_WEIGHTS}: 671B of main model and the MTP module's weights, 685B in all"
    ),
    "deepseek-v3.train_tokens": Figure(14.8e12, "token", f"{_REPORT}, abstract: pre-trained on 14.8 trillion tokens"),
    "deepseek-v3.gpu_hours": Figure(
        2.788e6, "H800 GPU-hour", f"{_REPORT}, abstract and Table 1: 2.788M H800 GPU hours for its full training"
    ),
    "deepseek-v2-lite.total_params": Figure(15.7e9, "parameter", f"{DEEPSEEK_V2_LITE_SOURCE}: 15.7B total parameters"),
    "deepseek-v2-lite.active_params": Figure(
        2.4e9, "parameter", f"{DEEPSEEK_V2_LITE_SOURCE}: 2.4B activated for each token"
    ),
}
