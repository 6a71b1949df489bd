"""Distillation: the page's claims (the cost-slimming article's "distillation yields small models of
similar performance and simpler structure, cheaper to deploy", checked on DistilBERT and on the
book's own students), its exercises, and the helpers it reads the stored `distillation` run with."""

from __future__ import annotations

import math

import numpy as np
import torch

from ... import claims, exercises, experiments, published
from ...compression import distill
from ...experiments import distillation as exp

LANGUAGES = exp.LANGUAGES
METHODS = ("scratch", "distilled")


def stored() -> dict:
    """The stored `distillation` data (its record's "data")."""
    return experiments.load("distillation")["data"]


def _entry(language: str, data: dict | None) -> dict:
    data = data or stored()
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r} is not one of {LANGUAGES}")
    return data[language]


def main_runs(language: str, method: str, data: dict | None = None) -> list[dict]:
    """The runs of `method` ("scratch" or "distilled") at the main setting (T = 2, α = 0.5), by seed."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} must be one of {METHODS}")
    runs = _entry(language, data)["runs"]
    chosen = [
        r
        for r in runs
        if r["method"] == method and r["temperature"] in (None, exp.TEMPERATURE) and r["alpha"] in (None, exp.ALPHA)
    ]
    return sorted(chosen, key=lambda r: r["seed"])


def interval(values) -> dict:
    """Mean and 95% half-width (Student's t over the seeds), as the experiment stores them."""
    return exp.interval95(values)


def excludes_zero(iv: dict) -> bool:
    """Whether a 95% interval (mean ± half_width) lies entirely on one side of zero."""
    return abs(iv["mean"]) > iv["half_width"]


def paired_gain(language: str, data: dict | None = None) -> dict:
    """Scratch minus distilled validation loss, paired by seed (same initial weights and batches), nats/token."""
    scratch = {r["seed"]: r["val_loss"] for r in main_runs(language, "scratch", data)}
    distilled = {r["seed"]: r["val_loss"] for r in main_runs(language, "distilled", data)}
    if set(scratch) != set(distilled):
        raise ValueError(f"{language}: scratch seeds {sorted(scratch)} and distilled seeds {sorted(distilled)} differ")
    return interval([scratch[s] - distilled[s] for s in sorted(scratch)])


def gap_closed(scratch_loss: float, distilled_loss: float, teacher_loss: float) -> float:
    """Fraction of the scratch-to-teacher loss gap that distillation closes: 0 is no better than
    scratch, 1 is the teacher's loss."""
    if not scratch_loss > teacher_loss:
        raise ValueError(
            f"scratch_loss={scratch_loss} must exceed teacher_loss={teacher_loss}; with no gap there is "
            "nothing to close (compare the student with a stronger teacher)"
        )
    return (scratch_loss - distilled_loss) / (scratch_loss - teacher_loss)


def teacher_overhead(language: str, data: dict | None = None) -> float:
    """Teacher forward FLOPs over student training FLOPs in a distilled run (the same for every seed)."""
    ratios = {r["teacher_forward_flops"] / r["student_train_flops"] for r in main_runs(language, "distilled", data)}
    if len({round(x, 12) for x in ratios}) != 1:
        raise ValueError(f"{language}: the distilled runs disagree on the teacher's share of compute: {ratios}")
    return ratios.pop()


def first_step_at_or_below(eval_steps: list[int], eval_loss: list[float], target: float) -> int | None:
    """The first evaluation step whose loss is ≤ target, or None if the curve never gets there."""
    if len(eval_steps) != len(eval_loss):
        raise ValueError(f"eval_steps has {len(eval_steps)} entries but eval_loss has {len(eval_loss)}; pass one curve")
    return next((s for s, loss in zip(eval_steps, eval_loss) if loss <= target), None)


def compute_to_match(language: str, data: dict | None = None) -> list[dict]:
    """Per seed: the step at which the distilled curve first reaches the scratch run's final
    evaluation loss, and the distilled run's total compute (student + teacher) up to there as a
    fraction of the scratch run's (below 1: distillation wins at equal total compute)."""
    overhead = teacher_overhead(language, data)
    out = []
    scratch = main_runs(language, "scratch", data)
    for s_run, d_run in zip(scratch, main_runs(language, "distilled", data)):
        target = s_run["eval_loss"][-1]
        step = first_step_at_or_below(d_run["eval_steps"], d_run["eval_loss"], target)
        ratio = None if step is None else step * (1 + overhead) / s_run["eval_steps"][-1]
        out.append({"seed": s_run["seed"], "target": target, "step": step, "total_compute_ratio": ratio})
    return out


def sweep(data: dict | None = None) -> list[dict]:
    """The (T, α) runs on seed 0 of the Markov language, the main setting included, by (T, α)."""
    runs = [r for r in _entry("markov", data)["runs"] if r["method"] == "distilled" and r["seed"] == 0]
    return sorted(runs, key=lambda r: (r["temperature"], r["alpha"]))


def teacher_tokens(language: str) -> int:
    """Tokens the teacher was trained on (the stored `compression-models` run: steps × batch × seq_len)."""
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r} is not one of {LANGUAGES}")
    t = experiments.load("compression-models")["data"][language]["training"]
    return t["steps"] * t["batch_size"] * t["seq_len"]


