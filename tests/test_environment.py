"""environment.yml (conda) lists the same packages and versions as pyproject.toml."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import ROOT

# PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"torch": "pytorch"}
# Conda-only entries that have no counterpart in pyproject's dependency lists.
CONDA_ONLY = {"python", "pip"}
# pyproject groups the conda environment must provide.
EXTRAS = ("dev", "lab")

REQ_RE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*?)\s*(;.*)?$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(req: str) -> tuple[str, str]:
    m = REQ_RE.match(req)
    assert m, f"cannot parse requirement {req!r}"
    return _norm(m.group(1)), m.group(3).replace(" ", "")


def _conda_spec_from_pip(spec: str) -> str:
    """'==2.13.*' -> '=2.13' (conda's fuzzy match); '==1.2.3' stays '==1.2.3'."""
    if spec.startswith("==") and spec.endswith(".*"):
        return "=" + spec[2:-2]
    return spec


def _conda_split(entry: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*$", entry)
    assert m, f"cannot parse conda entry {entry!r}"
    return _norm(m.group(1)), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    wanted: dict[str, str] = {}
    for req in project.get("dependencies", []):
        name, spec = _split(req)
        wanted[name] = spec
    for extra in EXTRAS:
        for req in project.get("optional-dependencies", {}).get(extra, []):
            name, spec = _split(req)
            assert wanted.get(name, spec) == spec, f"{name} pinned twice in pyproject"
            wanted[name] = spec

    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"][0] == "conda-forge"
    conda: dict[str, str] = {}
    pip: dict[str, str] = {}
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            for req in entry.get("pip", []):
                if req.startswith(("-e", "--")):
                    continue  # the project itself
                name, spec = _split(req)
                assert name not in pip, f"{name} listed twice under pip"
                pip[name] = spec
        else:
            name, spec = _conda_split(entry)
            assert name not in conda, f"{name} listed twice"
            conda[name] = spec

    # python itself: the same lower bound as requires-python.
    assert conda.get("python") == project["requires-python"].replace(" ", ""), (
        f"python {conda.get('python')!r} vs requires-python {project['requires-python']!r}"
    )

    pypi_names = {v: k for k, v in CONDA_NAMES.items()}
    found: dict[str, str] = {}
    for name, spec in conda.items():
        if name in CONDA_ONLY:
            continue
        found[pypi_names.get(name, name)] = ("conda", spec)
    for name, spec in pip.items():
        assert name not in found, f"{name} is in both the conda list and the pip list"
        found[name] = ("pip", spec)

    missing = sorted(set(wanted) - set(found))
    extra = sorted(set(found) - set(wanted))
    assert not missing, f"in pyproject.toml but not in environment.yml: {missing}"
    assert not extra, f"in environment.yml but not in pyproject.toml: {extra}"

    for name, spec in wanted.items():
        where, got = found[name]
        expected = _conda_spec_from_pip(spec) if where == "conda" else spec
        assert got == expected, (
            f"{name}: pyproject.toml has {spec!r}, environment.yml ({where}) has {got!r} (expected {expected!r})"
        )
    for name in CONDA_NAMES:
        if name in wanted and name in found and found[name][0] == "conda":
            assert CONDA_NAMES[name] in conda, f"{name} must be listed as {CONDA_NAMES[name]}"
