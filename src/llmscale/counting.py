"""Parameter and FLOP counts computed from a `ModelConfig`.

Counts are exact: for any configuration `llmscale.model` builds, `param_count` equals the
built model's parameter count (tests check it over random configurations), and for the
published presets it equals what the reference implementations instantiate.

FLOPs count multiply-accumulates of matrix products as 2 FLOPs, as the scaling literature
and PyTorch's `FlopCounterMode` do; element-wise work (norms, softmax, activations) is
left out, as it is there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import non_negative_number, positive_int, scalar_or_array
from .config import ModelConfig


@dataclass(frozen=True)
class Breakdown:
    """Parameters by where they sit. `total` is their sum."""

    embeddings: int
    attention: int
    feed_forward: int
    experts: int
    norms: int

    @property
    def total(self) -> int:
        return self.embeddings + self.attention + self.feed_forward + self.experts + self.norms

    def as_dict(self) -> dict[str, int]:
        return {
            "embeddings": self.embeddings,
            "attention": self.attention,
            "feed_forward": self.feed_forward,
            "experts": self.experts,
            "norms": self.norms,
        }


def _norm_params(cfg: ModelConfig) -> int:
    # RMSNorm has a gain only; LayerNorm adds a bias unless the model drops biases (PaLM).
    if cfg.norm == "rmsnorm":
        return cfg.d_model
    return 2 * cfg.d_model if cfg.bias else cfg.d_model


def _latent_attention_weights(cfg: ModelConfig) -> int:
    """Matrix entries of one latent-attention block (DeepSeek-V2/V3 MLA), norms and biases aside.

    Query: d×h·(d_nope+d_rope), or through the bottleneck d×d_c' then d_c'×h·(d_nope+d_rope);
    keys/values: d×(d_c+d_rope) down to the latent and the shared rotary key, d_c×h·(d_nope+d_v)
    up to every head's position-free key and value; output h·d_v×d.
    """
    d, h = cfg.d_model, cfg.n_heads
    qk, r_kv = cfg.head_dim_, cfg.kv_lora_rank
    if cfg.q_lora_rank is None:
        query = d * h * qk
    else:
        query = d * cfg.q_lora_rank + cfg.q_lora_rank * h * qk
    key_value = d * (r_kv + cfg.qk_rope_head_dim_) + r_kv * h * (cfg.qk_nope_head_dim_ + cfg.v_head_dim_)
    return query + key_value + h * cfg.v_head_dim_ * d


def _latent_attention_params(cfg: ModelConfig) -> int:
    # The latent's RMSNorm (and the query bottleneck's); biases, as DeepSeek's attention_bias,
    # on the down projections and the output only.
    norms = cfg.kv_lora_rank + (cfg.q_lora_rank or 0)
    biases = ((cfg.q_lora_rank or 0) + cfg.kv_lora_rank + cfg.qk_rope_head_dim_ + cfg.d_model) if cfg.bias else 0
    return _latent_attention_weights(cfg) + norms + biases


def attention_params(cfg: ModelConfig) -> int:
    """Parameters of one self-attention block: Q, K, V, output projections (+ biases); for
    multi-head latent attention, its down and up projections and the latent's norms."""
    if cfg.is_mla:
        return _latent_attention_params(cfg)
    d, q_width, kv_width = cfg.d_model, cfg.n_heads * cfg.head_dim_, cfg.kv_heads * cfg.head_dim_
    weights = d * q_width + 2 * d * kv_width + q_width * d
    biases = (q_width + 2 * kv_width + d) if cfg.bias else 0
    relative = (d * q_width + 2 * q_width) if cfg.pos == "relative" else 0
    return weights + biases + relative


def has_deepseek_experts(cfg: ModelConfig) -> bool:
    """Whether `cfg` has experts of their own width, shared experts or leading dense layers."""
    return cfg.is_moe and (cfg.expert_d_ff is not None or cfg.n_shared_experts > 0 or cfg.n_dense_layers > 0)


