"""The book's English text: a fixed snapshot of the Python Language Reference topics.

The text is what CPython ships as ``pydoc_data.topics`` (the pages `help()` shows), joined in
sorted key order with blank lines. It is stored here, gzip-compressed
(``english_text.txt.gz``), from one Python version (3.11.7), so every reader trains on the same
bytes whatever Python runs the book (the interpreter's own copy changes between versions).
Licence: the Python Software Foundation License (``LICENSE-PSF.txt``, next to the snapshot);
provenance and checksum: ``README-english-text.md``.

Reading the text never imports ``pydoc_data``. Only a maintainer rebuilds the snapshot, from the
running interpreter: ``python -m llmscale.data.regenerate_english`` (see
:func:`regenerate_snapshot`).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import sys
from importlib import resources
from pathlib import Path
from typing import Any

SNAPSHOT_FILE = "english_text.txt.gz"
LICENSE_FILE = "LICENSE-PSF.txt"
README_FILE = "README-english-text.md"

# What the shipped snapshot is; english_text() checks the bytes against SNAPSHOT_SHA256.
# Rebuilding the snapshot on another Python prints the new values to put here.
SNAPSHOT_PYTHON_VERSION = "3.11.7"
SNAPSHOT_N_TOPICS = 79
SNAPSHOT_SHA256 = "71f2ff5d99bdc1f9c48c5c2353ad138201c5ca1c377e0226857ef8fa89b8bcee"  # of the UTF-8 text

_ENGLISH_SOURCE = (
    "pydoc_data.topics.topics: the Python Language Reference topics that ship "
    "with CPython (used by help()), joined in sorted key order with blank lines; "
    f"a fixed snapshot from Python {SNAPSHOT_PYTHON_VERSION} shipped as "
    f"llmscale/data/{SNAPSHOT_FILE}"
)


def _join_topics(topics: dict[str, str]) -> str:
    """The one definition of the text: topics sorted by key, joined with ``"\\n\\n"``."""
    return "\n\n".join(topics[key] for key in sorted(topics))


@functools.lru_cache(maxsize=1)
def _snapshot_bytes() -> bytes:
    raw = resources.files(__package__).joinpath(SNAPSHOT_FILE).read_bytes()
    data = gzip.decompress(raw)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SNAPSHOT_SHA256:
        raise RuntimeError(
            f"llmscale/data/{SNAPSHOT_FILE} has sha256 {digest}, but text.py records "
            f"{SNAPSHOT_SHA256}: the snapshot is corrupt, or was regenerated without "
            "updating SNAPSHOT_* in llmscale/data/text.py"
        )
    return data


@functools.lru_cache(maxsize=1)
def english_text() -> str:
    """The snapshot: Python 3.11.7's ``pydoc_data.topics``, sorted by key, joined with ``"\\n\\n"``."""
    return _snapshot_bytes().decode("utf-8")


def english_text_info() -> dict[str, Any]:
    """Where the English text came from: source, Python version, topics, size and SHA-256."""
    data = _snapshot_bytes()
    return {
        "source": _ENGLISH_SOURCE,
        "python_version": SNAPSHOT_PYTHON_VERSION,
        "n_topics": SNAPSHOT_N_TOPICS,
        "n_chars": len(english_text()),
        "n_bytes_utf8": len(data),
        "sha256": SNAPSHOT_SHA256,
    }


# ---------------------------------------------------------------------------
# Maintainers only: rebuild the snapshot from the running interpreter
# ---------------------------------------------------------------------------


def _find_python_license() -> Path | None:
    """CPython's own LICENSE(.txt), which holds the PSF License Agreement version 2."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for prefix in dict.fromkeys([sys.base_prefix, sys.prefix]):
        for rel in (
            f"lib/{version}/LICENSE.txt",
            f"lib/{version}/LICENSE",
            "LICENSE.txt",
            "LICENSE",
            "Lib/LICENSE.txt",
        ):
            path = Path(prefix) / rel
            if path.is_file():
                return path
    return None


def _readme(info: dict[str, Any]) -> str:
    return f"""# English text snapshot (`{SNAPSHOT_FILE}`)

The English corpus of the book (`llmscale.data.english_text()`): CPython's
`pydoc_data.topics.topics` (the Language Reference pages `help()` shows), all
{info["n_topics"]} topics joined in sorted key order with `"\\n\\n"`, UTF-8, gzip-compressed.

- Taken from: Python {info["python_version"]} (`pydoc_data/topics.py` of that interpreter)
- Text: {info["n_chars"]:,} characters, {info["n_bytes_utf8"]:,} bytes (UTF-8)
- Text SHA-256 (UTF-8, uncompressed): `{info["sha256"]}`
- `{SNAPSHOT_FILE}`: {info["gz_bytes"]:,} bytes, SHA-256 `{info["gz_sha256"]}`
- Licence: Python Software Foundation License Version 2, see `{LICENSE_FILE}`
  (CPython's `LICENSE.txt`, copied from the interpreter that produced the text).

Regenerate (maintainers only; it refuses to overwrite without `--overwrite`):

    python -m llmscale.data.regenerate_english --overwrite

then put the printed `SNAPSHOT_*` values into `src/llmscale/data/text.py`.
A new snapshot changes every stored English result, so do this only on purpose.
"""


def regenerate_snapshot(directory: Path | str | None = None, *, overwrite: bool = False) -> dict[str, Any]:
    """Rebuild the snapshot, its README and licence from the running interpreter's ``pydoc_data``.

    Writes into ``directory`` (default: this package's source folder). Refuses with
    ``FileExistsError`` when the snapshot is already there unless ``overwrite=True``.
    Returns the values to record as ``SNAPSHOT_*`` in this module.
    """
    from pydoc_data.topics import topics  # the only place pydoc_data is read

    target = Path(directory) if directory is not None else Path(__file__).resolve().parent
    snapshot = target / SNAPSHOT_FILE
    if snapshot.exists() and not overwrite:
        raise FileExistsError(f"{snapshot} exists; pass overwrite=True (--overwrite) to replace it")
    data = _join_topics(topics).encode("utf-8")
    compressed = gzip.compress(data, compresslevel=9, mtime=0)  # mtime=0: same input, same bytes
    assert gzip.decompress(compressed) == data
    python_version = ".".join(map(str, sys.version_info[:3]))
    info = {
        "python_version": python_version,
        "n_topics": len(topics),
        "n_chars": len(data.decode("utf-8")),
        "n_bytes_utf8": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "gz_bytes": len(compressed),
        "gz_sha256": hashlib.sha256(compressed).hexdigest(),
    }
    target.mkdir(parents=True, exist_ok=True)
    snapshot.write_bytes(compressed)
    licence = _find_python_license()
    if licence is not None:
        (target / LICENSE_FILE).write_bytes(licence.read_bytes())
    elif not (target / LICENSE_FILE).exists():
        raise FileNotFoundError(
            f"no CPython LICENSE.txt under {sys.base_prefix}; add {LICENSE_FILE} (PSF License v2) by hand"
        )
    (target / README_FILE).write_text(_readme(info), encoding="utf-8")
    info["license_from"] = str(licence) if licence is not None else None
    return info
