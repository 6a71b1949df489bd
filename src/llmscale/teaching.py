"""Teaching from the book: a student edition of the notebooks, and a grader of filled-in ones.

The student edition is made from the book's own notebooks: every gated solution
(`solution-start` ... `solution-end`, with the answer cells inside it) is removed and replaced
by one code cell for the student, `answer = ...` followed by the `exercises.check` call, so
the exercises are those the book's readers see and the answers come from the same package.

The grader executes filled-in notebooks (a time limit per notebook, network refused) and
records every `exercises.check` call they make, through the log file that `exercises.check`
appends to when `LLMSCALE_GRADE_LOG` is set. An exercise scores 1 when its last check passed,
0 otherwise, with the check's hint or the error as the reason; a notebook that raises or loops
is reported and the grading goes on with the next one.

Built on nbformat and nbclient, the libraries Jupyter itself uses to read and run notebooks.
nbgrader and otter-grader would each want the book's exercises rewritten in their own format
(nbgrader's cell metadata and "### BEGIN SOLUTION" markers, otter's assignment syntax), while
the book's solutions are sphinx-exercise directives and its answers `exercises.check` calls.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from . import exercises, pages

SOLUTION_START = re.compile(r"^\s*```+\{solution-start\}\s*(\S+)", re.M)
SOLUTION_END = re.compile(r"^\s*```+\{solution-end\}", re.M)
CHECK_CALL = re.compile(r"exercises\.check\(\s*[\"']([^\"']+)[\"']")
STUDENT_TAG = "student-answer"
GUARD_DIR = Path(__file__).resolve().parent / "_nonetwork"


# --- The student edition ------------------------------------------------------------------


def student_cell(exercise_id: str) -> nbformat.NotebookNode:
    """The code cell a student fills in for one exercise."""
    ex = exercises.describe(exercise_id)
    if ex.is_choice:
        what = "the label of your choice, " + ", ".join(f'"{k}"' for k in ex.options)
    else:
        what = f"your answer, in {ex.unit}"
    source = (
        f"# Exercise {exercise_id}: replace ... by {what}, then run the cell.\n"
        "answer = ...\n"
        f'exercises.check("{exercise_id}", answer)'
    )
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [STUDENT_TAG]
    return cell


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a book notebook with each gated solution replaced by a cell for the student."""
    out = copy.deepcopy(nb)
    cells, i, found = [], 0, []
    while i < len(out.cells):
        cell = out.cells[i]
        if cell.cell_type == "markdown" and SOLUTION_START.search(cell.source):
            ids = []
            j = i
            while j < len(out.cells) and not (
                out.cells[j].cell_type == "markdown" and SOLUTION_END.search(out.cells[j].source)
            ):
                if out.cells[j].cell_type == "code":
                    ids += CHECK_CALL.findall(out.cells[j].source)
                j += 1
            if j == len(out.cells):
                raise ValueError(f"a solution-start at cell {i} has no solution-end; close it with ```{{solution-end}}")
            if not ids:
                raise ValueError(f"the solution at cell {i} checks no exercise; put its exercises.check cell inside it")
            cells += [student_cell(e) for e in dict.fromkeys(ids)]
            found += ids
            i = j + 1
            continue
        cells.append(cell)
        i += 1
    out.cells = cells
    out.metadata["llmscale"] = {"edition": "student", "exercises": list(dict.fromkeys(found))}
    return out


def write_student_edition(
    notebooks: str | os.PathLike = "notebooks", out: str | os.PathLike = "_build/student"
) -> list[Path]:
    """Write the student edition of every notebook under `notebooks` to `out` (same relative paths)."""
    src, dst = Path(notebooks), Path(out)
    if not src.is_dir():
        raise ValueError(f"notebooks={str(src)!r} is not a folder; pass the book's notebooks folder")
    written = []
    for path in sorted(src.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_notebook(nbformat.read(path, as_version=4)), target)
        written.append(target)
    return written


# --- The grader ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """One exercise of one student's notebook: 1 point or 0, and why."""

    student: str
    notebook: str
    exercise: str
    points: int
    status: str  # correct, wrong, not answered, error, not run
    detail: str = ""


def _exercises_of(nb: nbformat.NotebookNode, path: Path) -> list[str]:
    listed = nb.metadata.get("llmscale", {}).get("exercises")
    if listed:
        return list(listed)
    page = pages.find_stem(path.stem)
    if page is not None:
        return exercises.ids(page=page)
    return list(dict.fromkeys(e for c in nb.cells if c.cell_type == "code" for e in CHECK_CALL.findall(c.source)))


