"""Find a package's submodules by their files, so that adding a file is all it takes to add a page,
an experiment or a table of published figures (no shared list to edit)."""

from __future__ import annotations

import importlib
import pkgutil


def submodule_names(package_name: str) -> list[str]:
    """Names of the direct submodules of `package_name` (sorted; private `_x` ones left out), not imported."""
    package = importlib.import_module(package_name)
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))


def import_submodules(package_name: str) -> list[str]:
    """Import every direct submodule of `package_name` (sorted by name); return their names."""
    names = submodule_names(package_name)
    for name in names:
        importlib.import_module(f"{package_name}.{name}")
    return names
