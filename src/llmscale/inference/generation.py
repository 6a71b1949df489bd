"""Autoregressive generation with the book's decoder: greedy or sampled (temperature, top-k, top-p),
with the KV cache or by recomputing the whole sequence at every step.

With the cache (`use_cache=True`) the prompt is fed once (prefill) and each later step feeds one
token, whose keys and values join the cache: a step costs one token's weights and the cache read.
Without it every step runs the whole sequence again: the same tokens (greedy) and logits within
float rounding, at a cost that grows with the length. `python -m llmscale.benchmarks.decode`
times both, and `transformers`' `generate` on the same weights.
"""

from __future__ import annotations

import math

import torch

from .._validate import non_negative_int, positive_int


def _check_temperature(temperature) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature):
        raise ValueError(f"temperature={temperature!r} must be a finite number >= 0 (0 is greedy), e.g. 0.8")
    if temperature < 0:
        raise ValueError(f"temperature={temperature!r} must be >= 0 (0 is greedy), e.g. temperature=0.8")
    return float(temperature)


def _check_top_p(top_p) -> float | None:
    if top_p is None:
        return None
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
        raise ValueError(f"top_p={top_p!r} must be in (0, 1] or None (no nucleus cut), e.g. top_p=0.9")
    return float(top_p)


def filter_logits(logits: torch.Tensor, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """Logits (B, V) with the tokens outside the top k and outside the nucleus set to -inf.

    top_k keeps the k largest logits (exactly k, ties broken by `torch.topk`); top_p then keeps the
    fewest most probable tokens whose probabilities sum to at least top_p (the most probable one
    always stays), as in Holtzman et al. (2020).
    """
    if top_k is not None:
        k = positive_int("top_k", top_k, "50")
        if k < logits.shape[-1]:
            kept = logits.topk(k, dim=-1).indices
            logits = torch.full_like(logits, -math.inf).scatter(-1, kept, logits.gather(-1, kept))
    top_p = _check_top_p(top_p)
    if top_p is not None and top_p < 1:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        before = probs.cumsum(dim=-1) - probs  # probability of the more likely tokens
        drop_sorted = before >= top_p
        drop_sorted[..., 0] = False
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, -math.inf)
    return logits


def next_token_probs(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """The distribution (B, V), float32, that sampling draws the next token from: softmax of
    logits / temperature after the top-k and top-p cuts (temperature > 0)."""
    temperature = _check_temperature(temperature)
    if temperature == 0:
        raise ValueError("temperature=0 is greedy (argmax) and has no distribution; pass temperature > 0")
    return filter_logits(logits.float() / temperature, top_k, top_p).softmax(dim=-1)


def choose_next(
    logits: torch.Tensor,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The next token (B,) from the last position's logits (B, V): argmax at temperature 0, else a
    draw from `next_token_probs`."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = next_token_probs(logits, temperature, top_k, top_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _check_prompt(model, prompt_ids) -> torch.Tensor:
    if not isinstance(prompt_ids, torch.Tensor) or prompt_ids.dim() != 2 or prompt_ids.shape[1] < 1:
        shape = tuple(prompt_ids.shape) if isinstance(prompt_ids, torch.Tensor) else type(prompt_ids).__name__
        raise ValueError(
            f"prompt_ids must be a tensor of token ids shaped (batch, prompt_len >= 1), got {shape}; "
            "for one prompt pass ids[None]"
        )
    if prompt_ids.dtype.is_floating_point or prompt_ids.dtype == torch.bool or prompt_ids.is_complex():
        raise ValueError(f"prompt_ids must hold integer token ids, got dtype {prompt_ids.dtype}")
    vocab = model.cfg.vocab_size
    if int(prompt_ids.min()) < 0 or int(prompt_ids.max()) >= vocab:
        raise ValueError(
            f"prompt_ids must lie in [0, vocab_size={vocab}); got ids from {int(prompt_ids.min())} "
            f"to {int(prompt_ids.max())}"
        )
    return prompt_ids.long()


@torch.inference_mode()
def generate(
    model,
    prompt_ids: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 0.0,
    use_cache: bool = True,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    """Token ids (B, S_prompt + max_new_tokens): the prompt (B, S_prompt) followed by the new tokens.

    temperature 0 is greedy; above 0 each token is drawn from softmax(logits / temperature) after
    the top_k and top_p cuts, with a `torch.Generator` seeded by `seed` (None: torch's global RNG).
    use_cache=False recomputes the whole sequence at every step (the reference the cache must equal).
    The whole output must fit the model's context: S_prompt + max_new_tokens <= cfg.seq_len.
    """
    prompt_ids = _check_prompt(model, prompt_ids)
    max_new_tokens = non_negative_int("max_new_tokens", max_new_tokens, "64")
    temperature = _check_temperature(temperature)
    if not isinstance(use_cache, bool):
        raise ValueError(f"use_cache={use_cache!r} must be True or False")
    if top_k is not None:
        positive_int("top_k", top_k, "50")
    _check_top_p(top_p)
    if seed is not None:
        non_negative_int("seed", seed, "0")
    B, S = prompt_ids.shape
    total = S + max_new_tokens
    if total > model.cfg.seq_len:
        raise ValueError(
            f"prompt of {S} tokens + max_new_tokens={max_new_tokens} = {total} exceeds seq_len={model.cfg.seq_len}, "
            f"the model's context; ask for at most {model.cfg.seq_len - S} new tokens or shorten the prompt"
        )
    device = next(model.parameters()).device
    out = torch.empty(B, total, dtype=torch.long, device=device)
    out[:, :S] = prompt_ids.to(device)
    if max_new_tokens == 0:
        return out
    generator = None
    if seed is not None and temperature > 0:
        generator = torch.Generator(device=device).manual_seed(seed)

    def choose(logits):
        return choose_next(logits, temperature, top_k, top_p, generator)

    if use_cache:
        cache = model.new_cache(total)
        logits = model(out[:, :S], cache=cache)[0][:, -1]
        for i in range(S, total):
            out[:, i] = choose(logits)
            if i + 1 < total:
                logits = model(out[:, i : i + 1], cache=cache)[0][:, -1]
    else:
        for i in range(S, total):
            out[:, i] = choose(model(out[:, :i])[0][:, -1])
    return out
