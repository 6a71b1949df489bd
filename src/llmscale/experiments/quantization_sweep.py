"""The experiment `quantization-sweep`: round-to-nearest, GPTQ and AWQ-style scaling on the two
compression models (`compression-models`) at 8, 4, 3 and 2 bits, per output channel and per group
of 64 input columns; the loss each costs and the bytes each stores.

For each language ("english", "markov"), on the stored model (`compression_models.load`):

- `main`: RTN per tensor, per channel and per group at every width; GPTQ and AWQ per channel and
  per group at every width, on calibration seeds `SEEDS` (one seed at 8 bits, where every
  method is within a few 1e-4 nats of the float model); LLM.int8()'s outlier decomposition;
- `act_order`: GPTQ at 3 bits per channel with its columns in order of decreasing Hessian
  diagonal (`--act-order` of the reference code), on every seed;
- `outliers`: the same model with outlier features planted without changing its function
  (`compression.outliers.with_outlier_features`: `OUTLIER_CHANNELS` channels `OUTLIER_SCALE`×
  larger at the input of every block matrix that reads the residual stream), quantized by each
  method per channel at 4 and 3 bits (calibration seed 0), and at 8 bits by RTN and LLM.int8().

Every row: the validation loss (`compression_models.val_loss`, nats/token on the fixed validation
windows) and the model's bytes as stored (`quantize.model_bytes`: packed codes, float16 scales and
zeros, the float32 embedding and head). GPTQ runs sequentially (each layer calibrated on the
outputs of the layers before it, already quantized), dampening 1% of the mean Hessian diagonal,
lazy blocks of 128 columns. Calibration: `CALIBRATION_WINDOWS` (64) windows of 128 tokens of the
training split, drawn with the row's seed.

Budget (size "small"): about 130 quantizations, the GPTQ ones 10 to 30 s each on one thread; two
worker processes of one torch thread each, each task's result cached
(`data.cache_dir()/quantization-sweep`) so an interrupted run resumes; about 25 minutes on the
book's 2-core machine shared with other jobs. Size "tiny" quantizes freshly trained tiny models in
seconds for the tests. GPU: the sizes are those of a CPU; `--device` is accepted and ignored.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp

import torch

from .. import data, measure
from ..compression import outliers as O
from ..compression import quantize as Q
from . import Experiment
from . import compression_models as cm

NAME = "quantization-sweep"
VERSION = 1
BITS = (8, 4, 3, 2)
GROUP_SIZE = 64  # divides both models' in_features (192 and 512)
GRANULARITIES = ("tensor", "channel", "group")
SEEDS = (0, 1, 2)
CALIBRATION_WINDOWS = 64
OUTLIER_CHANNELS = 4
OUTLIER_SCALE = 20.0
_SIZES = {
    "tiny": {"bits": (4, 2), "seeds": (0,), "windows": 4, "workers": 1, "group_size": 16},
    "small": {"bits": BITS, "seeds": SEEDS, "windows": CALIBRATION_WINDOWS, "workers": 2, "group_size": GROUP_SIZE},
}


def model(language: str, size: str, variant: str = "trained") -> torch.nn.Module:
    """The model a size quantizes: the stored compression model ("small") or a freshly trained tiny
    one; variant "outliers" plants outlier features in it (the function unchanged)."""
    base = cm.load(language) if size == "small" else cm.train_model(language, "tiny")[0]
    if variant == "trained":
        return base
    if variant == "outliers":
        return O.with_outlier_features(base, OUTLIER_CHANNELS, OUTLIER_SCALE)
    raise ValueError(f"variant={variant!r} is not 'trained' or 'outliers'")


def point(
    dense: torch.nn.Module,
    language: str,
    method: str,
    bits: int,
    granularity: str = "channel",
    seed: int = 0,
    n_windows: int = CALIBRATION_WINDOWS,
    act_order: bool = False,
    group_size: int = GROUP_SIZE,
) -> dict:
    """Quantize `dense` once and measure it: validation loss (nats/token) and bytes stored.
    granularity "tensor", "channel" or "group" (of `group_size` input columns)."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity={granularity!r} is not one of {GRANULARITIES}")
    groups = {"tensor": "tensor", "channel": None, "group": group_size}[granularity]
    needs = method in ("gptq", "awq")
    windows = cm.calibration_windows(language, n_windows, seed=seed) if needs else None
    kwargs = {"act_order": True} if act_order else {}
    with measure.torch_threads(1):
        q = Q.quantize(dense, method, bits, groups, calibration=windows, **kwargs)
        loss = cm.val_loss(q, language)
    return {"loss": loss, "bytes": Q.model_bytes(q)}


