"""What serving a model costs.

Arithmetic, no torch: `kv_cache` (bytes of cached keys and values), `decode` (the decode step's
weight reads, arithmetic intensity and the batch at the ridge point), `roofline` (step times of
prefill and decode, bound by compute or by memory) and `serving_cost` (dollars per 1,000 tokens).

Running code (torch): `generation` (greedy and sampled generation with the KV cache; its
`generate` is available here as `llmscale.inference.generate`), `machine` (the reader's machine
measured), `batching` (continuous batching over a paged KV cache) and `speculative`
(draft-then-verify decoding).

`generate` is imported on first use, so importing an arithmetic module of this package does not
import torch.
"""

__all__ = ["generate"]


def __getattr__(name: str):
    # Lazy: `llmscale.inference.generate` imports torch only when it is asked for.
    if name == "generate":
        from .generation import generate

        return generate
    raise AttributeError(f"module 'llmscale.inference' has no attribute {name!r}")
