"""Continuous batching and paged memory: the page's simulation at a GPU's scale, its claims and exercises.

The measured runs (the book's model on the CPU, and vLLM) are in the notebook and in the
experiment `vllm-serving`; what is here is deterministic: the schedulers of
`llmscale.inference.batching` driven by a roofline step time for a LLaMA-7B on an A100
(`batching.cost_model`), a simulation that computes no tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from ... import claims, exercises, hardware, presets
from ..._validate import positive_int
from ...inference import batching, kv_cache

SIM_MODEL = "llama-7b"
SIM_ACCELERATOR = "a100"
SIM_REQUESTS = 256
SIM_MAX_BATCH = 64
SIM_BLOCK_SIZE = 16
# A chat-like skew at a GPU's scale: prompt and output medians of 200 and 150 tokens.
SIM_WORKLOAD = {
    "prompt_median": 200,
    "prompt_sigma": 0.8,
    "output_median": 150,
    "max_prompt": 1024,
    "max_output": 1024,
}
SIM_SEEDS = (0, 1, 2)


def sim_kv_blocks(block_size: int = SIM_BLOCK_SIZE, bytes_per_value: float = 2) -> int:
    """KV blocks of block_size tokens that an A100's memory holds beside LLaMA-7B's bf16 weights
    (90% of 80 GiB usable, an assumption)."""
    from ... import counting

    cfg, gpu = presets.get(SIM_MODEL), hardware.get(SIM_ACCELERATOR)
    free = 0.9 * gpu.hbm_bytes - counting.param_count(cfg) * bytes_per_value
    per_block = kv_cache.kv_cache_bytes_per_token(cfg, bytes_per_value) * block_size
    return int(free // per_block)


@cache
def simulate(policy: str, output_sigma: float = 1.0, seed: int = 0, max_batch: int = SIM_MAX_BATCH):
    """`batching.ServeResult` of `policy` for LLaMA-7B on an A100 (roofline step time, a
    simulation), on SIM_REQUESTS requests of the skewed workload with output σ `output_sigma`."""
    cfg = presets.get(SIM_MODEL)
    reqs = batching.make_workload(SIM_REQUESTS, cfg.vocab_size, seed=seed, output_sigma=output_sigma, **SIM_WORKLOAD)
    sim = batching.cost_model(cfg, hardware.get(SIM_ACCELERATOR))
    return batching.serve(policy, sim, reqs, sim_kv_blocks(), block_size=SIM_BLOCK_SIZE, max_batch=max_batch)


def simulated_ratio(output_sigma: float = 1.0, seed: int = 0) -> float:
    """Simulated throughput of continuous over static batching (LLaMA-7B, A100)."""
    return simulate("continuous", output_sigma, seed).tokens_per_s / simulate("static", output_sigma, seed).tokens_per_s


def static_decode_steps(output_lengths: Sequence[int], batch: int) -> int:
    """Steps static batching takes for requests with these output lengths, in order, in
    batches of `batch`: each batch runs as many steps as its longest output (eq. static-steps)."""
    b = positive_int("batch", batch, "32")
    lengths = [positive_int("output length", n, "24") for n in output_lengths]
    return sum(max(lengths[i : i + b]) for i in range(0, len(lengths), b))


def static_step_utilization(output_lengths: Sequence[int], batch: int) -> float:
    """Fraction of static batching's request-steps (batch size × steps, summed over batches)
    that produce a token someone keeps: Σ O_i / Σ_batches |batch|·max O_i."""
    b = positive_int("batch", batch, "32")
    lengths = list(output_lengths)
    slots = sum(len(lengths[i : i + b]) * max(lengths[i : i + b]) for i in range(0, len(lengths), b))
    return sum(lengths) / slots


def continuous_step_bound(output_lengths: Sequence[int], batch: int) -> int:
    """A lower bound on continuous batching's steps: at most `batch` tokens per step, and the
    longest request needs its own number of steps (eq. continuous-steps)."""
    b = positive_int("batch", batch, "32")
    return max(max(output_lengths), -(-sum(output_lengths) // b))


# --- claims ---------------------------------------------------------------------------------


@claims.register(
    "batching-gpt4-continuous",
    claims.GPT4_LEAK,
    "OpenAI serves GPT-4 with variable batch sizes and continuous batching",
    True,
    "yes/no",
    basis="none",
)
def _gpt4_continuous():
    return None, (
        "No primary source describes OpenAI's serving stack, so whether GPT-4 is served this way "
        "cannot be checked. The page measures what the technique would buy instead (next claim)."
    )


@claims.register(
    "batching-continuous-efficient",
    claims.GPT4_LEAK,
    "Continuous batching makes processing efficient: it optimizes resource use and reduces "
    "computational overhead (against batching whole requests)",
    True,
    "yes/no",
    basis="derived",
)
def _continuous_efficient():
    ratios = [simulated_ratio(1.0, s) for s in SIM_SEEDS]
    results = [(simulate("static", 1.0, s), simulate("continuous", 1.0, s)) for s in SIM_SEEDS]
    fewer = all(c.computed_tokens < s.computed_tokens for s, c in results)
    better_memory = all(c.utilization > s.utilization for s, c in results)
    holds = min(ratios) > 1 and fewer and better_memory
    return holds, (
        f"In simulation (LLaMA-7B on an A100, roofline step time, {SIM_REQUESTS} requests with skewed "
        f"lengths, {len(SIM_SEEDS)} seeds) continuous batching gives {min(ratios):.1f}–{max(ratios):.1f}× "
        "the throughput of static batching, computes fewer tokens (no finished request waits in its "
        "batch) and holds a live token in "
        f"{min(c.utilization for _, c in results):.0%} of its KV memory against "
        f"{max(s.utilization for s, _ in results):.0%}; the book's model measured on the CPU agrees "
        "(the page). How much it buys depends on the workload's skew."
    )


# --- exercises ------------------------------------------------------------------------------

EXERCISE_OUTPUTS = (10, 20, 40, 130, 15, 25, 35, 200)

exercises.register(
    "batching-1",
    lambda: static_step_utilization(EXERCISE_OUTPUTS, 4),
    rel_tol=0.005,
    unit="fraction",
    hint="Two batches of 4: each runs as many steps as its longest output. Divide the tokens "
    "kept, Σ O_i, by batch size × steps summed over the batches.",
    kind="derive",
)

SIGMA_OPTIONS = {
    "a": "about the same as static batching (within 25%)",
    "b": "between 1.25× and 2× static batching's",
    "c": "more than 2× static batching's",
}


def _sigma_zero_label() -> str:
    r = simulated_ratio(0.0, 0)
    return "a" if r < 1.25 else "b" if r <= 2 else "c"


exercises.register_choice(
    "batching-2",
    options=SIGMA_OPTIONS,
    answer=_sigma_zero_label,
    hint="With σ = 0 every output has the same length: a static batch has no one to wait for. "
    "What is left is that static batches cannot start until a whole batch has finished, and "
    "that prompts still differ.",
    kind="predict",
)

exercises.register(
    "batching-3",
    lambda: 1 - 1000 / (-(-1000 // 32) * 32),
    rel_tol=0.005,
    unit="fraction",
    hint="A sequence of 1,000 cached tokens holds ⌈1000/32⌉ blocks of 32 slots; the last is partly empty.",
)
