"""The package's layout: imports flow one way, one page one module, one experiment one file.

The import rules are checked by reading every module's import statements (its AST, function
bodies included, so lazy imports count too), not by importing it:

* arithmetic modules never import torch, nor the PyTorch core, nor the book layer;
* `model/` never imports `torch.distributed` nor a chapter package;
* a chapter package imports the core and earlier chapters only;
* nothing imports `__main__` or a lab script (a module under a `labs/` folder; its private
  helpers, `_common` and `_replicas`, are shared by the labs only);
* there is no import cycle between modules;
* every module belongs to exactly one layer, so a new module must be placed deliberately.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "llmscale"

# Layers, bottom to top. A module is named by its dotted path under llmscale ("scaling.laws").
ARITHMETIC = {
    "units",
    "articles",
    "_validate",
    "_io",
    "_registry",
    "config",
    "presets",
    "hardware",
    "counting",
    "cost",
    "published",
    "scaling.laws",
    "scaling.fitting",
    "scaling.lifetime",
    "scaling.mixtures",
    "parallelism.memory",
    "parallelism.comms",
    "parallelism.layout",
    "parallelism.schedule",
    "parallelism.planner",
    "parallelism.reliability",
    "inference.kv_cache",
    "inference.decode",
    "inference.roofline",
    "inference.serving_cost",
    "compression.formats",
}
CORE = {"measure", "model", "data", "train"}
CHAPTERS = ["scaling", "parallelism", "inference", "compression"]  # in the book's order
BOOK = {"experiments", "pages", "claims", "exercises", "display", "plot", "benchmarks", "teaching", "_nonetwork"}
TOP = {"__main__", ""}  # "" is the package's own __init__


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute llmscale-relative name `from ... import` refers to ("" is llmscale itself)."""
    if node.level == 0:
        base = node.module or ""
        if base != "llmscale" and not base.startswith("llmscale."):
            return "!" + base  # outside the package
        return base[len("llmscale.") :] if base != "llmscale" else ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    if module == "":
        package = []
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *(node.module.split(".") if node.module else [])])


def _imports(module: str, source: str | None = None, is_package: bool | None = None) -> set[str]:
    """Everything `module` imports: llmscale modules by name, other packages as "!name"."""
    if source is None:
        path = MODULES[module]
        source, is_package = path.read_text(), path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                out.add(
                    name[len("llmscale.") :]
                    if name.startswith("llmscale.")
                    else ""
                    if name == "llmscale"
                    else "!" + name
                )
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node)
            if base.startswith("!"):
                out.add(base)
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}" if base else alias.name
                out.add(sub if sub in MODULES else base)
    return out


GRAPH = {m: {i for i in _imports(m) if not i.startswith("!")} for m in MODULES}
EXTERNAL = {m: {i[1:] for i in _imports(m) if i.startswith("!")} for m in MODULES}


def _lazy_attribute_imports(module: str) -> set[str]:
    """What a chapter package's module-level `__getattr__` imports (PEP 562): run only when the
    attribute is asked for, so importing an arithmetic submodule of the chapter never runs it."""
    if module not in CHAPTERS:
        return set()
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            wrapper = ast.Module(body=node.body, type_ignores=[])
            found |= _imports(module, ast.unparse(wrapper), is_package=True)
    return found


def _in(module: str, group) -> bool:
    return any(module == g or module.startswith(g + ".") for g in group)


def _layer(module: str) -> str:
    if module in TOP:
        return "top"
    if _in(module, ARITHMETIC) or module in CHAPTERS:  # a chapter's __init__ holds only its docstring
        return "arithmetic"
    if _in(module, CORE):
        return "core"
    if _in(module, CHAPTERS):
        return "chapter"
    if _in(module, BOOK):
        return "book"
    return "unplaced"


def test_every_module_belongs_to_a_layer():
    unplaced = [m for m in MODULES if _layer(m) == "unplaced"]
    assert not unplaced, f"place these modules in a layer of tests/test_layout.py: {unplaced}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) == "arithmetic"))
def test_arithmetic_modules_import_neither_torch_nor_anything_above_them(module):
    # A chapter's __init__ may expose a running function lazily (its `__getattr__`); nothing else.
    lazy = _lazy_attribute_imports(module)
    assert not any(e == "torch" or e.startswith("torch.") for e in EXTERNAL[module] - lazy), module
    above = [i for i in GRAPH[module] - lazy if i and _layer(i) != "arithmetic"]
    assert not above, f"{module} imports {above}, which sit above the arithmetic"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, {"model"})))
def test_model_never_imports_distributed_code_or_a_chapter(module):
    assert not any(e.startswith("torch.distributed") for e in EXTERNAL[module]), module
    bad = [i for i in GRAPH[module] if i and _layer(i) not in ("arithmetic", "core")]
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in ("core", "chapter")))
def test_core_and_chapters_import_only_the_core_and_earlier_chapters(module):
    chapter = next((c for c in CHAPTERS if _in(module, {c})), None)
    allowed = set(CHAPTERS[: CHAPTERS.index(chapter) + 1]) if chapter else set()
    for target in GRAPH[module]:
        if not target or _layer(target) in ("arithmetic", "core"):
            continue
        assert _layer(target) == "chapter" and _in(target, allowed), f"{module} imports {target}"


