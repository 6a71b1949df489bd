"""Speed of the mixture-of-experts dispatch: grouped (sorted, batched) against the naive loop.

`python -m llmscale.benchmarks.moe_dispatch [--experts 8 16 64] [--tokens 2048] [--steps 20] [--device cpu]`
times forward + backward of one `MoELayer` per dispatch ("loop": a boolean mask per expert;
"sorted": one stable sort, then each expert on a contiguous slice; "batched": a padded
(E, C, d) buffer and batched matrix products) on the same random tokens, and prints the
median step time and the speed-up over the loop. A benchmark, not a test: timings depend on
the machine and on what else it runs. The stored result is the experiment `moe-dispatch-bench`.
"""

from __future__ import annotations

import argparse
import functools
import statistics

import torch

from .. import measure
from ..config import ModelConfig
from ..model import moe


def layer_config(
    n_experts: int, d_model: int = 128, d_ff: int = 256, top_k: int = 2, capacity_factor: float | None = None
) -> ModelConfig:
    """The MoE layer that is timed (attention fields are placeholders: only the layer is built)."""
    return ModelConfig(
        n_layers=1,
        d_model=d_model,
        n_heads=4,
        vocab_size=2,
        seq_len=1,
        d_ff=d_ff,
        n_experts=n_experts,
        top_k=top_k,
        capacity_factor=capacity_factor,
    )


def benchmark_dispatch(
    n_experts: int,
    n_tokens: int = 2048,
    d_model: int = 128,
    d_ff: int = 256,
    top_k: int = 2,
    capacity_factor: float | None = None,
    steps: int = 20,
    warmup: int = 3,
    device: str = "cpu",
    dispatches: tuple[str, ...] = moe.DISPATCHES,
) -> dict:
    """Median seconds of forward + backward of one MoE layer per dispatch, and speed-ups over "loop".

    The layers share weights and inputs; their outputs are checked equal before timing. Steps
    of the dispatches alternate, so drift in the machine's load falls on all alike.
    """
    if "loop" not in dispatches:
        raise ValueError(f"dispatches={dispatches!r} must include 'loop', the baseline of the ratios")
    dev = torch.device(device)
    cfg = layer_config(n_experts, d_model, d_ff, top_k, capacity_factor)
    torch.manual_seed(0)
    reference = moe.MoELayer(cfg)
    layers = {}
    for name in dispatches:
        layer = moe.MoELayer(cfg, dispatch=name)
        layer.load_state_dict(reference.state_dict())
        layers[name] = layer.to(dev)
    x = torch.randn(n_tokens, d_model, generator=torch.Generator().manual_seed(1)).to(dev)
    with torch.no_grad():
        outs = {name: layer(x) for name, layer in layers.items()}
    for out in outs.values():
        torch.testing.assert_close(out, outs["loop"], rtol=1e-4, atol=1e-5)

    def step(layer):
        layer.zero_grad(set_to_none=True)
        xi = x.detach().requires_grad_(True)
        y = layer(xi)
        (y.square().mean() + layer.stats.balance_loss).backward()

    times: dict[str, list[float]] = {name: [] for name in dispatches}
    for i in range(warmup + steps):
        for name, layer in layers.items():
            seconds = measure.timed(functools.partial(step, layer), dev)[1]
            if i >= warmup:
                times[name].append(seconds)
    median = {name: statistics.median(ts) for name, ts in times.items()}
    return {
        "n_experts": n_experts,
        "n_tokens": n_tokens,
        "d_model": d_model,
        "d_ff": d_ff,
        "top_k": top_k,
        "capacity_factor": capacity_factor,
        "steps": steps,
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "median_s": median,
        "speedup_over_loop": {name: median["loop"] / median[name] for name in dispatches},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experts", type=int, nargs="+", default=[8, 16, 64])
    parser.add_argument("--tokens", type=int, default=2048)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--d-ff", type=int, default=256)
    parser.add_argument("--top-k", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    print(
        f"one MoE layer, forward + backward: {args.tokens} tokens, d={args.d_model}, "
        f"d_ff={args.d_ff} per expert, top-{args.top_k}, device={args.device}, "
        f"threads={torch.get_num_threads()}"
    )
    print(
        f"{'E':>4} "
        + " ".join(f"{name + ' ms':>11}" for name in moe.DISPATCHES)
        + " "
        + " ".join(f"{'loop/' + name:>13}" for name in moe.DISPATCHES if name != "loop")
    )
    for n_experts in args.experts:
        r = benchmark_dispatch(
            n_experts, args.tokens, args.d_model, args.d_ff, args.top_k, steps=args.steps, device=args.device
        )
        print(
            f"{n_experts:>4} "
            + " ".join(f"{1e3 * r['median_s'][n]:>11.2f}" for n in moe.DISPATCHES)
            + " "
            + " ".join(f"{r['speedup_over_loop'][n]:>13.2f}" for n in moe.DISPATCHES if n != "loop")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
