"""One PyTorch decoder that builds every decoder-only `ModelConfig`.

Pre-norm blocks (GPT-2, LLaMA): x + Attn(Norm(x)), then x + FFN(Norm(x)). Attention goes
through `scaled_dot_product_attention`, so PyTorch picks its fastest kernel; Q, K and V come
from one fused projection, which changes no parameter count but makes one large matrix
product instead of three. With `n_experts > 1` every feed-forward block is a mixture of
experts (`llmscale.moe.MoELayer`: top-k router, capacity, grouped dispatch); the decoder then
exposes the router losses of its last forward pass as `aux_loss`, which training adds.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


def _check_buildable(cfg: ModelConfig) -> None:
    if cfg.n_encoder_layers:
        raise ValueError(f"n_encoder_layers={cfg.n_encoder_layers}: the book's model is decoder-only; "
                         "set n_encoder_layers=0 (encoder-decoder configs can still be counted)")
    if cfg.pos == "relative":
        raise ValueError("pos='relative' (Transformer-XL) is counted but not built; "
                         "use pos='rope' or pos='learned'")
    if cfg.pos == "sinusoidal":
        raise ValueError("pos='sinusoidal' is counted but not built; use pos='rope' or pos='learned'")


def _norm(cfg: ModelConfig) -> nn.Module:
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

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        B, S, _ = x.shape
        h, kv = self.n_heads, self.kv_heads
        qkv = self.qkv(x).view(B, S, h + 2 * kv, self.head_dim)
        if self.rope:
            # Rotate queries and keys together: one pass over the (h + h_kv) heads.
            qk = apply_rope(qkv[:, :, :h + kv], rope[0][:S, None, :], rope[1][:S, None, :])
            q, k = qk[:, :, :h], qk[:, :, h:]
        else:
            q, k = qkv[:, :, :h], qkv[:, :, h:h + kv]
        v = qkv[:, :, h + kv:]
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if kv != h:
            # Each K/V head serves n_heads // kv_heads query heads.
            k = k.repeat_interleave(h // kv, dim=1)
            v = v.repeat_interleave(h // kv, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(B, S, h * self.head_dim))


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
        if self.kind == "swiglu":
            h = F.silu(self.gate(x)) * self.up(x)
        elif self.kind == "gelu":
            h = F.gelu(self.up(x), approximate="tanh")
        else:
            h = F.relu(self.up(x))
        return self.down(h)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm1, self.attn = _norm(cfg), Attention(cfg)
        self.norm2 = _norm(cfg)
        if cfg.is_moe:
            from .moe import MoELayer  # moe imports FeedForward from here
            self.ffn = MoELayer(cfg)
        else:
            self.ffn = FeedForward(cfg)

    def forward(self, x, rope):
        x = x + self.attn(self.norm1(x), rope)
        return x + self.ffn(self.norm2(x))


class Decoder(nn.Module):
    """A decoder-only language model built from a `ModelConfig`."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        _check_buildable(cfg)
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_embed = nn.Embedding(cfg.seq_len, cfg.d_model) if cfg.pos == "learned" else None
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = _norm(cfg)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed.weight
        if cfg.pos == "rope":
            cos, sin = rope_tables(cfg)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.aux_loss: torch.Tensor | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2 initialisation: N(0, 0.02), output projections scaled by 1/√(2L)."""
        std = 0.02
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=std)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
        for block in self.blocks:
            outs = [block.attn.out]
            outs += [e.down for e in block.ffn.experts] if self.cfg.is_moe else [block.ffn.down]
            for lin in outs:
                nn.init.normal_(lin.weight, mean=0.0, std=std / math.sqrt(2 * self.cfg.n_layers))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """Logits (B, S, V) for token ids idx (B, S); with targets, also the mean cross-entropy (nats).

        The loss is the cross-entropy alone; a mixture-of-experts model also sets `self.aux_loss`
        (router_aux_loss_coef·Σ balance + router_z_loss_coef·Σ z-loss over layers) for the
        training objective, and each layer's statistics (`moe_stats()`).
        """
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, seq), got {tuple(idx.shape)}")
        S = idx.shape[1]
        if S > self.cfg.seq_len:
            raise ValueError(f"sequence length {S} exceeds seq_len={self.cfg.seq_len}; "
                             "pass shorter sequences or build the model with a larger seq_len")
        x = self.embed(idx)
        if self.pos_embed is not None:
            x = x + self.pos_embed(torch.arange(S, device=idx.device))
        rope = (self.rope_cos, self.rope_sin) if self.cfg.pos == "rope" else None
        for block in self.blocks:
            x = block(x, rope)
        if self.cfg.is_moe:
            # Router losses of this pass, weighted: training adds them to the cross-entropy.
            stats = self.moe_stats()
            self.aux_loss = (self.cfg.router_aux_loss_coef * sum(s.balance_loss for s in stats)
                             + self.cfg.router_z_loss_coef * sum(s.z_loss for s in stats))
        logits = self.lm_head(self.norm(x))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    def moe_stats(self) -> list:
        """Per-layer router statistics (`llmscale.moe.MoEStats`) of the last forward pass; [] if dense."""
        return [block.ffn.stats for block in self.blocks] if self.cfg.is_moe else []

    def num_params(self) -> int:
        """Parameters of the built model (tied weights counted once)."""
        return sum(p.numel() for p in self.parameters())


def build(cfg: ModelConfig, seed: int | None = 0, device=None, dtype=None) -> Decoder:
    """Build and initialise the decoder for `cfg` (seeded when seed is not None)."""
    if seed is not None:
        torch.manual_seed(seed)
    model = Decoder(cfg)
    if device is not None or dtype is not None:
        model = model.to(device=device, dtype=dtype)
    return model


def __getattr__(name):
    # The mixture-of-experts layer lives in llmscale.moe; the old name still resolves.
    if name == "MixtureOfExperts":
        from .moe import MoELayer
        return MoELayer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