def _is_lab_script(module: str) -> bool:
    # A lab is a module under a labs/ folder; the folder itself and its private helpers
    # (labs/_common.py, shared by the labs and the tests' launcher) are not labs.
    head, _, name = module.rpartition(".")
    return head.endswith("labs") and not name.startswith("_") and name != "labs"


def test_nothing_imports_main_or_a_lab_script():
    for module, targets in GRAPH.items():
        for target in targets:
            assert target != "__main__", f"{module} imports __main__"
            assert not _is_lab_script(target) or module == target, f"{module} imports the lab {target}"
            if ".labs._" in f".{target}":
                assert ".labs." in f".{module}.", f"only labs import their private helpers, not {module} ({target})"


def test_there_is_no_import_cycle_lazy_imports_included():
    # A module's own package __init__ is not an edge: importing a submodule runs it anyway.
    def edges(m):
        return {t for t in GRAPH[m] if t != m and not (m.startswith(t + ".") or t == "")}

    state: dict[str, int] = {}

    def visit(m, stack):
        state[m] = 1
        for t in edges(m):
            if state.get(t) == 1:
                cycle = stack[stack.index(t) :] + [t]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t, [*stack, t])
        state[m] = 2

    for m in sorted(MODULES):
        if m not in state:
            visit(m, [m])


def test_the_import_reader_sees_lazy_relative_and_absolute_imports():
    # The checks above can fail only if the reader sees every kind of import statement.
    source = (
        "import numpy as np\nfrom . import counting\nfrom ..model import moe\n"
        "def f():\n    import torch.distributed\n    from llmscale.pages.scaling import data\n"
    )
    found = _imports("inference.decode", source, is_package=False)
    assert found == {"!numpy", "inference", "model.moe", "!torch.distributed", "pages.scaling.data"}
    assert _imports("counting", "from .model import decoder\n", is_package=False) == {"model.decoder"}
    assert _layer("counting") == "arithmetic" and _layer("model.moe") == "core"
    assert _layer("pages.scaling.data") == "book" and _layer("parallelism.labs.ddp") == "chapter"
    assert _layer("scaling.repetition") == "chapter" and _layer("somewhere_new") == "unplaced"


# --- one page, one module ----------------------------------------------------------------------


def _toc_notebooks() -> set[str]:
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = []

    def walk(entries):
        for e in entries:
            if "file" in e:
                files.append(e["file"])
            walk(e.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return {f[len("notebooks/") :] for f in files if f.startswith("notebooks/")}


def test_every_notebook_in_the_toc_has_a_page_module_and_every_page_module_a_notebook():
    from llmscale import pages

    notebooks = _toc_notebooks()
    on_disk = {
        str(p.relative_to(ROOT / "notebooks").with_suffix(""))
        for p in (ROOT / "notebooks").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    }
    assert notebooks == on_disk, "every notebook is in the table of contents, and only those"
    assert set(pages.names()) == notebooks


def test_each_claim_and_exercise_lives_in_its_pages_module():
    from llmscale import claims, exercises, pages

    records = claims.evaluate()
    for r in records:
        assert r.page in pages.names(), r.id
    for page in pages.names():
        own = [r for r in records if r.page == page]
        assert [r.id for r in claims.evaluate(page=page)][: len(own)] == [r.id for r in own]
        for exercise_id in exercises.ids(page=page):
            assert exercise_id.startswith(page.rsplit("/", 1)[-1].replace("_", "-") + "-")


def test_page_stems_are_unique_across_chapters():
    from llmscale import pages

    stems = [p.rsplit("/", 1)[-1] for p in pages.names()]
    assert len(stems) == len(set(stems))


def test_checking_an_exercise_imports_only_its_pages_module():
    import subprocess
    import sys

    code = (
        "import sys; from llmscale import exercises; exercises.check('parameter-growth-1', 1, quiet=True); "
        "loaded = sorted(m for m in sys.modules if m.startswith('llmscale.pages.') and m.count('.') == 3); "
        "print(loaded, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['llmscale.pages.scaling.parameter_growth'] False"


# --- experiments and results ----------------------------------------------------------------


def test_each_experiment_module_is_named_after_its_experiment():
    from llmscale import experiments

    names = experiments.names()
    assert names, "no experiments found"
    for name in names:
        exp = experiments.get_experiment(name)
        assert exp.name == name
        assert importlib.import_module(f"llmscale.experiments.{name.replace('-', '_')}").EXPERIMENT is exp


def test_results_holds_json_only_and_every_file_belongs_to_an_experiment():
    from llmscale import experiments

    files = sorted((SRC / "results").iterdir())
    assert files and all(f.suffix == ".json" for f in files), [f.name for f in files]
    for f in files:
        assert f.stem.split(".")[0] in experiments.names(), f.name


def test_the_test_fixture_experiment_is_not_listed():
    from llmscale import experiments

    assert "train-demo" not in experiments.names()


def test_a_chapters_lazy_attribute_keeps_its_arithmetic_free_of_torch():
    import subprocess
    import sys

    code = (
        "import sys; import llmscale.inference.kv_cache, llmscale.inference.decode; "
        "print('torch' in sys.modules); import llmscale.inference as inf; "
        "print(callable(inf.generate), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True", "True"]
