"""Communication volumes: the all-to-all of expert parallelism.

Expert parallelism sends each token's hidden vector (d values of b bytes) to its k experts
and back, in every MoE layer, and again in the backward pass. Bytes are decimal counts.
"""

from __future__ import annotations

from .. import counting
from .._validate import non_negative_number, positive_int, positive_number
from ..config import ModelConfig


def all_to_all_bytes_per_token_layer(
    d_model: int, top_k: int, bytes_per_value: float = 2, training: bool = True
) -> float:
    """Bytes one token moves in one MoE layer: its d-vector to k experts and back (2·k·d·b),
    twice that when training (the backward pass sends the gradients the same two ways)."""
    d_model = positive_int("d_model", d_model, "4096")
    top_k = positive_int("top_k", top_k, "2")
    b = positive_number("bytes_per_value", bytes_per_value, "2")
    forward = 2 * top_k * d_model * b
    return 2 * forward if training else forward


def remote_fraction(expert_parallel: int) -> float:
    """Share of token-to-expert sends that leave the GPU when the experts are spread evenly
    over `expert_parallel` GPUs and routing is uniform: 1 − 1/P."""
    p = positive_int("expert_parallel", expert_parallel, "16")
    return 1.0 - 1.0 / p


def all_to_all_bytes(
    cfg: ModelConfig,
    tokens: float,
    bytes_per_value: float = 2,
    training: bool = True,
    expert_parallel: int | None = None,
) -> float:
    """All-to-all bytes for `tokens` tokens through every MoE layer of `cfg`.

    Counts every token-to-expert send (the upper bound: all experts elsewhere); with
    `expert_parallel`=P only the 1 − 1/P that leave the GPU are counted.
    """
    counting.check_moe(cfg)
    tokens = non_negative_number("tokens", tokens, "60e6")
    per = all_to_all_bytes_per_token_layer(cfg.d_model, cfg.top_k, bytes_per_value, training)
    share = 1.0 if expert_parallel is None else remote_fraction(expert_parallel)
    return tokens * cfg.n_layers * per * share
