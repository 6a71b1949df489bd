"""Single-device PyTorch models: `layers` (norms, RoPE, attention, feed-forward), `moe` (the
mixture-of-experts layer) and `decoder` (the decoder that builds every `ModelConfig`).

Nothing here imports `torch.distributed`: `llmscale.parallelism` splits a built decoder from outside.
"""

from .decoder import Block, Decoder, build
from .layers import Attention, FeedForward
from .moe import MoELayer

__all__ = ["Attention", "Block", "Decoder", "FeedForward", "MoELayer", "build"]
