"""The decode step's roofline: how many weight bytes a step reads, the arithmetic intensity that
gives, and the batch from which decoding stops being bandwidth-bound.

A batch of B tokens routed top-k among E experts touches on average E·(1 − (1 − k/E)^B)
distinct experts per layer, all of whose weights must be read: a small batch wakes few
experts, a large one wakes them all. Bytes are decimal counts; a multiply-add is 2 FLOPs.
"""

from __future__ import annotations

import math

import numpy as np

from .. import counting
from .._validate import non_negative_number, positive_int, positive_number
from ..config import ModelConfig


def expected_distinct_experts(n_experts: int, top_k: int, batch_tokens: float) -> float:
    """Expected number of distinct experts a batch of B tokens touches in one layer when each
    token picks k of the E experts uniformly at random: E·(1 − (1 − k/E)^B)."""
    n_experts, top_k = counting.check_experts(n_experts, top_k)
    b = non_negative_number("batch_tokens", batch_tokens, "32")
    return n_experts * (1.0 - (1.0 - top_k / n_experts) ** b)


_MAX_SCORES = 2**24  # router scores drawn at once by the simulation (128 MiB of float64)


def simulate_distinct_experts(
    n_experts: int, top_k: int, batch_tokens: int, trials: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Monte-Carlo estimate of `expected_distinct_experts`: (mean, standard error of the mean).

    Each token draws k distinct experts uniformly (the top-k of i.i.d. uniform router scores).
    """
    n_experts, top_k = counting.check_experts(n_experts, top_k)
    batch_tokens = positive_int("batch_tokens", batch_tokens, "32")
    trials = positive_int("trials", trials, "2000")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be an integer >= 0")
    if trials * batch_tokens * n_experts > _MAX_SCORES:
        raise ValueError(
            f"trials·batch_tokens·n_experts = {trials * batch_tokens * n_experts:,} "
            f"scores is too many to draw at once; use fewer trials (at most "
            f"{max(1, _MAX_SCORES // (batch_tokens * n_experts)):,})"
        )
    rng = np.random.default_rng(seed)
    scores = rng.random((trials, batch_tokens, n_experts))
    chosen = np.argpartition(scores, n_experts - top_k, axis=-1)[..., n_experts - top_k :]
    touched = np.zeros((trials, n_experts), dtype=bool)
    np.put_along_axis(touched, chosen.reshape(trials, -1), True, axis=1)
    counts = touched.sum(axis=1)
    return float(counts.mean()), float(counts.std(ddof=1) / math.sqrt(trials)) if trials > 1 else 0.0


def decode_weight_params(cfg: ModelConfig, batch_tokens: float) -> float:
    """Weights one decode step reads for a batch of B tokens (one per sequence), expected
    under uniform routing: attention, routers, norms and the LM head (V·d), plus the
    distinct experts the batch touches in each layer (the one feed-forward block of a dense
    model). The input embedding is left out: a step looks up only B of its rows."""
    counting.check_decoder_only(cfg, "decode costs")
    b = counting.param_breakdown(cfg)
    lm_head = cfg.vocab_size * cfg.d_model
    if not cfg.is_moe:
        touched = 1.0 if non_negative_number("batch_tokens", batch_tokens, "32") > 0 else 0.0
        return b.attention + b.norms + lm_head + touched * b.feed_forward
    # A mixture: every token uses the leading dense layers and the shared experts (counted in
    # feed_forward, zero for a classic mixture) and the routers; the routed experts are read
    # only as far as the batch touches them.
    touched = expected_distinct_experts(cfg.n_experts, cfg.top_k, batch_tokens)
    moe_layers = cfg.n_moe_layers
    shared_read = b.attention + b.norms + lm_head + b.feed_forward + moe_layers * counting.router_params(cfg)
    return shared_read + moe_layers * touched * counting.expert_ffn_params(cfg)


def decode_flops_per_byte(cfg: ModelConfig, batch_tokens: float, bytes_per_value: float = 2) -> float:
    """Arithmetic intensity of a decode step's weight work: 2·(active weights)·B FLOPs over the
    bytes of weights read (attention over the KV cache left out)."""
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    batch = positive_number("batch_tokens", batch_tokens, "32")
    flops = counting.flops_per_token(cfg, context=0) * batch
    return flops / (decode_weight_params(cfg, batch) * b)


def min_batch_compute_bound(
    cfg: ModelConfig, ridge_flops_per_byte: float, bytes_per_value: float = 2, max_batch: int = 10**7
) -> int:
    """Smallest decode batch B (tokens) whose weight work reaches the chip's ridge point
    (peak FLOP/s ÷ memory bytes/s), i.e. the batch from which decoding stops being
    bandwidth-bound."""
    ridge = positive_number("ridge_flops_per_byte", ridge_flops_per_byte, "153")
    max_batch = positive_int("max_batch", max_batch, "10**7")
    # Intensity grows with B (more tokens share each byte read); bisect on integers.
    if decode_flops_per_byte(cfg, max_batch, bytes_per_value) < ridge:
        raise ValueError(
            f"no batch up to max_batch={max_batch:,} reaches {ridge:g} FLOP/byte; "
            "raise max_batch or check bytes_per_value"
        )
    lo, hi = 1, max_batch
    if decode_flops_per_byte(cfg, lo, bytes_per_value) >= ridge:
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if decode_flops_per_byte(cfg, mid, bytes_per_value) >= ridge:
            hi = mid
        else:
            lo = mid
    return hi
