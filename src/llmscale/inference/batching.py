"""Continuous batching over a paged KV cache, against static padded batching.

A server receives requests (a prompt, a number of tokens to generate, an arrival time) and
runs the book's decoder on them in steps. Two policies share one step function:

* `serve_static`: fixed batches. Up to `max_batch` waiting requests form a batch; it reserves
  the padded rectangle of KV memory (batch × longest prompt + longest output), is prefilled,
  then decodes in lockstep until its longest request is done — a request that has finished
  keeps its slot (and is computed, its tokens thrown away) until then; nobody joins midway.
* `serve_continuous`: iteration-level scheduling as in Orca (Yu et al. 2022): after every
  step, finished requests leave and waiting ones join while KV blocks allow; a step holds
  the prefill of the newcomers and one decode token of every running request. The KV cache
  is paged as in vLLM's PagedAttention (Kwon et al. 2023): fixed-size blocks, a block table
  per sequence, a free list; a block is taken only when a sequence's next token needs one,
  and when none is free the newest running request is preempted (its blocks freed, its
  tokens recomputed when it is readmitted, as vLLM's recompute preemption).

The step runs the model's own modules on the paged cache (`PagedModelExecutor`: embed, each
block's norm1 / attn.qkv / attn.out / norm2 / ffn, the final norm and lm_head), each token at
its own position; it supports the dense decoders (RoPE or learned positions, MHA/GQA/MQA) —
a dense LLaMA-style config is what the book serves with it. `CostModelExecutor` replaces the
model by a roofline step time, so the same schedulers can be simulated at a scale the CPU
cannot run (no tokens are computed: it is a simulation, and says so).

Time is a virtual clock: each step advances it by the step's measured wall time (or its
modelled time), and an idle server jumps to the next arrival instead of sleeping.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import positive_int
from ..config import ModelConfig
from ..model.layers import apply_rope

POLICIES = ("static", "continuous")
DECODE_GROUP = 8  # decode sequences whose attention is computed together, by length
PERCENTILES = (50, 90, 99)


# --- the workload -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request: `prompt` token ids, `max_new_tokens` to generate (no stop token: all are
    generated, as vLLM's ignore_eos), and its arrival time in seconds."""

    id: int
    prompt: tuple[int, ...]
    max_new_tokens: int
    arrival_s: float = 0.0

    @property
    def final_length(self) -> int:
        """Tokens whose keys and values are cached by the end: the prompt and all generated
        tokens but the last (which is never fed back)."""
        return len(self.prompt) + self.max_new_tokens - 1


def _lognormal_lengths(rng, n: int, median: float, sigma: float, low: int, high: int) -> np.ndarray:
    return np.clip(np.round(median * np.exp(sigma * rng.standard_normal(n))), low, high).astype(int)


def make_workload(
    n_requests: int,
    vocab_size: int,
    seed: int = 0,
    prompt_median: float = 32,
    prompt_sigma: float = 0.8,
    output_median: float = 24,
    output_sigma: float = 1.0,
    max_prompt: int = 192,
    max_output: int = 256,
    rate_per_s: float | None = None,
) -> list[Request]:
    """A seeded skewed workload: log-normal prompt and output lengths (median, σ of the log,
    clipped to [1, max]), uniform random token ids, and Poisson arrivals at `rate_per_s`
    (None: everyone arrives at time 0, an offline batch)."""
    n = positive_int("n_requests", n_requests, "64")
    positive_int("vocab_size", vocab_size, "512")
    for name, value in (("prompt_sigma", prompt_sigma), ("output_sigma", output_sigma)):
        if not (isinstance(value, (int, float)) and value >= 0):
            raise ValueError(f"{name}={value!r} must be a number ≥ 0 (the σ of the log-length; 0: all equal)")
    if rate_per_s is not None and not (isinstance(rate_per_s, (int, float)) and rate_per_s > 0):
        raise ValueError(f"rate_per_s={rate_per_s!r} must be a positive number of requests per second, or None")
    rng = np.random.default_rng(seed)
    prompts = _lognormal_lengths(rng, n, prompt_median, prompt_sigma, 1, positive_int("max_prompt", max_prompt))
    outputs = _lognormal_lengths(rng, n, output_median, output_sigma, 1, positive_int("max_output", max_output))
    arrivals = np.zeros(n) if rate_per_s is None else np.cumsum(rng.exponential(1.0 / rate_per_s, n))
    return [
        Request(i, tuple(int(t) for t in rng.integers(0, vocab_size, p)), int(o), float(a))
        for i, (p, o, a) in enumerate(zip(prompts, outputs, arrivals, strict=True))
    ]


