"""The student edition and the grader (`llmscale.teaching`, `python -m llmscale student|grade`)."""

from __future__ import annotations

import copy
import csv
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT
from llmscale import exercises, teaching

PAGE = ROOT / "notebooks" / "scaling" / "scaling_laws.ipynb"  # three exercises, arithmetic only


@pytest.fixture(scope="module")
def student_page():
    return teaching.student_notebook(nbformat.read(PAGE, as_version=4))


def test_the_student_edition_drops_every_solution_and_leaves_a_check_cell(student_page):
    text = "\n".join(c.source for c in student_page.cells)
    assert "solution-start" not in text and "solution-end" not in text
    ids = exercises.ids(page="scaling/scaling_laws")
    answers = [c for c in student_page.cells if teaching.STUDENT_TAG in c.metadata.get("tags", [])]
    assert [teaching.CHECK_CALL.search(c.source).group(1) for c in answers] == ids
    assert all("answer = ...\n" in c.source and not c.get("outputs") for c in answers)
    for exercise_id in ids:  # no expected answer printed anywhere in the edition
        assert f"{exercise_id}: correct" not in nbformat.writes(student_page)
    assert student_page.metadata["llmscale"]["exercises"] == ids


def _filled(student_page, tmp_path, student, fill):
    nb = copy.deepcopy(student_page)
    for cell in nb.cells:
        if teaching.STUDENT_TAG in cell.metadata.get("tags", []):
            exercise_id = teaching.CHECK_CALL.search(cell.source).group(1)
            cell.source = cell.source.replace("answer = ...", f"answer = {fill(exercise_id)}")
    folder = tmp_path / student
    folder.mkdir()
    nbformat.write(nb, folder / PAGE.name)
    return folder / PAGE.name


def test_grading_gives_full_marks_zero_with_hints_and_reports_a_broken_notebook(student_page, tmp_path, capsys):
    right = _filled(student_page, tmp_path, "ada", lambda e: repr(exercises.expected(e)))
    wrong = _filled(student_page, tmp_path, "bob", lambda e: repr(exercises.expected(e) * 3))
    broken = _filled(student_page, tmp_path, "cy", lambda e: "1 / 0" if e.endswith("-1") else "None")
    looping = _filled(student_page, tmp_path, "dee", lambda e: "sum(1 for _ in iter(int, 1))")  # never ends
    scores = teaching.grade([right, wrong, broken], timeout_s=120, csv_path=tmp_path / "grades.csv")
    scores += teaching.grade([looping], timeout_s=20)
    by = teaching.totals(scores)
    n = len(exercises.ids(page="scaling/scaling_laws"))
    assert by == {"ada": (n, n), "bob": (0, n), "cy": (0, n), "dee": (0, n)}
    bob = [s for s in scores if s.student == "bob"]
    assert all(s.status == "wrong" and s.detail for s in bob)  # the hint comes back
    cy = {s.exercise: s for s in scores if s.student == "cy"}
    assert cy["scaling-laws-1"].status == "not run" and "ZeroDivisionError" in cy["scaling-laws-1"].detail
    assert cy["scaling-laws-2"].status == "not answered"
    dee = [s for s in scores if s.student == "dee"]
    assert all(s.status == "not run" for s in dee) and "20" in dee[0].detail  # stopped at the limit
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert len(rows) == 3 * n and {r["student"] for r in rows} == {"ada", "bob", "cy"}
    assert "ada: 3/3" in capsys.readouterr().out


def test_the_command_line_writes_the_student_edition(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "llmscale", "student", "--notebooks", str(ROOT / "notebooks"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    written = sorted(tmp_path.rglob("*.ipynb"))
    assert len(written) == len(list((ROOT / "notebooks").rglob("*.ipynb"))) and "wrote" in out
    for path in written:
        assert "solution-start" not in path.read_text(encoding="utf-8")


def test_bad_input_to_the_grader_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no notebooks"):
        teaching.grade([])
    with pytest.raises(ValueError, match="does not exist"):
        teaching.grade_notebook(tmp_path / "missing.ipynb")
    with pytest.raises(ValueError, match="timeout_s"):
        teaching.grade_notebook(PAGE, timeout_s=0)


@pytest.mark.book
def test_make_student_builds_an_edition_whose_html_shows_no_answer():
    run = subprocess.run(["make", "student"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    html = ROOT / "_build" / "student" / "edition" / "_build" / "html"
    pages = sorted((html / "notebooks").rglob("*.html"))
    assert len(pages) == len(list((ROOT / "notebooks").rglob("*.ipynb")))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert ": correct (" not in text and "solution dropdown" not in text, page.name