def decode_speedup(language: str, data: dict | None = None) -> float:
    """Measured decode tokens/s of the student over the teacher (batch 1, one thread, KV cache)."""
    speed = _entry(language, data)["decode_tokens_per_s"]
    return speed["student"] / speed["teacher"]


def book_measures(language: str, data: dict | None = None) -> dict:
    """DistilBERT's three measures on the book's student of `language`, and honest alternatives.

    smaller: 1 − N_student/N_teacher; loss_ratio: teacher loss / distilled loss (the analogue of
    a score ratio, flattering because losses have a floor); gap_closed: fraction of the
    scratch-to-teacher gap closed; excess_ratio (Markov only): the teacher's excess over the
    entropy rate over the distilled student's; faster: decode speed-up − 1."""
    e = _entry(language, data)
    teacher, distilled, scratch = e["teacher"]["val_loss"], e["distilled"]["mean"], e["scratch"]["mean"]
    floor = e["entropy_rate"]
    return {
        "smaller": 1 - e["student"]["n_params"] / e["teacher"]["n_params"],
        "loss_ratio": teacher / distilled,
        "gap_closed": gap_closed(scratch, distilled, teacher),
        "excess_ratio": None if floor is None else (teacher - floor) / (distilled - floor),
        "faster": decode_speedup(language, data) - 1,
    }


# --- DistilBERT ----------------------------------------------------------------------------------


def _fig(name: str) -> float:
    return published.get(f"distilbert.{name}").value


def distilbert_measures() -> dict:
    """DistilBERT's abstract figures recomputed from its tables (Sanh et al. 2019).

    smaller: 1 − 66M/110M; retained: GLUE 77.0/79.5; faster: 668 s/410 s − 1 (more passes per
    second); time_saved: 1 − 410/668 (less time per pass); gap_over_elmo: the fraction of the
    ELMo-baseline-to-BERT gap on GLUE that DistilBERT keeps."""
    bert_s, student_s = _fig("bert_base_seconds"), _fig("student_seconds")
    bert_glue, student_glue, elmo = _fig("bert_base_glue"), _fig("student_glue"), _fig("elmo_glue")
    return {
        "smaller": 1 - _fig("student_params") / _fig("bert_base_params"),
        "retained": student_glue / bert_glue,
        "faster": bert_s / student_s - 1,
        "time_saved": 1 - student_s / bert_s,
        "gap_over_elmo": (student_glue - elmo) / (bert_glue - elmo),
        "elmo_retained": elmo / bert_glue,
    }


def rounds_to(value: float, claimed: float, digits: int = 1) -> bool:
    """Whether `value` rounds to `claimed` at `digits` significant digits (the claims ledger's rule)."""
    return abs(value - claimed) <= claims.tolerance(claimed, digits) * abs(claimed)


def total_compute_factor(teacher_params: float, student_params: float) -> float:
    """Distilled over scratch training compute with 2·N_T forward and 6·N_S training FLOPs per token
    (`compression.distill.distillation_cost`)."""
    bill = distill.distillation_cost(teacher_params, student_params, tokens=1.0)
    return bill.total_flops / bill.student_flops


# --- claims --------------------------------------------------------------------------------------

SIMILAR = 0.5  # the book's reading of "similar performance": more than half of the gap to the teacher kept


@claims.register(
    "distill-distilbert-similar-cheaper",
    claims.COST_SLIMMING,
    "Knowledge distillation turns a large model into small ones of similar performance and simpler "
    "structure, cheaper to deploy (checked on the published case, DistilBERT: fewer parameters, "
    "faster on a CPU, and more than half of the GLUE gap between a pre-BERT baseline and BERT kept).",
    True,
    "yes/no",
    basis="primary-source",
)
def _():
    m = distilbert_measures()
    holds = m["smaller"] > 0 and m["faster"] > 0 and m["gap_over_elmo"] > SIMILAR
    return holds, (
        f"Sanh et al.'s tables: {_fig('student_params') / 1e6:.0f}M against {_fig('bert_base_params') / 1e6:.0f}M "
        f"parameters ({m['smaller']:.0%} smaller), {_fig('student_seconds'):.0f} s against "
        f"{_fig('bert_base_seconds'):.0f} s on a CPU ({m['faster']:.0%} faster in passes per second, "
        f"{m['time_saved']:.0%} less time), GLUE {_fig('student_glue'):.1f} against {_fig('bert_base_glue'):.1f} "
        f"({m['retained']:.1%} retained). The ratio flatters: the ELMo baseline already scores "
        f"{m['elmo_retained']:.0%} of BERT; of the gap from it to BERT DistilBERT keeps {m['gap_over_elmo']:.0%}, "
        f"above the half the book takes for 'similar'. The threshold is the book's, not the article's. "
        f"The article speaks of distilling a 100-billion-parameter model; DistilBERT's teacher has "
        f"{_fig('bert_base_params') / 1e6:.0f}M."
    )


