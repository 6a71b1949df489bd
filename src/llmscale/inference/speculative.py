"""Speculative decoding: a small draft model proposes γ tokens, the target verifies them in one pass.

The rule of Leviathan et al. (2023) and Chen et al. (2023): the drafted token x ~ q is accepted
with probability min(1, p(x)/q(x)); on the first rejection one token is drawn from the residual
norm(max(0, p − q)); when all γ are accepted the target's last distribution gives one more
token for free. The tokens that come out are distributed exactly as the target's own samples
(`rejection_step` is that rule on probability vectors). The greedy variant accepts while the
draft's and the target's argmaxes agree, so its output is the target's greedy output.

Arithmetic (no model needed): `overlap` (α = E[Σ_v min(p, q)], the acceptance rate per drafted
token), `expected_tokens` (tokens per verify step, (1 − α^(γ+1))/(1 − α)), `speedup` (over
plain decoding, with c the cost of a draft step relative to a target step and the cost of the
verify pass, one target step in the papers) and `best_gamma`.

Running code: `speculative_generate(target, draft, prompt_ids, max_new_tokens, gamma, ...)`
over the KV caches of both models (`Decoder.new_cache`, rolled back with `KVCache.truncate`)
and `measure_costs`, which times a target step, a draft step and a verify pass.
Batch size 1: the accepted length differs between sequences, and one cache length is shared.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .._validate import choice, non_negative_int, non_negative_number, positive_int, positive_number

# --- the formulas ---------------------------------------------------------------------------------


def _alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not (0.0 <= alpha <= 1.0):
        raise ValueError(f"alpha={alpha!r} must be an acceptance rate in [0, 1], e.g. alpha=0.7")
    return float(alpha)


def expected_tokens(alpha: float, gamma: int) -> float:
    """Expected tokens one verify step produces, (1 − α^(γ+1))/(1 − α) (eq. 1 of Leviathan et al.):
    the accepted drafts plus the one token the target always adds; γ + 1 when α = 1."""
    a, g = _alpha(alpha), non_negative_int("gamma", gamma, "4")
    if a == 1.0:
        return float(g + 1)
    return (1.0 - a ** (g + 1)) / (1.0 - a)


def speedup(alpha: float, gamma: int, c: float, verify: float = 1.0) -> float:
    """Speed-up of speculative over plain decoding: expected_tokens / (γ·c + verify).

    c: the time of a draft step over that of a target step; verify: the time of the target's
    pass over γ + 1 tokens over that of one target step (1 in the papers, which assume the
    pass costs no more than a single step; measure it where it does not hold)."""
    c = non_negative_number("c", c, "0.1")
    verify = positive_number("verify", verify, "1.0")
    g = non_negative_int("gamma", gamma, "4")
    return expected_tokens(alpha, g) / (g * c + verify)


def best_gamma(alpha: float, c: float, verify=1.0, max_gamma: int = 64) -> int:
    """The γ in 0..max_gamma with the largest `speedup`; verify: a number, or a function of γ."""
    _alpha(alpha)
    max_gamma = positive_int("max_gamma", max_gamma, "64")
    cost = verify if callable(verify) else (lambda g: verify)
    return max(range(max_gamma + 1), key=lambda g: speedup(alpha, g, c, cost(g)))


def overlap(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Σ_v min(p(v), q(v)) over the last dimension: the probability that a token drafted from q is
    accepted for target p (α at one context; 1 − the total-variation distance)."""
    p, q = torch.as_tensor(p), torch.as_tensor(q)
    if p.shape != q.shape:
        raise ValueError(f"p has shape {tuple(p.shape)} and q {tuple(q.shape)}; pass two distributions of one shape")
    return torch.minimum(p, q).sum(-1)


# --- the rejection rule ------------------------------------------------------------------------


def _check_distribution(name: str, x: torch.Tensor) -> None:
    if x.dim() < 1 or not torch.all(x >= 0) or not torch.allclose(x.sum(-1), torch.ones((), dtype=x.dtype), atol=1e-4):
        raise ValueError(f"{name} must hold probability vectors (non-negative, summing to 1 along the last axis)")


