"""Model configurations: one frozen dataclass that describes every model in the book.

A `ModelConfig` is pure description. `llmscale.counting` turns it into parameter and FLOP
counts and `llmscale.model` builds it in PyTorch; both read the same resolved fields
(`head_dim_`, `kv_heads`, `ff_dim`), so the count and the built model cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from ._validate import (
    boolean,
    choice,
    non_negative_int,
    non_negative_number,
    optional_positive_int,
    optional_positive_number,
    positive_int,
    positive_number,
)

FFN_KINDS = ("swiglu", "gelu", "relu")
NORM_KINDS = ("rmsnorm", "layernorm")
POS_KINDS = ("rope", "learned", "sinusoidal", "relative")
GATINGS = ("topk-softmax", "softmax-topk")


def llama_ff_dim(d_model: int, multiple_of: int = 256) -> int:
    """Feed-forward width LLaMA uses for SwiGLU: 2/3 of 4·d, rounded up to `multiple_of`."""
    hidden = int(2 * 4 * d_model / 3)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


@dataclass(frozen=True)
class ModelConfig:
    """A decoder-only Transformer (or, with `n_encoder_layers>0`, an encoder-decoder one).

    n_layers: decoder blocks (L). d_model: residual width (d). n_heads: query heads (h).
    vocab_size: V. seq_len: the longest context the model is built for (S).
    n_kv_heads: key/value heads; None means one per query head, 1 is multi-query.
    head_dim: width of one head; None means d_model // n_heads.
    d_ff: feed-forward width; None means 4·d_model for GELU/ReLU and LLaMA's rule for SwiGLU.
    pos: "rope" and "sinusoidal" have no parameters; "learned" adds S·d;
         "relative" (Transformer-XL, used by Gopher and Chinchilla) adds a d×(h·d_h)
         projection and two bias vectors per layer (counted, not built).
    n_encoder_layers: encoder blocks of an encoder-decoder model such as the 2017
         Transformer (counted, not built: the book's model is decoder-only).
    n_experts, top_k: mixture of experts in every feed-forward layer (1, 1 is dense).
    The remaining fields shape the experts' router (`llmscale.model.moe`) and are ignored by dense
    models: capacity_factor: each expert takes at most ceil(capacity_factor·T·k/E) of a
         batch's T·k assignments, the rest are dropped; None means no limit (no dropping).
    router_aux_loss_coef: weight of the Switch load-balancing loss in the training objective.
    router_z_loss_coef: weight of the router z-loss (ST-MoE).
    gating: "topk-softmax" (Mixtral: softmax over the k chosen logits) or "softmax-topk"
         (Switch: the k largest of the softmax over all experts, not renormalised).
    """

    n_layers: int
    d_model: int
    n_heads: int
    vocab_size: int
    seq_len: int
    n_kv_heads: int | None = None
    head_dim: int | None = None
    d_ff: int | None = None
    ffn: str = "swiglu"
    norm: str = "rmsnorm"
    pos: str = "rope"
    tie_embeddings: bool = False
    bias: bool = False
    n_experts: int = 1
    top_k: int = 1
    n_encoder_layers: int = 0
    multiple_of: int = 256
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    capacity_factor: float | None = None
    router_aux_loss_coef: float = 0.01  # Switch Transformer's α (Fedus et al. 2022, §2.2)
    router_z_loss_coef: float = 0.001  # ST-MoE's c_z for the router z-loss (Zoph et al. 2022)
    gating: str = "topk-softmax"

    def __post_init__(self) -> None:
        # One check per field, in field order, each storing the value in the type computed with
        # (NumPy ints become ints, ints given for a float field become floats); then the
        # cross-field checks, which can rely on every field having its type.
        checked = {
            "n_layers": positive_int("n_layers", self.n_layers, "12"),
            "d_model": positive_int("d_model", self.d_model, "768"),
            "n_heads": positive_int("n_heads", self.n_heads, "12"),
            "vocab_size": positive_int("vocab_size", self.vocab_size, "50257"),
            "seq_len": positive_int("seq_len", self.seq_len, "1024"),
            "n_kv_heads": optional_positive_int(
                "n_kv_heads", self.n_kv_heads, "1", none_means="one key/value head per query head"
            ),
            "head_dim": optional_positive_int("head_dim", self.head_dim, "64", none_means="d_model // n_heads"),
            "d_ff": optional_positive_int(
                "d_ff", self.d_ff, "3072", none_means="4·d_model, or LLaMA's rule for SwiGLU"
            ),
            "ffn": choice("ffn", self.ffn, FFN_KINDS),
            "norm": choice("norm", self.norm, NORM_KINDS),
            "pos": choice("pos", self.pos, POS_KINDS),
            "tie_embeddings": boolean("tie_embeddings", self.tie_embeddings),
            "bias": boolean("bias", self.bias),
            "n_experts": positive_int("n_experts", self.n_experts, "8 (1 is dense)"),
            "top_k": positive_int("top_k", self.top_k, "2"),
            "n_encoder_layers": non_negative_int("n_encoder_layers", self.n_encoder_layers, "0 (a decoder-only model)"),
            "multiple_of": positive_int("multiple_of", self.multiple_of, "256"),
            "norm_eps": positive_number("norm_eps", self.norm_eps, "1e-5"),
            "rope_theta": positive_number("rope_theta", self.rope_theta, "10000.0"),
            "capacity_factor": optional_positive_number(
                "capacity_factor", self.capacity_factor, "1.25", none_means="no capacity limit"
            ),
            "router_aux_loss_coef": non_negative_number(
                "router_aux_loss_coef", self.router_aux_loss_coef, "0.01 (0 switches the loss off)"
            ),
            "router_z_loss_coef": non_negative_number(
                "router_z_loss_coef", self.router_z_loss_coef, "0.001 (0 switches the loss off)"
            ),
            "gating": choice("gating", self.gating, GATINGS),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

        if self.head_dim is None and self.d_model % self.n_heads:
            raise ValueError(
                f"n_heads={self.n_heads} does not divide d_model={self.d_model}; "
                f"choose d_model a multiple of n_heads, or set head_dim explicitly"
            )
        if self.n_heads % self.kv_heads:
            raise ValueError(
                f"n_kv_heads={self.n_kv_heads} does not divide n_heads={self.n_heads}; "
                "choose a divisor of n_heads (1 is multi-query, n_heads is multi-head)"
            )
        if self.pos == "rope" and self.head_dim_ % 2:
            raise ValueError(
                f"pos='rope' needs an even head dimension, got head_dim={self.head_dim_}; "
                "choose an even head_dim (d_model // n_heads) or pos='learned'"
            )
        if self.top_k > self.n_experts:
            raise ValueError(f"top_k={self.top_k} exceeds n_experts={self.n_experts}; choose top_k <= n_experts")

    # Resolved values: everything downstream reads these, never the raw Nones.
    @property
    def head_dim_(self) -> int:
        """Width of one attention head (d_h)."""
        return self.head_dim if self.head_dim is not None else self.d_model // self.n_heads

    @property
    def kv_heads(self) -> int:
        """Number of key/value heads (h_kv)."""
        return self.n_heads if self.n_kv_heads is None else self.n_kv_heads

    @property
    def ff_dim(self) -> int:
        """Feed-forward hidden width (d_ff) of one expert or of the dense layer."""
        if self.d_ff is not None:
            return self.d_ff
        if self.ffn == "swiglu":
            return llama_ff_dim(self.d_model, self.multiple_of)
        return 4 * self.d_model

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 1

    def replace(self, **changes) -> ModelConfig:
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(
                f"unknown ModelConfig field(s) {sorted(unknown)}; valid fields are {[f.name for f in fields(self)]}"
            )
        return replace(self, **changes)
