"""What every lab shares: starting and ending the process group, the device, writing results.

`start()` works under `torchrun` (which sets RANK, WORLD_SIZE, MASTER_ADDR...) and as a plain
process, where it makes a world of one. The process group always has a timeout (`--timeout`,
default 60 s): a rank that never joins a collective makes its peers fail with an error instead
of hanging forever.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

DEFAULT_TIMEOUT_S = 60.0


def parser(description: str) -> argparse.ArgumentParser:
    """The options every lab takes: --device, --timeout, --seed, --out."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="cpu (gloo) or cuda (NCCL)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="process-group timeout, seconds")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="write rank 0's results here as JSON")
    return p


@dataclass(frozen=True)
class World:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(device: str = "cpu", timeout_s: float = DEFAULT_TIMEOUT_S) -> World:
    """Initialise the default process group (gloo on CPU, NCCL on CUDA) with a timeout."""
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r} must be 'cpu' or 'cuda'")
    if not (isinstance(timeout_s, int | float) and timeout_s > 0):
        raise ValueError(f"timeout_s={timeout_s!r} must be a positive number of seconds")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no GPU is visible; run with --device cpu")
    if "RANK" not in os.environ:  # a plain process: a world of one
        os.environ.update(
            RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port())
        )
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        torch.cuda.set_device(local_rank)
        dev, backend = torch.device("cuda", local_rank), "nccl"
    else:
        dev, backend = torch.device("cpu"), "gloo"
        torch.set_num_threads(1)  # ranks share the machine's cores
    kwargs = {"device_id": dev} if backend == "nccl" else {}
    dist.init_process_group(
        backend, rank=rank, world_size=world_size, timeout=dt.timedelta(seconds=timeout_s), **kwargs
    )
    return World(rank, world_size, local_rank, dev, backend)


def finish() -> None:
    """Tear the process group down (every lab ends with it, also on error)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def write_result(world: World, path: Path | None, result: dict) -> None:
    """Rank 0 prints the result as one JSON line and, with --out, writes it to a file."""
    if not world.is_main:
        return
    result = {"world_size": world.world_size, "backend": world.backend, **result}
    text = json.dumps(result, indent=1, sort_keys=True)
    print("RESULT " + json.dumps(result, sort_keys=True))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")


def torchrun_command(lab: str, nproc: int, *args: str, max_restarts: int = 0) -> list[str]:
    """The command line that launches a lab as a user would, with this Python's torchrun."""
    if not (isinstance(nproc, int) and nproc >= 1):
        raise ValueError(f"nproc={nproc!r} must be a whole number of processes ≥ 1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    if max_restarts:
        cmd.append(f"--max-restarts={max_restarts}")
    return [*cmd, "-m", f"llmscale.parallelism.labs.{lab}", *args]


def parse_result(stdout: str) -> dict:
    """The JSON a lab printed on its RESULT line (the last one, if restarts printed several)."""
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise ValueError("the lab printed no RESULT line; see its output for the error")
    return json.loads(lines[-1][len("RESULT ") :])
