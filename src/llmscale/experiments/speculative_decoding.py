"""The experiment `speculative-decoding`: acceptance rate, tokens per verify step and speed-up
against γ, for a draft and a target the book trains, on the Markov language and on English.

Each language gets one target (8 layers, d = 64) and one draft (1 layer, d = 32), both trained
from scratch for `steps` AdamW steps, for each model seed of `SEEDS` (the seed fixes the initial
weights and the batch order). Then, for each γ of `GAMMAS`, the pair decodes `n_new` tokens after
each of `n_prompts` validation prompts, sampling at temperature 1 (the rejection rule) and
greedily; the decoding seed is the model seed. Recorded per run: α measured (accepted / verified
drafts), E[Σ min(p, q)] on the same contexts, new tokens per verify pass, and the step costs
(`speculative.measure_costs` at temperature 1: each step with its sampling, the verify pass with
its acceptance test, as the decoding loop spends them; version 1 timed bare forwards) with the
wall-clock speed-up over the target alone. One CPU thread;
the small size took about eleven minutes on the book's 2-core machine while other jobs shared it
(training included; about four with the weights cached), and its timings carry that machine's
noise: `python -m llmscale.benchmarks.speculative` times the points again side by side.

Trained weights are cached (`trained_pair`, under `data.cache_dir()`), so a page that re-runs a
point loads them instead of training again; the cache key holds every setting that shapes them.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import torch

from .. import data, measure, train
from ..config import ModelConfig
from ..inference import generate
from ..inference import speculative as spec
from ..model import build
from . import Experiment

LANGUAGES = ("markov", "english")
MARKOV = {"vocab_size": 16, "order": 2, "concentration": 0.1, "n_tokens": 300_000}
SEEDS = (0, 1, 2)
GAMMAS = (1, 2, 3, 4, 6, 8)
TEMPERATURE = 1.0
# size: target (layers, d, heads, steps), draft (layers, d, heads, steps), batch, train seq_len,
# prompts per run, prompt length, new tokens per prompt
_SIZES = {
    "tiny": ((2, 32, 2, 30), (1, 16, 1, 30), 8, 32, 1, 8, 24),
    "small": ((8, 64, 4, 300), (1, 32, 2, 600), 16, 64, 4, 16, 96),
    "large": ((8, 256, 8, 3000), (1, 64, 2, 3000), 32, 128, 16, 32, 192),
}
TARGET_LR, DRAFT_LR = 3e-3, 1e-2


def corpus(language: str) -> data.Corpus:
    """The corpus a pair learns: "markov" (16 tokens, order 2) or "english" (BPE 512)."""
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r} is not one of {LANGUAGES}")
    return data.load_corpus("markov", **MARKOV) if language == "markov" else data.load_corpus("english")


def model_config(role: str, size: str, vocab_size: int) -> ModelConfig:
    """The target's or the draft's configuration (role "target" or "draft") at `size`."""
    if role not in ("target", "draft"):
        raise ValueError(f"role={role!r} must be 'target' or 'draft'")
    if size not in _SIZES:
        raise ValueError(f"size={size!r} is not one of {list(_SIZES)}")
    n_layers, d_model, n_heads, _ = _SIZES[size][0 if role == "target" else 1]
    _, _, _, _, _, prompt_len, n_new = _SIZES[size]
    return ModelConfig(
        n_layers=n_layers,
        d_model=d_model,
        n_heads=n_heads,
        vocab_size=vocab_size,
        seq_len=max(128, prompt_len + n_new),
        d_ff=4 * d_model,
    )


def _train_one(role: str, language: str, size: str, seed: int, device: str):
    c = corpus(language)
    cfg = model_config(role, size, c.vocab_size)
    steps = _SIZES[size][0 if role == "target" else 1][3]
    batch, seq_len = _SIZES[size][2], _SIZES[size][3]
    lr = TARGET_LR if role == "target" else DRAFT_LR
    key_src = json.dumps([role, language, size, seed, repr(cfg), steps, batch, seq_len, lr, c.description, 1])
    path = (
        data.cache_dir()
        / "speculative"
        / f"{language}-{role}-{size}-{seed}-{hashlib.sha256(key_src.encode()).hexdigest()[:12]}.pt"
    )
    model = build(cfg, seed=seed)
    if path.exists():
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(stored["state"])
            return model.to(device).eval(), stored["val_loss"]
        except (OSError, RuntimeError, KeyError):
            pass  # a damaged cache entry: train again
    with measure.torch_threads(1):
        hist = train.train(
            model,
            c.train,
            c.val,
            steps=steps,
            batch_size=batch,
            seq_len=seq_len,
            lr=lr,
            seed=seed,
            device=device,
            progress=False,
            eval_batches=8,
        )
    model = hist.model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"state": {k: v.cpu() for k, v in model.state_dict().items()}, "val_loss": hist.final_val_loss}, tmp)
    tmp.replace(path)
    return model, hist.final_val_loss


def trained_pair(language: str, size: str = "small", seed: int = 0, device: str = "cpu"):
    """(target, draft, info) trained on `language`, from the weight cache when present.
    info: validation losses (nats/token) of both, and the language's entropy rate (Markov only)."""
    target, t_loss = _train_one("target", language, size, seed, device)
    draft, d_loss = _train_one("draft", language, size, seed, device)
    info = {"target_val_loss": t_loss, "draft_val_loss": d_loss, "entropy_rate": corpus(language).entropy_rate}
    return target, draft, info


