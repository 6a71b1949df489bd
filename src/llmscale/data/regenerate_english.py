"""Maintainers only: rebuild the English text snapshot from the running interpreter.

    python -m llmscale.data.regenerate_english [--overwrite] [--dir DIR]

Writes ``english_text.txt.gz``, ``LICENSE-PSF.txt`` and ``README-english-text.md`` (default: the
``llmscale/data`` source folder) from this Python's ``pydoc_data.topics``, refusing to replace an
existing snapshot without ``--overwrite``, and prints the ``SNAPSHOT_*`` values for ``text.py``.
"""

from __future__ import annotations

import argparse
import sys

from .text import SNAPSHOT_SHA256, regenerate_snapshot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llmscale.data.regenerate_english", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing snapshot")
    parser.add_argument("--dir", default=None, help="write here instead of the llmscale/data source folder")
    args = parser.parse_args(argv)
    try:
        info = regenerate_snapshot(args.dir, overwrite=args.overwrite)
    except FileExistsError as exc:
        print(f"refusing: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote snapshot from Python {info['python_version']}: {info['n_topics']} topics, "
        f"{info['n_chars']:,} chars, {info['gz_bytes']:,} bytes compressed; licence from {info['license_from']}"
    )
    print("Record in src/llmscale/data/text.py:")
    print(f'SNAPSHOT_PYTHON_VERSION = "{info["python_version"]}"')
    print(f"SNAPSHOT_N_TOPICS = {info['n_topics']}")
    print(f'SNAPSHOT_SHA256 = "{info["sha256"]}"')
    if info["sha256"] != SNAPSHOT_SHA256:
        print("note: the text differs from the one text.py records; stored English results will change")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