def students_similar(data: dict | None = None) -> tuple[bool, dict]:
    """(on both languages the distilled student closes more than half of the scratch-to-teacher gap
    and its paired gain's 95% interval excludes 0, the fraction closed per language)."""
    closed = {lang: book_measures(lang, data)["gap_closed"] for lang in LANGUAGES}
    significant = all(excludes_zero(paired_gain(lang, data)) for lang in LANGUAGES)
    return significant and all(v > SIMILAR for v in closed.values()), closed


@claims.register(
    "distill-book-students-similar",
    claims.COST_SLIMMING,
    "A small model distilled from a large one has similar performance (checked on the book's students, "
    "about 40% of their teachers' parameters: distillation closes more than half of the loss gap between "
    "the student trained from scratch and the teacher, on both languages, with the gain's 95% interval above 0).",
    True,
    "yes/no",
    basis="derived",
)
def _():
    holds, closed = students_similar()
    data = stored()
    parts = []
    for lang in LANGUAGES:
        e, g = data[lang], paired_gain(lang, data)
        parts.append(
            f"{lang}: teacher {e['teacher']['val_loss']:.3f}, scratch {e['scratch']['mean']:.3f}, distilled "
            f"{e['distilled']['mean']:.3f} nats/token (gain {g['mean']:.3f} ± {g['half_width']:.3f}), "
            f"{closed[lang]:.0%} of the gap closed, decode {decode_speedup(lang, data):.2f}× faster"
        )
    more = [teacher_tokens(lang) / main_runs(lang, "scratch", data)[0]["tokens"] for lang in LANGUAGES]
    return holds, (
        "; ".join(parts) + ". Distillation helps on both at equal student compute, but on English the "
        f"student stays nearer its scratch twin than its teacher. The teachers saw {min(more):.1f} to "
        f"{max(more):.0f} times the students' tokens, so the gap is not capacity alone. The half-gap "
        "threshold is the book's."
    )


# --- exercises -----------------------------------------------------------------------------------


exercises.register(
    "distillation-1",
    lambda: total_compute_factor(_fig("bert_base_params"), _fig("student_params")),
    rel_tol=0.01,
    unit="×",
    hint="Per token the student's training costs 6·N_S FLOPs and the teacher's forward pass 2·N_T; the "
    "scratch run pays only the first. Take N_T = 110M, N_S = 66M.",
    kind="derive",
)

# logits of one token over a 4-token vocabulary, each summing to zero (Hinton et al.'s assumption)
GRAD_STUDENT = (2.0, 0.0, -1.0, -1.0)
GRAD_TEACHER = (0.5, 1.0, 0.0, -1.5)


def soft_gradient(temperature: float, index: int = 0) -> float:
    """∂(T²·KL(p_T ‖ q_T))/∂z_index for the student logits GRAD_STUDENT against GRAD_TEACHER,
    by autograd through `compression.distill.kl_soft`."""
    z = torch.tensor([GRAD_STUDENT], dtype=torch.float64, requires_grad=True)
    v = torch.tensor([GRAD_TEACHER], dtype=torch.float64)
    (distill.kl_soft(z, v, temperature) * temperature**2).backward()
    return float(z.grad[0, index])


exercises.register(
    "distillation-2",
    lambda: soft_gradient(1e4),
    rel_tol=0.01,
    unit="nats per unit logit",
    hint="Expand softmax(z/T) to first order in 1/T: q_i ≈ (1 + z_i/T)/(V + Σz/T). With zero-mean logits "
    "T·(q_i − p_i) tends to (z_i − v_i)/V.",
    kind="derive",
)


def entropy_nats(probs: np.ndarray) -> float:
    """Shannon entropy of a distribution, nats."""
    p = np.asarray(probs, dtype=float)
    if p.ndim != 1 or not math.isclose(p.sum(), 1.0, rel_tol=1e-6) or (p < 0).any():
        raise ValueError("probs must be a 1-D probability vector (non-negative, summing to 1)")
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())
