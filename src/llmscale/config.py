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
GATINGS = ("topk-softmax", "softmax-topk", "sigmoid-topk")


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
    gating: "topk-softmax" (Mixtral: softmax over the k chosen logits), "softmax-topk"
         (Switch, DeepSeek-V2: the k largest of the softmax over all experts, not renormalised) or
         "sigmoid-topk" (DeepSeek-V3: a sigmoid score per expert, the k largest renormalised to 1).

    Multi-head latent attention (MLA, DeepSeek-V2/V3), on when kv_lora_rank is set (pos must be
    "rope"; n_kv_heads must stay None, every head gets its own keys and values):
    kv_lora_rank: width d_c of the latent c = RMSNorm(x·W_DKV) that is cached instead of K and V;
         keys and values of all h heads are expanded from it.
    q_lora_rank: width d_c' of the query's low-rank bottleneck (with its RMSNorm); None means a
         full d×h·(d_nope+d_rope) query projection (DeepSeek-V2-Lite).
    qk_rope_head_dim: width d_rope of the decoupled rotary part of each query and of the one
         rotary key shared by all heads (cached beside the latent); None means half of d_nope,
         rounded up to an even width.
    qk_nope_head_dim, v_head_dim: per-head widths of the keys' position-free part and of the
         values; None means head_dim (d_model // n_heads unless head_dim is given).
    DeepSeek-style experts (mixture-of-experts configs only):
    n_shared_experts: experts every token goes through besides its top_k routed ones, built as
         one feed-forward block n_shared_experts·expert width wide (no gate).
    expert_d_ff: width of one routed (and shared) expert, "fine-grained" experts narrower than
         the dense feed-forward; None means d_ff.
    n_dense_layers: the first n_dense_layers blocks have a dense feed-forward of width d_ff
         instead of experts (DeepSeek-V3: 3).
    routed_scaling_factor: the routed experts' gate weights are multiplied by it (DeepSeek-V3:
         2.5); 1 leaves them as the gating gives them.
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
    kv_lora_rank: int | None = None
    q_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    qk_nope_head_dim: int | None = None
    v_head_dim: int | None = None
    n_shared_experts: int = 0
    expert_d_ff: int | None = None
    n_dense_layers: int = 0
    routed_scaling_factor: float = 1.0

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
            "kv_lora_rank": optional_positive_int(
                "kv_lora_rank", self.kv_lora_rank, "512", none_means="no latent attention"
            ),
            "q_lora_rank": optional_positive_int(
                "q_lora_rank", self.q_lora_rank, "1536", none_means="a full-rank query projection"
            ),
            "qk_rope_head_dim": optional_positive_int(
                "qk_rope_head_dim",
                self.qk_rope_head_dim,
                "64",
                none_means="half of qk_nope_head_dim, rounded up to even",
            ),
            "qk_nope_head_dim": optional_positive_int(
                "qk_nope_head_dim", self.qk_nope_head_dim, "128", none_means="head_dim"
            ),
            "v_head_dim": optional_positive_int("v_head_dim", self.v_head_dim, "128", none_means="head_dim"),
            "n_shared_experts": non_negative_int("n_shared_experts", self.n_shared_experts, "1 (0: none)"),
            "expert_d_ff": optional_positive_int("expert_d_ff", self.expert_d_ff, "2048", none_means="d_ff"),
            "n_dense_layers": non_negative_int("n_dense_layers", self.n_dense_layers, "3 (0: experts in every layer)"),
            "routed_scaling_factor": positive_number("routed_scaling_factor", self.routed_scaling_factor, "2.5"),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

        explicit_mla_widths = self.qk_nope_head_dim is not None and self.v_head_dim is not None
        if self.head_dim is None and self.d_model % self.n_heads and not (self.is_mla and explicit_mla_widths):
            raise ValueError(
                f"n_heads={self.n_heads} does not divide d_model={self.d_model}; "
                f"choose d_model a multiple of n_heads, or set head_dim explicitly"
            )
        if self.n_heads % self.kv_heads:
            raise ValueError(
                f"n_kv_heads={self.n_kv_heads} does not divide n_heads={self.n_heads}; "
                "choose a divisor of n_heads (1 is multi-query, n_heads is multi-head)"
            )
        if self.pos == "rope" and self.head_dim_ % 2 and self.kv_lora_rank is None:
            raise ValueError(
                f"pos='rope' needs an even head dimension, got head_dim={self.head_dim_}; "
                "choose an even head_dim (d_model // n_heads) or pos='learned'"
            )
        if self.top_k > self.n_experts:
            raise ValueError(f"top_k={self.top_k} exceeds n_experts={self.n_experts}; choose top_k <= n_experts")
        self._check_latent_attention()
        self._check_deepseek_experts()

    def _check_latent_attention(self) -> None:
        if self.kv_lora_rank is None:
            for name in ("q_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"{name}={getattr(self, name)} shapes multi-head latent attention, which is off: "
                        f"set kv_lora_rank (e.g. kv_lora_rank=512) or leave {name}=None"
                    )
            return
        if self.n_kv_heads is not None:
            raise ValueError(
                f"n_kv_heads={self.n_kv_heads} with kv_lora_rank={self.kv_lora_rank}: latent attention expands "
                "keys and values for every head from the latent; leave n_kv_heads=None"
            )
        if self.pos != "rope":
            raise ValueError(
                f"pos={self.pos!r} with kv_lora_rank={self.kv_lora_rank}: latent attention carries positions "
                "in its decoupled rotary key; choose pos='rope'"
            )
        if self.n_encoder_layers:
            raise ValueError(
                f"n_encoder_layers={self.n_encoder_layers} with kv_lora_rank={self.kv_lora_rank}: latent "
                "attention is decoder-only here; set n_encoder_layers=0"
            )
        if self.qk_rope_head_dim_ % 2:
            raise ValueError(
                f"qk_rope_head_dim={self.qk_rope_head_dim_} must be even (rotary pairs); "
                "choose an even qk_rope_head_dim, e.g. 64"
            )

    def _check_deepseek_experts(self) -> None:
        if not self.is_moe:
            for name, off in (("n_shared_experts", 0), ("expert_d_ff", None), ("n_dense_layers", 0)):
                if getattr(self, name) != off:
                    raise ValueError(
                        f"{name}={getattr(self, name)} shapes a mixture of experts, but n_experts=1: "
                        f"choose n_experts > 1 (e.g. 8) or leave {name}={off}"
                    )
            return
        if self.n_dense_layers >= self.n_layers:
            raise ValueError(
                f"n_dense_layers={self.n_dense_layers} must be less than n_layers={self.n_layers} "
                "(at least one layer keeps its experts); choose a smaller n_dense_layers or n_experts=1"
            )

    # Resolved values: everything downstream reads these, never the raw Nones.
    @property
    def _base_head_dim(self) -> int:
        return self.head_dim if self.head_dim is not None else self.d_model // self.n_heads

    @property
    def head_dim_(self) -> int:
        """Width of one attention head (d_h); under latent attention, of one query/key head,
        d_nope + d_rope (values have v_head_dim_)."""
        if self.is_mla:
            return self.qk_nope_head_dim_ + self.qk_rope_head_dim_
        return self._base_head_dim

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

    @property
    def is_mla(self) -> bool:
        """Multi-head latent attention (kv_lora_rank is set)."""
        return self.kv_lora_rank is not None

    @property
    def qk_nope_head_dim_(self) -> int:
        """Per-head width of the position-free query/key part of latent attention (d_nope)."""
        return self.qk_nope_head_dim if self.qk_nope_head_dim is not None else self._base_head_dim

    @property
    def qk_rope_head_dim_(self) -> int:
        """Width of the decoupled rotary query part and shared rotary key (d_rope)."""
        if self.qk_rope_head_dim is not None:
            return self.qk_rope_head_dim
        return 2 * -(-self.qk_nope_head_dim_ // 4)  # half of d_nope, rounded up to an even width

    @property
    def v_head_dim_(self) -> int:
        """Per-head value width: v_head_dim under latent attention, head_dim_ otherwise."""
        if not self.is_mla:
            return self.head_dim_
        return self.v_head_dim if self.v_head_dim is not None else self._base_head_dim

    @property
    def expert_ff_dim(self) -> int:
        """Hidden width of one routed expert (and of each shared one): expert_d_ff, else d_ff."""
        return self.expert_d_ff if self.expert_d_ff is not None else self.ff_dim

    @property
    def n_moe_layers(self) -> int:
        """Decoder blocks whose feed-forward is a mixture of experts (0 for a dense model)."""
        return self.n_layers - self.n_dense_layers if self.is_moe else 0

    def replace(self, **changes) -> ModelConfig:
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(
                f"unknown ModelConfig field(s) {sorted(unknown)}; valid fields are {[f.name for f in fields(self)]}"
            )
        return replace(self, **changes)
