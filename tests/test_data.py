"""Specification of llmscale.data: offline corpora, a local BPE, splits and batches."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscale.benchmarks.data_speed import naive_bpe_merges
from llmscale.data import (
    Batcher,
    BPETokenizer,
    MarkovLanguage,
    batches,
    bpe,
    english_text,
    english_text_info,
    load_corpus,
    markov,
    train_val_split,
)


@functools.cache
def english_bpe(vocab_size: int) -> BPETokenizer:
    """A tokenizer trained on the English text, shared between tests (training is deterministic)."""
    return BPETokenizer.train(english_text(), vocab_size)


# ---------------------------------------------------------------------------
# English text
# ---------------------------------------------------------------------------


def test_english_text_is_the_shipped_snapshot_with_the_recorded_sha256() -> None:
    import gzip
    import hashlib
    from importlib import resources

    from llmscale.data import text as text_module

    raw = resources.files("llmscale.data").joinpath(text_module.SNAPSHOT_FILE).read_bytes()
    data = gzip.decompress(raw)
    # The Python 3.11.7 text every stored English result and notebook was computed from.
    assert text_module.SNAPSHOT_SHA256 == "71f2ff5d99bdc1f9c48c5c2353ad138201c5ca1c377e0226857ef8fa89b8bcee"
    assert hashlib.sha256(data).hexdigest() == text_module.SNAPSHOT_SHA256
    text = english_text()
    assert text.encode("utf-8") == data
    assert len(text) > 300_000  # 465,126 chars
    assert text.count(" the ") > 1_000  # it is English prose, not just code
    for name in (text_module.LICENSE_FILE, text_module.README_FILE):
        assert resources.files("llmscale.data").joinpath(name).is_file()
    licence = resources.files("llmscale.data").joinpath(text_module.LICENSE_FILE).read_text(encoding="utf-8")
    assert "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2" in licence
    readme = resources.files("llmscale.data").joinpath(text_module.README_FILE).read_text(encoding="utf-8")
    assert text_module.SNAPSHOT_SHA256 in readme and "Python 3.11.7" in readme


def test_english_text_does_not_import_pydoc_data() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from llmscale.data import english_text, english_text_info, load_corpus\n"
        "assert len(english_text()) > 300_000\n"
        "english_text_info()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydoc_data'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_english_text_info_identifies_the_snapshot() -> None:
    import hashlib

    info = english_text_info()
    text = english_text()
    assert info["python_version"] == "3.11.7"  # the snapshot's, whatever Python runs this
    assert info["n_topics"] == 79
    assert info["n_chars"] == len(text) == 465_126
    assert info["n_bytes_utf8"] == len(text.encode("utf-8")) == 466_273
    assert info["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert "pydoc_data" in info["source"] and "3.11.7" in info["source"]


def test_english_snapshot_regeneration_refuses_to_overwrite(tmp_path) -> None:
    from llmscale.data import text as text_module

    (tmp_path / text_module.SNAPSHOT_FILE).write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="overwrite"):
        text_module.regenerate_snapshot(tmp_path)
    assert (tmp_path / text_module.SNAPSHOT_FILE).read_bytes() == b"keep me"


# ---------------------------------------------------------------------------
# Markov language
# ---------------------------------------------------------------------------


def test_markov_language_is_determined_by_its_seed() -> None:
    a = MarkovLanguage.make(vocab_size=8, order=2, concentration=0.1, seed=3)
    b = MarkovLanguage.make(vocab_size=8, order=2, concentration=0.1, seed=3)
    c = MarkovLanguage.make(vocab_size=8, order=2, concentration=0.1, seed=4)
    np.testing.assert_array_equal(a.probs, b.probs)
    assert not np.allclose(a.probs, c.probs)


@pytest.mark.parametrize("order", [1, 2])
def test_markov_transition_rows_are_strictly_positive_distributions(order: int) -> None:
    # Strictly positive rows make the chain irreducible and aperiodic, even for
    # a concentration so small that raw Dirichlet draws underflow to zero.
    lang = MarkovLanguage.make(vocab_size=16, order=order, concentration=0.001, seed=0)
    assert lang.probs.shape == (16**order, 16)
    assert np.all(lang.probs > 0)
    np.testing.assert_allclose(lang.probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("vocab_size,order", [(7, 1), (5, 2), (24, 2), (64, 2)])
def test_markov_stationary_distribution_is_stationary(vocab_size: int, order: int) -> None:
    lang = MarkovLanguage.make(vocab_size=vocab_size, order=order, concentration=0.05, seed=1)
    pi = lang.stationary
    assert pi.shape == (vocab_size**order,)
    assert np.all(pi >= 0)
    assert pi.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(lang.step_distribution(pi), pi, rtol=0, atol=1e-13)
    if vocab_size**order <= 1024:  # also against the explicit transition matrix
        t = lang.transition_matrix()
        np.testing.assert_allclose(t.sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose(pi @ t, pi, rtol=0, atol=1e-13)


def test_markov_power_iteration_agrees_with_dense_solve() -> None:
    # 24**2 = 576 states takes the power-iteration path; check it against a linear solve.
    lang = MarkovLanguage.make(vocab_size=24, order=2, concentration=0.05, seed=2)
    assert lang.n_states > 512
    dense = markov._stationary_dense(lang.transition_matrix())
    np.testing.assert_allclose(lang.stationary, dense, rtol=0, atol=1e-12)


def test_markov_entropy_rate_of_two_state_chain_matches_closed_form() -> None:
    # P = [[1-p, p], [q, 1-q]] has pi = (q, p) / (p + q) and
    # entropy rate pi_0 h(p) + pi_1 h(q), with h the binary entropy in nats.
    p, q = 0.1, 0.3
    probs = np.array([[1 - p, p], [q, 1 - q]])
    lang = MarkovLanguage(vocab_size=2, order=1, concentration=math.nan, seed=0, probs=probs)

    def h(x: float) -> float:
        return -(x * math.log(x) + (1 - x) * math.log(1 - x))

    expected = (q * h(p) + p * h(q)) / (p + q)
    np.testing.assert_allclose(lang.stationary, [q / (p + q), p / (p + q)], atol=1e-15)
    assert lang.entropy_rate() == pytest.approx(expected, rel=1e-12)
    assert lang.entropy_rate_bits() == pytest.approx(expected / math.log(2), rel=1e-12)


def test_markov_entropy_rate_of_uniform_chain_is_log_vocab() -> None:
    probs = np.full((9 * 9, 9), 1 / 9)
    lang = MarkovLanguage(vocab_size=9, order=2, concentration=math.inf, seed=0, probs=probs)
    assert lang.entropy_rate() == pytest.approx(math.log(9), rel=1e-12)


def test_markov_entropy_rate_grows_with_concentration() -> None:
    rates = [
        MarkovLanguage.make(vocab_size=32, order=1, concentration=c, seed=0).entropy_rate()
        for c in (0.01, 0.1, 1.0, 100.0)
    ]
    assert all(0 < r < math.log(32) for r in rates)
    assert rates == sorted(rates)
    assert rates[-1] > 0.98 * math.log(32)  # near-uniform rows


@pytest.mark.parametrize("order", [1, 2])
def test_markov_entropy_rate_matches_empirical_nll(order: int) -> None:
    """The mean NLL of a long sample under the true model converges to entropy_rate().

    Tolerance: 3 standard errors from batch means.  The per-token NLLs are
    correlated only over a few steps (the chain mixes fast), so means over
    blocks of 10,000 tokens are effectively independent and their spread gives
    an honest standard error for the overall mean.  (Checked over 20 sample
    seeds for the order-2 chain: the z-scores had mean 0.0 and sd 0.98.)
    """
    lang = MarkovLanguage.make(vocab_size=64, order=order, concentration=0.05, seed=0)
    tokens = lang.sample(1_000_000, seed=0)
    nll = lang.token_nll(tokens)
    blocks = nll[: len(nll) // 10_000 * 10_000].reshape(-1, 10_000).mean(axis=1)
    se = blocks.std(ddof=1) / math.sqrt(len(blocks))
    h = lang.entropy_rate()
    assert se < 0.01  # the test has power: a 1% error in h would be caught
    assert abs(nll.mean() - h) < 3 * se, (nll.mean(), h, se)


def test_markov_sample_is_reproducible_and_has_the_chain_transitions() -> None:
    lang = MarkovLanguage.make(vocab_size=4, order=1, concentration=1.0, seed=5)
    a = lang.sample(200_000, seed=9)
    np.testing.assert_array_equal(a, lang.sample(200_000, seed=9))
    assert not np.array_equal(a, lang.sample(200_000, seed=10))
    assert a.dtype == np.int64 and a.shape == (200_000,)
    assert a.min() >= 0 and a.max() < 4
    # Empirical transition frequencies match P within 5 binomial standard errors.
    counts = np.zeros((4, 4))
    np.add.at(counts, (a[:-1], a[1:]), 1)
    n_from = counts.sum(axis=1, keepdims=True)
    se = np.sqrt(lang.probs * (1 - lang.probs) / n_from)
    assert np.all(np.abs(counts / n_from - lang.probs) < 5 * se + 1e-9)


def test_markov_sample_handles_fewer_tokens_than_order() -> None:
    lang = MarkovLanguage.make(vocab_size=8, order=2, concentration=0.1, seed=0)
    assert lang.sample(1, seed=0).shape == (1,)
    assert lang.sample(2, seed=0).shape == (2,)
    assert lang.sample(3, seed=0).shape == (3,)


def test_markov_samples_two_million_tokens_of_its_vocabulary() -> None:
    # Its speed against a per-token peer is measured by python -m llmscale.benchmarks.data_speed.
    lang = MarkovLanguage.make(vocab_size=64, order=2, concentration=0.05, seed=0)
    tokens = lang.sample(2_000_000, seed=0)
    assert len(tokens) == 2_000_000 and tokens.dtype == np.int64
    assert tokens.min() >= 0 and tokens.max() < 64


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"order": 3}, "order=3"),
        ({"order": 0}, "order=0"),
        ({"vocab_size": 1}, "vocab_size=1"),
        ({"concentration": 0.0}, "concentration=0.0"),
        ({"concentration": -1.0}, "concentration=-1.0"),
        ({"concentration": float("nan")}, "concentration=nan"),
        ({"seed": -1}, "seed=-1"),
        ({"vocab_size": 4096, "order": 2}, "vocab_size=4096"),
    ],
)
def test_markov_rejects_bad_arguments_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match="choose|reduce") as err:
        MarkovLanguage.make(**kwargs)
    assert field in str(err.value)


def test_markov_hand_built_chain_must_have_positive_normalised_rows() -> None:
    with pytest.raises(ValueError, match="strictly positive"):
        MarkovLanguage(vocab_size=2, order=1, concentration=1.0, seed=0, probs=np.eye(2))
    with pytest.raises(ValueError, match="shape"):
        MarkovLanguage(vocab_size=2, order=2, concentration=1.0, seed=0, probs=np.full((2, 2), 0.5))


def test_markov_token_nll_rejects_out_of_vocabulary_tokens() -> None:
    lang = MarkovLanguage.make(vocab_size=4, order=1, concentration=1.0, seed=0)
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        lang.token_nll(np.array([0, 1, 4]))


# ---------------------------------------------------------------------------
# BPE tokenizer
# ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_pretokenizer_chunks_concatenate_back_to_any_string(s: str) -> None:
    assert "".join(bpe._SPLIT_RE.findall(s)) == s


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_bpe_decode_inverts_encode_for_any_string(s: str) -> None:
    tok = english_bpe(400)
    ids = tok.encode(s)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == s


def test_bpe_round_trips_and_compresses_the_english_text() -> None:
    tok = english_bpe(512)
    text = english_text()
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    assert tok.vocab_size == 512
    assert len(text.encode("utf-8")) / len(ids) > 2.0  # 256 merges at least double the bytes/token


def test_bpe_training_matches_a_naive_reference_implementation() -> None:
    # The fast trainer (unique chunks, incremental pair counts, lazy heap)
    # must pick exactly the merges a from-scratch recount would, ties included.
    text = english_text()[:20_000] + " aaaa aaa a_a 2024 2024 éé ——"
    assert BPETokenizer.train(text, 256 + 80).merges == naive_bpe_merges(text, 80)


def test_bpe_training_is_deterministic() -> None:
    text = english_text()[:50_000]
    assert BPETokenizer.train(text, 400).merges == BPETokenizer.train(text, 400).merges


def test_bpe_trains_1000_merges_on_the_english_text() -> None:
    # Its speed against a recount after every merge: python -m llmscale.benchmarks.data_speed.
    tok = BPETokenizer.train(english_text(), 256 + 1000)
    assert tok.vocab_size == 1256 and len(set(tok.merges)) == 1000


def test_bpe_stops_early_when_every_chunk_is_one_token() -> None:
    tok = BPETokenizer.train("ab ab ab", 1000)
    assert tok.vocab_size < 1000
    assert tok.encode("ab ab") == [tok.encode("ab")[0], tok.encode(" ab")[0]]
    assert len(tok.encode(" ab")) == 1


def test_bpe_save_and_load_round_trip(tmp_path) -> None:
    tok = english_bpe(400)
    path = tmp_path / "tok.json"
    tok.save(path)
    loaded = BPETokenizer.load(path)
    assert loaded.merges == tok.merges
    sample = english_text()[:5_000]
    assert loaded.encode(sample) == tok.encode(sample)


def test_bpe_load_rejects_foreign_json(tmp_path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"merges": []}')
    with pytest.raises(ValueError, match="retrain"):
        BPETokenizer.load(path)


def test_bpe_rejects_too_small_vocab_and_bad_ids() -> None:
    with pytest.raises(ValueError, match="vocab_size=100"):
        BPETokenizer.train("hello", 100)
    tok = BPETokenizer()
    assert tok.vocab_size == 256 and tok.encode("hé") == list("hé".encode())
    with pytest.raises(ValueError, match="token id 256"):
        tok.decode([104, 256])
    with pytest.raises(ValueError, match="token id -1"):
        tok.decode([-1])


def test_bpe_decode_of_a_cut_character_is_replaced_not_an_error() -> None:
    tok = BPETokenizer()
    assert tok.decode(list("é".encode())[:1]) == "\ufffd"


# ---------------------------------------------------------------------------
# Splits and batches
# ---------------------------------------------------------------------------


def test_train_val_split_is_contiguous_with_validation_last() -> None:
    tokens = np.arange(1000)
    train, val = train_val_split(tokens, val_fraction=0.1)
    np.testing.assert_array_equal(train, np.arange(900))
    np.testing.assert_array_equal(val, np.arange(900, 1000))
    assert train.dtype == np.int64 and val.dtype == np.int64


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_train_val_split_rejects_fractions_outside_0_1(fraction: float) -> None:
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(np.arange(100), val_fraction=fraction)


def test_batches_are_windows_with_targets_shifted_by_one() -> None:
    tokens = np.arange(1000)
    x, y = Batcher(tokens, batch_size=8, seq_len=16, seed=0).get_batch(0)
    assert x.shape == y.shape == (8, 16)
    assert x.dtype == y.dtype == torch.int64
    # tokens = arange, so each row is offset + arange(seq_len) and y = x + 1.
    torch.testing.assert_close(x, x[:, :1] + torch.arange(16))
    torch.testing.assert_close(y, x + 1)


def test_same_seed_gives_same_batches_and_get_batch_is_deterministic_by_step() -> None:
    tokens = np.random.default_rng(0).integers(0, 50, 5_000)
    a = Batcher(tokens, batch_size=4, seq_len=32, seed=7)
    b = Batcher(tokens, batch_size=4, seq_len=32, seed=7)
    c = Batcher(tokens, batch_size=4, seq_len=32, seed=8)
    first = [xy for xy, _ in zip(a, range(5))]
    for step, (x, y) in enumerate(first):
        bx, by = b.get_batch(step)
        assert torch.equal(x, bx) and torch.equal(y, by)
    assert not torch.equal(first[0][0], first[1][0])  # steps differ
    assert not torch.equal(first[0][0], c.get_batch(0)[0])  # seeds differ
    from_fn = list(batches(tokens, 4, 32, seed=7, n_batches=5))
    assert len(from_fn) == 5
    assert all(torch.equal(f[0], g[0]) and torch.equal(f[1], g[1]) for f, g in zip(from_fn, first))


def test_batches_reach_every_offset_including_the_last_token() -> None:
    tokens = np.arange(10)
    batcher = Batcher(tokens, batch_size=64, seq_len=8, seed=0)
    starts = set(batcher.offsets(0).tolist())
    assert starts == {0, 1}  # offsets 0..len-seq_len-1
    x, y = batcher.get_batch(0)
    assert int(y.max()) == 9


def test_batcher_rejects_seq_len_longer_than_the_tokens() -> None:
    with pytest.raises(ValueError, match=r"seq_len=10 .*choose seq_len <= 9"):
        Batcher(np.arange(10), batch_size=2, seq_len=10)
    Batcher(np.arange(10), batch_size=2, seq_len=9)  # exactly enough


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"seq_len": 0}, {"seed": -1}])
def test_batcher_rejects_non_positive_sizes(kwargs: dict) -> None:
    args = {"batch_size": 2, "seq_len": 4, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Batcher(np.arange(100), **args)


def test_batcher_rejects_non_integer_tokens() -> None:
    with pytest.raises(ValueError, match="1-D array of integer"):
        Batcher(np.zeros((4, 4), dtype=np.int64), batch_size=1, seq_len=2)
    with pytest.raises(ValueError, match="1-D array of integer"):
        Batcher(np.linspace(0, 1, 100), batch_size=1, seq_len=2)


# ---------------------------------------------------------------------------
# load_corpus
# ---------------------------------------------------------------------------


def test_load_corpus_markov_defaults_have_a_learnable_known_entropy_rate() -> None:
    corpus = load_corpus("markov", n_tokens=100_000)
    assert corpus.vocab_size == 64 and corpus.tokenizer is None
    assert len(corpus.train) == 90_000 and len(corpus.val) == 10_000
    assert corpus.entropy_rate is not None
    # Well below log(64) = 4.16 (there is structure to learn) and above 0.
    assert 1.5 < corpus.entropy_rate < 2.5
    assert corpus.entropy_rate == pytest.approx(corpus.language.entropy_rate())
    assert corpus.train.max() < 64 and corpus.val.min() >= 0
    again = load_corpus("markov", n_tokens=100_000)
    np.testing.assert_array_equal(corpus.train, again.train)


def test_load_corpus_markov_sample_does_not_reuse_the_language_stream() -> None:
    corpus = load_corpus("markov", vocab_size=8, n_tokens=1_000, seed=0)
    other = load_corpus("markov", vocab_size=8, n_tokens=1_000, seed=1)
    assert not np.array_equal(corpus.train, other.train)
    assert "entropy rate" in corpus.description


def test_load_corpus_english_trains_once_then_reads_the_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LLMSCALE_CACHE", str(tmp_path))
    first = load_corpus("english", vocab_size=300)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".npy"]

    def no_training(*args, **kwargs):
        raise AssertionError("the second load trained the tokenizer again instead of reading the cache")

    monkeypatch.setattr(BPETokenizer, "train", no_training)
    second = load_corpus("english", vocab_size=300)
    assert second.tokenizer.merges == first.tokenizer.merges
    np.testing.assert_array_equal(second.train, first.train)
    np.testing.assert_array_equal(second.val, first.val)

    assert first.vocab_size == 300 and first.entropy_rate is None
    assert first.train.dtype == np.int64
    tokens = np.concatenate([first.train, first.val])
    assert first.tokenizer.decode(tokens.tolist()) == english_text()
    assert len(first.val) == round(0.1 * len(tokens))
    assert first.description.startswith(
        "English: Python 3.11.7 Language Reference topics (465,126 chars, sha256 71f2ff5d99bd)"
    )


def test_load_corpus_english_rebuilds_a_corrupt_cache(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LLMSCALE_CACHE", str(tmp_path))
    load_corpus("english", vocab_size=270)
    for p in tmp_path.glob("*.json"):
        p.write_text("not json")
    corpus = load_corpus("english", vocab_size=270)
    assert corpus.vocab_size == 270


def test_load_corpus_unknown_name_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="'english', 'markov'"):
        load_corpus("wikipedia")
