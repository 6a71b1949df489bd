"""Speed of the data pipeline against naive peers: Markov sampling and BPE training.

`python -m llmscale.benchmarks.data_speed [--tokens 200000] [--chars 20000]` times, side by
side in one process, `MarkovLanguage.sample` against a per-token `numpy.random.Generator.choice`
loop (the obvious implementation), and `BPETokenizer.train` against a from-scratch recount of
pair frequencies after every merge, and prints the speed-ups. Both pairs are checked to give
the same result first. A benchmark, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from .. import measure
from ..data import BPETokenizer, MarkovLanguage, english_text
from ..data.bpe import _SPLIT_RE, _merge_ids


def naive_sample(lang: MarkovLanguage, n_tokens: int, seed: int = 0) -> np.ndarray:
    """The chain sampled one `Generator.choice` per token (the peer of `MarkovLanguage.sample`)."""
    rng = np.random.default_rng(seed)
    v = lang.vocab_size
    state = int(rng.choice(lang.n_states, p=lang.stationary))
    out = [state] if lang.order == 1 else [state // v, state % v]
    while len(out) < n_tokens:
        token = int(rng.choice(v, p=lang.probs[state]))
        out.append(token)
        state = token if lang.order == 1 else (state % v) * v + token
    return np.array(out[:n_tokens], dtype=np.int64)


def naive_bpe_merges(text: str, n_merges: int) -> list[tuple[int, int]]:
    """BPE merges by recounting every pair after every merge (the peer of `BPETokenizer.train`)."""
    words = [list(chunk.encode("utf-8")) for chunk in _SPLIT_RE.findall(text)]
    merges = []
    for k in range(n_merges):
        counts = Counter(p for w in words for p in zip(w, w[1:]))
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        words = [_merge_ids(w, best, 256 + k) for w in words]
    return merges


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=200_000, help="Markov tokens to sample")
    parser.add_argument("--chars", type=int, default=20_000, help="characters of English text for BPE")
    parser.add_argument("--merges", type=int, default=100)
    args = parser.parse_args(argv)

    lang = MarkovLanguage.make(vocab_size=64, order=2, concentration=0.05, seed=0)
    fast, t_fast = measure.timed(lambda: lang.sample(args.tokens, seed=0))
    slow, t_slow = measure.timed(lambda: naive_sample(lang, args.tokens // 10, seed=0))
    per_fast, per_slow = t_fast / args.tokens, t_slow / (args.tokens // 10)
    print(
        f"Markov sampling: {1e6 * per_fast:.2f} us/token vs {1e6 * per_slow:.2f} us/token per-token choice "
        f"({per_slow / per_fast:.0f}x); {len(fast):,} and {len(slow):,} tokens"
    )

    text = english_text()[: args.chars]
    tok, t_fast = measure.timed(lambda: BPETokenizer.train(text, 256 + args.merges))
    ref, t_slow = measure.timed(lambda: naive_bpe_merges(text, args.merges))
    if list(tok.merges) != ref:
        raise RuntimeError("the fast BPE trainer and the naive recount disagree; the comparison is void")
    print(
        f"BPE training, {args.merges} merges on {args.chars:,} chars: {t_fast:.2f} s vs {t_slow:.2f} s "
        f"for a recount after every merge ({t_slow / t_fast:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
