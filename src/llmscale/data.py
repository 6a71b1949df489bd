"""Corpora, a local tokenizer, splits and batches: everything the book trains on.

The book's experiments must run offline and reproducibly, so nothing here
downloads anything:

* **English** -- the topics of the Python Language Reference that ship with
  every CPython installation (``pydoc_data.topics``, ~465 KB of English prose
  and code).  It is real natural language, but the text differs slightly
  between Python versions, so :func:`english_text_info` reports a SHA-256.
* **Markov** -- a seeded synthetic language (:class:`MarkovLanguage`) whose
  entropy rate is known *exactly*.  That number is the irreducible loss: the
  best cross-entropy any model can reach, the ``E`` of a scaling law, measured
  rather than fitted.
* **BPE** -- a byte-level BPE tokenizer (:class:`BPETokenizer`) that trains on
  the English text in seconds, so the vocabulary is part of the experiment
  rather than an opaque download.
* **Splits and batches** -- contiguous train/validation splits
  (:func:`train_val_split`) and seeded random-window batches (:class:`Batcher`)
  so the same seed always gives the same data order.

:func:`load_corpus` puts these together and caches the trained tokenizer and
the encoded English text on disk (``$LLMSCALE_CACHE`` or
``~/.cache/llmscale``).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import heapq
import json
import math
import os
import platform
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "english_text",
    "english_text_info",
    "MarkovLanguage",
    "BPETokenizer",
    "train_val_split",
    "Batcher",
    "batches",
    "Corpus",
    "load_corpus",
    "cache_dir",
    "CORPUS_NAMES",
]

# ---------------------------------------------------------------------------
# English text shipped with Python
# ---------------------------------------------------------------------------

_ENGLISH_SOURCE = (
    "pydoc_data.topics.topics: the Python Language Reference topics that ship "
    "with CPython (used by help()), joined in sorted key order with blank lines"
)


@functools.lru_cache(maxsize=1)
def english_text() -> str:
    """All ``pydoc_data.topics`` topics, sorted by key, joined with ``"\\n\\n"``."""
    from pydoc_data.topics import topics  # stdlib; imported lazily, it is ~0.5 MB

    return "\n\n".join(topics[key] for key in sorted(topics))


def english_text_info() -> dict[str, Any]:
    """Where the English text came from: source, Python version, size (chars) and SHA-256."""
    from pydoc_data.topics import topics

    text = english_text()
    return {
        "source": _ENGLISH_SOURCE,
        "python_version": platform.python_version(),
        "n_topics": len(topics),
        "n_chars": len(text),
        "n_bytes_utf8": len(text.encode("utf-8")),
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }


# ---------------------------------------------------------------------------
# A synthetic language with a known entropy rate
# ---------------------------------------------------------------------------

# Probability mass mixed into every transition.  Dirichlet draws with a small
# concentration can underflow to exactly 0; the floor keeps every transition
# possible, which makes the chain irreducible and aperiodic (so its stationary
# distribution is unique) and bounds the NLL of any token by ~14 nats.
_MARKOV_FLOOR = 1e-6
# Largest transition table we allow (V**(order+1) float64 entries, ~128 MiB).
_MARKOV_MAX_ENTRIES = 2**24


def _stationary_dense(transition: np.ndarray) -> np.ndarray:
    """Stationary distribution of a dense (n, n) row-stochastic matrix, by a linear solve."""
    n = transition.shape[0]
    # pi (T - I) = 0 with sum(pi) = 1: replace one (redundant) equation by the normalisation.
    a = transition.T - np.eye(n)
    a[-1, :] = 1.0
    b = np.zeros(n)
    b[-1] = 1.0
    pi = np.linalg.solve(a, b)
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


@dataclass(frozen=True, eq=False)
class MarkovLanguage:
    """An order-1 or order-2 Markov chain over ``vocab_size`` tokens with Dirichlet transitions.

    The state is the last ``order`` tokens, encoded as the integer
    ``sum(tok_i * V**(order-1-i))`` (so for order 2, state ``a*V + b``).
    ``probs[s, t]`` is P(next token = t | state s).  Build one with
    :meth:`make`.
    """

    vocab_size: int
    order: int
    concentration: float
    seed: int
    probs: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        # Checked here too, not only in make(), so hand-built chains (used for
        # closed-form checks) are held to the same contract.
        if self.order not in (1, 2):
            raise ValueError(f"order={self.order!r} is not supported; choose order=1 or order=2")
        probs = np.array(self.probs, dtype=np.float64)
        expected = (self.vocab_size**self.order, self.vocab_size)
        if probs.shape != expected:
            raise ValueError(
                f"probs has shape {probs.shape}; pass shape (vocab_size**order, vocab_size) = {expected}"
            )
        if not np.all(probs > 0) or not np.allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-9):
            raise ValueError(
                "probs rows must be strictly positive and sum to 1 (positivity keeps the chain "
                "irreducible and aperiodic); mix in a little uniform mass"
            )
        probs.setflags(write=False)
        object.__setattr__(self, "probs", probs)

    @classmethod
    def make(
        cls,
        vocab_size: int = 64,
        order: int = 2,
        concentration: float = 0.05,
        seed: int = 0,
    ) -> MarkovLanguage:
        """Draw each state's next-token distribution from a symmetric Dirichlet(concentration).

        Small ``concentration`` gives peaked distributions (low entropy, learnable);
        large gives near-uniform ones (entropy near log(vocab_size)).
        """
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 2:
            raise ValueError(f"vocab_size={vocab_size!r} is invalid; choose an integer >= 2")
        if isinstance(order, bool) or order not in (1, 2):
            raise ValueError(f"order={order!r} is not supported; choose order=1 or order=2")
        if not isinstance(concentration, (int, float, np.floating)) or not (
            math.isfinite(concentration) and concentration > 0
        ):
            raise ValueError(
                f"concentration={concentration!r} is invalid; choose a finite number > 0 "
                "(e.g. 0.05 for a learnable, low-entropy language)"
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed={seed!r} is invalid; choose an integer >= 0")
        vocab_size, order, seed = int(vocab_size), int(order), int(seed)
        if vocab_size ** (order + 1) > _MARKOV_MAX_ENTRIES:
            raise ValueError(
                f"vocab_size={vocab_size} with order={order} needs a table of "
                f"{vocab_size ** (order + 1):,} probabilities; reduce vocab_size so that "
                f"vocab_size**(order+1) <= {_MARKOV_MAX_ENTRIES:,}"
            )
        rng = np.random.default_rng(seed)
        n_states = vocab_size**order
        probs = rng.dirichlet(np.full(vocab_size, float(concentration)), size=n_states)
        probs = (probs + _MARKOV_FLOOR) / (1.0 + vocab_size * _MARKOV_FLOOR)
        probs /= probs.sum(axis=1, keepdims=True)
        return cls(vocab_size, order, float(concentration), seed, probs)

    @property
    def n_states(self) -> int:
        """Number of states, ``vocab_size ** order``."""
        return self.vocab_size**self.order

    def step_distribution(self, pi: np.ndarray) -> np.ndarray:
        """One step of the chain applied to a distribution over states: returns ``pi @ T``."""
        v = self.vocab_size
        if self.order == 1:
            return pi @ self.probs
        # State (a, b) moves to (b, c) with probability P(c | a, b); T is V**2 x V**2
        # but has only V non-zeros per row, so apply it without building it.
        p = self.probs.reshape(v, v, v)
        return np.einsum("ab,abc->bc", pi.reshape(v, v), p).reshape(-1)

    def transition_matrix(self) -> np.ndarray:
        """The dense (n_states, n_states) transition matrix over states (for small chains)."""
        v, n = self.vocab_size, self.n_states
        if self.order == 1:
            return np.array(self.probs)
        t = np.zeros((n, n))
        states = np.arange(n)
        for c in range(v):
            t[states, (states % v) * v + c] = self.probs[:, c]
        return t

    @functools.cached_property
    def stationary(self) -> np.ndarray:
        """Stationary distribution over states (float64, sums to 1), solved to machine precision."""
        n = self.n_states
        if n <= 512:
            return _stationary_dense(self.transition_matrix())
        # Power iteration on the structured chain is far cheaper than a dense
        # n x n solve; the floor makes it mix quickly.  Fall back to the exact
        # solve if it has not converged (a nearly reducible chain).
        pi = np.full(n, 1.0 / n)
        for _ in range(20_000):
            nxt = self.step_distribution(pi)
            nxt /= nxt.sum()
            if np.abs(nxt - pi).sum() < 1e-15:
                return nxt
            pi = nxt
        return _stationary_dense(self.transition_matrix())

    def conditional_entropies(self) -> np.ndarray:
        """H(P(. | s)) for every state s, in nats."""
        p = self.probs
        return -(p * np.log(p)).sum(axis=1)  # the floor keeps every p > 0

    def entropy_rate(self) -> float:
        """Exact entropy rate in nats/token: sum_s pi(s) H(P(. | s))."""
        return float(self.stationary @ self.conditional_entropies())

    def entropy_rate_bits(self) -> float:
        """Exact entropy rate in bits/token."""
        return self.entropy_rate() / math.log(2)

    def sample(self, n_tokens: int, seed: int = 0) -> np.ndarray:
        """A stationary sample of ``n_tokens`` tokens (int64), reproducible from ``seed``.

        The first ``order`` tokens are drawn from the stationary distribution, so
        every position has the same marginal law and the sample's mean NLL is an
        unbiased estimate of the entropy rate.
        """
        if isinstance(n_tokens, bool) or not isinstance(n_tokens, (int, np.integer)) or n_tokens < 1:
            raise ValueError(f"n_tokens={n_tokens!r} is invalid; choose an integer >= 1")
        n_tokens = int(n_tokens)
        v, order = self.vocab_size, self.order
        rng = np.random.default_rng(seed)
        state = int(rng.choice(self.n_states, p=self.stationary))
        first = [state] if order == 1 else [state // v, state % v]
        if n_tokens <= order:
            return np.array(first[:n_tokens], dtype=np.int64)

        # The chain is inherently sequential, so the loop stays; what makes it
        # fast (~0.6 us/token) is that every step is one C-level bisect into a
        # precomputed cumulative row, on plain Python lists rather than numpy
        # scalars.
        cdf = np.cumsum(self.probs, axis=1)
        cdf[:, -1] = 1.0  # guard rounding: u < 1 always lands on a valid token
        rows = cdf.tolist()
        uniforms = rng.random(n_tokens - order).tolist()
        out = first + [0] * (n_tokens - order)
        find = bisect.bisect_right
        i = order
        if order == 1:
            for u in uniforms:
                state = find(rows[state], u)
                out[i] = state
                i += 1
        else:
            prev = first[1]
            for u in uniforms:
                tok = find(rows[state], u)
                out[i] = tok
                state = prev * v + tok
                prev = tok
                i += 1
        return np.array(out, dtype=np.int64)

    def token_nll(self, tokens: np.ndarray) -> np.ndarray:
        """Per-token NLL in nats under the true model, for ``tokens[order:]`` (length n - order)."""
        t = np.asarray(tokens, dtype=np.int64)
        if t.ndim != 1 or len(t) <= self.order:
            raise ValueError(
                f"tokens has shape {t.shape}; pass a 1-D array longer than order={self.order}"
            )
        if t.min() < 0 or t.max() >= self.vocab_size:
            raise ValueError(f"tokens must lie in [0, {self.vocab_size}); got [{t.min()}, {t.max()}]")
        if self.order == 1:
            states = t[:-1]
        else:
            states = t[:-2] * self.vocab_size + t[1:-1]
        return -np.log(self.probs[states, t[self.order :]])


# ---------------------------------------------------------------------------
# Byte-level BPE
# ---------------------------------------------------------------------------

# GPT-2's pre-tokenisation written with Python's re classes ([^\W\d_] = letters).
# The alternatives cover every character (letter, digit, whitespace, or other,
# '_' counted as other), and the final [\s\S] is a belt-and-braces catch-all,
# so the chunks always concatenate back to the input.
_SPLIT_PATTERN = (
    r"'(?:s|t|re|ve|m|ll|d)"
    r"| ?[^\W\d_]+"
    r"| ?\d+"
    r"| ?(?:[^\s\w]|_)+"
    r"|\s+(?!\S)"
    r"|\s+"
    r"|[\s\S]"
)
_SPLIT_RE = re.compile(_SPLIT_PATTERN)
_TOKENIZER_FORMAT = "llmscale.BPETokenizer/1"


def _merge_ids(ids: tuple[int, ...] | list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of ``pair`` (left to right) by ``new_id``."""
    a, b = pair
    out: list[int] = []
    i, n = 0, len(ids)
    while i < n:
        if i < n - 1 and ids[i] == a and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class BPETokenizer:
    """Byte-level BPE: 256 byte tokens plus ``len(merges)`` merged tokens.

    Token ``256 + i`` is the concatenation of the two tokens in ``merges[i]``.
    Any string round-trips: ``decode(encode(s)) == s``.
    """

    def __init__(self, merges: Iterable[tuple[int, int]] = ()) -> None:
        self.merges: list[tuple[int, int]] = [(int(a), int(b)) for a, b in merges]
        self._ranks: dict[tuple[int, int], int] = {}
        self._vocab: list[bytes] = [bytes([i]) for i in range(256)]
        for i, (a, b) in enumerate(self.merges):
            new_id = 256 + i
            if not (0 <= a < new_id and 0 <= b < new_id):
                raise ValueError(
                    f"merge {i} = ({a}, {b}) refers to a token that does not exist yet; "
                    f"each merge may only use ids < {new_id}"
                )
            self._ranks[(a, b)] = i
            self._vocab.append(self._vocab[a] + self._vocab[b])
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        """Number of token ids, ``256 + len(merges)``."""
        return 256 + len(self.merges)

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes a token id stands for."""
        return self._vocab[token_id]

    @classmethod
    def train(cls, text: str, vocab_size: int) -> BPETokenizer:
        """Learn up to ``vocab_size - 256`` merges from ``text``; ties go to the smallest pair.

        Stops early (smaller vocabulary) if every chunk has become a single token.
        """
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 256:
            raise ValueError(
                f"vocab_size={vocab_size!r} is too small; a byte-level BPE needs vocab_size >= 256 "
                "(256 byte tokens plus one token per merge)"
            )
        n_merges = int(vocab_size) - 256

        # Work on unique chunks weighted by frequency: the English text has
        # ~100k chunks but only ~10k distinct ones.
        chunk_counts = Counter(_SPLIT_RE.findall(text))
        words: list[list[int]] = []
        freqs: list[int] = []
        for chunk, count in sorted(chunk_counts.items()):  # sorted: deterministic order
            words.append(list(chunk.encode("utf-8")))
            freqs.append(count)

        pair_counts: dict[tuple[int, int], int] = {}
        where: dict[tuple[int, int], set[int]] = {}  # pair -> chunks that (may) contain it
        for w, (ids, f) in enumerate(zip(words, freqs)):
            for pair in zip(ids, ids[1:]):
                pair_counts[pair] = pair_counts.get(pair, 0) + f
                where.setdefault(pair, set()).add(w)

        # Max-heap by count via (-count, pair); the pair in the key breaks ties
        # towards the lexicographically smallest pair.  Entries go stale when a
        # count changes; they are skipped when popped (lazy deletion).
        heap = [(-c, p) for p, c in pair_counts.items()]
        heapq.heapify(heap)

        merges: list[tuple[int, int]] = []
        while len(merges) < n_merges and heap:
            neg, pair = heapq.heappop(heap)
            if pair_counts.get(pair, 0) != -neg or neg == 0:
                continue  # stale entry
            new_id = 256 + len(merges)
            merges.append(pair)
            changed: set[tuple[int, int]] = set()
            for w in where.pop(pair, ()):
                ids = words[w]
                new = _merge_ids(ids, pair, new_id)
                if len(new) == len(ids):
                    continue  # the pair had already been merged away in this chunk
                f = freqs[w]
                # Incremental update: remove this chunk's old pairs, add its new ones.
                for p in zip(ids, ids[1:]):
                    pair_counts[p] -= f
                    changed.add(p)
                for p in zip(new, new[1:]):
                    pair_counts[p] = pair_counts.get(p, 0) + f
                    changed.add(p)
                    where.setdefault(p, set()).add(w)
                words[w] = new
            for p in changed:
                c = pair_counts[p]
                if c > 0:
                    heapq.heappush(heap, (-c, p))
                else:
                    del pair_counts[p]
        return cls(merges)

    def _encode_chunk(self, chunk: str) -> list[int]:
        """Apply the merges to one pre-tokenised chunk, lowest rank first (as in training)."""
        ids = list(chunk.encode("utf-8"))
        ranks = self._ranks
        while len(ids) >= 2:
            best = min(zip(ids, ids[1:]), key=lambda p: ranks.get(p, math.inf))
            rank = ranks.get(best)
            if rank is None:
                break
            ids = _merge_ids(ids, best, 256 + rank)
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids for ``text`` (any string that UTF-8 can encode)."""
        out: list[int] = []
        cache = self._cache
        for chunk in _SPLIT_RE.findall(text):
            ids = cache.get(chunk)
            if ids is None:
                ids = self._encode_chunk(chunk)
                if len(cache) < 1_000_000:  # bound memory on adversarial input
                    cache[chunk] = ids
            out.extend(ids)
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """The text for ``ids``; invalid UTF-8 (a cut through a character) becomes U+FFFD."""
        vocab, n = self._vocab, len(self._vocab)
        ids = [int(i) for i in ids]
        for i in ids:
            if not 0 <= i < n:
                raise ValueError(f"token id {i} is out of range; ids must lie in [0, {self.vocab_size})")
        return b"".join([vocab[i] for i in ids]).decode("utf-8", errors="replace")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (format tag, split pattern, merges)."""
        return {
            "format": _TOKENIZER_FORMAT,
            "pattern": _SPLIT_PATTERN,
            "vocab_size": self.vocab_size,
            "merges": [list(p) for p in self.merges],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the tokenizer to ``path`` as JSON (atomically)."""
        _atomic_write_text(Path(path), json.dumps(self.to_dict()))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BPETokenizer:
        """Read a tokenizer written by :meth:`save`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != _TOKENIZER_FORMAT or data.get("pattern") != _SPLIT_PATTERN:
            raise ValueError(
                f"{path} is not a {_TOKENIZER_FORMAT} file with this version's split pattern; "
                "retrain it with BPETokenizer.train"
            )
        return cls(tuple(p) for p in data["merges"])

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size})"


# ---------------------------------------------------------------------------
# Splits and batches
# ---------------------------------------------------------------------------


def _as_token_array(tokens: Any, name: str = "tokens") -> np.ndarray:
    """``tokens`` as a 1-D int64 array, or a ValueError that says what to pass."""
    if isinstance(tokens, torch.Tensor):
        tokens = tokens.detach().cpu().numpy()
    arr = np.asarray(tokens)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise ValueError(
            f"{name} has shape {arr.shape} and dtype {arr.dtype}; pass a 1-D array of integer token ids"
        )
    return arr.astype(np.int64, copy=False)


def train_val_split(tokens: Any, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous split: the first ``1 - val_fraction`` of tokens train, the rest validate.

    Contiguous (not shuffled) so no validation window overlaps a training window.
    """
    arr = _as_token_array(tokens)
    if not (isinstance(val_fraction, (int, float)) and 0.0 < val_fraction < 1.0):
        raise ValueError(f"val_fraction={val_fraction!r} is invalid; choose a number in (0, 1), e.g. 0.1")
    n_val = int(round(len(arr) * val_fraction))
    if n_val < 1 or n_val >= len(arr):
        raise ValueError(
            f"val_fraction={val_fraction} of {len(arr)} tokens leaves an empty split; "
            "pass more tokens or a val_fraction closer to 0.5"
        )
    cut = len(arr) - n_val
    return arr[:cut], arr[cut:]