def _run(nb: nbformat.NotebookNode, workdir: Path, timeout_s: float, log: Path) -> str | None:
    """Execute `nb` in place within `timeout_s` seconds in all; return a problem, or None."""
    from nbclient import NotebookClient

    env_keys = ("LLMSCALE_GRADE_LOG", "PYTHONPATH")
    saved = {k: os.environ.get(k) for k in env_keys}
    os.environ["LLMSCALE_GRADE_LOG"] = str(log)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(GUARD_DIR)]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(GUARD_DIR), *parts])
    deadline = time.monotonic() + timeout_s
    problem = None
    client = NotebookClient(
        nb,
        timeout=int(timeout_s),
        allow_errors=True,
        interrupt_on_timeout=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    problem = f"stopped after {timeout_s:g} s (the notebook's time limit)"
                    break
                client.timeout = max(1, int(left))
                try:
                    client.execute_cell(cell, index)
                except Exception as err:  # a timeout or a dead kernel: report it, grade what ran
                    problem = f"{type(err).__name__} in cell {index}: {str(err).splitlines()[0][:200]}"
                    break
                if any(o.get("output_type") == "error" for o in cell.get("outputs", [])) and problem is None:
                    err = next(o for o in cell.outputs if o.get("output_type") == "error")
                    problem = f"cell {index} raised {err.get('ename')}: {err.get('evalue', '')[:200]}"
    except Exception as err:
        problem = f"the notebook could not run: {type(err).__name__}: {err}"
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return problem


def grade_notebook(path: str | os.PathLike, *, student: str | None = None, timeout_s: float = 300) -> list[Score]:
    """Execute one filled-in notebook and score each of its exercises."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"notebook {str(path)!r} does not exist; pass the path of a filled-in .ipynb")
    if not timeout_s > 0:
        raise ValueError(f"timeout_s={timeout_s!r} must be > 0 seconds, e.g. 300")
    student = student or path.parent.name or path.stem
    nb = nbformat.read(path, as_version=4)
    ids = _exercises_of(nb, path)
    with tempfile.TemporaryDirectory(prefix="llmscale-grade-") as tmp:
        log = Path(tmp) / "checks.jsonl"
        log.touch()
        problem = _run(nb, path.parent.resolve(), timeout_s, log)
        checks: dict[str, dict] = {}
        for line in log.read_text().splitlines():
            record = json.loads(line)
            checks[record["id"]] = record  # the last check of an exercise counts
    scores = []
    for exercise_id in ids:
        record = checks.get(exercise_id)
        if record is None:
            status, detail = ("not run", problem or "no exercises.check call for it ran")
        elif record.get("error"):
            status, detail = "not answered", record["error"]
        elif record["ok"]:
            status, detail = "correct", ""
        else:
            status, detail = "wrong", record.get("hint", "")
        scores.append(Score(student, path.name, exercise_id, int(status == "correct"), status, detail))
    return scores


def grade(
    paths: Sequence[str | os.PathLike],
    *,
    timeout_s: float = 300,
    csv_path: str | os.PathLike | None = None,
    echo: bool = True,
) -> list[Score]:
    """Grade notebooks one after another; print a score per exercise and per student; write a CSV."""
    if not paths:
        raise ValueError("no notebooks given; pass the filled-in .ipynb files, e.g. submissions/*/data.ipynb")
    scores: list[Score] = []
    for p in paths:
        got = grade_notebook(p, timeout_s=timeout_s)
        scores += got
        if echo:
            for s in got:
                mark = "✓" if s.points else "✗"
                print(
                    f"{mark} {s.student} {s.notebook} {s.exercise}: {s.status}" + (f" ({s.detail})" if s.detail else "")
                )
    if echo:
        for student, (points, total) in totals(scores).items():
            print(f"{student}: {points}/{total}")
    if csv_path is not None:
        write_csv(scores, csv_path)
    return scores


def totals(scores: Iterable[Score]) -> dict[str, tuple[int, int]]:
    """Points and exercises per student."""
    out: dict[str, tuple[int, int]] = {}
    for s in scores:
        points, total = out.get(s.student, (0, 0))
        out[s.student] = (points + s.points, total + 1)
    return out


def write_csv(scores: Iterable[Score], path: str | os.PathLike) -> Path:
    """One row per student and exercise: student, notebook, exercise, points, status, detail."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=[f for f in Score.__dataclass_fields__])
        writer.writeheader()
        for s in scores:
            writer.writerow(asdict(s))
    return path
