"""Serve a workload with vLLM, offline, and write what it did: run by the vLLM environment's python.

    .venv-vllm/bin/python src/llmscale/experiments/_vllm_worker.py SPEC.json OUT.json

SPEC.json holds `model_dir` (a local Hugging Face checkpoint, no tokenizer), `workloads` (each
with `prompts`, token ids, and `max_new_tokens`, one per prompt), `max_batch`, `block_size`,
`max_model_len`, `dtype` and `repeats`; OUT.json per workload: each run's seconds, tokens/s and
vLLM's own latency histograms for that run, and the generated tokens. The engine runs with
`skip_tokenizer_init` (token prompts in, token ids out), greedy sampling with `ignore_eos`, so
every request generates exactly its number of tokens.
It imports only vLLM and the standard library (the book's package is not installed in that
environment). vLLM starts worker processes, hence the `__main__` guard.
"""

from __future__ import annotations

import json
import os
import sys
import time

HISTOGRAMS = (
    "vllm:time_to_first_token_seconds",
    "vllm:inter_token_latency_seconds",
    "vllm:request_time_per_output_token_seconds",
    "vllm:e2e_request_latency_seconds",
)


def _histograms(llm) -> dict:
    """vLLM's own latency histograms so far (count, sum, cumulative bucket counts by upper edge)."""
    out = {}
    for m in llm.get_metrics():
        if m.name in HISTOGRAMS and hasattr(m, "buckets"):
            out[m.name] = {"count": m.count, "sum": m.sum, "buckets": dict(m.buckets)}
    return out


def _difference(after: dict, before: dict) -> dict:
    """The histograms of what happened between two snapshots."""
    out = {}
    for name, h in after.items():
        b = before.get(name, {"count": 0, "sum": 0.0, "buckets": {}})
        out[name] = {
            "count": h["count"] - b["count"],
            "sum": h["sum"] - b["sum"],
            "buckets": {k: v - b["buckets"].get(k, 0) for k, v in h["buckets"].items()},
        }
    return out


def main(spec_path: str, out_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(spec.get("kv_cache_gib", 1)))
    import vllm
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    llm = LLM(
        model=spec["model_dir"],
        skip_tokenizer_init=True,
        dtype=spec.get("dtype", "float32"),
        max_model_len=spec["max_model_len"],
        max_num_seqs=spec["max_batch"],
        block_size=spec.get("block_size"),
        seed=0,
        disable_log_stats=False,
    )
    results = []
    for workload in spec["workloads"]:
        prompts = [TokensPrompt(prompt_token_ids=list(p)) for p in workload["prompts"]]
        params = [
            SamplingParams(temperature=0.0, max_tokens=int(n), ignore_eos=True, detokenize=False)
            for n in workload["max_new_tokens"]
        ]
        llm.generate(prompts[:4], params[:4], use_tqdm=False)  # warm-up: first-call compilation, allocation
        runs = []
        for _ in range(int(spec.get("repeats", 1))):
            before = _histograms(llm)
            start = time.perf_counter()
            outputs = llm.generate(prompts, params, use_tqdm=False)
            seconds = time.perf_counter() - start
            tokens = [list(o.outputs[0].token_ids) for o in outputs]
            generated = sum(len(t) for t in tokens)
            runs.append(
                {
                    "seconds": seconds,
                    "generated_tokens": generated,
                    "tokens_per_s": generated / seconds,
                    "histograms": _difference(_histograms(llm), before),
                }
            )
        results.append({"runs": runs, "tokens": tokens})
    with open(out_path, "w") as f:
        json.dump({"vllm_version": vllm.__version__, "workloads": results}, f)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: _vllm_worker.py SPEC.json OUT.json")
    main(sys.argv[1], sys.argv[2])
