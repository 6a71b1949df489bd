"""What 2:4 sparsity can buy in speed: the roofline of a decode or prefill step whose block weights
are stored and multiplied in NVIDIA's 2:4 format.

Sparse tensor cores (A100 onwards) multiply a 2:4 matrix at twice the dense math rate: the
datasheets print sparse peaks that are exactly twice the dense ones (`hardware` holds the dense).
The matrix is stored compressed: the two kept values of every four, plus a 2-bit index per kept
value (4 bits of metadata per group of four), so a weight of b bytes costs (b + 1/4)/2 bytes: 9/16
of bf16's. Only the pruned matrices gain; the embeddings, the output head, the attention over the
KV cache and the cache itself stay dense. Nothing here runs: these are upper bounds at peak, and
the kernels (cuSPARSELt, torch's `to_sparse_semi_structured`) exist for CUDA only. Unstructured
sparsity buys no math on tensor cores at all. Arithmetic, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import counting
from .._validate import positive_int, positive_number
from ..config import ModelConfig
from ..inference import decode, kv_cache, roofline

METADATA_BITS_PER_KEPT = 2  # a 2-bit position (0..3) for each of the two kept values of a group of 4
KEPT_FRACTION = 0.5  # 2:4


def sparse_bytes_per_weight(bytes_per_value: float = 2) -> float:
    """Bytes per original weight of a 2:4 matrix: half the values, each with its 2-bit index."""
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    return KEPT_FRACTION * (b + METADATA_BITS_PER_KEPT / 8)


def block_linear_params(cfg: ModelConfig) -> int:
    """Weights of the blocks' linear layers (what pruning sparsifies): attention projections and
    feed-forward matrices of every layer, dense models only; no embeddings, head or norms."""
    cfg = counting.check_decoder_only(cfg, "sparse step times")
    if cfg.is_moe or cfg.is_mla:
        raise ValueError("block_linear_params covers dense multi-head (or grouped-query) models; pass a dense config")
    q_width, kv_width = cfg.n_heads * cfg.head_dim_, cfg.kv_heads * cfg.head_dim_
    attn = 2 * cfg.d_model * (q_width + kv_width)
    ffn = (3 if cfg.ffn == "swiglu" else 2) * cfg.d_model * cfg.ff_dim
    return cfg.n_layers * (attn + ffn)


@dataclass(frozen=True)
class SparseStep:
    """One step dense and with 2:4 block weights: both `roofline.StepTime`s and the speed-up."""

    dense: roofline.StepTime
    sparse: roofline.StepTime

    @property
    def speedup(self) -> float:
        return self.dense.seconds / self.sparse.seconds


def _steps(cfg, accelerator, tokens: int, context: float, kv_tokens: float, b: float, dtype: str) -> SparseStep:
    flops = tokens * counting.flops_per_token(cfg, context=context)
    linear = block_linear_params(cfg)
    sparse_linear_flops = tokens * 2 * linear  # run at twice the peak: counted as half at the dense peak
    weights = decode.decode_weight_params(cfg, tokens)
    kv = kv_tokens * kv_cache.bytes_per_token(cfg, b)
    dense = roofline.step_time(flops, weights * b + kv, accelerator, dtype)
    sparse = roofline.step_time(
        flops - sparse_linear_flops / 2,
        (weights - linear) * b + linear * sparse_bytes_per_weight(b) + kv,
        accelerator,
        dtype,
    )
    return SparseStep(dense, sparse)


def decode_step(
    cfg: ModelConfig, accelerator, batch: int = 1, context: float = 2048, bytes_per_value: float = 2, dtype="bf16"
) -> SparseStep:
    """A decode step of `batch` sequences at `context` (as `roofline.decode_step_time`), dense and 2:4."""
    batch = positive_int("batch", batch, "1")
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    return _steps(cfg, accelerator, batch, context, batch * context, b, dtype)


def prefill_step(
    cfg: ModelConfig, accelerator, batch: int = 1, prompt_len: int = 2048, bytes_per_value: float = 2, dtype="bf16"
) -> SparseStep:
    """A prefill of `batch` prompts of `prompt_len` (as `roofline.prefill_step_time`), dense and 2:4."""
    batch = positive_int("batch", batch, "1")
    prompt_len = positive_int("prompt_len", prompt_len, "2048")
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    tokens = batch * prompt_len
    return _steps(cfg, accelerator, tokens, (prompt_len + 1) / 2, tokens, b, dtype)
