"""Speculative decoding's measured speed-up against the formula with the measured costs.

`python -m llmscale.benchmarks.speculative [--languages markov english] [--gammas 1 2 3 4 6]
[--repeats 5] [--device cpu]` loads (or trains, about a minute each) the draft and target of
the experiment `speculative-decoding` (seed 0), times in one process a target step, a draft
step and the target's pass over γ + 1 tokens (`speculative.measure_costs`), then plain decoding
with the target (`inference.generate`) and speculative decoding at each γ, interleaved, best of
`repeats`, temperature 1. It prints the measured speed-up, the formula's with the measured c and
a free verify pass (Leviathan et al.'s assumption), the formula's with the measured verify cost
too, and the measured over the second. A benchmark, not a test: timings depend on the machine
and on what else it runs.
"""

from __future__ import annotations

import argparse

from .. import measure
from ..experiments import speculative_decoding as exp
from ..inference import speculative as spec


def benchmark(language: str, gammas=(1, 2, 3, 4, 6), repeats: int = 5, device: str = "cpu") -> list[dict]:
    """One row per γ: measured and predicted speed-ups and the measured costs behind them."""
    target, draft, _ = exp.trained_pair(language, "small", 0, device)
    rows = []
    with measure.torch_threads(1 if device == "cpu" else None):
        context = exp.prompts(language, "small", device)[0]
        costs = spec.measure_costs(
            target, draft, context, tuple(gammas), repeats=50, statistic="min", temperature=exp.TEMPERATURE
        )
        for g in gammas:
            timed = exp.timed_speedup(target, draft, language, "small", g, seed=0, repeats=repeats, device=device)
            free_verify = spec.speedup(timed["alpha"], g, costs.c)
            with_verify = spec.speedup(timed["alpha"], g, costs.c, costs.verify(g))
            rows.append(
                {
                    "language": language,
                    "gamma": g,
                    "alpha": timed["alpha"],
                    "c": costs.c,
                    "verify": costs.verify(g),
                    "measured": timed["speedup"],
                    "formula_free_verify": free_verify,
                    "formula": with_verify,
                    "ratio": timed["speedup"] / with_verify,
                }
            )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--languages", nargs="+", default=list(exp.LANGUAGES), choices=exp.LANGUAGES)
    parser.add_argument("--gammas", nargs="+", type=int, default=[1, 2, 3, 4, 6])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    print(
        f"{'language':8s} {'γ':>2s} {'α':>5s} {'c':>5s} {'verify':>6s} {'measured':>8s} "
        f"{'formula,free verify':>19s} {'formula':>7s} {'measured/formula':>16s}"
    )
    ratios = []
    for language in args.languages:
        for r in benchmark(language, tuple(args.gammas), args.repeats, args.device):
            ratios.append(r["ratio"])
            print(
                f"{r['language']:8s} {r['gamma']:2d} {r['alpha']:5.2f} {r['c']:5.2f} {r['verify']:6.2f} "
                f"{r['measured']:7.2f}× {r['formula_free_verify']:18.2f}× {r['formula']:6.2f}× {r['ratio']:16.2f}"
            )
    within = sum(abs(x - 1) <= 0.10 for x in ratios)
    print(f"measured within 10% of the formula with measured c and verify cost: {within} of {len(ratios)} points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
