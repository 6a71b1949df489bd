"""One PyTorch decoder that builds every decoder-only `ModelConfig`.

Pre-norm blocks (GPT-2, LLaMA): x + Attn(Norm(x)), then x + FFN(Norm(x)), from the layers of
`llmscale.model.layers`. With `n_experts > 1` every feed-forward block is a mixture of experts
(`llmscale.model.moe.MoELayer`: top-k router, capacity, grouped dispatch); the decoder then
exposes the router losses of its last forward pass as `aux_loss`, which training adds.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from .layers import Attention, FeedForward, norm_layer, rope_tables
from .moe import MoELayer


def _check_buildable(cfg: ModelConfig) -> None:
    if cfg.n_encoder_layers:
        raise ValueError(
            f"n_encoder_layers={cfg.n_encoder_layers}: the book's model is decoder-only; "
            "set n_encoder_layers=0 (encoder-decoder configs can still be counted)"
        )
    if cfg.pos == "relative":
        raise ValueError("pos='relative' (Transformer-XL) is counted but not built; use pos='rope' or pos='learned'")
    if cfg.pos == "sinusoidal":
        raise ValueError("pos='sinusoidal' is counted but not built; use pos='rope' or pos='learned'")


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm1, self.attn = norm_layer(cfg), Attention(cfg)
        self.norm2 = norm_layer(cfg)
        self.ffn = MoELayer(cfg) if cfg.is_moe else FeedForward(cfg)

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
        self.norm = norm_layer(cfg)
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
            raise ValueError(
                f"sequence length {S} exceeds seq_len={self.cfg.seq_len}; "
                "pass shorter sequences or build the model with a larger seq_len"
            )
        x = self.embed(idx)
        if self.pos_embed is not None:
            x = x + self.pos_embed(torch.arange(S, device=idx.device))
        rope = (self.rope_cos, self.rope_sin) if self.cfg.pos == "rope" else None
        for block in self.blocks:
            x = block(x, rope)
        if self.cfg.is_moe:
            # Router losses of this pass, weighted: training adds them to the cross-entropy.
            stats = self.moe_stats()
            self.aux_loss = self.cfg.router_aux_loss_coef * sum(
                s.balance_loss for s in stats
            ) + self.cfg.router_z_loss_coef * sum(s.z_loss for s in stats)
        logits = self.lm_head(self.norm(x))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    def moe_stats(self) -> list:
        """Per-layer router statistics (`llmscale.model.moe.MoEStats`) of the last forward pass; [] if dense."""
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