class Batcher:
    """Random windows of a token array as ``(x, y)`` LongTensors of shape (batch_size, seq_len).

    ``y`` is ``x`` shifted left by one token (the next-token targets).  Batch
    ``step`` depends only on ``(seed, step)``, so a run can be resumed or
    replayed exactly; iterating yields steps 0, 1, 2, ...
    """

    def __init__(
        self,
        tokens: Any,
        batch_size: int,
        seq_len: int,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        arr = _as_token_array(tokens)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} is invalid; choose an integer >= 1")
        if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
            raise ValueError(f"seq_len={seq_len!r} is invalid; choose an integer >= 1")
        if seq_len + 1 > len(arr):
            raise ValueError(
                f"seq_len={seq_len} needs at least seq_len+1={seq_len + 1} tokens but only "
                f"{len(arr)} were given; choose seq_len <= {len(arr) - 1} or pass more tokens"
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed={seed!r} is invalid; choose an integer >= 0")
        self.tokens = torch.from_numpy(np.ascontiguousarray(arr))
        self.batch_size = int(batch_size)
        self.seq_len = int(seq_len)
        self.seed = int(seed)
        self.device = torch.device(device)
        self._window = torch.arange(self.seq_len + 1)

    @property
    def n_offsets(self) -> int:
        """Number of distinct window start positions."""
        return len(self.tokens) - self.seq_len

    def _generator(self, step: int) -> torch.Generator:
        # Hash (seed, step) into a 64-bit seed so neighbouring steps and
        # neighbouring seeds give unrelated streams.
        state = np.random.SeedSequence([self.seed, step]).generate_state(1, dtype=np.uint64)[0]
        return torch.Generator().manual_seed(int(state) & 0x7FFF_FFFF_FFFF_FFFF)

    def offsets(self, step: int) -> torch.Tensor:
        """Window start positions used by batch ``step`` (shape (batch_size,))."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"step={step!r} is invalid; choose an integer >= 0")
        return torch.randint(0, self.n_offsets, (self.batch_size,), generator=self._generator(int(step)))

    def get_batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch number ``step``: ``(x, y)``, both int64 of shape (batch_size, seq_len)."""
        idx = self.offsets(step)[:, None] + self._window[None, :]
        window = self.tokens[idx]
        x, y = window[:, :-1], window[:, 1:]
        if self.device.type != "cpu":
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        return x, y

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        step = 0
        while True:
            yield self.get_batch(step)
            step += 1


def batches(
    tokens: Any,
    batch_size: int,
    seq_len: int,
    seed: int = 0,
    n_batches: int | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``n_batches`` (or endless) ``(x, y)`` batches; same as iterating a :class:`Batcher`."""
    batcher = Batcher(tokens, batch_size, seq_len, seed)
    if n_batches is not None and (isinstance(n_batches, bool) or n_batches < 0):
        raise ValueError(f"n_batches={n_batches!r} is invalid; choose an integer >= 0 or None for endless")
    step = 0
    while n_batches is None or step < n_batches:
        yield batcher.get_batch(step)
        step += 1


# ---------------------------------------------------------------------------
# Corpora
# ---------------------------------------------------------------------------

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


def _atomic_write_text(path: Path, text: str) -> None:
    # Write-then-rename so a concurrent reader never sees a half-written file.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_save_npy(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, arr)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    _atomic_save_npy(ids_path, tokens.astype(np.int32))
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
