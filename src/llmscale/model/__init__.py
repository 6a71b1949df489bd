"""Single-device PyTorch models: `layers` (norms, RoPE, attention, feed-forward), `moe` (the
mixture-of-experts layer), `cache` (the KV cache of decoding), `decoder` (the decoder that builds
every `ModelConfig`) and `hf` (its weights in a `transformers` LlamaForCausalLM).

Nothing here imports `torch.distributed`: `llmscale.parallelism` splits a built decoder from outside.
"""

from .cache import KVCache, LayerCache
from .decoder import Block, Decoder, build
from .layers import Attention, FeedForward
from .moe import MoELayer

__all__ = ["Attention", "Block", "Decoder", "FeedForward", "KVCache", "LayerCache", "MoELayer", "build"]
