"""The KV cache: bytes of the keys and values a decoder keeps for the tokens it has seen, and
the memory serving needs, weights and cache together.

Each layer caches, for every token of every sequence, one key and one value vector per
key/value head: L·2·h_kv·d_h values per token, so grouped-query and multi-query attention
shrink the cache by h/h_kv. Multi-head latent attention (DeepSeek-V2/V3, `cfg.kv_lora_rank`
set) caches instead one latent of width d_c and one rotary key of width d_rope shared by all
heads: L·(d_c + d_rope) values per token. Bytes are decimal counts. Arithmetic, no torch.

`bytes_per_token(cfg, bytes_per_value=2)` and `bytes_per_sequence(cfg, context,
bytes_per_value=2)` are the names the inference chapter uses; the older `kv_cache_bytes_per_token`
and `kv_cache_bytes` follow the same rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .. import counting
from .._validate import non_negative_int, optional_positive_int, positive_int, positive_number
from ..config import ModelConfig


def values_per_token(cfg: ModelConfig) -> int:
    """Values one token adds to the cache, over all layers: L·2·h_kv·d_h, or L·(d_c + d_rope)
    under multi-head latent attention."""
    cfg = counting.check_decoder_only(cfg, "KV-cache sizes")
    if cfg.is_mla:
        return cfg.n_layers * (cfg.kv_lora_rank + cfg.qk_rope_head_dim_)
    return cfg.n_layers * 2 * cfg.kv_heads * cfg.head_dim_


def bytes_per_token(cfg: ModelConfig, bytes_per_value: float = 2) -> float:
    """Bytes one token adds to the cache, over all layers: L·2·h_kv·d_h·b, or L·(d_c + d_rope)·b
    under multi-head latent attention."""
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    return float(values_per_token(cfg)) * b


def mha_bytes_per_token(cfg: ModelConfig, bytes_per_value: float = 2) -> float:
    """Bytes per token a multi-head cache of the same heads would take, one key and one value
    per query head: L·2·h·d_h·b, or L·h·(d_nope + d_rope + d_v)·b for the keys and values latent
    attention expands. `bytes_per_token` over this is what GQA, MQA or MLA saves."""
    cfg = counting.check_decoder_only(cfg, "KV-cache sizes")
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    return float(cfg.n_layers * cfg.n_heads * (cfg.head_dim_ + cfg.v_head_dim_)) * b


def bytes_per_sequence(cfg: ModelConfig, context: int, bytes_per_value: float = 2) -> float:
    """Bytes of the cache of one sequence of `context` tokens: context · bytes_per_token."""
    context = non_negative_int("context", context, "2048")
    return bytes_per_token(cfg, bytes_per_value) * context


def kv_cache_bytes_per_token(cfg: ModelConfig, bytes_per_value: float = 2) -> float:
    """Bytes of keys and values one token adds to the cache, over all layers: L·2·h_kv·d_h·b
    (L·(d_c + d_rope)·b under latent attention; the same as `bytes_per_token`)."""
    return bytes_per_token(cfg, bytes_per_value)


def kv_cache_bytes(cfg: ModelConfig, context: int | None = None, batch: int = 1, bytes_per_value: float = 2) -> float:
    """Bytes of the KV cache of `batch` sequences of `context` tokens each (None: cfg.seq_len, one
    full context): L·2·h_kv·d_h·S·B·b."""
    cfg = counting.check_decoder_only(cfg, "KV-cache sizes")
    context = optional_positive_int("context", context, "2048", none_means="cfg.seq_len")
    context = cfg.seq_len if context is None else context
    batch = positive_int("batch", batch, "1")
    return kv_cache_bytes_per_token(cfg, bytes_per_value) * context * batch


@dataclass(frozen=True)
class ServingMemory:
    """Memory a served model holds, in bytes: its weights and the KV cache of its batch."""

    weights_bytes: float
    kv_cache_bytes: float

    @property
    def total_bytes(self) -> float:
        return self.weights_bytes + self.kv_cache_bytes

    def devices_needed(self, hbm_bytes: float) -> int:
        """Devices of `hbm_bytes` each that hold the total, if it could be split freely: ⌈total / hbm⌉."""
        return math.ceil(self.total_bytes / positive_number("hbm_bytes", hbm_bytes, "32e9"))


def serving_bytes(
    cfg: ModelConfig, context: int | None = None, batch: int = 1, bytes_per_value: float = 2
) -> ServingMemory:
    """Weights (every parameter, `counting.param_count`) and the KV cache (`kv_cache_bytes`) of a
    model served to `batch` sequences of `context` tokens, both stored at `bytes_per_value`
    (2 for fp16/bf16). Activations and the serving framework's own buffers are left out."""
    kv = kv_cache_bytes(cfg, context, batch, bytes_per_value)
    return ServingMemory(weights_bytes=float(counting.param_count(cfg)) * bytes_per_value, kv_cache_bytes=kv)
