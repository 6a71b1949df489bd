"""3D layouts and GPT-4: the planner on the reported run, its checks against LLaMA-65B and PaLM,
the page's claims and exercises."""

from __future__ import annotations

import dataclasses
import functools

from ... import claims, counting, exercises, hardware, presets, published
from ...parallelism import Layout, pipeline_bubble, planner
from ...units import SECONDS_PER_DAY, GiB

REVISITS = ("cost-gpt4-gpus", "cost-gpt4-days", "cost-gpt4-mfu")  # checked on scaling/training_cost

TOKENS = 13e12  # the leak's 13T training tokens
BATCH_TOKENS = published.get("gpt4.batch_tokens").value  # 60M (SemiAnalysis; not in the seed article)
N_GPUS = int(published.get("gpt4.n_gpus").value)
CLUSTER = planner.Cluster(N_GPUS, "dgx-a100")
# The layout the leak reports (TP8 × PP15), with ZeRO-1 as the article suggests; 25,000 / 120
# gives 208 whole replicas and 60M tokens / (208 · 8192) about 35 microbatches of one sequence.
REPORTED = Layout(dp=208, tp=8, pp=15, zero=1, recompute="selective", microbatches=35)
LLAMA_BATCH_TOKENS = 4e6  # Touvron et al. 2023, Table 2: 4M tokens for the 33B and 65B models
LLAMA_TOKENS = 1.4e12


def stand_in():
    """GPT-4 as reported, with 96 heads instead of the preset's 84 (8 does not divide 84):
    d_model 10752 = 96 · 112, the same parameter count (heads do not change it)."""
    return dataclasses.replace(presets.get("gpt4-reported"), n_heads=96)


def is_reported(c: planner.Candidate) -> bool:
    """A candidate with the reported degrees: TP8 × PP15, experts not split (ep = 1)."""
    return (c.layout.tp, c.layout.pp, c.layout.ep) == (8, 15, 1)


def rank_of_reported(candidates, zero: int | None = None) -> int:
    """0-based rank of the first candidate with the reported degrees (and ZeRO stage, if given)."""
    for i, c in enumerate(candidates):
        if is_reported(c) and (zero is None or c.layout.zero == zero):
            return i
    raise ValueError("no candidate has TP8 × PP15 × ep=1; widen the planner's options")


def implied_flops(mfu: float, days: float, n_gpus: float = N_GPUS) -> float:
    """FLOPs a run of `days` on `n_gpus` A100s does at `mfu` of the bf16 peak."""
    return n_gpus * hardware.get("a100").flops("bf16") * mfu * days * SECONDS_PER_DAY


def implied_flops_range() -> tuple[float, float]:
    """The leak's 32–36% MFU for 90–100 days on 25,000 A100s, as a range of FLOPs."""
    low = implied_flops(published.get("gpt4.mfu_low").value, published.get("gpt4.train_days_low").value)
    high = implied_flops(published.get("gpt4.mfu_high").value, published.get("gpt4.train_days_high").value)
    return low, high


def model_flops_6nd(tokens: float = TOKENS) -> float:
    """6 · N_active · D for the stand-in (the reported configuration's active parameters)."""
    return 6.0 * counting.active_param_count(stand_in()) * tokens


def llama_implied_mfu() -> float:
    """LLaMA-65B's MFU from its published 380 tokens/s/GPU: 6·N·(tokens/s) over the A100's peak."""
    tps = published.get("llama-65b.tokens_per_s_per_gpu").value
    return 6.0 * counting.param_count(presets.get("llama-65b")) * tps / hardware.get("a100").flops("bf16")


def llama_plan(efficiency: float):
    cluster = planner.Cluster(int(published.get("llama-65b.n_gpus").value), "dgx-a100")
    return planner.plan(presets.get("llama-65b"), cluster, LLAMA_BATCH_TOKENS, LLAMA_TOKENS, efficiency=efficiency)


@functools.cache
def calibrate_efficiency(target_mfu: float | None = None, lo: float = 0.2, hi: float = 0.9, iters: int = 14) -> float:
    """The kernel efficiency at which the planner's best LLaMA-65B layout on 2,048 A100s reaches
    `target_mfu` (default: LLaMA's published throughput as MFU), by bisection."""
    target = llama_implied_mfu() if target_mfu is None else target_mfu
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if llama_plan(mid)[0].mfu < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def palm_mfu_from_throughput() -> float:
    """PaLM 540B's MFU from its published 238.3K tokens/s on 6,144 TPU v4 chips, 6·N per token
    (no attention term; the paper's 46.2% includes attention)."""
    n = counting.param_count(presets.get("palm-540b"))
    tps = published.get("palm-540b.tokens_per_s").value
    chips = published.get("palm-540b.chips_phase1").value
    return 6.0 * n * tps / (chips * hardware.get("tpu-v4").flops("bf16"))


# --- claims ------------------------------------------------------------------------------------


