"""Outliers: the two kinds that make weight quantization hard, measured and, for experiments,
planted.

*Outlier features* are a few hidden dimensions whose activations are far larger than the rest;
Dettmers et al. (LLM.int8(), 2022) find them in every layer of transformers from about 6.7B
parameters on, up to 20 times the typical magnitude. A weight's rounding error is multiplied by
the activation it meets, so rounding every column of a row to the same grid hurts most where
the inputs are large; GPTQ's Hessian and AWQ's activation-aware scales both see the inputs.
`with_outlier_features` plants them in a trained decoder without changing its function: the
RMSNorm gain of chosen channels is multiplied by `scale` and the columns of the layers that read
that norm (attention `qkv`, feed-forward `gate` and `up`) are divided by it, so every logit is
the same (to rounding) and only the split of magnitude between activation and weight moves,
which is what a real model's outlier features look like to the layers reading them.

*Outlier weights* are a few weights of a row far larger than the rest: one scale per row must
span them, and every other weight of the row gets a coarser grid. `range_ratio` measures it as
max|w| / rms(w) per row or per group; smaller groups have smaller ratios, which is why per-group
scales help.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .._validate import positive_int, positive_number

# norm -> the linear layers of the same block that read its output
_READERS = {"norm1": ("attn.qkv",), "norm2": ("ffn.gate", "ffn.up")}


def _blocks(model: nn.Module):
    blocks = getattr(model, "blocks", None)
    if blocks is None or not all(hasattr(b, n) for b in blocks for n in _READERS):
        raise ValueError(
            "model has no blocks with norm1/norm2 read by attn.qkv and ffn.gate/ffn.up; pass a "
            "llmscale.model.Decoder (e.g. compression_models.load('markov'))"
        )
    return blocks


def outlier_channels(d_model: int, n_channels: int, seed: int = 0) -> list[int]:
    """`n_channels` distinct residual channels of `d_model`, drawn with `seed`, sorted."""
    d_model, n_channels = positive_int("d_model", d_model, "192"), positive_int("n_channels", n_channels, "2")
    if n_channels > d_model:
        raise ValueError(f"n_channels={n_channels} exceeds d_model={d_model}; choose at most d_model channels")
    g = torch.Generator().manual_seed(seed)
    return sorted(torch.randperm(d_model, generator=g)[:n_channels].tolist())


def with_outlier_features(model: nn.Module, n_channels: int = 2, scale: float = 20.0, seed: int = 0) -> nn.Module:
    """A NEW decoder computing the same function as `model` whose normalised inputs to every block
    matrix that reads the residual stream have `n_channels` outlier features, `scale` times larger
    (the same channels in every block, as in real models); the original is untouched."""
    scale = positive_number("scale", scale, "20")
    blocks = _blocks(model)
    channels = outlier_channels(blocks[0].norm1.weight.numel(), n_channels, seed)
    out = copy.deepcopy(model)
    with torch.no_grad():
        for block in out.blocks:
            for norm, readers in _READERS.items():
                getattr(block, norm).weight[channels] *= scale
                for name in readers:
                    block.get_submodule(name).weight[:, channels] /= scale
    return out


def range_ratio(weight: torch.Tensor, group_size: int | None = None) -> torch.Tensor:
    """max|w| / rms(w) of every row (group_size None) or of every group of `group_size`
    consecutive input columns of a row: how many rms steps one scale must span, flattened."""
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise ValueError("weight must be a 2-D tensor (out_features, in_features), e.g. layer.weight")
    w = weight.detach().to(torch.float64)
    cols = w.shape[1]
    g = cols if group_size is None else positive_int("group_size", group_size, "64")
    if cols % g:
        raise ValueError(f"group_size={group_size} does not divide in_features={cols}; choose a divisor")
    blocks = w.reshape(-1, g)
    rms = blocks.pow(2).mean(dim=1).sqrt().clamp_min(torch.finfo(torch.float64).tiny)
    return blocks.abs().amax(dim=1) / rms
