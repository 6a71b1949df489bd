"""One module per notebook: `pages/<chapter>/<page>.py` holds the claims and exercises of
`notebooks/<chapter>/<page>.ipynb`, and nothing else.

A page is named by its path without the suffix, e.g. "scaling/data". A page module may list
in `REVISITS` the ids of claims that live on another page and that it examines again; the
ledger keeps each claim once, on its own page.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

_PREFIX = __name__ + "."


def names() -> list[str]:
    """Every page, as "chapter/page", sorted."""
    out = []
    for chapter in pkgutil.iter_modules(__path__):
        if not chapter.ispkg or chapter.name.startswith("_"):
            continue
        package = importlib.import_module(f"{__name__}.{chapter.name}")
        out += [
            f"{chapter.name}/{m.name}" for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")
        ]
    return sorted(out)


def page_of_module(module_name: str) -> str:
    """The page a page module serves: 'llmscale.pages.scaling.data' -> 'scaling/data'."""
    if not module_name.startswith(_PREFIX) or module_name.count(".") != 3:
        raise ValueError(
            f"claims and exercises are registered by page modules "
            f"({_PREFIX}<chapter>.<page>), not by {module_name!r}; move them there"
        )
    return module_name[len(_PREFIX) :].replace(".", "/")


def load(page: str) -> ModuleType:
    """Import the module of `page` ("chapter/page"), registering its claims and exercises."""
    if not isinstance(page, str) or page not in names():
        raise ValueError(f"unknown page={page!r}; choose one of {names()}")
    return importlib.import_module(_PREFIX + page.replace("/", "."))


def load_all() -> list[str]:
    """Import every page module; return the pages."""
    all_pages = names()
    for page in all_pages:
        importlib.import_module(_PREFIX + page.replace("/", "."))
    return all_pages


def find_stem(stem: str) -> str | None:
    """The page whose file stem is `stem` (stems are unique across chapters), or None."""
    found = [p for p in names() if p.rsplit("/", 1)[-1] == stem]
    return found[0] if found else None