# --- the paged KV cache: blocks, block tables, a free list ----------------------------------------


class OutOfBlocks(RuntimeError):
    """No free KV block is left; the scheduler preempts or waits."""


class BlockManager:
    """Fixed-size KV blocks handed out from a free list, and a block table per sequence.

    No tensors: the manager decides which slots a sequence's tokens go to (slot = block ·
    block_size + offset); the executor holds the memory. `used` never exceeds `n_blocks`:
    `allocate` raises OutOfBlocks instead.
    """

    def __init__(self, n_blocks: int, block_size: int):
        self.n_blocks = positive_int("n_blocks", n_blocks, "256")
        self.block_size = positive_int("block_size", block_size, "16")
        self.free_list: deque[int] = deque(range(self.n_blocks))
        self.tables: dict[int, list[int]] = {}
        self.peak = 0

    @property
    def used(self) -> int:
        return self.n_blocks - len(self.free_list)

    @property
    def free(self) -> int:
        return len(self.free_list)

    def blocks_for(self, n_tokens: int) -> int:
        """Blocks that hold n_tokens tokens."""
        return -(-n_tokens // self.block_size)

    def extra_blocks(self, seq: int, n_tokens: int) -> int:
        """Blocks sequence `seq` still needs to hold n_tokens tokens in all."""
        return max(0, self.blocks_for(n_tokens) - len(self.tables.get(seq, ())))

    def ensure(self, seq: int, n_tokens: int) -> None:
        """Grow `seq`'s block table to hold n_tokens tokens (all or nothing)."""
        table = self.tables.get(seq)
        if table is not None and len(table) * self.block_size >= n_tokens:
            return
        need = self.extra_blocks(seq, n_tokens)
        if need > self.free:
            raise OutOfBlocks(f"sequence {seq} needs {need} more blocks, {self.free} are free")
        table = self.tables.setdefault(seq, [])
        table.extend(self.free_list.popleft() for _ in range(need))
        self.peak = max(self.peak, self.used)

    def release(self, seq: int) -> None:
        """Return `seq`'s blocks to the free list."""
        self.free_list.extend(self.tables.pop(seq, ()))

    def slots(self, seq: int, start: int, stop: int) -> list[int]:
        """Flat cache slots of token positions start..stop-1 of `seq`."""
        table, bs = self.tables[seq], self.block_size
        return [table[p // bs] * bs + p % bs for p in range(start, stop)]


# --- executors: one step of the model on the paged cache ------------------------------------------


class StepItem(NamedTuple):
    """One sequence's part of a step: feed `tokens` at positions start..start+len-1 (its
    cached length before the step is `start`), using `table` (its block table)."""

    seq: int
    tokens: tuple[int, ...]
    start: int
    table: Sequence[int]


def _padded(table: Sequence[int], used: int, width: int) -> list[int]:
    """The first `used` blocks of a table, padded with block 0 (masked out) to `width`."""
    return list(table[:used]) + [0] * (width - used)


def _check_servable(cfg: ModelConfig) -> None:
    if cfg.is_moe:
        raise ValueError(
            f"n_experts={cfg.n_experts}: the paged executor serves dense decoders (an MoE layer's "
            "capacity makes a token's output depend on its batch); use n_experts=1"
        )
    if cfg.is_mla:
        raise ValueError(
            "kv_lora_rank is set: the paged executor caches keys and values, not MLA's latent; use kv_lora_rank=None"
        )
    if cfg.pos not in ("rope", "learned"):
        raise ValueError(f"pos={cfg.pos!r}: the paged executor serves pos='rope' or pos='learned'")


class PagedModelExecutor:
    """Runs the book's `Decoder` one step at a time on a paged KV cache of `n_blocks` blocks
    of `block_size` tokens (per layer: keys and values shaped (n_blocks·block_size, h_kv, d_h)).

    `__call__(items)` feeds every item's tokens in one pass (all tokens of all sequences go
    through each matrix product together; attention reads each sequence's own blocks) and
    returns the greedy next token of each item and the step's wall seconds.
    """

    def __init__(self, model, n_blocks: int, block_size: int):
        cfg = model.cfg
        _check_servable(cfg)
        self.model, self.cfg, self.block_size = model, cfg, block_size
        p = next(model.parameters())
        self.device, self.dtype = p.device, p.dtype
        kv, hd = cfg.kv_heads, cfg.head_dim_
        shape = (n_blocks * block_size, kv, hd)
        self.k = [torch.zeros(shape, device=self.device, dtype=self.dtype) for _ in range(cfg.n_layers)]
        self.v = [torch.zeros(shape, device=self.device, dtype=self.dtype) for _ in range(cfg.n_layers)]

    def _attend(self, layer: int, q, items, offsets) -> torch.Tensor:
        """Attention of each item's queries over its cached keys (written before this call)."""
        h, kv, hd, bs = self.cfg.n_heads, self.cfg.kv_heads, self.cfg.head_dim_, self.block_size
        out = torch.empty_like(q)
        kc = self.k[layer].view(-1, bs, kv, hd)
        vc = self.v[layer].view(-1, bs, kv, hd)
        # Only the blocks that hold tokens are read (a static batch reserves more).
        decode = sorted((i for i, it in enumerate(items) if len(it.tokens) == 1), key=lambda i: items[i].start)
        g = h // kv
        for group in (decode[j : j + DECODE_GROUP] for j in range(0, len(decode), DECODE_GROUP)):
            # One query each: pad the block tables of a group of similar lengths, gather the
            # blocks, mask the positions past each length (grouping keeps the padding small).
            n_tab = -(-(items[group[-1]].start + 1) // bs)
            tables = torch.tensor(
                [_padded(items[i].table, -(-(items[i].start + 1) // bs), n_tab) for i in group], device=self.device
            ).flatten()
            lengths = torch.tensor([items[i].start + 1 for i in group], device=self.device)
            keys = kc.index_select(0, tables).view(len(group), n_tab * bs, kv, hd)
            values = vc.index_select(0, tables).view(len(group), n_tab * bs, kv, hd)
            mask = torch.arange(n_tab * bs, device=self.device)[None, :] < lengths[:, None]
            rows = torch.tensor([offsets[i] for i in group], device=self.device)
            qd = q[rows].view(len(group), kv, g, hd)
            scores = torch.einsum("bkgd,blkd->bkgl", qd, keys) * hd**-0.5
            scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
            y = torch.einsum("bkgl,blkd->bkgd", scores.softmax(dim=-1), values)
            out[rows] = y.reshape(len(group), h, hd)
        for i, it in enumerate(items):
            n = len(it.tokens)
            if n == 1:
                continue
            length = it.start + n
            table = torch.tensor(it.table[: -(-length // bs)], device=self.device)
            keys = kc.index_select(0, table).view(-1, kv, hd)[:length].transpose(0, 1)[None]
            values = vc.index_select(0, table).view(-1, kv, hd)[:length].transpose(0, 1)[None]
            qi = q[offsets[i] : offsets[i] + n].transpose(0, 1)[None]  # (1, h, n, d_h)
            if it.start == 0:
                y = F.scaled_dot_product_attention(qi, keys, values, is_causal=True, enable_gqa=kv != h)
            else:
                # New tokens on top of a cache: query j sees keys up to position start + j.
                mask = torch.arange(length, device=self.device)[None, :] <= (
                    it.start + torch.arange(n, device=self.device)[:, None]
                )
                y = F.scaled_dot_product_attention(qi, keys, values, attn_mask=mask, enable_gqa=kv != h)
            out[offsets[i] : offsets[i] + n] = y[0].transpose(0, 1)
        return out

    @torch.no_grad()
    def __call__(self, items: Sequence[StepItem], slots: Sequence[int]) -> tuple[list[int], float]:
        start_time = time.perf_counter()
        m, cfg = self.model, self.cfg
        h, kv, hd = cfg.n_heads, cfg.kv_heads, cfg.head_dim_
        tokens = torch.tensor([t for it in items for t in it.tokens], device=self.device)
        positions = torch.tensor([it.start + j for it in items for j in range(len(it.tokens))], device=self.device)
        slot_index = torch.tensor(list(slots), device=self.device)
        offsets, total = [], 0
        for it in items:
            offsets.append(total)
            total += len(it.tokens)
        last = torch.tensor([o + len(it.tokens) - 1 for o, it in zip(offsets, items, strict=True)], device=self.device)
        if int(positions.max()) >= cfg.seq_len:
            raise ValueError(f"a position reaches {int(positions.max())} ≥ seq_len={cfg.seq_len}; shorten the requests")
        x = m.embed(tokens)
        if m.pos_embed is not None:
            x = x + m.pos_embed(positions)
        if cfg.pos == "rope":
            cos, sin = m.rope_cos[positions][:, None, :], m.rope_sin[positions][:, None, :]
        for layer, block in enumerate(m.blocks):
            attn = block.attn
            qkv = attn.qkv(block.norm1(x)).view(total, h + 2 * kv, hd)
            if cfg.pos == "rope":
                qk = apply_rope(qkv[:, : h + kv], cos, sin)
                q, k = qk[:, :h], qk[:, h:]
            else:
                q, k = qkv[:, :h], qkv[:, h : h + kv]
            self.k[layer][slot_index] = k
            self.v[layer][slot_index] = qkv[:, h + kv :]
            y = self._attend(layer, q.contiguous(), items, offsets)
            x = x + attn.out(y.reshape(total, h * hd))
            x = x + block.ffn(block.norm2(x))
        logits = m.lm_head(m.norm(x[last]))
        next_tokens = logits.argmax(dim=-1).tolist()
        return next_tokens, time.perf_counter() - start_time


@dataclass(frozen=True)
class CostModelExecutor:
    """A roofline step time instead of the model (a simulation: tokens returned are zeros).

    One step reads the weights once and every item's cached keys and values, and does
    2·N FLOPs per new token: seconds = max(FLOPs / flops, bytes / bandwidth) + overhead_s.
    """

    weight_bytes: float
    kv_bytes_per_token: float
    flops_per_token: float
    flops: float
    bandwidth: float
    overhead_s: float = 0.0

    def __call__(self, items: Sequence[StepItem], slots: Sequence[int]) -> tuple[list[int], float]:
        new = sum(len(it.tokens) for it in items)
        context = sum(it.start + len(it.tokens) for it in items)
        compute = new * self.flops_per_token / self.flops
        memory = (self.weight_bytes + context * self.kv_bytes_per_token) / self.bandwidth
        return [0] * len(items), max(compute, memory) + self.overhead_s


def cost_model(cfg: ModelConfig, accelerator, bytes_per_value: float = 2, efficiency: float = 1.0):
    """`CostModelExecutor` for model `cfg` on `accelerator` (`llmscale.hardware.get(...)`) in
    bf16, at `efficiency` of its peak FLOP/s and bandwidth."""
    from .. import counting
    from . import kv_cache

    n = counting.param_count(cfg)
    return CostModelExecutor(
        weight_bytes=n * bytes_per_value,
        kv_bytes_per_token=kv_cache.kv_cache_bytes_per_token(cfg, bytes_per_value),
        flops_per_token=2.0 * n,
        flops=accelerator.flops("bf16") * efficiency,
        bandwidth=accelerator.hbm_bw * efficiency,
    )


# --- the schedulers -----------------------------------------------------------------------------


class _Live:
    """A request being served: its tokens so far (prompt, then generated), what is cached."""

    def __init__(self, request: Request):
        self.request = request
        self.tokens: list[int] = list(request.prompt)
        self.generated: list[int] = []
        self.cached = 0  # tokens whose K/V are in the cache
        self.first_token_s: float | None = None
        self.token_times: list[float] = []
        self.done_s: float | None = None
        self.admitted = 0  # admission order, for preemption (newest first)

    @property
    def finished(self) -> bool:
        return len(self.generated) >= self.request.max_new_tokens


@dataclass(frozen=True)
class ServeResult:
    """What a policy did with a workload.

    tokens_per_s: generated tokens over the makespan (first arrival to last token). ttft_s,
    tpot_s, latency_s: percentiles (PERCENTILES) over requests of the time to first token, the
    mean time per output token after the first, and arrival to last token. Memory (fractions
    of the reserved KV slots, averaged over steps): `padding_waste` (slots a request will never
    use: the padded rectangle of a static batch, and the slots of finished requests waiting for
    their batch), `reservation_waste` (slots reserved for a request's tokens not generated
    yet), `fragmentation_waste` (the unfilled tail of each sequence's last block); `utilization`
    is the rest. outputs: the generated tokens per request id.
    """

    policy: str
    n_requests: int
    generated_tokens: int
    computed_tokens: int
    makespan_s: float
    tokens_per_s: float
    ttft_s: dict[int, float]
    tpot_s: dict[int, float]
    latency_s: dict[int, float]
    utilization: float
    padding_waste: float
    reservation_waste: float
    fragmentation_waste: float
    block_budget: int
    peak_blocks: int
    n_steps: int
    n_preemptions: int
    mean_batch: float
    outputs: dict[int, tuple[int, ...]]

    def summary(self) -> dict:
        """The result without the generated tokens (JSON-able)."""
        out = {k: v for k, v in self.__dict__.items() if k != "outputs"}
        for key in ("ttft_s", "tpot_s", "latency_s"):
            out[key] = {str(p): v for p, v in out[key].items()}
        return out


def _percentiles(values: Sequence[float]) -> dict[int, float]:
    if not len(values):
        return {p: math.nan for p in PERCENTILES}
    return {p: float(np.percentile(values, p)) for p in PERCENTILES}


def histogram_percentile(buckets: dict[str, int], p: float) -> float:
    """The p-th percentile of a Prometheus histogram (cumulative counts by upper edge, "+Inf"
    last), interpolated linearly inside its bucket, as Prometheus' histogram_quantile does;
    in the open top bucket, its lower edge."""
    edges = sorted(((float(k), v) for k, v in buckets.items()), key=lambda kv: kv[0])
    total = edges[-1][1]
    if total <= 0:
        raise ValueError("the histogram is empty; it has no percentile")
    if not 0 <= p <= 100:
        raise ValueError(f"p={p!r} must lie between 0 and 100")
    rank, lower, below = p / 100 * total, 0.0, 0
    for edge, cumulative in edges:
        if cumulative >= rank and cumulative > below:
            if math.isinf(edge):
                return lower
            return lower + (edge - lower) * (rank - below) / (cumulative - below)
        lower, below = edge, cumulative
    return lower


class _Recorder:
    def __init__(self, policy: str, requests: Sequence[Request], manager: BlockManager):
        self.policy, self.requests, self.manager = policy, requests, manager
        self.memory = np.zeros(4)  # live, padding, reservation, fragmentation (slot·steps)
        self.steps = 0
        self.batch_sum = 0
        self.computed = 0
        self.preemptions = 0

    def step(self, live_items: int, computed: int, memory: tuple[float, float, float, float]):
        self.steps += 1
        self.batch_sum += live_items
        self.computed += computed
        self.memory += memory

    def result(self, states: Sequence[_Live]) -> ServeResult:
        for s in states:
            if not s.finished:
                raise RuntimeError(f"request {s.request.id} did not finish ({len(s.generated)} tokens)")
        start = min(r.arrival_s for r in self.requests)
        end = max(s.done_s for s in states)
        generated = sum(len(s.generated) for s in states)
        ttft = [s.first_token_s - s.request.arrival_s for s in states]
        tpot = [
            (s.token_times[-1] - s.token_times[0]) / (len(s.token_times) - 1) for s in states if len(s.token_times) > 1
        ]
        total = self.memory.sum() or 1.0
        return ServeResult(
            policy=self.policy,
            n_requests=len(states),
            generated_tokens=generated,
            computed_tokens=self.computed,
            makespan_s=end - start,
            tokens_per_s=generated / (end - start),
            ttft_s=_percentiles(ttft),
            tpot_s=_percentiles(tpot),
            latency_s=_percentiles([s.done_s - s.request.arrival_s for s in states]),
            utilization=float(self.memory[0] / total),
            padding_waste=float(self.memory[1] / total),
            reservation_waste=float(self.memory[2] / total),
            fragmentation_waste=float(self.memory[3] / total),
            block_budget=self.manager.n_blocks,
            peak_blocks=self.manager.peak,
            n_steps=self.steps,
            n_preemptions=self.preemptions,
            mean_batch=self.batch_sum / max(self.steps, 1),
            outputs={s.request.id: tuple(s.generated) for s in states},
        )


def _check_requests(requests: Sequence[Request], manager: BlockManager, seq_len: int | None) -> list[Request]:
    if not requests:
        raise ValueError("requests is empty; pass at least one Request (make_workload builds some)")
    ids = [r.id for r in requests]
    if len(set(ids)) != len(ids):
        raise ValueError("request ids repeat; give every Request a unique id")
    for r in requests:
        if not r.prompt or r.max_new_tokens < 1:
            raise ValueError(f"request {r.id}: needs a non-empty prompt and max_new_tokens ≥ 1")
        if manager.blocks_for(r.final_length) > manager.n_blocks:
            raise ValueError(
                f"request {r.id} needs {manager.blocks_for(r.final_length)} blocks alone, more than "
                f"n_blocks={manager.n_blocks}; raise n_blocks or shorten the request"
            )
        if seq_len is not None and r.final_length > seq_len:
            raise ValueError(
                f"request {r.id}: prompt + output = {r.final_length + 1} tokens exceeds the model's "
                f"seq_len={seq_len}; shorten it"
            )
    return sorted(requests, key=lambda r: (r.arrival_s, r.id))


Executor = Callable[[Sequence[StepItem], Sequence[int]], tuple[list[int], float]]


def _run_step(executor: Executor, manager: BlockManager, batch: Sequence[_Live], now: float) -> float:
    """Feed each sequence's uncached tokens, append its next token; return the new clock."""
    items, slots = [], []
    for s in batch:
        toks = s.tokens
        manager.ensure(s.request.id, len(toks))
        # The table is passed, not copied: executors only read it during the step.
        items.append(StepItem(s.request.id, tuple(toks[s.cached :]), s.cached, manager.tables[s.request.id]))
        slots += manager.slots(s.request.id, s.cached, len(toks))
    next_tokens, seconds = executor(items, slots)
    now += seconds
    for s, t in zip(batch, next_tokens, strict=True):
        s.cached = len(s.tokens)
        if not s.finished:
            s.generated.append(int(t))
            s.tokens.append(int(t))
            s.token_times.append(now)
            if s.first_token_s is None:
                s.first_token_s = now
            if s.finished:
                s.done_s = now
    return now


def serve_continuous(
    executor: Executor,
    requests: Sequence[Request],
    n_blocks: int,
    block_size: int = 16,
    max_batch: int = 32,
    max_prefill_tokens: int = 512,
    seq_len: int | None = None,
) -> ServeResult:
    """Iteration-level scheduling over a paged KV cache of n_blocks blocks of block_size tokens.

    Each step: running requests that need a new block get one (if none is free, the newest
    running request is preempted: its blocks go back and it rejoins the queue's head, to be
    recomputed); then arrived requests join, first come first served, while the batch has
    fewer than max_batch requests, the new prompts total at most max_prefill_tokens (one
    prompt is always let in) and free blocks hold their prompts; then one step runs.
    """
    manager = BlockManager(n_blocks, block_size)
    positive_int("max_batch", max_batch, "32")
    positive_int("max_prefill_tokens", max_prefill_tokens, "512")
    ordered = _check_requests(requests, manager, seq_len)
    rec = _Recorder("continuous", ordered, manager)
    states = {r.id: _Live(r) for r in ordered}
    pending = deque(ordered)  # not arrived yet
    waiting: deque[_Live] = deque()
    running: list[_Live] = []
    now, admissions = ordered[0].arrival_s, 0
    while pending or waiting or running:
        while pending and pending[0].arrival_s <= now:
            waiting.append(states[pending.popleft().id])
        if not running and not waiting:
            now = pending[0].arrival_s
            continue
        # Decodes first: each may need one more block; preempt the newest until they fit.
        while running and sum(manager.extra_blocks(s.request.id, len(s.tokens)) for s in running) > manager.free:
            victim = max(running, key=lambda s: s.admitted)
            running.remove(victim)
            manager.release(victim.request.id)
            victim.cached = 0
            waiting.appendleft(victim)
            rec.preemptions += 1
        free = manager.free - sum(manager.extra_blocks(s.request.id, len(s.tokens)) for s in running)
        prefill = 0
        while waiting and len(running) < max_batch:
            s = waiting[0]
            need = manager.blocks_for(len(s.tokens))
            if need > free or (prefill and prefill + len(s.tokens) > max_prefill_tokens):
                break
            waiting.popleft()
            free -= need
            prefill += len(s.tokens)
            admissions += 1
            s.admitted = admissions
            running.append(s)
        if not running:  # the queue's head does not fit yet: cannot happen with an empty batch
            raise RuntimeError("no request fits the empty cache; n_blocks is checked above")
        computed = sum(len(s.tokens) - s.cached for s in running)
        now = _run_step(executor, manager, running, now)
        live = sum(s.cached for s in running)
        held = sum(len(manager.tables[s.request.id]) for s in running) * block_size
        rec.step(len(running), computed, (live, 0.0, 0.0, held - live))
        for s in [s for s in running if s.finished]:
            running.remove(s)
            manager.release(s.request.id)
        assert manager.used <= manager.n_blocks
    return rec.result(list(states.values()))


def serve_static(
    executor: Executor,
    requests: Sequence[Request],
    n_blocks: int,
    block_size: int = 16,
    max_batch: int = 32,
    seq_len: int | None = None,
) -> ServeResult:
    """Fixed batches padded to their longest request: up to max_batch arrived requests (fewer
    if the padded rectangle, batch × (longest prompt + longest output), does not fit the
    n_blocks·block_size slots) are prefilled together, then decoded in lockstep until the
    longest is done; finished requests stay in the batch (computed, tokens discarded). The
    prefill computes only real prompt tokens (the padding of prompts is not computed), which
    favours static batching."""
    manager = BlockManager(n_blocks, block_size)
    positive_int("max_batch", max_batch, "32")
    ordered = _check_requests(requests, manager, seq_len)
    rec = _Recorder("static", ordered, manager)
    states = {r.id: _Live(r) for r in ordered}
    pending = deque(ordered)
    waiting: deque[_Live] = deque()
    now = ordered[0].arrival_s
    while pending or waiting:
        while pending and pending[0].arrival_s <= now:
            waiting.append(states[pending.popleft().id])
        if not waiting:
            now = pending[0].arrival_s
            continue
        batch: list[_Live] = []
        for s in waiting:
            trial = [*batch, s]
            width = max(len(t.request.prompt) for t in trial) + max(t.request.max_new_tokens for t in trial)
            if len(trial) > max_batch or len(trial) * manager.blocks_for(width) > manager.n_blocks:
                break
            batch = trial
        for _ in batch:
            waiting.popleft()
        width = max(len(s.request.prompt) for s in batch) + max(s.request.max_new_tokens for s in batch)
        for s in batch:  # the padded rectangle, reserved up front
            manager.ensure(s.request.id, width)
        slots = len(batch) * manager.blocks_for(width) * block_size
        # Finished requests keep decoding with the others: their tokens are computed and dropped.
        shadow = {
            s.request.id: _Live(Request(s.request.id, s.request.prompt, width - len(s.request.prompt))) for s in batch
        }
        rectangle = manager.blocks_for(width) * block_size
        for _step in range(max(s.request.max_new_tokens for s in batch)):
            computed = sum(len(t.tokens) - t.cached for t in shadow.values())
            now = _run_step(executor, manager, list(shadow.values()), now)
            live = padding = reservation = 0
            for s in batch:
                t = shadow[s.request.id]
                n = s.request.max_new_tokens
                if s.first_token_s is None:
                    s.first_token_s = t.token_times[0]
                if len(t.generated) == n:  # its last token: the request is done
                    s.generated, s.tokens = t.generated[:n], t.tokens[: len(s.request.prompt) + n]
                    s.token_times, s.done_s = t.token_times[:n], t.token_times[n - 1]
                if len(t.generated) > n:  # done, waiting for the batch: all of its slots are padding
                    padding += rectangle
                else:
                    live += t.cached
                    reservation += s.request.final_length - t.cached
                    padding += rectangle - s.request.final_length
            rec.step(len(batch), computed, (live, padding, reservation, 0.0))
            assert live + padding + reservation == slots
        for s in batch:
            manager.release(s.request.id)
    return rec.result(list(states.values()))


def serve(policy: str, executor: Executor, requests: Sequence[Request], n_blocks: int, **kwargs) -> ServeResult:
    """Run `policy` ("static" or "continuous") on the requests."""
    if policy == "continuous":
        return serve_continuous(executor, requests, n_blocks, **kwargs)
    if policy == "static":
        kwargs.pop("max_prefill_tokens", None)
        return serve_static(executor, requests, n_blocks, **kwargs)
    raise ValueError(f"policy={policy!r} must be one of {POLICIES}")


def serve_model(policy: str, model, requests: Sequence[Request], n_blocks: int, block_size: int = 16, **kwargs):
    """`serve` with the book's model on a paged cache of n_blocks blocks (greedy decoding)."""
    executor = PagedModelExecutor(model, n_blocks, block_size)
    return serve(policy, executor, requests, n_blocks, block_size=block_size, seq_len=model.cfg.seq_len, **kwargs)


def greedy_recompute(model, prompt: Sequence[int], max_new_tokens: int) -> list[int]:
    """Greedy tokens by plain recomputation: the whole sequence through the model each step."""
    p = next(model.parameters())
    idx = torch.tensor([list(prompt)], device=p.device)
    out = []
    with torch.no_grad():
        for _ in range(max_new_tokens):
            logits, _ = model(idx)
            nxt = int(logits[0, -1].argmax())
            out.append(nxt)
            idx = torch.cat([idx, torch.tensor([[nxt]], device=p.device)], dim=1)
    return out
