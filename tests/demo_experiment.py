"""The experiment `train-demo`, a fixture of the tests of the results store (not one of the book's)."""

from __future__ import annotations

from llmscale import data, train
from llmscale.config import ModelConfig
from llmscale.experiments import Experiment

_DEMO_SIZES = {
    # size: (n_layers, d_model, n_heads, steps, batch_size, seq_len)
    "tiny": (2, 64, 4, 60, 16, 64),
    "small": (4, 128, 4, 400, 32, 128),
    "large": (8, 512, 8, 2000, 64, 256),
}


def _train_demo(size: str, device: str) -> dict:
    """A small decoder learns the synthetic Markov language; its loss approaches the entropy rate."""
    L, d, h, steps, batch, seq = _DEMO_SIZES[size]
    corpus = data.load_corpus("markov")
    cfg = ModelConfig(n_layers=L, d_model=d, n_heads=h, vocab_size=corpus.vocab_size, seq_len=seq)
    hist = train.train(
        cfg,
        corpus.train,
        corpus.val,
        steps=steps,
        batch_size=batch,
        lr=3e-3,
        eval_every=max(1, steps // 10),
        seed=0,
        device=device,
        progress=True,
        log_every=max(1, steps // 50),
    )
    return {
        "config": {"n_layers": L, "d_model": d, "n_heads": h, "vocab_size": corpus.vocab_size, "seq_len": seq},
        "steps": steps,
        "batch_size": batch,
        "tokens": hist.tokens,
        "n_params": hist.n_params,
        "entropy_rate": corpus.entropy_rate,
        "train_steps": hist.steps,
        "train_loss": [round(x, 5) for x in hist.train_loss],
        "eval_steps": hist.eval_steps,
        "val_loss": [round(x, 5) for x in hist.val_loss],
        "tokens_per_s": round(hist.tokens_per_s, 1),
    }


DEMO = Experiment(
    "train-demo",
    version=1,
    sizes=tuple(_DEMO_SIZES),
    default_size="small",
    description="A small decoder trained on the synthetic Markov language.",
    run=_train_demo,
)