def residual(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """norm(max(0, p − q)): what the target's distribution lacks after the draft's accepted part
    (p itself where p = q, a case in which nothing is ever rejected)."""
    r = (p - q).clamp(min=0)
    total = r.sum(-1, keepdim=True)
    return torch.where(total > 0, r / total.clamp(min=torch.finfo(r.dtype).tiny), p)


def rejection_step(
    p: torch.Tensor, q: torch.Tensor, drafted: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One speculative step per row: token `drafted` ~ q is kept with probability min(1, p/q),
    otherwise a token is drawn from `residual(p, q)`. Returns (token, accepted) per row; the
    tokens are distributed as p whatever q is (Leviathan et al. 2023, appendix A.1)."""
    p, q = torch.as_tensor(p), torch.as_tensor(q)
    if p.shape != q.shape:
        raise ValueError(f"p has shape {tuple(p.shape)} and q {tuple(q.shape)}; pass two distributions of one shape")
    _check_distribution("p", p)
    _check_distribution("q", q)
    drafted = torch.as_tensor(drafted, device=p.device)
    if drafted.shape != p.shape[:-1]:
        raise ValueError(
            f"drafted has shape {tuple(drafted.shape)}; pass one token per row, shape {tuple(p.shape[:-1])}"
        )
    p_x = p.gather(-1, drafted.unsqueeze(-1)).squeeze(-1)
    q_x = q.gather(-1, drafted.unsqueeze(-1)).squeeze(-1)
    u = torch.rand(drafted.shape, generator=generator, device=p.device, dtype=p.dtype)
    accepted = u * q_x < p_x  # u < p/q without dividing; q_x > 0 for a token drafted from q
    flat = residual(p, q).reshape(-1, p.shape[-1])
    fallback = torch.multinomial(flat, 1, generator=generator).reshape(drafted.shape)
    return torch.where(accepted, drafted, fallback), accepted


# --- decoding with a draft ---------------------------------------------------------------------


@dataclass
class SpeculativeStats:
    """What one speculative run did. `tried` drafted tokens reached verification (the ones after a
    rejection never do), `accepted` of them were kept; `overlap_sum` adds Σ_v min(p, q) over the
    same tried positions, so `alpha` and `alpha_expected` are measured on the same contexts."""

    gamma: int
    rounds: int = 0
    new_tokens: int = 0
    drafted: int = 0
    tried: int = 0
    accepted: int = 0
    overlap_sum: float = 0.0
    draft_seconds: float = 0.0
    verify_seconds: float = 0.0
    seconds: float = 0.0
    accepted_per_round: list[int] = field(default_factory=list)

    @property
    def alpha(self) -> float:
        """Measured acceptance rate per drafted token that was verified."""
        return self.accepted / self.tried if self.tried else float("nan")

    @property
    def alpha_expected(self) -> float:
        """E[Σ_v min(p, q)] over the same contexts: what the acceptance rate should be."""
        return self.overlap_sum / self.tried if self.tried else float("nan")

    @property
    def tokens_per_round(self) -> float:
        """New tokens per target (verify) pass."""
        return self.new_tokens / self.rounds if self.rounds else float("nan")


def _probs(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    return F.softmax(logits.float() / temperature, dim=-1)


def _feed(model, seq: torch.Tensor, cache) -> torch.Tensor:
    """Run `model` on the tokens of `seq` its cache does not hold yet; logits of those tokens."""
    logits, _ = model(seq[:, cache.length :], cache=cache)
    return logits


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _check_pair(target, draft, prompt_ids, max_new_tokens, gamma, temperature):
    if not isinstance(prompt_ids, torch.Tensor) or prompt_ids.dim() != 2 or prompt_ids.shape[1] < 1:
        raise ValueError("prompt_ids must be a LongTensor of shape (1, prompt_len) with prompt_len >= 1")
    if prompt_ids.shape[0] != 1:
        raise ValueError(
            f"prompt_ids has batch {prompt_ids.shape[0]}; speculative decoding here runs one sequence "
            "(batch 1): call it once per prompt"
        )
    positive_int("max_new_tokens", max_new_tokens, "32")
    non_negative_int("gamma", gamma, "4")
    non_negative_number("temperature", temperature, "1.0")
    if target.cfg.vocab_size != draft.cfg.vocab_size:
        raise ValueError(
            f"target vocab_size={target.cfg.vocab_size} but draft vocab_size={draft.cfg.vocab_size}; "
            "the draft must share the target's vocabulary"
        )
    limit = min(target.cfg.seq_len, draft.cfg.seq_len)
    if prompt_ids.shape[1] + max_new_tokens > limit:
        raise ValueError(
            f"prompt ({prompt_ids.shape[1]}) + max_new_tokens ({max_new_tokens}) exceeds seq_len={limit}; "
            "ask for fewer tokens or use models built with a longer seq_len"
        )


@torch.inference_mode()
def speculative_generate(
    target,
    draft,
    prompt_ids: torch.Tensor,
    max_new_tokens: int,
    gamma: int = 4,
    temperature: float = 1.0,
    seed: int | None = None,
) -> tuple[torch.Tensor, SpeculativeStats]:
    """Generate `max_new_tokens` after `prompt_ids` (1, S) with `target`, `draft` proposing
    `gamma` tokens per target pass. temperature 0 is greedy (the target's greedy tokens exactly);
    otherwise the output is distributed as the target's samples at that temperature.
    Returns (ids (1, S + max_new_tokens), SpeculativeStats)."""
    _check_pair(target, draft, prompt_ids, max_new_tokens, gamma, temperature)
    device = prompt_ids.device
    generator = torch.Generator(device=device)
    if seed is not None:
        generator.manual_seed(seed)
    else:
        generator.seed()
    greedy = temperature == 0
    total = prompt_ids.shape[1] + max_new_tokens
    t_cache, d_cache = target.new_cache(total), draft.new_cache(total)
    stats = SpeculativeStats(gamma=gamma)
    seq = prompt_ids
    _sync(device)
    start = time.perf_counter()
    # Prefill all but the last prompt token: each cache always lacks at least the newest token.
    if seq.shape[1] > 1:
        target(seq[:, :-1], cache=t_cache)
        draft(seq[:, :-1], cache=d_cache)
    while seq.shape[1] < total:
        g = min(gamma, total - seq.shape[1] - 1)  # a round yields at most g + 1 tokens
        t0 = time.perf_counter()
        drafted, q_rows = [], []
        work = seq
        for _ in range(g):
            q_logits = _feed(draft, work, d_cache)[:, -1]
            if greedy:
                token = q_logits.argmax(-1, keepdim=True)
            else:
                q = _probs(q_logits, temperature)
                q_rows.append(q)
                token = torch.multinomial(q, 1, generator=generator)
            drafted.append(token)
            work = torch.cat([work, token], dim=1)
        _sync(device)
        t1 = time.perf_counter()
        # One target pass over the newest accepted token and the g drafts: g + 1 distributions.
        p_logits = _feed(target, work, t_cache)[0]
        n_accept, next_token = _verify(p_logits, q_rows, drafted, g, greedy, temperature, generator, stats)
        _sync(device)
        stats.draft_seconds += t1 - t0
        stats.verify_seconds += time.perf_counter() - t1
        seq = torch.cat([seq, *drafted[:n_accept], next_token.view(1, 1)], dim=1)
        # Roll back what was rejected: keep only tokens of the committed sequence (minus the newest).
        for cache in (t_cache, d_cache):
            cache.truncate(min(cache.length, seq.shape[1] - 1))
        stats.rounds += 1
        stats.drafted += g
        stats.accepted += n_accept
        stats.accepted_per_round.append(n_accept)
    _sync(device)
    stats.seconds = time.perf_counter() - start
    stats.new_tokens = seq.shape[1] - prompt_ids.shape[1]
    return seq, stats


def _verify(p_logits, q_rows, drafted, g, greedy, temperature, generator, stats):
    """Accept a prefix of the g drafts against the target's g + 1 logits; the token that follows."""
    if g == 0:
        p_last = p_logits[-1]
        if greedy:
            return 0, p_last.argmax(-1)
        return 0, torch.multinomial(_probs(p_last, temperature), 1, generator=generator)[0]
    x = torch.cat(drafted, dim=1)[0]  # (g,)
    if greedy:
        target_choice = p_logits.argmax(-1)  # (g + 1,)
        agree = (target_choice[:g] == x).int()
        n = int(agree.cumprod(0).sum())
        tried = min(n + 1, g)
        stats.tried += tried
        # Σ min(p, q) for greedy drafts is the indicator that the argmaxes agree.
        stats.overlap_sum += float(agree[:tried].sum())
        return n, target_choice[n]
    p = _probs(p_logits, temperature)  # (g + 1, V)
    q = torch.cat(q_rows, dim=0)  # (g, V)
    p_x = p[:g].gather(-1, x[:, None])[:, 0]
    q_x = q.gather(-1, x[:, None])[:, 0]
    u = torch.rand(g, generator=generator, device=p.device)
    kept = (u * q_x < p_x).int()
    n = int(kept.cumprod(0).sum())
    tried = min(n + 1, g)
    stats.tried += tried
    stats.overlap_sum += float(overlap(p[:tried], q[:tried]).sum())
    if n == g:
        return n, torch.multinomial(p[g], 1, generator=generator)[0]
    return n, torch.multinomial(residual(p[n], q[n]), 1, generator=generator)[0]


# --- what a step costs ------------------------------------------------------------------------


@dataclass(frozen=True)
class StepCosts:
    """Measured seconds of one decode step of the target and of the draft, and of the target's
    pass over γ + 1 tokens, all on top of a cache of `context` tokens."""

    target_s: float
    draft_s: float
    verify_s: dict[int, float]
    context: int

    @property
    def c(self) -> float:
        """Cost of a draft step over a target step."""
        return self.draft_s / self.target_s

    def verify(self, gamma: int) -> float:
        """Cost of the verify pass over γ + 1 tokens, in target steps."""
        return self.verify_s[gamma] / self.target_s


@torch.inference_mode()
def _time_step(
    model,
    context_ids: torch.Tensor,
    n_new: int,
    repeats: int,
    statistic: str = "median",
    temperature: float = 0.0,
    verify_gamma: int | None = None,
) -> float:
    """Median (or least) seconds of one forward of `n_new` tokens on top of a cache holding
    `context_ids`, and of what decoding then does with the logits: with `verify_gamma` None,
    choose the next token (argmax at temperature 0, else a sample from the softmax), as a step of
    plain decoding and a draft step do; with `verify_gamma` = γ (n_new = γ + 1), the acceptance
    test of `speculative_generate` over the γ drafts, as a verify pass does."""
    cache = model.new_cache(context_ids.shape[1] + n_new)
    model(context_ids, cache=cache)
    length = cache.length
    new = context_ids[:, -n_new:]
    device = context_ids.device
    generator = torch.Generator(device=device)
    generator.manual_seed(0)
    greedy = temperature == 0
    if verify_gamma is not None:
        # the drafts are the last γ tokens of `new`; the draft's distributions, uniform: the test
        # does the same work whatever their values
        drafted = [new[:, 1 + i : 2 + i] for i in range(verify_gamma)]
        vocab = model.cfg.vocab_size
        q_rows = [] if greedy else [torch.full((1, vocab), 1.0 / vocab, device=device)] * verify_gamma
    times = []
    for _ in range(repeats):
        cache.truncate(length)
        _sync(device)
        t0 = time.perf_counter()
        logits = model(new, cache=cache)[0]
        if verify_gamma is not None:
            _verify(
                logits[0], q_rows, drafted, verify_gamma, greedy, temperature, generator, SpeculativeStats(verify_gamma)
            )
        elif greedy:
            logits[:, -1].argmax(-1).tolist()  # read the result, as decoding does
        else:
            torch.multinomial(_probs(logits[:, -1], temperature), 1, generator=generator).tolist()
        _sync(device)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[0] if statistic == "min" else times[len(times) // 2]


def measure_costs(
    target,
    draft,
    context_ids: torch.Tensor,
    gammas=(1, 2, 4, 8),
    repeats: int = 30,
    statistic: str = "median",
    temperature: float = 0.0,
) -> StepCosts:
    """Time a target step, a draft step (one new token each, and its choice) and the target's
    verify pass over γ + 1 tokens (with the acceptance test) for each γ in `gammas`, on top of
    `context_ids` (1, S) already in the cache, at `temperature` (0: argmax; else sampling and the
    rejection rule, as `speculative_generate` spends them): each the median of `repeats` timings,
    or with statistic="min" the least (the least disturbed by other jobs on a shared machine)."""
    positive_int("repeats", repeats, "30")
    choice("statistic", statistic, ("median", "min"))
    temperature = non_negative_number("temperature", temperature, "1.0")
    for g in gammas:
        positive_int("gamma", g, "4")

    def step(model, n_new, verify_gamma=None):
        return _time_step(model, context_ids, n_new, repeats, statistic, temperature, verify_gamma)

    return StepCosts(
        target_s=step(target, 1),
        draft_s=step(draft, 1),
        verify_s={g: step(target, g + 1, g) for g in gammas},
        context=context_ids.shape[1],
    )


def geometric_acceptances(alpha: float, gamma: int, n_rounds: int, seed: int = 0) -> list[int]:
    """Accepted drafts per round when each drafted token is accepted independently with
    probability α (the formula's assumption): a simulation to set beside a measurement."""
    a, g = _alpha(alpha), non_negative_int("gamma", gamma, "4")
    n_rounds = positive_int("n_rounds", n_rounds, "1000")
    gen = torch.Generator().manual_seed(seed)
    kept = (torch.rand(n_rounds, g, generator=gen, dtype=torch.float64) < a).int()
    return kept.cumprod(1).sum(1).tolist() if g else [0] * n_rounds


__all__ = [
    "SpeculativeStats",
    "StepCosts",
    "best_gamma",
    "expected_tokens",
    "geometric_acceptances",
    "measure_costs",
    "overlap",
    "rejection_step",
    "residual",
    "speculative_generate",
    "speedup",
]
