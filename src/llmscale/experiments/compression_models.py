"""The experiment `compression-models`: the two trained decoders the compression chapter shrinks.

One model per language, trained from scratch by `llmscale.train.train` with fixed seeds, warm-up
and cosine decay to a tenth of the peak learning rate (see `TRAINING`):

- "english": 6 layers, d = 192, 6 heads, SwiGLU d_ff = 512, on the English corpus (BPE 512);
  about 2.9 million parameters.
- "markov": 4 layers, d = 192, same blocks, on an order-2 Markov language over 32 tokens with
  Dirichlet(0.1) transitions (`MARKOV`), whose entropy rate (about 1.747 nats/token) is known
  exactly, so a compressed model's damage can be read as excess loss over the floor.

Budget: one CPU thread; the small size took about twelve minutes on the book's 2-core machine
(shared with other jobs). `python -m llmscale run compression-models` trains both, stores their
weights in the repository as float16 safetensors (`WEIGHTS_DIR`, about 9 MB in all) and records
their sha256 checksums, training curves and validation losses in
`results/compression-models.json`. The reference ("fp32") model of the chapter is the stored
16-bit weights upcast to float32: `load` returns exactly that, so every compressed model is
compared with the same weights a reader gets, not with the unrounded ones of the training run.

`load(language)` checks the file's checksum against the stored record and refuses a damaged or
missing file with an error naming the command above. `val_loss(model, language)` is the mean
next-token loss (nats/token) over a fixed set of validation windows (`VAL_WINDOWS` windows of
`SEQ_LEN` tokens, evenly spaced over the validation split, float32, deterministic);
`calibration_windows` draws windows from the training split only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from .. import data, measure, train
from ..config import ModelConfig
from ..model import build
from ..model.decoder import Decoder
from . import Experiment, ResultsError
from . import command as _command
from . import load as _load_record

NAME = "compression-models"
LANGUAGES = ("english", "markov")
MARKOV = {"vocab_size": 32, "order": 2, "concentration": 0.1, "n_tokens": 2_000_000, "seed": 0}
SEQ_LEN = 128
VAL_WINDOWS = 160
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
STORAGE_DTYPE = torch.float16
# per size and language: (n_layers, d_model, n_heads, d_ff), then training settings
ARCHITECTURE = {
    "tiny": {"english": (2, 32, 2, 64), "markov": (2, 32, 2, 64)},
    "small": {"english": (6, 192, 6, 512), "markov": (4, 192, 6, 512)},
}
TRAINING = {
    "tiny": {
        "english": {"steps": 20, "batch_size": 4, "lr": 3e-3},
        "markov": {"steps": 20, "batch_size": 4, "lr": 3e-3},
    },
    "small": {
        "english": {"steps": 500, "batch_size": 16, "lr": 3e-3},
        "markov": {"steps": 1500, "batch_size": 16, "lr": 3e-3},
    },
}
SEED = 0


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r} is not a compression model; choose one of {LANGUAGES}")


def corpus(language: str) -> data.Corpus:
    """The corpus a model learns: "english" (BPE 512) or "markov" (`MARKOV`)."""
    _check_language(language)
    return data.load_corpus("markov", **MARKOV) if language == "markov" else data.load_corpus("english")


def entropy_rate(language: str) -> float | None:
    """The language's entropy rate in nats/token (the loss floor); None for English (unknown)."""
    return corpus(language).entropy_rate


def model_config(language: str, size: str = "small") -> ModelConfig:
    """The configuration of the model of `language` at `size`."""
    _check_language(language)
    if size not in ARCHITECTURE:
        raise ValueError(f"size={size!r} is not one of {list(ARCHITECTURE)}")
    n_layers, d_model, n_heads, d_ff = ARCHITECTURE[size][language]
    vocab = MARKOV["vocab_size"] if language == "markov" else 512
    return ModelConfig(
        n_layers=n_layers, d_model=d_model, n_heads=n_heads, vocab_size=vocab, seq_len=SEQ_LEN, d_ff=d_ff
    )


def validation_windows(language: str, n_windows: int = VAL_WINDOWS, seq_len: int = SEQ_LEN) -> torch.Tensor:
    """The fixed validation windows, (n_windows, seq_len + 1) token ids evenly spaced over the
    validation split (inputs are [:, :-1], targets [:, 1:])."""
    val = corpus(language).val
    if len(val) < seq_len + 2:
        raise ValueError(f"seq_len={seq_len} is longer than the validation split ({len(val)} tokens)")
    starts = np.linspace(0, len(val) - seq_len - 1, n_windows).astype(np.int64)
    return torch.as_tensor(np.stack([val[s : s + seq_len + 1] for s in starts]).astype(np.int64))


