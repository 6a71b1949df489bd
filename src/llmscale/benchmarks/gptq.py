"""How long GPTQ takes on the book's largest compression model (English, 6 layers, d = 192), on
this CPU, beside round-to-nearest, AWQ-style scaling and one forward pass over the same
calibration tokens, side by side in one process.

    .venv/bin/python -m llmscale.benchmarks.gptq [--threads 1] [--windows 128] [--bits 4] [--repeats 3]

GPTQ's work per layer is one Hessian (2·XᵀX/n over the calibration tokens: n·d_in² multiply-adds),
its Cholesky factor (d_in³/3) and the column-by-column update (d_out·d_in² for the whole layer);
run sequentially, as the paper does, it also re-runs the model up to each stage to collect the
inputs the already-quantized layers produce. Printed: the seconds of each method (best of
`--repeats`), their ratio to one forward pass of the calibration windows, and the layer
sizes, so the time can be scaled to a larger model with the formula. A benchmark, not a test:
timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import time

import torch

from .. import measure
from ..compression import calibration
from ..compression import quantize as Q
from ..experiments import compression_models as cm


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--windows", type=int, default=128, help="calibration windows of 128 tokens (default 128)")
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--language", default="english", choices=cm.LANGUAGES)
    args = p.parse_args(argv)
    model = cm.load(args.language)
    windows = cm.calibration_windows(args.language, args.windows)
    layers = calibration.linear_layers(model)
    with measure.torch_threads(args.threads), torch.no_grad():
        forward = _best(lambda: model(windows), args.repeats)
        runs = {
            "RTN": lambda: Q.quantize(model, "rtn", args.bits),
            "AWQ-style": lambda: Q.quantize(model, "awq", args.bits, calibration=windows),
            "GPTQ, sequential": lambda: Q.quantize(model, "gptq", args.bits, calibration=windows),
            "GPTQ, one pass": lambda: Q.quantize(model, "gptq", args.bits, calibration=windows, sequential=False),
        }
        seconds = {name: _best(fn, args.repeats) for name, fn in runs.items()}
    n_params = sum(layer.weight.numel() for layer in layers.values())
    print(f"torch {torch.__version__}, {args.threads} thread(s); {args.language} model: {len(layers)} linear layers, "
          f"{n_params / 1e6:.2f} M weights; {args.windows} × {cm.SEQ_LEN} calibration tokens; "
          f"{args.bits} bits")  # fmt: skip
    print(f"   one forward pass over the calibration windows: {forward:.2f} s")
    print(f"   {'method':18s} {'seconds':>8s} {'/ forward':>10s} {'/ RTN':>8s}")
    for name, s in seconds.items():
        print(f"   {name:18s} {s:8.2f} {s / forward:10.1f} {s / seconds['RTN']:8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
