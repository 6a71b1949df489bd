"""The experiment `moe-dispatch-bench`: grouped mixture-of-experts dispatch against the naive loop."""

from __future__ import annotations

import os

from ..benchmarks import moe_dispatch
from . import Experiment

_SIZES = {
    # size: [(label, n_tokens, d_model, d_ff per expert)], timed steps
    "tiny": ([("small experts", 256, 32, 32)], 3),
    "small": ([("small experts", 1024, 64, 64), ("wider experts", 2048, 128, 256)], 40),
    "large": ([("small experts", 8192, 512, 512), ("wider experts", 16384, 1024, 2816)], 40),
}
EXPERTS = (8, 16, 64)


def _load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _dispatch_bench(size: str, device: str) -> dict:
    """Median forward + backward time of one MoE layer (top-2) per dispatch at 8, 16 and 64 experts.

    The small layer is the one the balance page trains; the wider one (d_ff = 2d, twice the
    tokens) spends more of its time in matrix products.
    """
    shapes, steps = _SIZES[size]
    # The machine's 1-minute load average: on a shared CPU it moves timings (and ratios) a lot.
    load = [_load_average()]
    layers = []
    for label, n_tokens, d_model, d_ff in shapes:
        rows = []
        for n_experts in EXPERTS:
            r = moe_dispatch.benchmark_dispatch(n_experts, n_tokens, d_model, d_ff, top_k=2, steps=steps, device=device)
            rows.append(
                {
                    "n_experts": n_experts,
                    "median_ms": {k: round(1e3 * v, 3) for k, v in r["median_s"].items()},
                    "speedup_over_loop": {k: round(v, 3) for k, v in r["speedup_over_loop"].items()},
                }
            )
        layers.append({"label": label, "n_tokens": n_tokens, "d_model": d_model, "d_ff": d_ff, "rows": rows})
        load.append(_load_average())
    return {
        "top_k": 2,
        "steps": steps,
        "threads": r["threads"],
        "cpu_count": os.cpu_count(),
        "layers": layers,
        "load_average": load,
    }


EXPERIMENT = Experiment(
    "moe-dispatch-bench",
    version=1,
    sizes=tuple(_SIZES),
    default_size="small",
    description="MoE layer dispatch: sorted and batched against a loop over experts.",
    run=_dispatch_bench,
)