def _jobs(size: str) -> list[dict]:
    s = _SIZES[size]
    jobs = []
    for language in cm.LANGUAGES:

        def add(
            table, method, bits, granularity="channel", seed=0, act_order=False, variant="trained", language=language
        ):
            jobs.append(
                {
                    "size": size,
                    "language": language,
                    "table": table,
                    "variant": variant,
                    "method": method,
                    "bits": bits,
                    "granularity": granularity,
                    "seed": seed,
                    "act_order": act_order,
                    "windows": s["windows"],
                    "group_size": s["group_size"],
                }
            )

        for bits in s["bits"]:
            for granularity in GRANULARITIES:
                add("main", "rtn", bits, granularity)
            for method in ("gptq", "awq"):
                for granularity in ("channel", "group"):
                    for seed in s["seeds"][:1] if bits == 8 else s["seeds"]:
                        add("main", method, bits, granularity, seed)
        add("main", "int8-outlier", 8)
        low = min(b for b in s["bits"] if b >= 3) if any(b >= 3 for b in s["bits"]) else s["bits"][0]
        for seed in s["seeds"]:
            add("act_order", "gptq", low, "channel", seed, act_order=True)
        for bits in [b for b in s["bits"] if b in (4, 3)] or list(s["bits"][:1]):
            for method in ("rtn", "gptq", "awq"):
                add("outliers", method, bits, variant="outliers")
        add("outliers", "rtn", 8, variant="outliers")
        add("outliers", "int8-outlier", 8, variant="outliers")
    return jobs


def _key(job: dict) -> str:
    src = json.dumps([NAME, VERSION, job, cm.model_config(job["language"], job["size"]).__repr__()], sort_keys=True)
    return hashlib.sha256(src.encode()).hexdigest()[:16]


_MODELS: dict = {}


def _task(job: dict) -> tuple[dict, dict]:
    """One quantization, or its result from the cache: an interrupted run resumes where it stopped."""
    path = data.cache_dir() / NAME / f"{_key(job)}.json"
    if path.exists():
        try:
            return job, json.loads(path.read_text())
        except ValueError:  # a damaged cache entry is recomputed
            pass
    mkey = (job["language"], job["size"], job["variant"])
    if mkey not in _MODELS:
        _MODELS[mkey] = model(*mkey)
    row = point(
        _MODELS[mkey],
        job["language"],
        job["method"],
        job["bits"],
        job["granularity"],
        job["seed"],
        job["windows"],
        job["act_order"],
        job["group_size"],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(row))
    tmp.replace(path)
    return job, row


def _run(size: str, device: str) -> dict:
    if size not in _SIZES:
        raise ValueError(f"size={size!r} is not one of {list(_SIZES)}")
    s = _SIZES[size]
    jobs = _jobs(size)
    if s["workers"] > 1:
        with mp.get_context("spawn").Pool(s["workers"]) as pool:
            results = list(pool.imap(_task, jobs))
    else:
        results = [_task(j) for j in jobs]
    out = {
        "bits": list(s["bits"]),
        "seeds": list(s["seeds"]),
        "group_size": s["group_size"],
        "calibration_windows": s["windows"],
        "seq_len": cm.SEQ_LEN,
        "outlier_channels": OUTLIER_CHANNELS,
        "outlier_scale": OUTLIER_SCALE,
        "threads": 1,
        "languages": {},
    }
    for language in cm.LANGUAGES:
        entry = {}
        for variant in ("trained", "outliers"):
            dense = model(language, size, variant)
            with measure.torch_threads(1):
                entry[f"dense_loss_{variant}" if variant != "trained" else "dense_loss"] = cm.val_loss(dense, language)
        entry["dense_bytes"] = Q.model_bytes(dense)
        entry["n_params"] = sum(p.numel() for p in dense.parameters())
        entry["quantized_params"] = sum(m.weight.numel() for m in Q.linear_layers(dense).values())
        entry["entropy_rate"] = cm.entropy_rate(language)
        for table in ("main", "act_order", "outliers"):
            entry[table] = [
                {k: job[k] for k in ("method", "bits", "granularity", "seed", "act_order")} | row
                for job, row in results
                if job["language"] == language and job["table"] == table
            ]
        out["languages"][language] = entry
    return out


EXPERIMENT = Experiment(
    name=NAME,
    version=VERSION,
    sizes=tuple(_SIZES),
    default_size="small",
    description="RTN, GPTQ and AWQ on the compression models at 8/4/3/2 bits, per channel and per group",
    run=_run,
)
