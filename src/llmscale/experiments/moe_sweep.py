"""The experiment `moe-sweep`: dense and mixture-of-experts decoders trained at equal FLOPs.

Every model has the same attention, width and depth. The dense one has a feed-forward block
of width d_ff; each mixture has E experts of width d_ff/k and routes every token to k = 2 of
them, so a token's feed-forward FLOPs are the dense model's (the router adds 2·d·E per layer).
Each run gets the dense run's training FLOPs: a model with more FLOPs per token takes
proportionally fewer steps. What changes with E is the number of parameters a token can be
routed to, and nothing else.

Corpus: the book's English text (`data.load_corpus("english")`, byte-level BPE), real
language whose statistics reward memory, which is what experts add. It is small (about 195k
training tokens), so the CPU budget is capped at about two passes over it.
"""

from __future__ import annotations

import time

import torch

from .. import counting, data, measure, train
from ..config import ModelConfig
from . import Experiment

TOP_K = 2
CORPUS = "english"

SIZES = {
    # Shapes and budgets. `experts`: the sweep (1 is the dense model), each trained once per
    # seed in `seeds`; `check`: the short run the notebook repeats live (n_experts, steps).
    # "small" and "large" keep to about two passes over the corpus (8·128·400 ≈ 410k tokens).
    "tiny": dict(
        n_layers=1,
        d_model=32,
        n_heads=2,
        d_ff=64,
        seq_len=32,
        batch_size=4,
        steps=8,
        eval_every=4,
        eval_batches=2,
        experts=(1, 4),
        seeds=(0,),
        check=(4, 4),
    ),
    "small": dict(
        n_layers=2,
        d_model=64,
        n_heads=4,
        d_ff=256,
        seq_len=128,
        batch_size=8,
        steps=400,
        eval_every=50,
        eval_batches=16,
        experts=(1, 4, 8, 16, 32, 64),
        seeds=(0, 1, 2, 3, 4),
        check=(16, 40),
    ),
    # "large" is not a larger model (the corpus allows no larger token budget) but a finer
    # sweep with more seeds, minutes on a GPU.
    "large": dict(
        n_layers=2,
        d_model=64,
        n_heads=4,
        d_ff=256,
        seq_len=128,
        batch_size=8,
        steps=400,
        eval_every=25,
        eval_batches=32,
        experts=(1, 2, 4, 8, 16, 32, 64, 128),
        seeds=(0, 1, 2, 3, 4, 5, 6, 7),
        check=(16, 40),
    ),
}


def _spec(size: str) -> dict:
    if size not in SIZES:
        raise ValueError(f"size={size!r} is not a size of moe-sweep; choose one of {list(SIZES)}")
    return SIZES[size]


def config(size: str, n_experts: int, vocab_size: int) -> ModelConfig:
    """The model of the sweep at `size` with `n_experts` experts (1: the dense model)."""
    s = _spec(size)
    if (
        isinstance(n_experts, bool)
        or not isinstance(n_experts, int)
        or n_experts < 1
        or (n_experts > 1 and n_experts < TOP_K)
    ):
        raise ValueError(f"n_experts={n_experts!r} must be 1 (dense) or an integer >= top_k={TOP_K}")
    common = dict(
        n_layers=s["n_layers"], d_model=s["d_model"], n_heads=s["n_heads"], vocab_size=vocab_size, seq_len=s["seq_len"]
    )
    if n_experts == 1:
        return ModelConfig(d_ff=s["d_ff"], **common)
    # Router settings spelled out, so that a change of the package's defaults cannot change
    # this experiment silently: no capacity limit (no token dropped), Switch balance loss.
    return ModelConfig(
        d_ff=s["d_ff"] // TOP_K,
        n_experts=n_experts,
        top_k=TOP_K,
        capacity_factor=None,
        router_aux_loss_coef=0.01,
        router_z_loss_coef=0.001,
        gating="topk-softmax",
        **common,
    )


def steps_at_equal_flops(size: str, n_experts: int, vocab_size: int, dense_steps: int | None = None) -> int:
    """Steps that give the model with `n_experts` the dense run's training FLOPs (rounded)."""
    s = _spec(size)
    dense_steps = s["steps"] if dense_steps is None else dense_steps
    dense = counting.flops_per_token(config(size, 1, vocab_size), context=s["seq_len"], training=True)
    mine = counting.flops_per_token(config(size, n_experts, vocab_size), context=s["seq_len"], training=True)
    return max(1, round(dense_steps * dense / mine))


