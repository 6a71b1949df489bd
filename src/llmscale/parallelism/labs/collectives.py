"""The five collectives of parallel training, timed over a range of sizes, to fit α and β.

    torchrun --standalone --nproc_per_node=2 -m llmscale.parallelism.labs.collectives

Times all-reduce, all-gather (`all_gather_single`, formerly `all_gather_into_tensor`),
reduce-scatter (`reduce_scatter_single`, formerly `reduce_scatter_tensor`), `all_to_all_single`
and point-to-point send/recv on gloo (or NCCL with --device cuda) for buffers of 4 KiB to 16 MiB
of float32, each size `--repeats` times after one warm-up call, and reports the median. Sizes
follow `parallelism.comms`: the full buffer (the all-reduced tensor, the gathered output, the
reduce-scatter's input, one rank's all-to-all send buffer, the message sent), rounded up to a
multiple of 4·world_size bytes so every rank's share is whole.

Before each call the ranks meet at a barrier; a call's time is the slowest rank's, from the
barrier to the end of the call (on GPU after `torch.cuda.synchronize`). Send/recv is a ping-pong
between ranks 2i and 2i+1 and reports half the round trip. Every call's output is compared with
the value a single process computes from every rank's input (inputs are small integers held
exactly in float32, so the comparison is exact). The bytes each rank sends per call are
`comms.bus_bytes`, and `comms.fit_alpha_beta` fits α and β to each collective's medians (with two
ranks or more). On this machine the ranks share two cores over loopback: the fitted β is a
property of the machine, not of a cluster, and a GPU run gives NCCL's.
"""

from __future__ import annotations

import re
import statistics
import time

import torch
import torch.distributed as dist

from llmscale.parallelism import comms
from llmscale.parallelism.labs import _common

KiB, MiB = 2**10, 2**20
SIZES = dict(sizes_bytes=[4 * KiB * 4**i for i in range(7)], repeats=5, warmup=1, dtype="float32")  # 4 KiB … 16 MiB
OPS = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "p2p")
PATTERN = 251  # inputs are (index mod 251) + 256·(a rank tag): integers below 2**24, exact in float32
_UNITS = {"": 1, "b": 1, "k": KiB, "kib": KiB, "m": MiB, "mib": MiB, "g": 2**30, "gib": 2**30}


def _api(name: str, old: str):
    """The function torch offers under its current name, else under the older one (and that name)."""
    return (getattr(dist, name), name) if hasattr(dist, name) else (getattr(dist, old), old)


def parse_size(text: str) -> int:
    """'4096', '4KiB', '16MiB', '1g' -> bytes (binary units)."""
    m = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"--sizes value {text!r} is not a size; write e.g. 4096, 64KiB or 16MiB")
    size = int(m.group(1)) * _UNITS[m.group(2).lower()]
    if size <= 0:
        raise ValueError(f"--sizes value {text!r} must be > 0 bytes")
    return size


