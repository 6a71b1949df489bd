"""The experiment `distillation`: a student distilled from a teacher against the same student
trained from scratch, at equal student compute, on the Markov language and on English.

The teachers are the chapter's trained models (`compression_models.load`: Markov 4 layers d = 192,
English 6 layers d = 192). Each student has about 40% of its teacher's parameters (`STUDENTS`:
two layers, DistilBERT's halving of depth taken further since our teachers are shallow; the Markov
student is also narrower). For each seed of `SEEDS` the student is built from that seed and trained
twice by the one training loop, `train.train`, with the same initial weights, the same batches in the
same order, the same steps, batch, sequence length and learning-rate schedule: (a) from scratch on
the cross-entropy, (b) with the soft-target loss (`compression.distill.Distiller`, T = `TEMPERATURE`,
α = `ALPHA`). Only the objective differs, so the student's compute is equal by construction; the
teacher's forward passes are counted apart (`teacher_flops`). On seed 0 of the Markov language a
small sweep of T and α (`SWEEP`) is run too. Recorded per run: the validation curve, the final loss
on `compression_models.val_loss`'s fixed windows (nats/token; on Markov also the excess over the
entropy rate), the student's training FLOPs and the teacher's forward FLOPs. Then a measured greedy
decode (batch 1, KV cache, one thread, best of `DECODE_REPEATS` alternating runs) of teacher and
student gives the book's own "faster".

Budget: one CPU thread; the small size is 300 steps of 8 × 128 tokens, about 0.3 million student
tokens per run (`_SIZES`), 15 training runs in all; the stored run took 446 s on a 2-core CPU
(`wall_seconds` in `results/distillation.json`).
`python -m llmscale run distillation`. On a GPU
(`--device cuda`) the same sizes run in about a minute; nothing here needs one.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .. import counting, measure, train
from ..compression.distill import Distiller
from ..config import ModelConfig
from ..inference.generation import generate
from . import Experiment
from . import compression_models as cm

LANGUAGES = ("markov", "english")
SEEDS = (0, 1, 2)
TEMPERATURE, ALPHA = 2.0, 0.5
SWEEP = ((1.0, 0.5), (4.0, 0.5), (2.0, 0.9))  # (T, α) on seed 0 of the Markov language, beside (2, 0.5)
# student per language: (n_layers, d_model, n_heads, d_ff)
STUDENTS = {
    "small": {"markov": (2, 176, 4, 464), "english": (2, 192, 6, 512)},
    "tiny": {"markov": (1, 16, 2, 32), "english": (1, 16, 2, 32)},
}
LR = 3e-3
DECODE_REPEATS = 5
_SIZES = {
    # steps per language, batch, seq_len, eval_every, languages, prompt and new tokens of the decode
    "tiny": ({"markov": 8, "english": 8}, 4, 32, 4, ("markov",), 8, 16),
    "small": ({"markov": 300, "english": 300}, 8, 128, 25, LANGUAGES, 8, 96),
}


def student_config(language: str, size: str = "small") -> ModelConfig:
    """The student's configuration for `language` at `size`."""
    if size not in STUDENTS:
        raise ValueError(f"size={size!r} is not one of {list(STUDENTS)}")
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r} is not one of {LANGUAGES}")
    n_layers, d_model, n_heads, d_ff = STUDENTS[size][language]
    vocab = cm.model_config(language).vocab_size
    return ModelConfig(
        n_layers=n_layers, d_model=d_model, n_heads=n_heads, vocab_size=vocab, seq_len=cm.SEQ_LEN, d_ff=d_ff
    )


def teacher(language: str, size: str = "small"):
    """The teacher: the stored compression model (small), or a 20-step one trained now (tiny, tests)."""
    if size == "tiny":
        return cm.train_model(language, "tiny")[0].eval()
    return cm.load(language)


def interval95(values) -> dict:
    """Mean, sample standard deviation and the 95% interval for the mean (Student's t, n − 1 dof)."""
    from ..compression.savings import t_interval

    v = np.asarray(values, dtype=float)
    if v.size < 2:
        raise ValueError(f"values has {v.size} entries; an interval needs at least two seeds")
    mean, _, high = t_interval(v, 0.95)
    return {"mean": mean, "std": float(v.std(ddof=1)), "half_width": high - mean, "n": int(v.size)}


