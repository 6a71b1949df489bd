"""Corpora the book trains on, tokenised, split and cached: ``load_corpus("english" | "markov")``.

Nothing downloads: the English text ships with the package (`llmscale.data.text`: a fixed
snapshot of Python 3.11.7's Language Reference topics, whatever Python runs) and the
Markov language is generated (`llmscale.data.markov`). The trained tokenizer and the encoded
English text are cached on disk (``$LLMSCALE_CACHE`` or ``~/.cache/llmscale``).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._io import atomic_write_bytes
from .batches import train_val_split
from .bpe import _SPLIT_PATTERN, _TOKENIZER_FORMAT, BPETokenizer
from .markov import MarkovLanguage
from .text import english_text, english_text_info

CORPUS_NAMES = ("english", "markov")


@dataclass(frozen=True, eq=False)
class Corpus:
    """A tokenised corpus with a contiguous train/validation split."""

    name: str
    train: np.ndarray
    val: np.ndarray
    vocab_size: int
    tokenizer: BPETokenizer | None
    entropy_rate: float | None  # nats/token: the irreducible loss, known only for "markov"
    description: str
    language: MarkovLanguage | None = None

    @property
    def n_tokens(self) -> int:
        """Total tokens, train plus validation."""
        return len(self.train) + len(self.val)


def cache_dir() -> Path:
    """Where trained tokenizers and encoded text are cached: ``$LLMSCALE_CACHE`` or ``~/.cache/llmscale``."""
    env = os.environ.get("LLMSCALE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "llmscale"


def _english_tokens(vocab_size: int) -> tuple[BPETokenizer, np.ndarray, str]:
    """Trained tokenizer and encoded English text, from the cache when possible."""
    info = english_text_info()
    key_src = f"{info['sha256']}:{vocab_size}:{_TOKENIZER_FORMAT}:{_SPLIT_PATTERN}"
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    root = cache_dir()
    tok_path = root / f"english-bpe{vocab_size}-{key}.json"
    ids_path = root / f"english-bpe{vocab_size}-{key}.npy"
    if tok_path.exists() and ids_path.exists():
        try:
            tokenizer = BPETokenizer.load(tok_path)
            tokens = np.load(ids_path).astype(np.int64)
            return tokenizer, tokens, key
        except (ValueError, OSError, KeyError):
            pass  # a corrupt or foreign cache entry: rebuild it below
    text = english_text()
    tokenizer = BPETokenizer.train(text, vocab_size)
    tokens = np.asarray(tokenizer.encode(text), dtype=np.int64)
    # Cache as small ints; vocabularies here stay far below 2**31.
    buffer = io.BytesIO()
    np.save(buffer, tokens.astype(np.int32))
    atomic_write_bytes(ids_path, buffer.getvalue())
    tokenizer.save(tok_path)
    return tokenizer, tokens, key


def load_corpus(
    name: str,
    *,
    vocab_size: int | None = None,
    order: int = 2,
    concentration: float = 0.05,
    n_tokens: int = 2_000_000,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> Corpus:
    """Load ``"english"`` (BPE, default vocab 512) or ``"markov"`` (default vocab 64, order 2).

    For ``"english"`` only ``vocab_size`` and ``val_fraction`` matter (the text
    and BPE are deterministic).  For ``"markov"``, ``seed`` draws the language
    and ``seed + 1`` draws the sample, so the two use unrelated random streams.
    """
    if name not in CORPUS_NAMES:
        raise ValueError(f"unknown corpus name={name!r}; choose one of {', '.join(map(repr, CORPUS_NAMES))}")
    if name == "english":
        vocab_size = 512 if vocab_size is None else vocab_size
        tokenizer, tokens, key = _english_tokens(vocab_size)
        train, val = train_val_split(tokens, val_fraction)
        info = english_text_info()
        description = (
            f"English: Python {info['python_version']} Language Reference topics "
            f"({info['n_chars']:,} chars, sha256 {info['sha256'][:12]}), byte-level BPE with "
            f"{tokenizer.vocab_size} tokens -> {len(tokens):,} tokens "
            f"({info['n_bytes_utf8'] / len(tokens):.2f} bytes/token); last {val_fraction:.0%} is validation"
        )
        return Corpus(name, train, val, tokenizer.vocab_size, tokenizer, None, description)

    vocab_size = 64 if vocab_size is None else vocab_size
    language = MarkovLanguage.make(vocab_size=vocab_size, order=order, concentration=concentration, seed=seed)
    tokens = language.sample(n_tokens, seed=seed + 1)
    train, val = train_val_split(tokens, val_fraction)
    h = language.entropy_rate()
    description = (
        f"Markov: order-{order} chain over {vocab_size} tokens, Dirichlet({concentration:g}) "
        f"transitions, seed {seed}; {n_tokens:,} tokens; entropy rate {h:.4f} nats/token "
        f"({h / math.log(2):.4f} bits) vs log(V) = {math.log(vocab_size):.4f}; "
        f"last {val_fraction:.0%} is validation"
    )
    return Corpus(name, train, val, vocab_size, None, h, description, language)
