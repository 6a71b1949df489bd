"""Throughput of continuous batching against static batching, on the book's model and a skewed workload.

`python -m llmscale.benchmarks.batching [--requests 64] [--seeds 0 1 2] [--max-batch 32] [--threads N]`
serves the same seeded workloads (log-normal prompt and output lengths, all requests arriving
at once) with both policies of `llmscale.inference.batching`, side by side in one process
(alternating per seed, so drift in the machine's load falls on both), and prints generated
tokens/s, the continuous/static ratio per seed and its mean ± standard deviation, and the
latency and memory figures. A benchmark, not a test: timings depend on the machine and on
what else it runs. vLLM on the same model and workloads is the experiment `vllm-serving`.
"""

from __future__ import annotations

import argparse
import statistics

import torch

from ..config import ModelConfig
from ..inference import batching
from ..model.decoder import build

# The dense LLaMA-style model both the book's server and vLLM serve (random weights, seed 0):
# 4 layers, d = 256, the size the issue measured vLLM at.
SERVED = ModelConfig(n_layers=4, d_model=256, n_heads=4, vocab_size=1024, seq_len=512)
BLOCK_SIZE = 32  # vLLM's CPU attention takes block sizes that are multiples of 32
MAX_BATCH = 32
# KV memory of both policies: MAX_BATCH sequences of 512 tokens (the static rectangle of the
# longest prompt plus the longest output always fits it).
N_BLOCKS = MAX_BATCH * SERVED.seq_len // BLOCK_SIZE
# The skewed workload: log-normal lengths (medians 32 and 24 tokens, σ of the log 0.8 and 1.0).
WORKLOAD = {
    "prompt_median": 32,
    "prompt_sigma": 0.8,
    "output_median": 24,
    "output_sigma": 1.0,
    "max_prompt": 192,
    "max_output": 256,
}


def served_model(seed: int = 0, device: str = "cpu"):
    """The served decoder (SERVED, random weights), in eval mode."""
    return build(SERVED, seed=seed, device=device).eval()


def workload(n_requests: int, seed: int, rate_per_s: float | None = None) -> list[batching.Request]:
    """The benchmark's skewed workload (WORKLOAD) for SERVED's vocabulary."""
    return batching.make_workload(n_requests, SERVED.vocab_size, seed=seed, rate_per_s=rate_per_s, **WORKLOAD)


def compare(
    model, requests, n_blocks: int = N_BLOCKS, block_size: int = BLOCK_SIZE, max_batch: int = MAX_BATCH
) -> dict[str, batching.ServeResult]:
    """Both policies on the same requests and model, static first; their greedy tokens are
    checked equal (batching must not change them)."""
    out = {
        policy: batching.serve_model(policy, model, requests, n_blocks, block_size=block_size, max_batch=max_batch)
        for policy in ("static", "continuous")
    }
    if out["static"].outputs != out["continuous"].outputs:
        raise RuntimeError("static and continuous batching generated different tokens for the same requests")
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-batch", type=int, default=MAX_BATCH)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = served_model(device=args.device)
    ratios = []
    print(
        f"{SERVED.n_layers} layers, d={SERVED.d_model}; {args.requests} requests; max batch {args.max_batch}; "
        f"{torch.get_num_threads()} threads"
    )
    for seed in args.seeds:
        res = compare(model, workload(args.requests, seed), max_batch=args.max_batch)
        s, c = res["static"], res["continuous"]
        ratios.append(c.tokens_per_s / s.tokens_per_s)
        print(
            f"seed {seed}: static {s.tokens_per_s:,.0f} tok/s, continuous {c.tokens_per_s:,.0f} tok/s, "
            f"ratio {ratios[-1]:.2f}; TTFT p50 {s.ttft_s[50]:.2f} s vs {c.ttft_s[50]:.2f} s; "
            f"KV slots holding a live token {s.utilization:.0%} vs {c.utilization:.0%}"
        )
    sd = statistics.stdev(ratios) if len(ratios) > 1 else 0.0
    print(
        f"continuous / static throughput: {statistics.mean(ratios):.2f} ± {sd:.2f} (mean ± sd over {len(ratios)} seeds)"
    )
    return {"ratios": ratios}


if __name__ == "__main__":
    main()