def train_student(language: str, size: str, seed: int, teacher_model=None, temperature=TEMPERATURE, alpha=ALPHA):
    """One student run: from scratch (teacher_model None) or distilled; returns (model, record)."""
    steps_by_language, batch, seq_len, eval_every, _, _, _ = _SIZES[size]
    c = cm.corpus(language)
    hook = None if teacher_model is None else Distiller(teacher_model, temperature, alpha)
    steps = steps_by_language[language]
    with measure.torch_threads(1):
        hist = train.train(
            student_config(language, size),
            c.train,
            c.val,
            steps=steps,
            batch_size=batch,
            seq_len=seq_len,
            lr=LR,
            seed=seed,
            device="cpu",
            progress=False,
            eval_every=eval_every,
            eval_batches=4,
            log_every=max(1, steps // 30),
            loss_fn=hook,
        )
        loss = cm.val_loss(hist.model, language)
    h = cm.entropy_rate(language)
    return hist.model.eval(), {
        "seed": seed,
        "method": "scratch" if hook is None else "distilled",
        "temperature": None if hook is None else temperature,
        "alpha": None if hook is None else alpha,
        "val_loss": loss,
        "excess_loss": None if h is None else loss - h,
        "steps": hist.steps,
        "train_loss": [round(x, 4) for x in hist.train_loss],
        "eval_steps": hist.eval_steps,
        "eval_loss": [round(x, 4) for x in hist.val_loss],
        "tokens": hist.tokens,
        "student_train_flops": hist.train_flops,
        "teacher_forward_flops": 0.0 if hook is None else hook.teacher_flops(seq_len),
        "train_seconds": round(hist.train_seconds, 1),
    }


@torch.no_grad()
def decode_tokens_per_s(models: dict, prompt: torch.Tensor, n_new: int, repeats: int = DECODE_REPEATS) -> dict:
    """Greedy decode with the KV cache, batch 1, one thread: the best tokens/s of `repeats` runs per
    model, the models taking turns so that load on the machine falls on all alike."""
    best = {name: 0.0 for name in models}
    with measure.torch_threads(1):
        for _ in range(repeats):
            for name, model in models.items():
                t0 = time.perf_counter()
                generate(model, prompt, n_new, temperature=0.0)
                best[name] = max(best[name], n_new / (time.perf_counter() - t0))
    return best


def _run(size: str, device: str) -> dict:
    if device != "cpu":
        raise ValueError("the distillation experiment runs on the CPU (device='cpu'); its sizes are small")
    steps_by_language, batch, seq_len, _, languages, prompt_len, n_new = _SIZES[size]
    started = time.perf_counter()
    out = {"settings": {"temperature": TEMPERATURE, "alpha": ALPHA, "batch": batch, "seq_len": seq_len, "lr": LR}}
    for language in languages:
        t_model = teacher(language, size)
        t_cfg = t_model.cfg
        s_cfg = student_config(language, size)
        runs = []
        student = None
        for seed in SEEDS:
            runs.append(train_student(language, size, seed)[1])
            student, record = train_student(language, size, seed, t_model)
            runs.append(record)
        if language == "markov":
            for temperature, alpha in SWEEP if size == "small" else SWEEP[:1]:
                runs.append(train_student(language, size, 0, t_model, temperature, alpha)[1])
        main = [r for r in runs if r["temperature"] in (None, TEMPERATURE) and r["alpha"] in (None, ALPHA)]
        by = {m: {r["seed"]: r["val_loss"] for r in main if r["method"] == m} for m in ("scratch", "distilled")}
        prompt = cm.validation_windows(language, 1, prompt_len)[:, :prompt_len]
        speed = decode_tokens_per_s({"teacher": t_model, "student": student}, prompt, n_new)
        with measure.torch_threads(1):
            teacher_loss = cm.val_loss(t_model, language)
        out[language] = {
            "teacher": {
                "config": {f: getattr(t_cfg, f) for f in ("n_layers", "d_model", "n_heads", "d_ff", "vocab_size")},
                "n_params": counting.param_count(t_cfg),
                "val_loss": teacher_loss,
                "forward_flops_per_token": counting.flops_per_token(t_cfg, context=seq_len),
            },
            "student": {
                "config": {f: getattr(s_cfg, f) for f in ("n_layers", "d_model", "n_heads", "d_ff", "vocab_size")},
                "n_params": counting.param_count(s_cfg),
                "train_flops_per_token": counting.flops_per_token(s_cfg, context=seq_len, training=True),
                "steps": steps_by_language[language],
            },
            "entropy_rate": cm.entropy_rate(language),
            "runs": runs,
            "scratch": interval95(list(by["scratch"].values())),
            "distilled": interval95(list(by["distilled"].values())),
            # paired by seed: same initial weights and batches, only the objective differs
            "gain": interval95([by["scratch"][s] - by["distilled"][s] for s in SEEDS]),
            "decode_tokens_per_s": speed,
            "decode": {"batch": 1, "prompt_tokens": prompt_len, "new_tokens": n_new, "threads": 1},
        }
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


EXPERIMENT = Experiment(
    name="distillation",
    version=1,
    sizes=tuple(_SIZES),
    default_size="small",
    description="a student (≈40% of the teacher) distilled vs trained from scratch at equal student compute, 3 seeds",
    run=_run,
)
