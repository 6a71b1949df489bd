"""The layers of the book's decoder: norms, rotary embeddings, attention and the feed-forward block.

Single-device PyTorch; parallelism wraps these from outside (`llmscale.parallelism`).
Attention goes through `scaled_dot_product_attention`, so PyTorch picks its fastest kernel;
Q, K and V come from one fused projection, which changes no parameter count but makes one
large matrix product instead of three.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from .cache import LayerCache


def activation(kind: str, x: torch.Tensor, gate: torch.Tensor | None = None) -> torch.Tensor:
    """The feed-forward nonlinearity: SwiGLU silu(gate)·x, GELU (tanh form) or ReLU of x."""
    if kind == "swiglu":
        return F.silu(gate) * x
    if kind == "gelu":
        return F.gelu(x, approximate="tanh")
    return F.relu(x)


def norm_layer(cfg: ModelConfig) -> nn.Module:
    if cfg.norm == "rmsnorm":
        return nn.RMSNorm(cfg.d_model, eps=cfg.norm_eps)
    return nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps, bias=cfg.bias)


def rope_tables(cfg: ModelConfig, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables of rotary embeddings, shape (seq_len, head_dim)."""
    hd = cfg.head_dim_
    inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, hd, 2, dtype=torch.float32, device=device) / hd))
    t = torch.arange(cfg.seq_len, dtype=torch.float32, device=device)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (i, i + d_h/2) of each head of x (..., d_h) by angles given by cos and sin (broadcast)."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Attention(nn.Module):
    """Causal multi-head attention with grouped key/value heads (n_kv_heads=1: multi-query)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_heads, self.kv_heads, self.head_dim = cfg.n_heads, cfg.kv_heads, cfg.head_dim_
        q_width, kv_width = self.n_heads * self.head_dim, self.kv_heads * self.head_dim
        self.qkv = nn.Linear(cfg.d_model, q_width + 2 * kv_width, bias=cfg.bias)
        self.out = nn.Linear(q_width, cfg.d_model, bias=cfg.bias)
        self.rope = cfg.pos == "rope"

    def forward(
        self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None, cache: LayerCache | None = None
    ) -> torch.Tensor:
        """Attention over x (B, S, d). With a `LayerCache`, x holds the new tokens only: their
        positions start at cache.length, their keys and values are appended to the cache and the
        queries attend to every cached token and causally among themselves."""
        if cache is not None:
            return self._forward_cached(x, rope, cache)
        B, S, _ = x.shape
        h, kv = self.n_heads, self.kv_heads
        qkv = self.qkv(x).view(B, S, h + 2 * kv, self.head_dim)
        if self.rope:
            # Rotate queries and keys together: one pass over the (h + h_kv) heads.
            qk = apply_rope(qkv[:, :, : h + kv], rope[0][:S, None, :], rope[1][:S, None, :])
            q, k = qk[:, :, :h], qk[:, :, h:]
        else:
            q, k = qkv[:, :, :h], qkv[:, :, h : h + kv]
        v = qkv[:, :, h + kv :]
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if kv != h:
            # Each K/V head serves n_heads // kv_heads query heads.
            k = k.repeat_interleave(h // kv, dim=1)
            v = v.repeat_interleave(h // kv, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(B, S, h * self.head_dim))

    def _forward_cached(self, x: torch.Tensor, rope, cache: LayerCache) -> torch.Tensor:
        B, S, _ = x.shape
        h, kv, hd = self.n_heads, self.kv_heads, self.head_dim
        start = cache.length
        qkv = self.qkv(x).view(B, S, h + 2 * kv, hd)
        if self.rope:
            cos, sin = rope[0][start : start + S, None, :], rope[1][start : start + S, None, :]
            qk = apply_rope(qkv[:, :, : h + kv], cos, sin)
            q, k = qk[:, :, :h], qk[:, :, h:]
        else:
            q, k = qkv[:, :, :h], qkv[:, :, h : h + kv]
        k, v = cache.update(k, qkv[:, :, h + kv :])  # (B, start + S, h_kv, d_h), views of the cache
        total = start + S
        # Grouped heads without copying K/V: the g = h/h_kv query heads that share a K/V head are
        # stacked along the query axis, (B, h_kv, g·S, d_h), against that head's (B, h_kv, total, d_h).
        g = h // kv
        q = q.transpose(1, 2).reshape(B, kv, g * S, hd)
        k, v = k.transpose(1, 2), v.transpose(1, 2)
        if S == 1 and x.device.type == "cpu":
            # One new token sees every cached one. Two small matrix products: on a CPU the fused
            # kernel's thread pool costs more than this whole step at decode sizes.
            scores = (q @ k.transpose(-1, -2)) * (hd**-0.5)
            y = scores.softmax(dim=-1) @ v
        elif S == 1:
            y = F.scaled_dot_product_attention(q, k, v)
        elif start == 0 and g == 1:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            # New token i sits at position start + i and sees keys 0..start + i: the causal mask
            # offset by `start` (is_causal would align it top-left when S < total).
            mask = torch.ones(S, total, dtype=torch.bool, device=x.device).tril(diagonal=start)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.repeat(g, 1))
        # (B, h_kv, g·S, d_h) -> (B, S, h·d_h), heads in the order of the projection
        y = y.view(B, kv, g, S, hd).permute(0, 3, 1, 2, 4).reshape(B, S, h * hd)
        return self.out(y)


class FeedForward(nn.Module):
    """Dense feed-forward block: SwiGLU, GELU or ReLU."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.kind, f = cfg.ffn, cfg.ff_dim
        # SwiGLU's gate and up projections stay separate: fused into one matrix, the two
        # halves come out strided and the element-wise work and its backward are slower on CPU.
        self.gate = nn.Linear(cfg.d_model, f, bias=cfg.bias) if self.kind == "swiglu" else None
        self.up = nn.Linear(cfg.d_model, f, bias=cfg.bias)
        self.down = nn.Linear(f, cfg.d_model, bias=cfg.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.gate(x) if self.gate is not None else None
        return self.down(activation(self.kind, self.up(x), gate))
