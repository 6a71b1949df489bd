"""What the book trains on, offline: `text` (the English snapshot), `markov` (a language with a
known entropy rate), `bpe` (a byte-level tokenizer), `batches` (splits and seeded batches) and
`corpus` (`load_corpus`, which puts them together and caches the result).

The names below are re-exported so that `data.load_corpus(...)` reads as one call.
"""

from .batches import Batcher, batches, train_val_split
from .bpe import BPETokenizer
from .corpus import CORPUS_NAMES, Corpus, cache_dir, load_corpus
from .markov import MarkovLanguage
from .text import english_text, english_text_info

__all__ = [
    "CORPUS_NAMES",
    "BPETokenizer",
    "Batcher",
    "Corpus",
    "MarkovLanguage",
    "batches",
    "cache_dir",
    "english_text",
    "english_text_info",
    "load_corpus",
    "train_val_split",
]
