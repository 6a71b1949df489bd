"""Pipeline parallelism: the GPT-4 leak's 15-way pipeline, its bubble at the reported batch, the exercises."""

from __future__ import annotations

from itertools import count

from ... import claims, exercises, presets, published
from ...parallelism import schedule


def _p(key: str) -> float:
    return published.get(key).value


def gpt4_replicas() -> int:
    """Whole model replicas of the reported layout: ~25,000 A100s in groups of 8 (tensor) × 15 (pipeline)."""
    return int(_p("gpt4.n_gpus")) // (int(_p("gpt4.tensor_parallel")) * int(_p("gpt4.pipeline_parallel")))


def gpt4_sequences_per_replica() -> float:
    """Sequences of one step per replica: the reported 60M-token batch in 8k-token sequences over the replicas."""
    return _p("gpt4.batch_tokens") / presets.get("gpt4-reported").seq_len / gpt4_replicas()


def gpt4_microbatches() -> int:
    """Most microbatches a replica can cut its share of the batch into: one sequence each (the
    smallest microbatch, hence the smallest bubble), whole sequences only."""
    return int(gpt4_sequences_per_replica())


def gpt4_bubble(schedule_name: str = "1f1b", chunks: int = 1) -> float:
    """Idle fraction of a step of GPT-4's reported 15-stage pipeline at the reported batch
    (`schedule.pipeline_bubble`, the whole step in the denominator)."""
    return schedule.pipeline_bubble(int(_p("gpt4.pipeline_parallel")), gpt4_microbatches(), schedule_name, chunks)


# --- seed 000: GPT-4 ----------------------------------------------------------------------------


@claims.register(
    "pp-gpt4-15way",
    claims.GPT4_LEAK,
    "GPT-4 was trained with 15-way pipeline parallelism (besides 8-way tensor parallelism), "
    "used to raise performance further.",
    15,
    "pipeline stages",
    basis="from-claim",
)
def _():
    pp = int(_p("gpt4.pipeline_parallel"))
    m, f = gpt4_microbatches(), gpt4_bubble()
    return pp, (
        "OpenAI published no layout: the 15 stages are the leak's figure, which the book adopts as "
        f"an input. A consequence, derived: 120 layers make {presets.get('gpt4-reported').n_layers // pp} "
        f"per stage; the reported 60M-token batch in 8k-token sequences over the {gpt4_replicas()} "
        f"replicas gives each replica {gpt4_sequences_per_replica():.1f} sequences, at most {m} "
        f"microbatches, and a 1F1B (or GPipe) bubble of (p − 1)/(m + p − 1) = {f:.1%} of every step: "
        "pipelining does not by itself raise performance, it buys memory at the price of idle time."
    )


# --- exercises -----------------------------------------------------------------------------------


def _microbatches_for_bubble(p: int = 15, below: float = 0.05) -> int:
    # The smallest m whose 1F1B bubble (fraction of the step) is under `below`.
    return next(m for m in count(p) if schedule.pipeline_bubble(p, m, "1f1b") < below)


exercises.register(
    "pipeline-parallel-1",
    _microbatches_for_bubble,
    rel_tol=0.0,
    unit="microbatches",
    hint="Solve (p − 1)/(m + p − 1) < 0.05 for m with p = 15: m + 14 > 14/0.05; m is a whole number.",
    kind="derive",
)


def _held_ratio_first_rank(p: int = 2, m: int = 8) -> float:
    # Activations the first rank holds at its peak under GPipe over under 1F1B, in microbatches.
    return schedule.in_flight_microbatches(p, m, "gpipe", stage=0) / schedule.in_flight_microbatches(
        p, m, "1f1b", stage=0
    )


exercises.register(
    "pipeline-parallel-2",
    _held_ratio_first_rank,
    rel_tol=0.0,
    unit="(GPipe over 1F1B)",
    hint="GPipe holds every microbatch before its first backward; 1F1B's first stage holds one per stage.",
    kind="predict",
)
exercises.register(
    "pipeline-parallel-3",
    lambda: gpt4_bubble("interleaved", chunks=4),
    rel_tol=0.01,
    unit="fraction of the step",
    hint="Interleaving v = 4 chunks divides the warm-up by v: (p − 1)/(v·m + p − 1) with p = 15 and "
    "m the microbatches per replica found on the page.",
)
