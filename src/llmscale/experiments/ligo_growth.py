"""The experiment `ligo-growth`: does growing a trained 2-layer model into a deeper, wider one save
compute against training the large one from scratch? LiGO against the paper's baselines.

Language: the chapter's order-2 Markov language over 32 tokens (`MARKOV`, the one of
`compression-models`; entropy rate about 1.747 nats/token, so losses read as excess over a known
floor). The small model (2 layers, d = 64, 2 heads, SwiGLU d_ff = 256) is trained from scratch
first, one per seed; the large one has 4 layers, d = 128, 4 heads, d_ff = 512 (2× depth and 2×
width, like the paper's 6L-512 → 12L-768 growth of 2× depth and 1.5× width; width 2× so that
function-preserving growth is exact under RMSNorm: each residual unit is copied once).

Methods (`METHODS`), each trained for the same `steps` AdamW steps with the book's schedule
(`train.train`: linear warm-up over `warmup` steps, cosine decay to a tenth of the peak):
"scratch" (the large model from its initialisation), "ligo" (the LiGO operator trained for
`op_steps` steps on the grown model's loss, then materialised), "ligo-untrained" (the operator's
initialisation, materialised), "stack" (StackBERT's duplicated layers, width grown by Net2Net's
copies), "net2net" (function-preserving width and depth growth; the copies' readers get random
shares summing to 1, which keeps the function and breaks the copies' symmetry).

Learning rates: each method is swept over the size's `lrs` (five rates from 3e-4 to 3e-2 at
size "small", a factor of about 3 apart) on seed 0; its best (lowest final validation loss)
is run on seeds 1 and 2 (seed 0's run at that rate is the third seed). The operator's own learning
rate is swept on seed 0 over the size's `op_lrs` (lowest validation loss after its steps) and reused. Sweeps
are not counted in any method's FLOPs.

Recorded per run: validation loss (mean over `eval_batches` fixed batches of the validation split)
at step 0 and every `eval_every` steps. FLOPs: `counting.flops_per_token(cfg, context=seq_len,
training=True)` × tokens for every training step; an operator step is the large model's training
step plus the operator's own forward and backward matrix products, counted by PyTorch's
`FlopCounterMode` on one step (`operator_step_flops`). The page computes the savings curves from
these (`compression.savings`).

Budget (size "small"): 3 small models × 500 steps, the operator trainings × 100 steps, the large
runs × 800 steps of 16 × 64 tokens; two worker processes of one torch thread each; the stored run
took 3,450 s (about 57 minutes) on the book's 2-core machine, shared for most of that time with
another experiment's two workers.
Size "tiny" runs in seconds for the tests.
GPU: `--device cuda` runs the same points (seconds each); the sizes stay those of a CPU.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp

import torch

from .. import counting, data, measure, train
from ..compression import grow
from ..config import ModelConfig
from ..model import build
from . import Experiment

NAME = "ligo-growth"
VERSION = 2
MARKOV = {"vocab_size": 32, "order": 2, "concentration": 0.1, "n_tokens": 2_000_000, "seed": 0}
METHODS = ("scratch", "ligo", "ligo-untrained", "stack", "net2net")
SIZES = {
    "tiny": {
        "small": (2, 32, 2, 128),
        "large": (4, 64, 4, 256),
        "seq_len": 32,
        "batch_size": 4,
        "small_steps": 30,
        "small_lr": 5e-3,
        "steps": 30,
        "warmup": 3,
        "op_steps": 5,
        "lrs": (3e-3,),
        "op_lrs": (1e-3, 3e-3),
        "seeds": (0, 1),
        "eval_every": 10,
        "eval_batches": 2,
        "workers": 2,
    },
    "small": {
        "small": (2, 64, 2, 256),
        "large": (4, 128, 4, 512),
        "seq_len": 64,
        "batch_size": 16,
        "small_steps": 500,
        "small_lr": 5e-3,
        "steps": 800,
        "warmup": 40,
        "op_steps": 100,
        "lrs": (3e-4, 1e-3, 3e-3, 1e-2, 3e-2),
        "op_lrs": (1e-3, 3e-3, 1e-2),
        "seeds": (0, 1, 2),
        "eval_every": 25,
        "eval_batches": 8,
        "workers": 2,
    },
}


def corpus() -> data.Corpus:
    """The Markov language the experiment trains on."""
    return data.load_corpus("markov", **MARKOV)


def configs(size: str = "small") -> tuple[ModelConfig, ModelConfig]:
    """(small, large) model configurations at `size`."""
    if size not in SIZES:
        raise ValueError(f"size={size!r} is not one of {list(SIZES)}")
    s = SIZES[size]
    out = []
    for n_layers, d_model, n_heads, d_ff in (s["small"], s["large"]):
        out.append(
            ModelConfig(
                n_layers=n_layers,
                d_model=d_model,
                n_heads=n_heads,
                vocab_size=MARKOV["vocab_size"],
                seq_len=s["seq_len"],
                d_ff=d_ff,
            )
        )
    return out[0], out[1]


def _val_batcher(c: data.Corpus, size: str, seed: int, device: str):
    s = SIZES[size]
    # the validation batches train.train evaluates on for this seed
    return data.Batcher(c.val, s["batch_size"], s["seq_len"], seed=seed + 1, device=torch.device(device))


def _train_small(size: str, seed: int, device: str) -> dict:
    s = SIZES[size]
    c = corpus()
    small_cfg, _ = configs(size)
    hist = train.train(
        small_cfg,
        c.train,
        c.val,
        steps=s["small_steps"],
        batch_size=s["batch_size"],
        lr=s["small_lr"],
        warmup_steps=s["warmup"],
        eval_every=s["eval_every"],
        eval_batches=s["eval_batches"],
        seed=seed,
        device=device,
        progress=False,
    )
    state = {k: v.detach().cpu() for k, v in hist.model.state_dict().items()}
    return {
        "seed": seed,
        "state": state,
        "steps": hist.eval_steps,
        "val_loss": hist.val_loss,
        "flops": hist.train_flops,
    }


def _small_model(size: str, state: dict, device: str):
    small_cfg, _ = configs(size)
    model = build(small_cfg, seed=None)
    model.load_state_dict(state)
    return model.to(device).eval()


def _train_operator(size: str, state: dict, seed: int, lr: float, device: str) -> dict:
    s = SIZES[size]
    c = corpus()
    _, large_cfg = configs(size)
    op = grow.LiGO(_small_model(size, state, device), large_cfg, seed=seed).to(device)
    losses = grow.train_operator(
        op, c.train, steps=s["op_steps"], batch_size=s["batch_size"], lr=lr, seed=seed + 1000, device=device
    )
    model = op.materialise()
    val = train.evaluate(model, _val_batcher(c, size, seed, device), s["eval_batches"])
    return {
        "seed": seed,
        "lr": lr,
        "losses": losses,
        "val_loss": val,
        "state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }


def _run(job: dict) -> dict:
    """One large-model training run from a given initial state (None: scratch)."""
    with measure.torch_threads(1):
        size, method, lr, seed, device = job["size"], job["method"], job["lr"], job["seed"], job["device"]
        s = SIZES[size]
        c = corpus()
        _, large_cfg = configs(size)
        model = build(large_cfg, seed=seed)
        if job["state"] is not None:
            model.load_state_dict(job["state"])
        model = model.to(device)
        start = train.evaluate(model, _val_batcher(c, size, seed, device), s["eval_batches"])
        hist = train.train(
            model,
            c.train,
            c.val,
            steps=s["steps"],
            batch_size=s["batch_size"],
            lr=lr,
            warmup_steps=s["warmup"],
            eval_every=s["eval_every"],
            eval_batches=s["eval_batches"],
            seed=seed,
            device=device,
            progress=False,
        )
        return {
            "method": method,
            "lr": lr,
            "seed": seed,
            "steps": [0, *hist.eval_steps],
            "val_loss": [start, *hist.val_loss],
        }


def _task_key(kind: str, payload) -> str:
    if kind == "run":
        spec = [payload["size"], payload["method"], payload["lr"], payload["seed"], payload["device"]]
    else:
        spec = [payload[0], *[p for p in payload[1:] if not isinstance(p, dict)]]
    src = json.dumps([NAME, VERSION, kind, spec, repr(configs(spec[0])), SIZES[spec[0]]], default=str)
    return f"{kind}-{hashlib.sha256(src.encode()).hexdigest()[:16]}.pt"


def _task(args):
    """Run one task, or load its result from the cache (`data.cache_dir()/ligo-growth`): an
    interrupted experiment resumes where it stopped."""
    kind, payload = args
    path = data.cache_dir() / NAME / _task_key(kind, payload)
    if path.exists():
        try:
            return kind, torch.load(path, weights_only=False)
        except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed
            pass
    with measure.torch_threads(1):
        if kind == "small":
            out = _train_small(*payload)
        elif kind == "operator":
            out = _train_operator(*payload)
        else:
            out = _run(payload)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(out, tmp)
    tmp.replace(path)
    return kind, out


def _pool_map(tasks, workers: int):
    if workers <= 1:
        return [_task(t) for t in tasks]
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        return list(pool.imap_unordered(_task, tasks))


def _inits(size: str, small_state: dict, seed: int, ligo_state: dict, device: str) -> dict:
    """Initial states of the grown models for one seed (LiGO's trained operator given)."""
    _, large_cfg = configs(size)
    small = _small_model(size, small_state, device)
    cpu = lambda m: {k: v.detach().cpu() for k, v in m.state_dict().items()}  # noqa: E731
    return {
        "scratch": None,
        "ligo": ligo_state,
        "ligo-untrained": cpu(grow.LiGO(small, large_cfg, seed=seed).materialise()),
        "stack": cpu(grow.stack(small, large_cfg, split="random", seed=seed)),
        "net2net": cpu(grow.net2net(small, large_cfg, split="random", seed=seed)),
    }


def operator_step_flops(size: str = "small") -> dict:
    """FLOPs of one operator step: the large model's training step (counting) and the operator's
    own products forward and backward (PyTorch's FlopCounterMode over one `weights()` pass and its
    backward, the large model's forward and backward excluded)."""
    s = SIZES[size]
    small_cfg, large_cfg = configs(size)
    op = grow.LiGO(build(small_cfg, seed=0), large_cfg)
    counted = measure.count_flops(lambda: sum((w * 1.0).sum() for w in op.weights().values()).backward())
    tokens = s["batch_size"] * s["seq_len"]
    large_step = counting.flops_per_token(large_cfg, context=s["seq_len"], training=True) * tokens
    return {
        "operator_matmuls_fwd_bwd": int(sum(counted.values())),
        "operator_matmuls_fwd": op.materialise_flops(),
        "large_training_step": large_step,
        "total": large_step + int(sum(counted.values())),
        "operator_params": op.operator_param_count(),
    }


def _experiment(size: str, device: str) -> dict:
    if size not in SIZES:
        raise ValueError(f"size={size!r} is not one of {list(SIZES)}")
    s = SIZES[size]
    c = corpus()
    small_cfg, large_cfg = configs(size)
    seeds, workers = s["seeds"], s["workers"]
    tokens_per_step = s["batch_size"] * s["seq_len"]

    # 1. small models (all seeds)
    smalls = {r["seed"]: r for _, r in _pool_map([("small", (size, seed, device)) for seed in seeds], workers)}
    # 2. the operator's learning rate on seed 0, then operators for the other seeds at the best one
    sweep = [
        r
        for _, r in _pool_map([("operator", (size, smalls[0]["state"], 0, lr, device)) for lr in s["op_lrs"]], workers)
    ]
    best_op = min(sweep, key=lambda r: r["val_loss"])
    operators = {0: best_op}
    rest = [("operator", (size, smalls[seed]["state"], seed, best_op["lr"], device)) for seed in seeds[1:]]
    operators.update({r["seed"]: r for _, r in _pool_map(rest, workers)})
    inits = {seed: _inits(size, smalls[seed]["state"], seed, operators[seed]["state"], device) for seed in seeds}

    # function preservation of the baselines, measured on validation tokens
    x = torch.as_tensor(c.val[: 4 * s["seq_len"]].reshape(4, s["seq_len"]))
    small0 = _small_model(size, smalls[0]["state"], "cpu")
    gaps = {
        f"{method}-{split}": grow.max_logit_gap(small0, fn(small0, large_cfg, split=split, seed=0), x)
        for method, fn in (("net2net", grow.net2net), ("stack", grow.stack))
        for split in ("even", "random")
    }

    def job(method, lr, seed):
        return (
            "run",
            {"size": size, "method": method, "lr": lr, "seed": seed, "device": device, "state": inits[seed][method]},
        )

    # 3. the learning-rate sweep on seed 0, 4. the best rate on the other seeds
    runs = [r for _, r in _pool_map([job(m, lr, seeds[0]) for m in METHODS for lr in s["lrs"]], workers)]
    best_lr = {m: min((r for r in runs if r["method"] == m), key=lambda r: r["val_loss"][-1])["lr"] for m in METHODS}
    runs += [r for _, r in _pool_map([job(m, best_lr[m], seed) for m in METHODS for seed in seeds[1:]], workers)]
    runs.sort(key=lambda r: (METHODS.index(r["method"]), r["lr"], r["seed"]))

    return {
        "markov": MARKOV,
        "entropy_rate": c.entropy_rate,
        "small_cfg": {k: getattr(small_cfg, k) for k in ("n_layers", "d_model", "n_heads", "d_ff", "seq_len")},
        "large_cfg": {k: getattr(large_cfg, k) for k in ("n_layers", "d_model", "n_heads", "d_ff", "seq_len")},
        "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in s.items()},
        "params": {"small": counting.param_count(small_cfg), "large": counting.param_count(large_cfg)},
        "tokens_per_step": tokens_per_step,
        "flops_per_token": {
            "small": counting.flops_per_token(small_cfg, context=s["seq_len"], training=True),
            "large": counting.flops_per_token(large_cfg, context=s["seq_len"], training=True),
        },
        "operator_step_flops": operator_step_flops(size),
        "small_models": {str(seed): {k: smalls[seed][k] for k in ("steps", "val_loss", "flops")} for seed in seeds},
        "operator_lr_sweep": {str(r["lr"]): r["val_loss"] for r in sweep},
        "operator_lr": best_op["lr"],
        "operators": {
            str(seed): {"losses": operators[seed]["losses"], "val_loss": operators[seed]["val_loss"]} for seed in seeds
        },
        "logit_gap": gaps,
        "best_lr": best_lr,
        "runs": runs,
    }


EXPERIMENT = Experiment(
    name=NAME,
    version=VERSION,
    sizes=tuple(SIZES),
    default_size="small",
    description="LiGO against scratch, stacking, Net2Net and LiGO untrained: 2L d64 grown to 4L d128 (Markov)",
    run=_experiment,
)
