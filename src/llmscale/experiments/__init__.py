"""Experiments whose results the book stores, and the store: `run`, `load`, `path`, `command`.

One module per experiment, its file name the experiment's name (`isoflop_sweep.py` holds
`isoflop-sweep`), defining `EXPERIMENT = Experiment(...)`. Each run takes a size ("tiny" for
tests, "small" for the CPU machine, "large" for a GPU) and a device, fixes its seeds and
returns JSON-able data; `run` stores it in `llmscale/results/NAME.json` with the command and
package version that produced it and a checksum of its data. `load` refuses a missing,
damaged or stale file with an error naming the command that rebuilds it. Looking up one
experiment imports only its module.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from .._registry import submodule_names

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
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


# Experiments added at run time (a test's fixture); the book's own are found by module name.
_ADDED: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add an experiment that has no module here (tests use this); names stay unique."""
    if experiment.name in _ADDED or experiment.name in _module_names():
        raise ValueError(f"experiment {experiment.name!r} is registered twice; choose a unique name")
    _ADDED[experiment.name] = experiment
    return experiment


def unregister(name: str) -> None:
    """Remove an experiment added with `register` (tests use this)."""
    _ADDED.pop(name, None)


def _module_names() -> dict[str, str]:
    """Experiment name -> module name, for every experiment module of this package."""
    return {m.replace("_", "-"): m for m in submodule_names(__name__)}


def names() -> list[str]:
    """Every experiment's name."""
    return sorted({*_module_names(), *_ADDED})


def get_experiment(name: str) -> Experiment:
    """The experiment called `name`, importing only its module."""
    if name in _ADDED:
        return _ADDED[name]
    module_name = _module_names().get(name) if isinstance(name, str) else None
    if module_name is None:
        raise ValueError(f"unknown experiment {name!r}; choose one of {names()}")
    experiment = importlib.import_module(f"{__name__}.{module_name}").EXPERIMENT
    if experiment.name != name:
        raise RuntimeError(
            f"{module_name}.py defines experiment {experiment.name!r}; its file name says {name!r}: rename one of them"
        )
    return experiment


def all_experiments() -> dict[str, Experiment]:
    """Every experiment by name (imports every experiment module)."""
    return {name: get_experiment(name) for name in names()}


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
        "created": datetime.now(UTC).strftime("%Y-%m-%d"),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "sha256": _digest(data),
        "data": data,
    }
    out = path(name, size, directory)
    return atomic_write_text(out, json.dumps(record, indent=1, sort_keys=True) + "\n")


def load(name: str, size: str | None = None, directory: Path | None = None) -> dict[str, Any]:
    """The stored record of `name` (its `data` holds the results); raise ResultsError if unusable."""
    exp = get_experiment(name)
    size = exp.default_size if size is None else size
    file = path(name, size, directory)
    rebuild = command(name, size if size != exp.default_size else None)
    if not file.exists():
        raise ResultsError(f"no stored result for {name!r} (size {size}) at {file}; create it with: {rebuild}")
    try:
        record = json.loads(file.read_text())
        data = record["data"]
        digest = record["sha256"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ResultsError(f"the stored result {file} is damaged ({err}); rebuild it with: {rebuild}") from None
    if _digest(data) != digest:
        raise ResultsError(
            f"the stored result {file} is damaged (its data no longer match its checksum); rebuild it with: {rebuild}"
        )
    if record.get("schema") != SCHEMA or record.get("experiment_version") != exp.version:
        raise ResultsError(
            f"the stored result {file} is stale (made by version "
            f"{record.get('experiment_version')} of {name!r}, the code is at version "
            f"{exp.version}); rebuild it with: {rebuild}"
        )
    return record
