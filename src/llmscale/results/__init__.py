"""Results of longer experiments, stored as JSON files beside this module.

Each file records the command and package version that produced it and a checksum of its
data. `python -m llmscale run NAME` (with `--device` and `--size`) regenerates one; `load`
refuses a missing, damaged or stale file with an error naming the command that rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

RESULTS_DIR = Path(__file__).resolve().parent
SCHEMA = 1


class ResultsError(RuntimeError):
    """A stored result is missing, damaged or stale; the message names the command to rebuild it."""


@dataclass(frozen=True)
class Experiment:
    """A named experiment: `run(size, device) -> dict` of JSON-able data, at a code `version`.

    Bump `version` whenever the experiment's code or settings change: files made by an older
    version are then reported stale.
    """

    name: str
    version: int
    sizes: tuple[str, ...]
    default_size: str
    description: str
    run: Callable[[str, str], dict[str, Any]]


EXPERIMENTS: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    if experiment.name in EXPERIMENTS:
        raise ValueError(f"experiment {experiment.name!r} is registered twice")
    EXPERIMENTS[experiment.name] = experiment
    return experiment


def _experiments() -> dict[str, Experiment]:
    from .. import experiments  # noqa: F401  (registers them)
    return EXPERIMENTS


def get_experiment(name: str) -> Experiment:
    exps = _experiments()
    if name not in exps:
        raise ValueError(f"unknown experiment {name!r}; choose one of {sorted(exps)}")
    return exps[name]


def command(name: str, size: str | None = None, device: str | None = None) -> str:
    """The shell command that regenerates a result."""
    cmd = f"python -m llmscale run {name}"
    if size:
        cmd += f" --size {size}"
    if device and device != "cpu":
        cmd += f" --device {device}"
    return cmd


def path(name: str, size: str | None = None, directory: Path | None = None) -> Path:
    """Where the result of `name` at `size` is stored (the default size drops the suffix)."""
    exp = get_experiment(name)
    size = exp.default_size if size is None else size
    stem = name if size == exp.default_size else f"{name}.{size}"
    return (directory or RESULTS_DIR) / f"{stem}.json"


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def run(name: str, size: str | None = None, device: str = "cpu", directory: Path | None = None) -> Path:
    """Run experiment `name` at `size` on `device` and store its result; return the file's path."""
    import torch

    from .. import __version__
    exp = get_experiment(name)
    size = exp.default_size if size is None else size
    if size not in exp.sizes:
        raise ValueError(f"size={size!r} is not a size of {name}; choose one of {list(exp.sizes)}")
    start = time.perf_counter()
    data = exp.run(size, device)
    record = {
        "schema": SCHEMA,
        "name": name,
        "experiment_version": exp.version,
        "size": size,
        "command": command(name, size if size != exp.default_size else None, device),
        "package_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": device,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "sha256": _digest(data),
        "data": data,
    }
    out = path(name, size, directory)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    tmp.replace(out)
    return out


def load(name: str, size: str | None = None, directory: Path | None = None) -> dict[str, Any]:
    """The stored record of `name` (its `data` holds the results); raise ResultsError if unusable."""
    exp = get_experiment(name)
    size = exp.default_size if size is None else size
    file = path(name, size, directory)
    rebuild = command(name, size if size != exp.default_size else None)
    if not file.exists():
        raise ResultsError(f"no stored result for {name!r} (size {size}) at {file}; "
                           f"create it with: {rebuild}")
    try:
        record = json.loads(file.read_text())
        data = record["data"]
        digest = record["sha256"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ResultsError(f"the stored result {file} is damaged ({err}); rebuild it with: {rebuild}") from None
    if _digest(data) != digest:
        raise ResultsError(f"the stored result {file} is damaged (its data no longer match its "
                           f"checksum); rebuild it with: {rebuild}")
    if record.get("schema") != SCHEMA or record.get("experiment_version") != exp.version:
        raise ResultsError(f"the stored result {file} is stale (made by version "
                           f"{record.get('experiment_version')} of {name!r}, the code is at version "
                           f"{exp.version}); rebuild it with: {rebuild}")
    return record