def run_point(
    size: str, n_experts: int, seed: int = 0, steps: int | None = None, device: str = "cpu", threads: int = 1
) -> dict:
    """Train one model of the sweep and return its losses, FLOPs and parameter counts.

    `steps` None gives the run the dense run's FLOPs; an integer overrides it (the short check
    run). On the CPU the run uses `threads` threads (one by default: these matrices are too
    small for a second thread to help, and a fixed count makes the numbers reproducible).
    """
    s = _spec(size)
    corpus = data.load_corpus(CORPUS)
    cfg = config(size, n_experts, corpus.vocab_size)
    steps = steps_at_equal_flops(size, n_experts, corpus.vocab_size) if steps is None else steps
    with measure.torch_threads(threads if device == "cpu" else None):
        start = time.perf_counter()
        hist = train.train(
            cfg,
            corpus.train,
            corpus.val,
            steps=steps,
            batch_size=s["batch_size"],
            lr=3e-3,
            eval_every=min(s["eval_every"], steps),
            eval_batches=s["eval_batches"],
            seed=seed,
            device=device,
            progress=False,
            log_every=max(1, steps // 50),
        )
        wall = time.perf_counter() - start
    point = {
        "n_experts": n_experts,
        "top_k": cfg.top_k,
        "d_ff": cfg.ff_dim,
        "seed": seed,
        "steps": steps,
        "tokens": hist.tokens,
        "train_flops": hist.train_flops,
        "flops_per_token": hist.flops_per_token,
        "n_params": counting.param_count(cfg),
        "active_params": counting.active_param_count(cfg),
        "eval_steps": hist.eval_steps,
        "val_loss": [round(v, 5) for v in hist.val_loss],
        "train_steps": hist.steps,
        "train_loss": [round(v, 5) for v in hist.train_loss],
        "final_val_loss": round(hist.val_loss[-1], 5),
        "wall_seconds": round(wall, 1),
        "threads": threads if device == "cpu" else None,
    }
    if cfg.is_moe and hist.expert_load:
        # Share of the last logged batch's assignments that each expert took, per layer.
        last = torch.tensor(hist.expert_load[-1], dtype=torch.float64)
        point["final_load_share"] = [[round(x, 4) for x in row] for row in (last / last.sum(-1, keepdim=True)).tolist()]
    return point


def _moe_sweep(size: str, device: str) -> dict:
    """Dense versus 4 to 64 experts at equal training FLOPs, each over several seeds, plus a short check run."""
    s = _spec(size)
    corpus = data.load_corpus(CORPUS)
    points = [run_point(size, e, seed=seed, device=device) for seed in s["seeds"] for e in s["experts"]]
    e_check, steps_check = s["check"]
    check = run_point(size, e_check, seed=0, steps=steps_check, device=device)
    # The same check with two threads: a different summation order, the size of the
    # difference another machine's kernels would make (CPU only).
    check_two_threads = (
        run_point(size, e_check, seed=0, steps=steps_check, device=device, threads=2) if device == "cpu" else None
    )
    return {
        "size": size,
        "corpus": corpus.description,
        "top_k": TOP_K,
        "shape": {k: s[k] for k in ("n_layers", "d_model", "n_heads", "d_ff", "seq_len", "batch_size")},
        "dense_steps": s["steps"],
        "experts": list(s["experts"]),
        "seeds": list(s["seeds"]),
        "points": points,
        "check": check,
        "check_two_threads": check_two_threads,
        "moe_implementation": _implementation(),
    }


def _implementation() -> dict:
    """Which expert layer the model builds, and a fingerprint of its source file (the chapter
    replaced a loop over experts with grouped dispatch; the fingerprint says which version ran)."""
    import hashlib
    import inspect

    from ..model import Block

    cfg = ModelConfig(n_layers=1, d_model=8, n_heads=2, vocab_size=8, seq_len=8, n_experts=2, top_k=1)
    layer = Block(cfg).ffn
    source = inspect.getsource(inspect.getmodule(type(layer)))
    return {
        "layer": f"{type(layer).__module__}.{type(layer).__qualname__}",
        "dispatch": getattr(layer, "dispatch", None),
        "source_sha256": hashlib.sha256(source.encode()).hexdigest()[:16],
    }


EXPERIMENT = Experiment(
    "moe-sweep",
    version=2,
    sizes=tuple(SIZES),
    default_size="small",
    description="Dense and mixture-of-experts decoders (1 to 64 experts, top-2) at equal "
    "training FLOPs on the English corpus, several seeds each.",
    run=_moe_sweep,
)
