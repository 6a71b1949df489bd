"""What a mixture of experts costs: memory for every expert, traffic to reach them, and
the experts a small batch wakes up.

Compute follows the *active* parameters (`counting.active_param_count`), but memory,
communication and decode-time bandwidth follow other counts, which this module computes:

* memory: every expert's weights, gradients and optimizer state must sit somewhere;
* all-to-all: expert parallelism sends each token's hidden vector (d values of b bytes) to
  its k experts and back, in every MoE layer, and again in the backward pass;
* serving: a batch of B tokens routed top-k among E experts touches on average
  E·(1 − (1 − k/E)^B) distinct experts per layer, all of whose weights must be read.

Bytes are decimal counts (format them as GiB yourself); FLOPs count a multiply-add as 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import counting
from .config import ModelConfig

# Mixed-precision AdamW (ZeRO paper, Section 3.1): bf16 weights and gradients, and an fp32
# master copy of the weights plus Adam's two fp32 moments: 2 + 2 + (4 + 4 + 4) bytes per parameter.
WEIGHT_BYTES_BF16 = 2
GRAD_BYTES_BF16 = 2
OPTIMIZER_BYTES_ADAM_FP32 = 12


def _positive_int(name: str, value, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer, e.g. {name}={example}")
    return int(value)


def _positive_number(name: str, value, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}={value!r} must be a finite number > 0, e.g. {name}={example}")
    return float(value)


def _non_negative_number(name: str, value, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r} must be a finite number >= 0, e.g. {name}={example}")
    return float(value)


def _check_experts(n_experts, top_k) -> tuple[int, int]:
    n_experts = _positive_int("n_experts", n_experts, "16")
    top_k = _positive_int("top_k", top_k, "2")
    if top_k > n_experts:
        raise ValueError(f"top_k={top_k} exceeds n_experts={n_experts}; choose top_k <= n_experts")
    return n_experts, top_k


def _check_moe(cfg: ModelConfig) -> None:
    if not isinstance(cfg, ModelConfig):
        raise ValueError(f"cfg must be a ModelConfig, got {type(cfg).__name__}")
    if not cfg.is_moe:
        raise ValueError(f"cfg has n_experts={cfg.n_experts}: a dense model has no experts; "
                         "pass a mixture-of-experts config (n_experts > 1)")
    if cfg.n_encoder_layers:
        raise ValueError(f"cfg has n_encoder_layers={cfg.n_encoder_layers}; these costs cover "
                         "decoder-only models, set n_encoder_layers=0")


# --- Parameters: shared, per expert, total and active -------------------------------------

def expert_params(cfg: ModelConfig) -> int:
    """Parameters of one expert across all layers (one expert's feed-forward block in each of L layers)."""
    _check_moe(cfg)
    return cfg.n_layers * counting.ffn_params(cfg)


def shared_params(cfg: ModelConfig) -> int:
    """Parameters every token uses whatever the router picks: embeddings, attention, routers, norms."""
    _check_moe(cfg)
    return counting.param_count(cfg) - cfg.n_experts * expert_params(cfg)


# --- Memory ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainingMemory:
    """Bytes per GPU of model state in training: weights, gradients and optimizer state."""

    weights: float
    gradients: float
    optimizer: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer


def training_memory_per_gpu(n_params: float, tensor_parallel: int = 1, pipeline_parallel: int = 1,
                            data_parallel: int = 1, zero_stage: int = 0,
                            weight_bytes: float = WEIGHT_BYTES_BF16, grad_bytes: float = GRAD_BYTES_BF16,
                            optimizer_bytes: float = OPTIMIZER_BYTES_ADAM_FP32) -> TrainingMemory:
    """Model-state bytes per GPU when `n_params` are split evenly over tensor × pipeline ranks.

    ZeRO stage 1 also shards the optimizer state over the data-parallel ranks, stage 2 the
    gradients too, stage 3 the weights too (Rajbhandari et al. 2020). Activations are not counted.
    """
    n_params = _positive_number("n_params", n_params, "1.8e12")
    tp = _positive_int("tensor_parallel", tensor_parallel, "8")
    pp = _positive_int("pipeline_parallel", pipeline_parallel, "15")
    dp = _positive_int("data_parallel", data_parallel, "208")
    if zero_stage not in (0, 1, 2, 3) or isinstance(zero_stage, bool):
        raise ValueError(f"zero_stage={zero_stage!r} must be 0, 1, 2 or 3 (0: no sharding over data parallel)")
    for name, value in (("weight_bytes", weight_bytes), ("grad_bytes", grad_bytes),
                        ("optimizer_bytes", optimizer_bytes)):
        _non_negative_number(name, value, "2")
    per_rank = n_params / (tp * pp)
    return TrainingMemory(
        weights=per_rank * weight_bytes / (dp if zero_stage >= 3 else 1),
        gradients=per_rank * grad_bytes / (dp if zero_stage >= 2 else 1),
        optimizer=per_rank * optimizer_bytes / (dp if zero_stage >= 1 else 1))


# --- All-to-all traffic of expert parallelism ------------------------------------------------

def all_to_all_bytes_per_token_layer(d_model: int, top_k: int, bytes_per_value: float = 2,
                                     training: bool = True) -> float:
    """Bytes one token moves in one MoE layer: its d-vector to k experts and back (2·k·d·b),
    twice that when training (the backward pass sends the gradients the same two ways)."""
    d_model = _positive_int("d_model", d_model, "4096")
    top_k = _positive_int("top_k", top_k, "2")
    b = _positive_number("bytes_per_value", bytes_per_value, "2")
    forward = 2 * top_k * d_model * b
    return 2 * forward if training else forward


def remote_fraction(expert_parallel: int) -> float:
    """Share of token-to-expert sends that leave the GPU when the experts are spread evenly
    over `expert_parallel` GPUs and routing is uniform: 1 − 1/P."""
    p = _positive_int("expert_parallel", expert_parallel, "16")
    return 1.0 - 1.0 / p


def all_to_all_bytes(cfg: ModelConfig, tokens: float, bytes_per_value: float = 2,
                     training: bool = True, expert_parallel: int | None = None) -> float:
    """All-to-all bytes for `tokens` tokens through every MoE layer of `cfg`.

    Counts every token-to-expert send (the upper bound: all experts elsewhere); with
    `expert_parallel`=P only the 1 − 1/P that leave the GPU are counted.
    """
    _check_moe(cfg)
    tokens = _non_negative_number("tokens", tokens, "60e6")
    per = all_to_all_bytes_per_token_layer(cfg.d_model, cfg.top_k, bytes_per_value, training)
    share = 1.0 if expert_parallel is None else remote_fraction(expert_parallel)
    return tokens * cfg.n_layers * per * share


def tokens_per_expert(tokens: float, n_experts: int, top_k: int) -> float:
    """Tokens each expert sees on average in a batch of `tokens`: tokens·k/E (uniform routing)."""
    n_experts, top_k = _check_experts(n_experts, top_k)
    tokens = _non_negative_number("tokens", tokens, "60e6")
    return tokens * top_k / n_experts


# --- Serving: how many experts a batch wakes up ----------------------------------------------

def expected_distinct_experts(n_experts: int, top_k: int, batch_tokens: float) -> float:
    """Expected number of distinct experts a batch of B tokens touches in one layer when each
    token picks k of the E experts uniformly at random: E·(1 − (1 − k/E)^B)."""
    n_experts, top_k = _check_experts(n_experts, top_k)
    b = _non_negative_number("batch_tokens", batch_tokens, "32")
    return n_experts * (1.0 - (1.0 - top_k / n_experts) ** b)


_MAX_SCORES = 2**24  # router scores drawn at once by the simulation (128 MiB of float64)


def simulate_distinct_experts(n_experts: int, top_k: int, batch_tokens: int, trials: int = 2000,
                              seed: int = 0) -> tuple[float, float]:
    """Monte-Carlo estimate of `expected_distinct_experts`: (mean, standard error of the mean).

    Each token draws k distinct experts uniformly (the top-k of i.i.d. uniform router scores).
    """
    n_experts, top_k = _check_experts(n_experts, top_k)
    batch_tokens = _positive_int("batch_tokens", batch_tokens, "32")
    trials = _positive_int("trials", trials, "2000")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be an integer >= 0")
    if trials * batch_tokens * n_experts > _MAX_SCORES:
        raise ValueError(f"trials·batch_tokens·n_experts = {trials * batch_tokens * n_experts:,} "
                         f"scores is too many to draw at once; use fewer trials (at most "
                         f"{max(1, _MAX_SCORES // (batch_tokens * n_experts)):,})")
    rng = np.random.default_rng(seed)
    scores = rng.random((trials, batch_tokens, n_experts))
    chosen = np.argpartition(scores, n_experts - top_k, axis=-1)[..., n_experts - top_k:]
    touched = np.zeros((trials, n_experts), dtype=bool)
    np.put_along_axis(touched, chosen.reshape(trials, -1), True, axis=1)
    counts = touched.sum(axis=1)
    return float(counts.mean()), float(counts.std(ddof=1) / math.sqrt(trials)) if trials > 1 else 0.0


def decode_weight_params(cfg: ModelConfig, batch_tokens: float) -> float:
    """Weights one decode step reads for a batch of B tokens (one per sequence), expected
    under uniform routing: attention, routers, norms and the LM head (V·d), plus the
    distinct experts the batch touches in each layer (the one feed-forward block of a dense
    model). The input embedding is left out: a step looks up only B of its rows."""
    if not isinstance(cfg, ModelConfig):
        raise ValueError(f"cfg must be a ModelConfig, got {type(cfg).__name__}")
    if cfg.n_encoder_layers:
        raise ValueError(f"cfg has n_encoder_layers={cfg.n_encoder_layers}; decode costs cover "
                         "decoder-only models, set n_encoder_layers=0")
    b = counting.param_breakdown(cfg)
    shared_read = b.attention + b.norms + cfg.n_layers * counting.router_params(cfg) \
        + cfg.vocab_size * cfg.d_model
    touched = expected_distinct_experts(cfg.n_experts, cfg.top_k, batch_tokens) if cfg.is_moe \
        else (1.0 if _non_negative_number("batch_tokens", batch_tokens, "32") > 0 else 0.0)
    return shared_read + cfg.n_layers * touched * counting.ffn_params(cfg)


def decode_flops_per_byte(cfg: ModelConfig, batch_tokens: float, bytes_per_value: float = 2) -> float:
    """Arithmetic intensity of a decode step's weight work: 2·(active weights)·B FLOPs over the
    bytes of weights read (attention over the KV cache left out)."""
    b = _positive_number("bytes_per_value", bytes_per_value, "2")
    batch = _positive_number("batch_tokens", batch_tokens, "32")
    flops = counting.flops_per_token(cfg, context=0) * batch
    return flops / (decode_weight_params(cfg, batch) * b)


def min_batch_compute_bound(cfg: ModelConfig, ridge_flops_per_byte: float,
                            bytes_per_value: float = 2, max_batch: int = 10**7) -> int:
    """Smallest decode batch B (tokens) whose weight work reaches the chip's ridge point
    (peak FLOP/s ÷ memory bytes/s), i.e. the batch from which decoding stops being
    bandwidth-bound."""
    ridge = _positive_number("ridge_flops_per_byte", ridge_flops_per_byte, "153")
    max_batch = _positive_int("max_batch", max_batch, "10**7")
    # Intensity grows with B (more tokens share each byte read); bisect on integers.
    if decode_flops_per_byte(cfg, max_batch, bytes_per_value) < ridge:
        raise ValueError(f"no batch up to max_batch={max_batch:,} reaches {ridge:g} FLOP/byte; "
                         "raise max_batch or check bytes_per_value")
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