def round_size(size: int, world_size: int) -> int:
    """`size` rounded up to whole float32 values that split evenly over the ranks."""
    step = 4 * world_size
    return -(-size // step) * step


def _pattern(numel: int, tag: int | torch.Tensor, device) -> torch.Tensor:
    return torch.arange(numel, device=device).remainder(PATTERN).float() + 256 * tag


_API = {
    "all_reduce": (dist.all_reduce, "all_reduce"),
    "all_gather": _api("all_gather_single", "all_gather_into_tensor"),
    "reduce_scatter": _api("reduce_scatter_single", "reduce_scatter_tensor"),
    "all_to_all": (dist.all_to_all_single, "all_to_all_single"),
    "p2p": (dist.send, "send/recv"),
}


def _inputs_and_expected(op: str, numel: int, rank: int, n: int, device):
    """(input, output buffer, expected output) for one rank, the expected one computed from all ranks' inputs."""
    if op == "all_reduce":
        x = _pattern(numel, rank, device)
        expected = sum(_pattern(numel, r, device) for r in range(n))
        return x, None, expected
    shard = numel // n
    if op == "all_gather":
        x = _pattern(shard, rank, device)
        expected = torch.cat([_pattern(shard, r, device) for r in range(n)])
        return x, torch.empty(numel, device=device), expected
    if op == "reduce_scatter":
        x = _pattern(numel, rank, device)
        expected = sum(_pattern(numel, r, device) for r in range(n))[rank * shard : (rank + 1) * shard]
        return x, torch.empty(shard, device=device), expected
    if op == "all_to_all":
        # Chunk j of rank r (bound for rank j) is tagged r·n + j; rank r receives chunk r of every rank.
        x = torch.cat([_pattern(shard, rank * n + j, device) for j in range(n)])
        expected = torch.cat([_pattern(shard, j * n + rank, device) for j in range(n)])
        return x, torch.empty(numel, device=device), expected
    # p2p: rank 2i sends its buffer to 2i+1, which sends back what it got.
    x = _pattern(numel, rank - rank % 2, device)
    return x, torch.empty(numel, device=device), x.clone()


def _call(op: str, x: torch.Tensor, out: torch.Tensor | None, world) -> torch.Tensor | None:
    """One collective; returns this rank's result (None for a rank with no p2p partner)."""
    if op == "all_reduce":
        dist.all_reduce(x, op=dist.ReduceOp.SUM)  # SUM: gloo's AVG is unreliable
        return x
    if op == "all_gather":
        _API["all_gather"][0](out, x)
        return out
    if op == "reduce_scatter":
        _API["reduce_scatter"][0](out, x, op=dist.ReduceOp.SUM)
        return out
    if op == "all_to_all":
        dist.all_to_all_single(out, x)
        return out
    rank, n = world.rank, world.world_size
    if rank % 2 == 0 and rank + 1 < n:
        dist.send(x, rank + 1)
        dist.recv(out, rank + 1)
        return out
    if rank % 2 == 1:
        dist.recv(out, rank - 1)
        dist.send(out, rank - 1)
        return out
    return None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_op(op: str, size: int, world, repeats: int, warmup: int) -> tuple[list[float], bool]:
    """Seconds of each timed call (the slowest rank's; p2p: half the round trip) and whether every
    output equalled the single-process reference."""
    n, dev = world.world_size, world.device
    x0, out, expected = _inputs_and_expected(op, size // 4, world.rank, n, dev)
    x = x0.clone()
    times, ok = [], True
    for i in range(warmup + repeats):
        if op == "all_reduce":
            x.copy_(x0)  # in place: every call starts from the same input
        _sync(dev)
        dist.barrier()
        start = time.perf_counter()
        got = _call(op, x, out, world)
        _sync(dev)
        elapsed = time.perf_counter() - start
        if got is not None:
            ok = ok and torch.equal(got, expected)
        if i >= warmup:
            times.append(elapsed / 2 if op == "p2p" else elapsed)
    slowest = torch.tensor(times, dtype=torch.float64, device=dev)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    flag = torch.tensor([0.0 if ok else 1.0], device=dev)
    dist.all_reduce(flag, op=dist.ReduceOp.SUM)
    return slowest.tolist(), flag.item() == 0


def measure(world, sizes: list[int], repeats: int, warmup: int, ops: tuple[str, ...]) -> dict:
    """Per collective: sizes, median times, bytes sent per rank, bus bandwidth, the check and the α–β fit."""
    n = world.world_size
    results = {}
    for op in ops:
        if op == "p2p" and n < 2:
            continue  # a world of one has no peer
        group = 2 if op == "p2p" else n
        medians, checked = [], True
        for size in sizes:
            times, ok = time_op(op, size, world, repeats, warmup)
            medians.append(statistics.median(times))
            checked = checked and ok
        if not checked:
            raise AssertionError(f"{op}: an output differs from the single-process reference")
        sent = [float(comms.bus_bytes(op, s, group)) for s in sizes]
        fit, fit_error = None, None
        if n >= 2:
            try:
                alpha, beta = comms.fit_alpha_beta(sizes, medians, kind=op, n=group)
                fit = dict(alpha_s=alpha, beta_bytes_per_s=beta)
            except ValueError as e:  # too few sizes, or noise that hides the growth with size
                fit_error = str(e)
        results[op] = dict(
            api=_API[op][1],
            n=group,
            sizes_bytes=sizes,
            times_s=medians,
            bus_bytes=sent,
            bus_bw_bytes_per_s=[b / t for b, t in zip(sent, medians, strict=True)],
            calls=len(sizes) * (warmup + repeats),
            steps_per_call=comms.ring_steps(op, group),
            checked=checked,
            fit=fit,
            fit_error=fit_error,
        )
    return results


def _report(results: dict) -> None:
    for op, r in results.items():
        fit = r["fit"]
        line = f"{op:>15} ({r['api']}): " + ", ".join(
            f"{s / KiB:g} KiB {t * 1e6:.0f} µs" for s, t in zip(r["sizes_bytes"], r["times_s"], strict=True)
        )
        if r["fit_error"]:
            line += f"; no fit: {r['fit_error']}"
        elif fit:
            line += f"; α = {fit['alpha_s'] * 1e6:.1f} µs, β = {fit['beta_bytes_per_s'] / 1e9:.2f} GB/s"
        print(line, flush=True)


def main(argv: list[str] | None = None) -> dict:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=parse_size, default=None, help="buffer sizes, e.g. 4KiB 1MiB 64MiB")
    p.add_argument("--repeats", type=int, default=SIZES["repeats"], help="timed calls per size (median)")
    p.add_argument("--ops", nargs="+", choices=OPS, default=list(OPS))
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error(f"--repeats={args.repeats} must be >= 1")
    world = _common.start(args.device, args.timeout)
    try:
        torch.manual_seed(args.seed)  # nothing is random; inputs are fixed patterns
        requested = args.sizes or SIZES["sizes_bytes"]
        sizes = sorted({round_size(s, world.world_size) for s in requested})
        results = measure(world, sizes, args.repeats, SIZES["warmup"], tuple(dict.fromkeys(args.ops)))
        if world.is_main:
            _report(results)
        result = dict(
            sizes=dict(SIZES, sizes_bytes=sizes, repeats=args.repeats),
            device=world.device.type,
            ops=results,
        )
        _common.write_result(world, args.out, result)
        return result
    finally:
        _common.finish()


if __name__ == "__main__":
    main()
