"""A byte-level BPE tokenizer that trains on the English text in seconds.

The vocabulary is part of the experiment rather than an opaque download.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_text

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
        atomic_write_text(path, json.dumps(self.to_dict()))

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
