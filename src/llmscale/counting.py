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


def attention_params(cfg: ModelConfig) -> int:
    """Parameters of one self-attention block: Q, K, V, output projections (+ biases)."""
    d, q_width, kv_width = cfg.d_model, cfg.n_heads * cfg.head_dim_, cfg.kv_heads * cfg.head_dim_
    weights = d * q_width + 2 * d * kv_width + q_width * d
    biases = (q_width + 2 * kv_width + d) if cfg.bias else 0
    relative = (d * q_width + 2 * q_width) if cfg.pos == "relative" else 0
    return weights + biases + relative


def ffn_params(cfg: ModelConfig) -> int:
    """Parameters of one dense feed-forward block, or of one expert."""
    d, f = cfg.d_model, cfg.ff_dim
    if cfg.ffn == "swiglu":
        return 3 * d * f + ((2 * f + d) if cfg.bias else 0)
    return 2 * d * f + ((f + d) if cfg.bias else 0)


def router_params(cfg: ModelConfig) -> int:
    """Parameters of one layer's router (zero for a dense model)."""
    if not cfg.is_moe:
        return 0
    return cfg.d_model * cfg.n_experts + (cfg.n_experts if cfg.bias else 0)


def param_breakdown(cfg: ModelConfig) -> Breakdown:
    """Parameters by component: embeddings, attention, feed-forward, experts (+ routers), norms."""
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
        feed_forward = 0
        experts = ffn_layers * (cfg.n_experts * ffn_params(cfg) + router_params(cfg))
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
    return param_count(cfg) - (cfg.n_layers + cfg.n_encoder_layers) * idle_experts * ffn_params(cfg)


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
    """
    if cfg.n_encoder_layers:
        raise ValueError(
            "flops_per_token covers decoder-only models; this config has "
            f"n_encoder_layers={cfg.n_encoder_layers}. Set n_encoder_layers=0"
        )
    context = _check_context(cfg, context)
    d, L = cfg.d_model, cfg.n_layers
    q_width, kv_width = cfg.n_heads * cfg.head_dim_, cfg.kv_heads * cfg.head_dim_
    attn_weights = d * q_width + 2 * d * kv_width + q_width * d
    if cfg.ffn == "swiglu":
        ffn_weights = 3 * d * cfg.ff_dim
    else:
        ffn_weights = 2 * d * cfg.ff_dim
    router = cfg.d_model * cfg.n_experts if cfg.is_moe else 0
    per_layer = attn_weights + cfg.top_k * ffn_weights + router
    lm_head = cfg.vocab_size * d
    forward = 2 * (L * per_layer + lm_head) + 2 * 2 * L * context * q_width
    return 3 * forward if training else forward


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
    """Parameters of one expert across all layers (one expert's feed-forward block in each of L layers)."""
    check_moe(cfg)
    return cfg.n_layers * ffn_params(cfg)


def shared_params(cfg: ModelConfig) -> int:
    """Parameters every token uses whatever the router picks: embeddings, attention, routers, norms."""
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
