"""Multi-head latent attention (MLA), the attention of DeepSeek-V2 and DeepSeek-V3.

Instead of caching h_kv keys and values per token, MLA compresses what keys and values need
into one latent vector c = RMSNorm(x·W_DKV) of width d_c (`kv_lora_rank`) and expands every
head's key and value from it (c·W_UK, c·W_UV). Rotary positions cannot pass through that
expansion, so a *decoupled* rotary key of width d_rope (`qk_rope_head_dim`), one for all heads,
is computed from x beside the latent and concatenated to each head's position-free key
(width d_nope, `qk_nope_head_dim`); queries get a matching rotary part. The cache holds the
normalised latent and the rotated rotary key: d_c + d_rope values per token per layer, against
2·h·d_h for multi-head attention. Queries may go through their own low-rank bottleneck
(`q_lora_rank`, with an RMSNorm), which saves parameters and activations, not cache.

Two forms, the same function (DeepSeek-AI 2024, DeepSeek-V2, §2.1). Without a cache (training,
a whole prompt) keys and values are expanded from the latent as written, and
`counting.flops_per_token` counts that. With a cache (decoding, prefill in chunks) W_UK is
"absorbed" into the query and W_UV applied after attention, so heads attend in the latent space
and the cache is never expanded; `counting.latent_decode_flops_per_token` counts that. Rotary
embedding uses the half-rotation layout of the book's `apply_rope` (pairs i, i + d_rope/2);
DeepSeek's checkpoints interleave the pairs (2i, 2i+1), a permutation of the same weights that
changes no count and no result.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from .layers import apply_rope


def causal_mask(n_new: int, n_total: int, device=None) -> torch.Tensor | None:
    """Boolean mask (n_new, n_total) for the last n_new of n_total positions attending causally
    (True: may attend); None when n_new == n_total (then `is_causal=True` does it) or n_new == 1."""
    if n_new == n_total or n_new == 1:
        return None
    start = n_total - n_new
    rows = torch.arange(start, n_total, device=device)[:, None]
    return torch.arange(n_total, device=device)[None, :] <= rows


class LatentAttention(nn.Module):
    """Causal multi-head latent attention built from a `ModelConfig` with `kv_lora_rank` set.

    Parameters (the names `counting` follows): `q_proj` (d → h·(d_nope+d_rope)), or `q_down`,
    `q_norm`, `q_up` through the q_lora_rank bottleneck; `kv_down` (d → d_c + d_rope: the latent
    and the shared rotary key), `kv_norm` (RMSNorm of the latent), `kv_up` (d_c → h·(d_nope+d_v));
    `out` (h·d_v → d). Biases (cfg.bias) sit where DeepSeek's attention_bias puts them: on the
    down projections and the output.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if not cfg.is_mla:
            raise ValueError("LatentAttention needs kv_lora_rank set in the ModelConfig, e.g. kv_lora_rank=512")
        d, h = cfg.d_model, cfg.n_heads
        self.n_heads, self.kv_lora_rank = h, cfg.kv_lora_rank
        self.nope, self.rope_dim, self.v_dim = cfg.qk_nope_head_dim_, cfg.qk_rope_head_dim_, cfg.v_head_dim_
        qk = self.nope + self.rope_dim
        if cfg.q_lora_rank is None:
            self.q_proj = nn.Linear(d, h * qk, bias=False)
            self.q_down = self.q_norm = self.q_up = None
        else:
            self.q_proj = None
            self.q_down = nn.Linear(d, cfg.q_lora_rank, bias=cfg.bias)
            self.q_norm = nn.RMSNorm(cfg.q_lora_rank, eps=cfg.norm_eps)
            self.q_up = nn.Linear(cfg.q_lora_rank, h * qk, bias=False)
        self.kv_down = nn.Linear(d, cfg.kv_lora_rank + self.rope_dim, bias=cfg.bias)
        self.kv_norm = nn.RMSNorm(cfg.kv_lora_rank, eps=cfg.norm_eps)
        self.kv_up = nn.Linear(cfg.kv_lora_rank, h * (self.nope + self.v_dim), bias=False)
        self.out = nn.Linear(h * self.v_dim, d, bias=cfg.bias)
        inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, self.rope_dim, 2, dtype=torch.float32) / self.rope_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def _rope(self, start: int, n: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin (n, d_rope) for positions start .. start+n-1 (half-rotation layout)."""
        t = torch.arange(start, start + n, dtype=torch.float32, device=device)
        freqs = torch.outer(t, self.inv_freq.to(device=device, dtype=torch.float32))
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos(), emb.sin()

    def forward(self, x: torch.Tensor, rope=None, cache=None) -> torch.Tensor:
        """x (B, S, d) → (B, S, d). `rope` (the decoder's head_dim tables) is not used: MLA rotates
        only d_rope dimensions and builds its own angles. With a `LayerCache`, x holds the new
        tokens, their positions start at cache.length, and the cache keeps (latent, rotary key)."""
        B, S, _ = x.shape
        h = self.n_heads
        start = cache.length if cache is not None else 0
        q = self.q_proj(x) if self.q_proj is not None else self.q_up(self.q_norm(self.q_down(x)))
        q = q.view(B, S, h, self.nope + self.rope_dim)
        q_nope, q_rope = q.split([self.nope, self.rope_dim], dim=-1)
        c_kv, k_rope = self.kv_down(x).split([self.kv_lora_rank, self.rope_dim], dim=-1)
        c_kv = self.kv_norm(c_kv)
        cos, sin = self._rope(start, S, x.device)
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        q_rope = apply_rope(q_rope, cos[:, None, :], sin[:, None, :])
        k_rope = apply_rope(k_rope, cos, sin)  # (B, S, d_rope): one rotary key for all heads
        if cache is not None:
            c_kv, k_rope = cache.update(c_kv, k_rope)
            return self._absorbed(q_nope, q_rope, c_kv, k_rope)
        T = c_kv.shape[1]
        k_nope, v = self.kv_up(c_kv).view(B, T, h, self.nope + self.v_dim).split([self.nope, self.v_dim], dim=-1)
        k = torch.cat([k_nope, k_rope[:, :, None, :].expand(B, T, h, self.rope_dim)], dim=-1)
        q = torch.cat([q_nope, q_rope], dim=-1)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        mask = causal_mask(S, T, x.device)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None and S == T and S > 1)
        return self.out(y.transpose(1, 2).reshape(B, S, h * self.v_dim))

    def _absorbed(self, q_nope, q_rope, c_kv, k_rope) -> torch.Tensor:
        """Attention over the cached latent without expanding it (the decoding form).

        Scores q_nope·(c·W_UK)ᵀ = (q_nope·W_UK)·cᵀ, so each head's query is taken into the latent
        space once and meets every cached latent directly; likewise softmax·(c·W_UV) =
        (softmax·c)·W_UV. Per cached token this costs h·(d_c + d_rope) + h·d_c multiply-adds
        instead of expanding h·(d_nope + d_v) keys and values from it.
        """
        B, S, h, _ = q_nope.shape
        T = c_kv.shape[1]
        w = self.kv_up.weight.view(h, self.nope + self.v_dim, self.kv_lora_rank)
        w_uk, w_uv = w[:, : self.nope], w[:, self.nope :]  # (h, d_nope, d_c), (h, d_v, d_c)
        q_latent = torch.einsum("bshn,hnc->bhsc", q_nope, w_uk)
        scores = q_latent @ c_kv[:, None].transpose(-1, -2) + q_rope.transpose(1, 2) @ k_rope[:, None].transpose(-1, -2)
        scores = scores * (self.nope + self.rope_dim) ** -0.5
        if S > 1:  # the new tokens sit at T − S .. T − 1 and see the keys up to their own
            rows = torch.arange(T - S, T, device=c_kv.device)[:, None]
            scores = scores.masked_fill(torch.arange(T, device=c_kv.device)[None, :] > rows, float("-inf"))
        y_latent = scores.softmax(dim=-1) @ c_kv[:, None]  # (B, h, S, d_c)
        y = torch.einsum("bhsc,hvc->bshv", y_latent, w_uv)
        return self.out(y.reshape(B, S, h * self.v_dim))
