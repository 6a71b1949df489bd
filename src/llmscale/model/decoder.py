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
from .cache import KVCache
from .layers import Attention, FeedForward, norm_layer, rope_tables
from .mla import LatentAttention
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
    """One pre-norm block: latent attention when cfg.kv_lora_rank is set, else (grouped-query)
    attention; experts unless the model is dense or `layer_index` < cfg.n_dense_layers."""

    def __init__(self, cfg: ModelConfig, layer_index: int = 0):
        super().__init__()
        self.norm1 = norm_layer(cfg)
        self.attn = LatentAttention(cfg) if cfg.is_mla else Attention(cfg)
        self.norm2 = norm_layer(cfg)
        self.ffn = MoELayer(cfg) if cfg.is_moe and layer_index >= cfg.n_dense_layers else FeedForward(cfg)

    def forward(self, x, rope, cache=None):
        h = self.norm1(x)
        # Without a cache the attention is called as (x, rope) only: wrappers that describe its
        # inputs positionally (DTensor's PrepareModuleInput in the tensor-parallel lab) see two.
        x = x + (self.attn(h, rope) if cache is None else self.attn(h, rope, cache))
        return x + self.ffn(self.norm2(x))


class Decoder(nn.Module):
    """A decoder-only language model built from a `ModelConfig`."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        _check_buildable(cfg)
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_embed = nn.Embedding(cfg.seq_len, cfg.d_model) if cfg.pos == "learned" else None
        self.blocks = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layers))
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
        if self.embed.weight.is_meta:
            return  # shapes only (counting on the meta device): nothing to draw
        std = 0.02
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=std)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
        for block in self.blocks:
            outs = [block.attn.out]
            if isinstance(block.ffn, MoELayer):
                outs += [e.down for e in block.ffn.experts]
                outs += [block.ffn.shared.down] if block.ffn.shared is not None else []
            else:
                outs += [block.ffn.down]
            for lin in outs:
                nn.init.normal_(lin.weight, mean=0.0, std=std / math.sqrt(2 * self.cfg.n_layers))

    def new_cache(self, max_len: int | None = None) -> KVCache:
        """An empty `KVCache` for this model, for up to max_len tokens per sequence (None: cfg.seq_len).

        Buffers are allocated on the first forward pass, for its batch, dtype and device.
        """
        max_len = self.cfg.seq_len if max_len is None else max_len
        if isinstance(max_len, bool) or not isinstance(max_len, int) or not 0 < max_len <= self.cfg.seq_len:
            raise ValueError(
                f"max_len={max_len!r} must be an int between 1 and seq_len={self.cfg.seq_len}, "
                "the longest context the model has positions for; e.g. max_len=None"
            )
        return KVCache(self.cfg.n_layers, max_len)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, cache: KVCache | None = None):
        """Logits (B, S, V) for token ids idx (B, S); with targets, also the mean cross-entropy (nats).

        The loss is the cross-entropy alone; a mixture-of-experts model also sets `self.aux_loss`
        (router_aux_loss_coef·Σ balance + router_z_loss_coef·Σ z-loss over layers) for the
        training objective, and each layer's statistics (`moe_stats()`).

        With a `cache` (`new_cache()`), idx holds the new tokens only: their positions start at
        cache.length, they attend to every cached token, and the cache grows by S. Feeding a
        sequence in pieces then gives the logits of feeding it at once. A mixture of experts
        does so only without a capacity limit (capacity_factor=None): with one, which tokens an
        expert drops depends on the other tokens of the same forward pass.
        """
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, seq), got {tuple(idx.shape)}")
        S = idx.shape[1]
        start = 0 if cache is None else cache.length
        if start + S > self.cfg.seq_len:
            cached = "" if cache is None else f"{start} cached + "
            raise ValueError(
                f"sequence length {cached}{S} exceeds seq_len={self.cfg.seq_len}, the positions the model has; "
                "pass shorter sequences or build the model with a larger seq_len"
            )
        if cache is not None and len(cache.layers) != len(self.blocks):
            raise ValueError(
                f"cache has {len(cache.layers)} layers, the model {len(self.blocks)}; make it with model.new_cache()"
            )
        x = self.embed(idx)
        if self.pos_embed is not None:
            x = x + self.pos_embed(torch.arange(start, start + S, device=idx.device))
        rope = (self.rope_cos, self.rope_sin) if self.cfg.pos == "rope" else None
        if cache is None:
            for block in self.blocks:
                x = block(x, rope)
        else:
            for block, layer_cache in zip(self.blocks, cache.layers):
                x = block(x, rope, layer_cache)
            cache.advance(S)
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
        """Per-layer router statistics (`llmscale.model.moe.MoEStats`) of the last forward pass, one
        per mixture-of-experts layer (leading dense layers have none); [] if dense."""
        return [block.ffn.stats for block in self.blocks if isinstance(block.ffn, MoELayer)]

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
