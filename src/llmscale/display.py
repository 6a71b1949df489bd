"""Helpers for notebooks: tables as Markdown, a page's claims ledger, and numbers glued into the prose.

`glue(name, text)` stores a computed, formatted number under `name` so the book's prose can
show it with {glue:text}`name` (MyST-NB), and prints `name = text` in the cell's output, so a
reader in JupyterLab or on Colab, where the prose shows the raw role, sees the number there.
"""

from __future__ import annotations

from collections.abc import Sequence


def glue(name: str, value: str, display: bool = False) -> None:
    """Make `value` (already formatted) available to the prose as {glue:text}`name`, and print
    `name = value` (the prose's number, visible where MyST roles are not rendered)."""
    print(f"{name} = {value}")
    try:
        from myst_nb import glue as _glue
    except ImportError:  # outside the book's environment (Colab): the printed line is all
        return
    _glue(name, value, display=display)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> str:
    """A Markdown table; `align` is one character per column, 'l' or 'r' (default: all left)."""
    if any(len(r) != len(header) for r in rows):
        raise ValueError("every row must have as many cells as the header")
    align = align or "l" * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def show_markdown(text: str) -> None:
    """Display Markdown in a notebook (rendered by the book), or print it elsewhere."""
    try:
        from IPython.display import Markdown, display
    except ImportError:
        print(text)
        return
    display(Markdown(text))


def show_claims(page: str, seed: str | None = None) -> dict:
    """Show the claims a page examines as a ledger table (those out of scope collapsed below it);
    return them by id (for the page's asserts)."""
    from . import claims

    records = claims.evaluate(page=page, seed=seed)
    show_markdown(claims.page_markdown(records))
    return {r.id: r for r in records}
