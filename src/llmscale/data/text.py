"""The book's English text: a fixed snapshot of the Python Language Reference topics.

The text is what CPython ships as ``pydoc_data.topics`` (the pages `help()` shows), joined in
sorted key order with blank lines. It is stored here, compressed, from one Python version, so
every reader trains on the same bytes whatever Python runs the book (the interpreter's own copy
changes between versions). Licence: the Python Software Foundation License (``LICENSE-PSF.txt``).
"""

from __future__ import annotations

import functools
import hashlib
import platform
from typing import Any

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
