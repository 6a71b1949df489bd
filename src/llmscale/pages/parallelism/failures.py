"""Failures, checkpoints and goodput: the page's assumptions, claim and exercises."""

from __future__ import annotations

import math

from ... import claims, exercises, published
from ...parallelism import reliability
from ...units import SECONDS_PER_DAY

# The page's assumptions (not published figures): the time to write one sharded checkpoint of a
# GPT-4-sized job and the time to relaunch it and reload that checkpoint after a failure.
CHECKPOINT_S = 60.0
RESTART_S = 300.0


def _p(key: str) -> float:
    return published.get(key).value


def gpt4_expected_interruptions(days: float) -> float:
    """Interruptions a 25,000-GPU job would see in `days` at Llama 3's per-GPU interruption rate."""
    return reliability.expected_failures(
        int(_p("gpt4.n_gpus")), days * SECONDS_PER_DAY, reliability.llama3_per_gpu_mtbf_s()
    )


@claims.register(
    "fail-gpt4-restarts",
    claims.GPT4_LEAK,
    "GPT-4's training run met numerous failures, which required frequent restarts from checkpoints.",
    None,
    "interruptions",
    basis="none",
)
def _():
    low, high = (gpt4_expected_interruptions(_p(f"gpt4.train_days_{end}")) for end in ("low", "high"))
    mtbf_h = reliability.cluster_mtbf_s(reliability.llama3_per_gpu_mtbf_s(), int(_p("gpt4.n_gpus"))) / 3600
    return low, (
        "The article states no number of failures or restarts, and nothing public records GPT-4's. "
        f"A prediction, not a check: at Llama 3's rate (419 unexpected interruptions in 54 days on "
        f"16,384 H100s, another GPU and another cluster), 25,000 GPUs for 90 to 100 days would see "
        f"{low:,.0f} to {high:,.0f} interruptions, one every {mtbf_h:.1f} hours: frequent restarts "
        "are what a run of that size should expect."
    )


# --- exercises ------------------------------------------------------------------------------------


def _young_minutes_llama65b() -> float:
    n_gpus = int(_p("llama-65b.n_gpus"))
    mtbf = reliability.cluster_mtbf_s(reliability.llama3_per_gpu_mtbf_s(), n_gpus)
    return reliability.young_interval_s(CHECKPOINT_S, mtbf) / 60


exercises.register(
    "failures-1",
    _young_minutes_llama65b,
    rel_tol=0.01,
    unit="minutes",
    hint="Lost fraction ≈ δ/τ + τ/(2M); set its derivative to zero. M is the per-GPU MTBF over 2,048.",
    kind="derive",
)


def _lost_fraction_at_optimum(checkpoint_s: float, mtbf_s: float) -> float:
    tau = reliability.daly_interval_s(checkpoint_s, mtbf_s)
    return 1 - float(reliability.goodput_exponential(tau, checkpoint_s, 0.0, mtbf_s))


FASTER_STORAGE_OPTIONS = {
    "a": "4× smaller",
    "b": "2× smaller",
    "c": "√2× smaller",
    "d": "unchanged: the optimum interval adapts",
}
_OPTION_RATIOS = {"a": 4.0, "b": 2.0, "c": math.sqrt(2), "d": 1.0}


def _faster_storage_label() -> str:
    mtbf = reliability.cluster_mtbf_s(reliability.llama3_per_gpu_mtbf_s(), int(_p("gpt4.n_gpus")))
    ratio = _lost_fraction_at_optimum(CHECKPOINT_S, mtbf) / _lost_fraction_at_optimum(CHECKPOINT_S / 4, mtbf)
    return min(_OPTION_RATIOS, key=lambda k: abs(math.log(ratio / _OPTION_RATIOS[k])))


exercises.register_choice(
    "failures-2",
    options=FASTER_STORAGE_OPTIONS,
    answer=_faster_storage_label,
    hint="At the optimum the two losses δ/τ and τ/2M are equal, and τ* ∝ √δ: the lost fraction is √(2δ/M).",
    kind="predict",
)


def _hardware_only_mtbf_hours() -> float:
    per_gpu = reliability.llama3_per_gpu_mtbf_s(hardware_only=True)
    return reliability.cluster_mtbf_s(per_gpu, int(_p("gpt4.n_gpus"))) / 3600


exercises.register(
    "failures-3",
    _hardware_only_mtbf_hours,
    rel_tol=0.01,
    unit="hours",
    hint="Count only 78% of the 419 interruptions: the per-GPU MTBF grows by 1/0.78; divide by 25,000.",
)