def ffn_params(cfg: ModelConfig, width: int | None = None) -> int:
    """Parameters of one feed-forward block `width` wide; None: d_ff, which is also one expert's
    block unless the config has DeepSeek-style experts, where None is refused as ambiguous (use
    `expert_ffn_params`, `shared_expert_params` or an explicit width)."""
    if width is None and has_deepseek_experts(cfg):
        raise ValueError(
            "ffn_params(cfg) is ambiguous for a config with expert_d_ff, n_shared_experts or n_dense_layers "
            "(DeepSeek-style experts): these costs assume every layer's experts are d_ff wide; choose "
            "counting.expert_ffn_params(cfg), counting.shared_expert_params(cfg) or ffn_params(cfg, width=...)"
        )
    d, f = cfg.d_model, cfg.ff_dim if width is None else width
    if cfg.ffn == "swiglu":
        return 3 * d * f + ((2 * f + d) if cfg.bias else 0)
    return 2 * d * f + ((f + d) if cfg.bias else 0)


def expert_ffn_params(cfg: ModelConfig) -> int:
    """Parameters of one routed expert in one layer (its width is expert_ff_dim)."""
    return ffn_params(cfg, cfg.expert_ff_dim)


def shared_expert_params(cfg: ModelConfig) -> int:
    """Parameters of one layer's shared experts: one block n_shared_experts·expert_ff_dim wide (0 if none)."""
    if not cfg.is_moe or not cfg.n_shared_experts:
        return 0
    return ffn_params(cfg, cfg.n_shared_experts * cfg.expert_ff_dim)


def router_params(cfg: ModelConfig) -> int:
    """Parameters of one layer's router (zero for a dense model)."""
    if not cfg.is_moe:
        return 0
    return cfg.d_model * cfg.n_experts + (cfg.n_experts if cfg.bias else 0)


def _moe_ffn_layers(cfg: ModelConfig) -> int:
    """Feed-forward layers that hold experts (encoder layers included), 0 if dense."""
    return cfg.n_layers + cfg.n_encoder_layers - cfg.n_dense_layers if cfg.is_moe else 0


def param_breakdown(cfg: ModelConfig) -> Breakdown:
    """Parameters by component: embeddings, attention (latent attention's own norms included),
    feed-forward (leading dense layers and shared experts included), routed experts (+ routers),
    norms."""
    d, L = cfg.d_model, cfg.n_layers
    embeddings = cfg.vocab_size * d
    if not cfg.tie_embeddings:
        embeddings += cfg.vocab_size * d  # the output projection (LM head)
    if cfg.pos == "learned":
        embeddings += cfg.seq_len * d
    norm = _norm_params(cfg)
    enc = cfg.n_encoder_layers
    # Encoder blocks: self-attention + FFN; decoder blocks of an encoder-decoder model add
    # cross-attention and a third norm. Encoder-decoder models here share one embedding
    # matrix three ways, as the 2017 Transformer does, and use post-norm (no final norm).
    attention = (L + enc + (L if enc else 0)) * attention_params(cfg)
    ffn_layers = L + enc
    if cfg.is_moe:
        # Leading dense layers and the shared experts, which every token uses, count as
        # feed-forward; the routed experts and their routers as experts.
        moe_layers = _moe_ffn_layers(cfg)
        feed_forward = cfg.n_dense_layers * ffn_params(cfg, cfg.ff_dim) + moe_layers * shared_expert_params(cfg)
        experts = moe_layers * (cfg.n_experts * expert_ffn_params(cfg) + router_params(cfg))
    else:
        feed_forward = ffn_layers * ffn_params(cfg)
        experts = 0
    if enc:
        norms = norm * (2 * enc + 3 * L)
    else:
        norms = norm * (2 * L + 1)
    return Breakdown(embeddings, attention, feed_forward, experts, norms)


def param_count(cfg: ModelConfig) -> int:
    """Total parameters (N), embeddings included."""
    return param_breakdown(cfg).total


def active_param_count(cfg: ModelConfig) -> int:
    """Parameters used for one token: everything but the experts the router did not pick."""
    if not cfg.is_moe:
        return param_count(cfg)
    idle_experts = cfg.n_experts - cfg.top_k
    return param_count(cfg) - _moe_ffn_layers(cfg) * idle_experts * expert_ffn_params(cfg)


def non_embedding_param_count(cfg: ModelConfig) -> int:
    """Parameters outside the embeddings and LM head (Kaplan et al.'s N)."""
    return param_count(cfg) - param_breakdown(cfg).embeddings