def prompts(language: str, size: str, device: str = "cpu") -> list[torch.Tensor]:
    """The validation prompts of a run, (1, prompt_len) each, the same for every seed."""
    c = corpus(language)
    n_prompts, prompt_len = _SIZES[size][4], _SIZES[size][5]
    starts = np.linspace(0, len(c.val) - prompt_len - 1, n_prompts).astype(int)
    return [torch.as_tensor(c.val[s : s + prompt_len][None], device=device) for s in starts]


def decode_point(target, draft, language: str, size: str, gamma: int, temperature: float, seed: int, device="cpu"):
    """Speculative runs over the prompts of `size` at one γ: α measured and expected, tokens per
    verify pass, the accepted drafts of each round, and seconds spent."""
    n_new = _SIZES[size][6]
    total = spec.SpeculativeStats(gamma=gamma)
    for i, prompt in enumerate(prompts(language, size, device)):
        _, s = spec.speculative_generate(target, draft, prompt, n_new, gamma, temperature, seed=1000 * seed + i)
        for name in ("rounds", "new_tokens", "drafted", "tried", "accepted", "overlap_sum", "seconds"):
            setattr(total, name, getattr(total, name) + getattr(s, name))
        total.accepted_per_round += s.accepted_per_round
    return {
        "gamma": gamma,
        "alpha": total.alpha,
        "alpha_expected": total.alpha_expected,
        "tried": total.tried,
        "tokens_per_round": total.tokens_per_round,
        "rounds": total.rounds,
        "accepted_histogram": np.bincount(total.accepted_per_round, minlength=gamma + 1).tolist(),
        "seconds": total.seconds,
    }


def timed_speedup(target, draft, language: str, size: str, gamma: int, seed: int = 0, repeats: int = 5, device="cpu"):
    """Seconds per new token of the target alone (`generate`) and of speculative decoding at γ,
    temperature 1, the best of `repeats` interleaved runs over the first prompt; their ratio.
    Every repeat uses the same decoding seed, so it does the same work: the best time is the one
    least disturbed by other jobs, and α and tokens per round belong to that work."""
    prompt = prompts(language, size, device)[0]
    n_new = _SIZES[size][6]
    base, fast, rounds = [], [], 0
    for _ in range(repeats):
        t = measure_wall(lambda: generate(target, prompt, n_new, temperature=TEMPERATURE, seed=seed), device)
        base.append(t / n_new)
        out = {}

        def run_speculative(out=out):
            out["s"] = spec.speculative_generate(target, draft, prompt, n_new, gamma, TEMPERATURE, seed)[1]

        fast.append(measure_wall(run_speculative, device) / n_new)
        rounds = out["s"]
    return {
        "gamma": gamma,
        "target_s_per_token": min(base),
        "speculative_s_per_token": min(fast),
        "speedup": min(base) / min(fast),
        "alpha": rounds.alpha,
        "tokens_per_round": rounds.tokens_per_round,
        "draft_fraction": rounds.draft_seconds / rounds.seconds,
        "verify_fraction": rounds.verify_seconds / rounds.seconds,
    }


def measure_wall(fn, device: str = "cpu") -> float:
    """Wall-clock seconds of fn(), the device synchronised at both ends."""
    import time

    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def _run(size: str, device: str) -> dict:
    out = {"languages": {}, "gammas": list(GAMMAS), "seeds": list(SEEDS), "temperature": TEMPERATURE, "threads": 1}
    for language in LANGUAGES:
        runs = []
        for seed in SEEDS:
            target, draft, info = trained_pair(language, size, seed, device)
            with measure.torch_threads(1):
                sampled = [decode_point(target, draft, language, size, g, TEMPERATURE, seed, device) for g in GAMMAS]
                greedy = [decode_point(target, draft, language, size, g, 0.0, seed, device) for g in GAMMAS]
                context = prompts(language, size, device)[0]
                costs = spec.measure_costs(target, draft, context, GAMMAS, repeats=30, temperature=TEMPERATURE)
                timed = [timed_speedup(target, draft, language, size, g, seed, device=device) for g in GAMMAS]
            runs.append(
                {
                    "seed": seed,
                    **{k: (round(v, 5) if v is not None else None) for k, v in info.items()},
                    "sampled": sampled,
                    "greedy": greedy,
                    "target_step_s": costs.target_s,
                    "draft_step_s": costs.draft_s,
                    "verify_s": {str(g): s for g, s in costs.verify_s.items()},
                    "timed": timed,
                }
            )
        c = corpus(language)
        out["languages"][language] = {
            "description": c.description,
            "target": repr(model_config("target", size, c.vocab_size)),
            "draft": repr(model_config("draft", size, c.vocab_size)),
            "runs": runs,
        }
    return out


EXPERIMENT = Experiment(
    name="speculative-decoding",
    version=2,
    sizes=tuple(_SIZES),
    default_size="small",
    description="draft-then-verify decoding: α, tokens per verify pass and speed-up against γ, two languages",
    run=_run,
)
