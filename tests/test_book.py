"""The HTML book builds with zero warnings and refers to nothing outside itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

WARNING_RE = re.compile(r"WARNING|\[Warning\]|Warning:")


class _Assets(HTMLParser):
    """Collects the URLs a page makes the browser fetch (scripts, stylesheets...)."""

    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.links: list[str] = []
        self.other: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        elif tag == "link" and a.get("href"):
            self.links.append(a["href"])
        elif tag in {"img", "iframe", "audio", "video", "source", "embed"} and a.get("src"):
            self.other.append(a["src"])


def _is_external(url: str) -> bool:
    url = url.strip().lower()
    return url.startswith(("http://", "https://", "//", "ftp://"))


def toc_files(toc_path: Path = ROOT / "book" / "_toc.yml") -> list[str]:
    """Every document named in the table of contents (root included)."""
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return files


@pytest.mark.book
def test_book_builds_without_warnings(built_book):
    out = built_book.output
    print(f"book build: {built_book.seconds:.1f} s: {' '.join(built_book.command)}")
    assert built_book.returncode == 0, f"jupyter-book build failed:\n{out[-6000:]}"
    warnings = [line for line in out.splitlines() if WARNING_RE.search(line)]
    assert not warnings, "the book build printed warnings:\n" + "\n".join(warnings)
    assert "build succeeded." in out, out[-3000:]
    html = built_book.html

    # Every page in the table of contents was built; notebooks are in the toc.
    files = toc_files()
    assert any((ROOT / f).with_suffix(".ipynb").exists() for f in files), "no notebook in the table of contents"
    for f in files:
        page = html / f"{f}.html"
        assert page.is_file(), f"{f} (from book/_toc.yml) produced no {page}"

    # Nothing is fetched from another host; math is rendered by a local MathJax.
    pages = sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)
    assert pages
    external = []
    mathjax_pages = 0
    for page in pages:
        parser = _Assets()
        parser.feed(page.read_text(encoding="utf-8"))
        for url in parser.scripts + parser.links + parser.other:
            if _is_external(url):
                external.append(f"{page.relative_to(html)}: {url}")
        local_mathjax = [s for s in parser.scripts if "mathjax" in s.lower() and not _is_external(s)]
        for src in local_mathjax:
            target = (page.parent / src.split("?")[0]).resolve()
            assert target.is_file(), f"{page.relative_to(html)} refers to missing {src}"
        mathjax_pages += bool(local_mathjax)
    assert not external, "pages load resources from other hosts:\n" + "\n".join(external)
    assert mathjax_pages > 0, "no page loads a local MathJax"
    for f in files:
        text = (html / f"{f}.html").read_text(encoding="utf-8")
        if "math notranslate" in text:
            assert "_static/mathjax/" in text, f"{f}.html has math but no local MathJax"


@pytest.mark.book
def test_every_answer_cell_sits_inside_its_collapsed_solution(built_book):
    # The line an answer cell prints ("✓ id: correct (value unit).") must appear only inside the
    # exercise's solution, a dropdown the reader opens: never in plain view on the page.
    from bs4 import BeautifulSoup

    from llmscale import exercises, pages

    assert built_book.returncode == 0
    for page in pages.names():
        html = (built_book.html / "notebooks" / f"{page}.html").read_text(encoding="utf-8")
        soup = BeautifulSoup(html, "html.parser")
        for exercise_id in exercises.ids(page=page):
            hits = soup.find_all(string=lambda t, e=exercise_id: t and f"{e}: correct" in t)
            assert hits, f"{page}: the answer cell of {exercise_id} printed nothing"
            for hit in hits:
                solution = hit.find_parent(class_="solution")
                assert solution is not None and "dropdown" in solution.get("class", []), (
                    f"{page}: the answer of {exercise_id} is visible outside its collapsed solution"
                )


def _printed_forms(value: float) -> set[str]:
    """How a page may print an exercise's expected value: as exercises.check does (.4g), to three
    significant digits, and comma-grouped when it is a whole number of four digits or more. Forms
    of fewer than three digits ("2", "0.5") are too common to mean anything and are left out."""
    forms = {f"{value:.4g}", f"{value:.3g}"}
    if abs(value) >= 1000:
        forms.add(f"{value:,.0f}")
    return {f for f in forms if sum(ch.isdigit() for ch in f) >= 3}


def _occurs(form: str, text: str) -> bool:
    return re.search(r"(?<![\d.,])" + re.escape(form) + r"(?![\d])", text) is not None


def _expected_values(page: str):
    from llmscale import exercises

    for exercise_id in exercises.ids(page=page):
        if not exercises.describe(exercise_id).is_choice:
            yield exercise_id, float(exercises.expected(exercise_id))


def test_no_exercise_answer_is_printed_outside_its_solution_in_the_notebooks():
    # The notebooks as stored (what JupyterLab and Colab show): the expected value of each exercise
    # must not appear in any markdown or output outside the solution blocks.
    import json

    from llmscale import pages

    for page in pages.names():
        nb = json.loads((ROOT / "notebooks" / f"{page}.ipynb").read_text(encoding="utf-8"))
        inside, visible = False, []
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            if cell["cell_type"] == "markdown" and "solution-start" in src:
                inside = True
            if not inside:
                visible.append(src if cell["cell_type"] == "markdown" else "")
                for out in cell.get("outputs", []):
                    visible.append("".join(out.get("text", "")))
                    for mime, data in out.get("data", {}).items():
                        if mime.startswith("text/"):
                            visible.append("".join(data) if isinstance(data, list) else str(data))
            if cell["cell_type"] == "markdown" and "solution-end" in src:
                inside = False
        text = "\n".join(visible)
        for exercise_id, value in _expected_values(page):
            for form in _printed_forms(value):
                assert not _occurs(form, text), f"{page}: {exercise_id}'s answer {form} is printed outside its solution"


@pytest.mark.book
def test_no_exercise_answer_is_visible_outside_its_solution_in_the_html(built_book):
    # The built page: every text the reader sees without opening a dropdown is searched for the
    # expected value of each of the page's exercises, in each form a page prints numbers.
    from bs4 import BeautifulSoup

    from llmscale import pages

    assert built_book.returncode == 0
    for page in pages.names():
        soup = BeautifulSoup(
            (built_book.html / "notebooks" / f"{page}.html").read_text(encoding="utf-8"), "html.parser"
        )
        main = soup.find("main") or soup
        for hidden in main.select(".solution"):
            hidden.decompose()
        for tag in main.find_all(["script", "style"]):
            tag.decompose()
        text = main.get_text(" ")
        for exercise_id, value in _expected_values(page):
            for form in _printed_forms(value):
                assert not _occurs(form, text), f"{page}: {exercise_id}'s answer {form} is visible outside its solution"


def test_the_repository_address_is_set_once_and_every_copy_agrees():
    import json

    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    url = config["repository"]["url"].rstrip("/")
    assert f'Repository = "{url}"' in (ROOT / "pyproject.toml").read_text()
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        first = "".join(json.loads(path.read_text())["cells"][0]["source"])
        assert f'%pip install -q --no-deps "llmscale @ git+{url}"' in first, path.name  # Colab keeps its torch


def test_the_publishing_workflow_builds_with_the_books_own_command():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = [s.get("run", "") for s in workflow["jobs"]["build"]["steps"]]
    assert any(s.strip() == "make book" for s in steps)
    uploads = [s for s in workflow["jobs"]["build"]["steps"] if "upload-pages-artifact" in s.get("uses", "")]
    assert uploads and uploads[0]["with"]["path"] == "_build/html"
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML reads the key `on` as True