@claims.register(
    "layout-gpt4-tp8-pp15",
    claims.GPT4_LEAK,
    "GPT-4 was trained with 8-way tensor parallelism (the NVLink limit) and 15-way pipeline parallelism",
    True,
    "(yes/no)",
    basis="from-claim",
)
def _layout_tp8_pp15():
    eff = calibrate_efficiency()
    cands = planner.plan(stand_in(), CLUSTER, BATCH_TOKENS, TOKENS, efficiency=eff)
    r = rank_of_reported(cands)
    best, rep = cands[0], cands[r]
    return True, (
        "The book adopts the layout (nothing public can confirm it). The planner, at the kernel efficiency "
        f"calibrated on LLaMA-65B ({eff:.2f}), ranks TP8 × PP15 {r + 1} of {len(cands)} fitting layouts "
        f"({rep.mfu:.1%} MFU, {rep.days:.0f} days, with ZeRO-{rep.layout.zero}); its best is "
        f"{planner.describe(best)} at {best.mfu:.1%}; the reported layout takes "
        f"{(rep.days / best.days - 1):.0%} more days: in this model fewer stages mean a smaller bubble, "
        "and the extra replicas cost little."
    )


@claims.register(
    "layout-gpt4-zero1",
    claims.GPT4_LEAK,
    "Techniques such as ZeRO stage 1 were probably used in training GPT-4",
    True,
    "(yes/no)",
    basis="none",
)
def _layout_zero1():
    sel = planner.evaluate(stand_in(), REPORTED, CLUSTER, BATCH_TOKENS, TOKENS).memory.total / GiB
    sel16 = planner.evaluate(stand_in(), REPORTED.replace(ep=16), CLUSTER, BATCH_TOKENS, TOKENS).memory.total / GiB
    full = planner.evaluate(stand_in(), REPORTED.replace(recompute="full"), CLUSTER, BATCH_TOKENS, TOKENS)
    fits_full = full.memory.total <= CLUSTER.usable_bytes
    return fits_full, (
        "Which ZeRO stage was used is not public. Memory allows ZeRO-1 at TP8 × PP15 only with full "
        f"recomputation ({full.memory.total / GiB:.0f} GiB per GPU); with selective recomputation it needs "
        f"{sel:.0f} GiB (experts not split) or {sel16:.0f} GiB (experts over 16 replicas), against "
        f"{CLUSTER.usable_bytes / GiB:.0f} GiB usable (90% of 80 GiB, an assumption)."
    )


# --- exercises ---------------------------------------------------------------------------------

GPT3_OPTIONS = {
    "a": "TP4 × PP1 × DP256",
    "b": "TP8 × PP1 × DP128",
    "c": "TP8 × PP8 × DP16",
    "d": "TP8 × PP16 × DP8",
}
GPT3_GPUS, GPT3_BATCH_TOKENS, GPT3_TOKENS, GPT3_EFFICIENCY = 1024, 1536 * 2048, 300e9, 0.5


def _gpt3_best_label() -> str:
    cluster = planner.Cluster(GPT3_GPUS, "dgx-a100")
    best = planner.plan(presets.get("gpt3-175b"), cluster, GPT3_BATCH_TOKENS, GPT3_TOKENS, efficiency=GPT3_EFFICIENCY)[
        0
    ]
    name = f"TP{best.layout.tp} × PP{best.layout.pp} × DP{best.layout.dp}"
    for label, text in GPT3_OPTIONS.items():
        if text == name:
            return label
    raise ValueError(f"the planner's best layout {name} is not among the options {GPT3_OPTIONS}")


exercises.register_choice(
    "layouts-gpt4-1",
    options=GPT3_OPTIONS,
    answer=_gpt3_best_label,
    hint="Run planner.plan(presets.get('gpt3-175b'), planner.Cluster(1024), 1536 * 2048, 300e9, "
    "efficiency=0.5) and read the first row: with ZeRO-3 allowed, does a pipeline pay at all?",
    kind="predict",
)

HALF_BATCH_TOKENS = BATCH_TOKENS / 2


def _half_batch_bubble() -> float:
    m = round(HALF_BATCH_TOKENS / stand_in().seq_len / REPORTED.dp)
    return pipeline_bubble(REPORTED.pp, m)


exercises.register(
    "layouts-gpt4-2",
    _half_batch_bubble,
    rel_tol=0.005,
    unit="(fraction of the step)",
    hint="m = 30M / (8192 · 208), rounded to a whole number; the 1F1B bubble is (p − 1)/(m + p − 1).",
    kind="derive",
)


def _gpus_for_90_days_at_llama_mfu() -> float:
    return planner.gpus_for(90, model_flops_6nd(), hardware.get("a100").flops("bf16"), llama_implied_mfu())


exercises.register(
    "layouts-gpt4-3",
    _gpus_for_90_days_at_llama_mfu,
    rel_tol=0.01,
    unit="A100",
    hint="GPUs = 6·N_active·D / (days · 86,400 s · 312 TFLOP/s · MFU), with LLaMA-65B's MFU from 380 tokens/s/GPU.",
)
