"""Pipeline schedules as arithmetic: the bubble, and how many microbatches' activations a stage holds.

Notation: p pipeline stages, m microbatches per step (per data-parallel replica), v model chunks
per stage (the interleaved schedule of Narayanan et al. 2021, "Efficient Large-Scale Language
Model Training on GPU Clusters Using Megatron-LM", Section 2.2). A microbatch's forward and
backward through one stage take t_f and t_b; every stage does the same work.

* GPipe (Huang et al. 2019) runs all m forwards, then all m backwards;
* 1F1B (PipeDream-Flush) runs p − i forwards on stage i, then alternates one forward and one
  backward: the same bubble as GPipe, but stage i holds at most p − i microbatches, not m;
* interleaved 1F1B gives each stage v chunks of L/(p·v) layers, dividing the bubble by v at
  the price of v times more point-to-point traffic and a larger warm-up.

The bubble is (p − 1)·(t_f + t_b) of idle time per stage and step (divided by v when interleaved),
against an ideal m·(t_f + t_b). Zero-bubble schedules (Qi et al. 2023), which split the backward
pass into input and weight gradients, are not modelled.
"""

from __future__ import annotations

from .._validate import choice, non_negative_int, positive_int

SCHEDULES = ("gpipe", "1f1b", "interleaved")


def _check(stages, microbatches, schedule: str, chunks) -> tuple[int, int, str, int]:
    p = positive_int("p", stages, "15 (pipeline stages)")
    m = positive_int("m", microbatches, "64 (microbatches per step)")
    schedule = choice("schedule", schedule, SCHEDULES)
    v = positive_int("chunks", chunks, "2 (model chunks per stage)")
    if schedule == "interleaved":
        if v < 2:
            raise ValueError(
                f"schedule='interleaved' needs chunks >= 2 model chunks per stage, got chunks={v}; "
                "use schedule='1f1b' for one chunk per stage"
            )
        if p < 2:
            raise ValueError(f"schedule='interleaved' needs p >= 2 pipeline stages, got p={p}; use schedule='1f1b'")
    elif v != 1:
        raise ValueError(f"chunks={v} needs schedule='interleaved'; schedule={schedule!r} has one chunk per stage")
    if schedule in ("1f1b", "interleaved") and m < p:
        raise ValueError(
            f"schedule={schedule!r} needs at least as many microbatches as stages, got m={m} < p={p}; "
            f"choose m >= {p} (a larger global batch or smaller microbatches), or schedule='gpipe'"
        )
    return p, m, schedule, v


def pipeline_bubble(p: int, m: int, schedule: str = "1f1b", chunks: int = 1) -> float:
    """Idle fraction of a pipeline step: bubble / (ideal + bubble), the whole step in the denominator.

    GPipe and 1F1B: (p − 1)/(m + p − 1); interleaved with v = `chunks`: (p − 1)/(v·m + p − 1).
    1F1B and interleaved need m >= p (ValueError otherwise). p = 1 gives 0; m → ∞ tends to 0.
    """
    p, m, schedule, v = _check(p, m, schedule, chunks)
    return (p - 1) / (v * m + p - 1)


def pipeline_bubble_ratio(p: int, m: int, schedule: str = "1f1b", chunks: int = 1) -> float:
    """Bubble time over ideal (bubble-free) time, as Narayanan et al. 2021 write it: (p − 1)/(v·m).

    v = `chunks` (1 for GPipe and 1F1B). Relates to `pipeline_bubble` (fraction of the whole step)
    as f = r/(1 + r). Same validation as `pipeline_bubble`.
    """
    p, m, schedule, v = _check(p, m, schedule, chunks)
    return (p - 1) / (v * m)


def in_flight_microbatches(p: int, m: int, schedule: str = "1f1b", chunks: int = 1, stage: int = 0) -> float:
    """Activations stage `stage` (0 = first) holds at its peak, in microbatches through all its layers.

    GPipe: m (every forward runs before any backward). 1F1B: min(m, p − stage), so p on the first
    stage. Interleaved (Megatron-LM's schedule, v = `chunks`): the first stage runs 2·(p − 1) +
    (v − 1)·p warm-up forwards of chunks of L/(p·v) layers, plus one in the steady state: at most
    m·v chunks, so min(m·v, 2·(p − stage − 1) + (v − 1)·p + 1)/v, which is p·(1 + (p − 1)/(p·v))
    on the first stage (Korthikanti et al. 2022, Section 4.2.3). Multiply by one microbatch's
    activations for the stage's L/p layers to get bytes.
    """
    p, m, schedule, v = _check(p, m, schedule, chunks)
    stage = non_negative_int("stage", stage, "0 (the first stage)")
    if stage >= p:
        raise ValueError(f"stage={stage} is out of range for p={p} stages; choose 0 <= stage <= {p - 1}")
    if schedule == "gpipe":
        return float(m)
    if schedule == "1f1b":
        return float(min(m, p - stage))
    return min(m * v, 2 * (p - stage - 1) + (v - 1) * p + 1) / v
