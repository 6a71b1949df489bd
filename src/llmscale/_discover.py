"""Import every submodule of a package, so that modules register themselves by being present.

Claims, exercises, published figures and experiments live one module per chapter page; a new
page adds a file and needs no edit to a shared list.
"""

from __future__ import annotations

import importlib
import pkgutil


def import_submodules(package_name: str) -> list[str]:
    """Import all direct submodules of `package_name` (sorted by name); return their names."""
    package = importlib.import_module(package_name)
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{package_name}.{name}")
    return names