@torch.no_grad()
def val_loss(model: torch.nn.Module, language: str, batch_size: int = 32) -> float:
    """Mean next-token loss (nats/token) of `model` over the fixed validation windows of `language`."""
    windows = validation_windows(language)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    try:
        for i in range(0, windows.shape[0], batch_size):
            w = windows[i : i + batch_size].to(device)
            logits = model(w[:, :-1])[0].float()
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), w[:, 1:].reshape(-1), reduction="sum"
            )
            total += float(loss.item())
            count += w[:, 1:].numel()
    finally:
        model.train(was_training)
    return total / count


def calibration_windows(language: str, n_windows: int = 32, seq_len: int = SEQ_LEN, seed: int = 0) -> torch.Tensor:
    """`n_windows` random windows of `seq_len` tokens from the TRAINING split, (n_windows, seq_len)."""
    from ..compression.calibration import windows

    return windows(corpus(language).train, n_windows, seq_len, seed)


def weights_path(language: str, directory: Path | None = None) -> Path:
    """Where the stored float16 weights of `language`'s model live."""
    _check_language(language)
    return (directory or WEIGHTS_DIR) / f"{NAME}-{language}.safetensors"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(language: str, device: str = "cpu") -> Decoder:
    """The trained model of `language` (eval mode, float32 upcast of the stored 16-bit weights),
    its file checked against the checksum in the stored record."""
    from safetensors.torch import load_file

    _check_language(language)
    rebuild = _command(NAME)
    record = _load_record(NAME)["data"][language]
    path = weights_path(language)
    if not path.exists():
        raise ResultsError(
            f"the weights of the {language} compression model are missing ({path}); create them with: {rebuild}"
        )
    if _sha256(path) != record["weights_sha256"]:
        raise ResultsError(
            f"the weights file {path} is damaged (its sha256 differs from the stored record); "
            f"regenerate it with: {rebuild}"
        )
    cfg = ModelConfig(**record["config"])
    model = build(cfg, seed=None)
    state = {k: v.to(torch.float32) for k, v in load_file(str(path)).items()}
    model.load_state_dict(state)
    return model.to(device).eval()


def train_model(language: str, size: str = "small", device: str = "cpu"):
    """Train the model of `language` at `size` from seed `SEED`; return (model, history)."""
    c = corpus(language)
    cfg = model_config(language, size)
    settings = TRAINING[size][language]
    with measure.torch_threads(1):
        hist = train.train(
            cfg,
            c.train,
            c.val,
            steps=settings["steps"],
            batch_size=settings["batch_size"],
            seq_len=SEQ_LEN,
            lr=settings["lr"],
            seed=SEED,
            device=device,
            progress=False,
            eval_every=max(1, settings["steps"] // 10),
            log_every=max(1, settings["steps"] // 50),
        )
    return hist.model.eval(), hist


def _run(size: str, device: str) -> dict:
    from safetensors.torch import save_file

    from ..counting import param_count

    directory = WEIGHTS_DIR if size == "small" else data.cache_dir() / f"{NAME}-{size}"
    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for language in LANGUAGES:
        model, hist = train_model(language, size, device)
        state = {k: v.detach().cpu().to(STORAGE_DTYPE).contiguous() for k, v in model.state_dict().items()}
        path = weights_path(language, directory)
        save_file(state, str(path))
        # the reference model: the stored 16-bit weights upcast to float32
        reference = build(model.cfg, seed=None)
        reference.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})
        with measure.torch_threads(1):
            loss = val_loss(reference.eval(), language)
            loss_fp32_trained = val_loss(model.cpu(), language)
        cfg = model.cfg
        out[language] = {
            "config": {
                "n_layers": cfg.n_layers,
                "d_model": cfg.d_model,
                "n_heads": cfg.n_heads,
                "vocab_size": cfg.vocab_size,
                "seq_len": cfg.seq_len,
                "d_ff": cfg.d_ff,
            },
            "description": corpus(language).description,
            "n_params": param_count(cfg),
            "training": {**TRAINING[size][language], "seed": SEED, "seq_len": SEQ_LEN, "min_lr_ratio": 0.1},
            "weights_file": path.name,
            "weights_bytes": path.stat().st_size,
            "weights_sha256": _sha256(path),
            "val_loss": loss,
            "val_loss_unrounded_weights": loss_fp32_trained,
            "entropy_rate": corpus(language).entropy_rate,
            "train_seconds": round(hist.train_seconds, 1),
            "curve": {
                "steps": hist.steps,
                "train_loss": [round(x, 4) for x in hist.train_loss],
                "eval_steps": hist.eval_steps,
                "val_loss": [round(x, 4) for x in hist.val_loss],
            },
            "threads": 1,
        }
    return out


EXPERIMENT = Experiment(
    name=NAME,
    version=1,
    sizes=tuple(ARCHITECTURE),
    default_size="small",
    description="the two trained decoders (English 6L d192, Markov 4L d192) the compression chapter shrinks",
    run=_run,
)