def _check_context(cfg: ModelConfig, context: int | None) -> int:
    if context is None:
        return cfg.seq_len
    if isinstance(context, bool) or not isinstance(context, (int, float)) or context < 0:
        raise ValueError(f"context={context!r} must be a number of tokens >= 0, e.g. context=2048")
    return context


def flops_per_token(cfg: ModelConfig, context: float | None = None, training: bool = False) -> float:
    """Matmul FLOPs to process one token of a decoder-only model.

    Forward: 2 FLOPs per weight the token multiplies by (attention and active feed-forward
    weights, routers, the LM head; not the embedding lookup) plus the attention term
    2·2·L·context·h·d_h for the scores QKᵀ and the weighted sum of V. `context` is how many
    keys each query meets: the kernels that process a causal block of S tokens compute all S
    (the default, cfg.seq_len), an ideal causal kernel needs (S+1)/2 on average.
    Training adds the backward pass, twice the forward: 3× in all.

    Multi-head latent attention counts its projections as computed in training and prefill
    (each token's keys and values expanded from its latent once) and h·(d_nope+d_rope) + h·d_v
    per key met; DeepSeek-style experts count the d_ff-wide leading dense layers, and in the
    other layers top_k routed experts of expert_ff_dim, the shared experts and the router.
    """
    if cfg.n_encoder_layers:
        raise ValueError(
            "flops_per_token covers decoder-only models; this config has "
            f"n_encoder_layers={cfg.n_encoder_layers}. Set n_encoder_layers=0"
        )
    context = _check_context(cfg, context)
    d, L = cfg.d_model, cfg.n_layers
    lm_head = cfg.vocab_size * d
    if cfg.is_mla or cfg.n_dense_layers or cfg.n_shared_experts or cfg.expert_d_ff is not None:
        forward = _deepseek_forward_flops(cfg, context)
        return 3 * forward if training else forward
    q_width, kv_width = cfg.n_heads * cfg.head_dim_, cfg.kv_heads * cfg.head_dim_
    attn_weights = d * q_width + 2 * d * kv_width + q_width * d
    if cfg.ffn == "swiglu":
        ffn_weights = 3 * d * cfg.ff_dim
    else:
        ffn_weights = 2 * d * cfg.ff_dim
    router = cfg.d_model * cfg.n_experts if cfg.is_moe else 0
    per_layer = attn_weights + cfg.top_k * ffn_weights + router
    forward = 2 * (L * per_layer + lm_head) + 2 * 2 * L * context * q_width
    return 3 * forward if training else forward


def _ffn_weights(cfg: ModelConfig, width: int) -> int:
    return (3 if cfg.ffn == "swiglu" else 2) * cfg.d_model * width


def _deepseek_forward_flops(cfg: ModelConfig, context: float) -> float:
    """Forward FLOPs per token with latent attention and/or DeepSeek-style experts.

    Latent attention, computed as written (keys and values expanded from the latent, once per
    token of the block): 2 FLOPs per attention weight, and per key met h·(d_nope+d_rope) for the
    scores and h·d_v for the weighted values. Leading dense layers run a d_ff-wide block; the
    others the top_k routed experts, the shared experts and the router.
    """
    d, L, h = cfg.d_model, cfg.n_layers, cfg.n_heads
    if cfg.is_mla:
        attn_weights = _latent_attention_weights(cfg)
        score_width = h * (cfg.head_dim_ + cfg.v_head_dim_)
    else:
        q_width, kv_width = h * cfg.head_dim_, cfg.kv_heads * cfg.head_dim_
        attn_weights = d * q_width + 2 * d * kv_width + q_width * d
        score_width = 2 * q_width
    if cfg.is_moe:
        moe = (
            cfg.top_k * _ffn_weights(cfg, cfg.expert_ff_dim)
            + _ffn_weights(cfg, cfg.n_shared_experts * cfg.expert_ff_dim)
            + d * cfg.n_experts
        )
        ffn = cfg.n_dense_layers * _ffn_weights(cfg, cfg.ff_dim) + cfg.n_moe_layers * moe
    else:
        ffn = L * _ffn_weights(cfg, cfg.ff_dim)
    return 2 * (L * attn_weights + ffn + cfg.vocab_size * d) + 2 * L * context * score_width


def latent_decode_flops_per_token(cfg: ModelConfig, context: float | None = None) -> float:
    """Forward FLOPs of one token decoded with multi-head latent attention over a cache of
    `context` tokens (its own included; None: cfg.seq_len), in the absorbed form the book's
    `LatentAttention` uses with a cache.

    W_UK is applied to the query and W_UV to the attention output instead of to every cached
    latent, so the weights cost what they cost in `flops_per_token` (each is still used once per
    new token), and each cached token costs h·(d_c + d_rope) multiply-adds for the scores and h·d_c
    for the weighted latents: 2·L·context·h·(2·d_c + d_rope) FLOPs, where the expanded form of
    `flops_per_token` spends 2·L·context·h·(d_nope + d_rope + d_v) but must first expand the cache.
    """
    cfg = check_decoder_only(cfg, "latent-attention decode FLOPs")
    if not cfg.is_mla:
        raise ValueError(
            "latent_decode_flops_per_token needs multi-head latent attention (kv_lora_rank set); "
            "for other attention use flops_per_token(cfg, context)"
        )
    context = _check_context(cfg, context)
    per_key = cfg.n_heads * (2 * cfg.kv_lora_rank + cfg.qk_rope_head_dim_)
    return flops_per_token(cfg, context=0) + 2 * cfg.n_layers * context * per_key


def training_flops(cfg: ModelConfig, tokens: float, context: float | None = None) -> float:
    """Matmul FLOPs to train on `tokens` tokens (forward + backward), attention included."""
    if tokens < 0:
        raise ValueError(f"tokens={tokens!r} must be >= 0")
    return tokens * flops_per_token(cfg, context=context, training=True)


def approx_training_flops(n_params, tokens):
    """The rule of thumb C ≈ 6·N·D (FLOPs): a float for numbers, an array for arrays."""
    return scalar_or_array(6.0 * np.asarray(n_params, dtype=float) * np.asarray(tokens, dtype=float))


# --- Mixture of experts: what every token shares, what one expert holds -------------------


def check_decoder_only(cfg: ModelConfig, what: str = "these counts") -> ModelConfig:
    """`cfg` if it is a decoder-only `ModelConfig`, or a ValueError saying what covers only those."""
    if not isinstance(cfg, ModelConfig):
        raise ValueError(f'cfg must be a ModelConfig, got {type(cfg).__name__}; e.g. presets.get("llama-13b")')
    if cfg.n_encoder_layers:
        raise ValueError(
            f"cfg has n_encoder_layers={cfg.n_encoder_layers}; {what} cover decoder-only models, set n_encoder_layers=0"
        )
    return cfg


def check_moe(cfg: ModelConfig) -> None:
    """Raise a ValueError unless `cfg` is a decoder-only mixture-of-experts config."""
    check_decoder_only(cfg, "these costs")
    if not cfg.is_moe:
        raise ValueError(
            f"cfg has n_experts={cfg.n_experts}: a dense model has no experts; "
            "pass a mixture-of-experts config (n_experts > 1)"
        )


def expert_params(cfg: ModelConfig) -> int:
    """Parameters of one routed expert across all layers (its feed-forward block in each of the
    L − n_dense_layers mixture-of-experts layers)."""
    check_moe(cfg)
    return cfg.n_moe_layers * expert_ffn_params(cfg)


def shared_params(cfg: ModelConfig) -> int:
    """Parameters every token uses whatever the router picks: embeddings, attention, routers, norms
    (and any leading dense layers and shared experts)."""
    check_moe(cfg)
    return param_count(cfg) - cfg.n_experts * expert_params(cfg)


def check_experts(n_experts, top_k) -> tuple[int, int]:
    """`(n_experts, top_k)` as ints with 1 <= top_k <= n_experts, or a ValueError."""
    n_experts = positive_int("n_experts", n_experts, "16")
    top_k = positive_int("top_k", top_k, "2")
    if top_k > n_experts:
        raise ValueError(f"top_k={top_k} exceeds n_experts={n_experts}; choose top_k <= n_experts")
    return n_experts, top_k


def tokens_per_expert(tokens: float, n_experts: int, top_k: int) -> float:
    """Tokens each expert sees on average in a batch of `tokens`: tokens·k/E (uniform routing)."""
    n_experts, top_k = check_experts(n_experts, top_k)
    tokens = non_negative_number("tokens", tokens, "60e6")
    return tokens * top_k / n_experts
