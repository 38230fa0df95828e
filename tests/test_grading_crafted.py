"""`make grade` on the crafted submissions: every case gets its expected score and a reason,
nothing stops the batch, no file is lost or modified, feedback hides the hidden tests, the
course folder works with nbgrader, one student can be regraded alone, and manual grades from
the formgrader reach grades.csv.

By default the crafted set is built from the small fixture assignment; run it against the
real lab with ``GRADING_SOLUTIONS=solutions python -m pytest tests/test_grading_crafted.py``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labutils.grading import crafted
from labutils.grading.__main__ import main as grade
from tests.conftest import GRADING_FIXTURE

pytestmark = pytest.mark.notebook
SOLUTIONS = Path(os.environ.get("GRADING_SOLUTIONS", GRADING_FIXTURE)).resolve()
CASES = [c.name for c in crafted.CASES] + list(crafted.FILE_CASES)
# Short limits keep the endless loops cheap; a real run uses nbgrader_config.py's timeout.
CELL_TIMEOUT = int(os.environ.get("GRADING_CELL_TIMEOUT", "15"))


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _rows(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not any(SOLUTIONS.glob("*.ipynb")):
        pytest.skip(f"no notebooks in {SOLUTIONS}")
    root = tmp_path_factory.mktemp("crafted")
    expected = crafted.generate(SOLUTIONS, root / "crafted")
    subs = root / "crafted" / "submissions"
    before = _hashes(subs)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        rc = grade([str(subs), "--out", str(root / "out"), "--solutions", str(SOLUTIONS),
                    "--jobs", "2", "--cell-timeout", str(CELL_TIMEOUT),
                    "--notebook-timeout", "300", "--quiet"])
    return {"root": root, "out": root / "out", "subs": subs, "expected": expected,
            "before": before, "rc": rc, "stdout": stdout.getvalue()}


@pytest.mark.parametrize("case", CASES)
def test_case_scores_as_expected(graded, case):
    expected = {"cases": {case: graded["expected"]["cases"][case]}}
    assert crafted.check(expected, graded["out"] / "grades.csv") == []


def test_batch_completes_and_keeps_inputs(graded):
    assert graded["rc"] == 0
    assert set(_rows(graded["out"])) == set(CASES)
    assert _hashes(graded["subs"]) == graded["before"], "the grader modified its input"


def test_no_submission_is_lost(graded):
    out = graded["out"]
    placed = {r["notebooks"][nb]["file"] for r in
              (json.loads(p.read_text()) for p in (out / "students").glob("*/result.json"))
              for nb in r["notebooks"] if r["notebooks"][nb]["file"]}
    with open(out / "unplaced.csv", newline="") as fh:
        unplaced = {r["file"] for r in csv.DictReader(fh)}
    assert placed | unplaced == set(graded["before"])
    assert not placed & unplaced


def test_feedback_without_hidden_tests(graded):
    course = graded["out"] / "course"
    html = list((course / "feedback").glob("*/lab5/*.html"))
    assert {p.parent.parent.name for p in html} >= {"solution", "blank", "partial"}
    hidden = []
    for src in SOLUTIONS.glob("*.ipynb"):
        for cell in nbformat.read(src, as_version=4).cells:
            if "BEGIN HIDDEN TESTS" in cell.source:
                block = cell.source.split("BEGIN HIDDEN TESTS")[1].split("END HIDDEN TESTS")[0]
                hidden += [w for w in block.split() if len(w) > 12 and w.isidentifier()]
    for page in html:
        text = page.read_text()
        assert "HIDDEN TESTS" not in text, page
        leaked = [w for w in hidden if w in text]
        assert not leaked, f"{page}: {leaked[:5]}"


def test_output_flood_is_trimmed(graded):
    for nb in (graded["out"] / "course" / "autograded" / "output_flood" / "lab5").glob("*.ipynb"):
        assert nb.stat().st_size < 2_000_000


def test_course_folder_works_with_nbgrader(graded):
    course = graded["out"] / "course"
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "export.csv"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(course / "export.csv", newline="") as fh:
        students = {r["student_id"] for r in csv.DictReader(fh)}
    assert students == set(CASES)


def test_regrade_one_student_leaves_the_others(graded):
    out, subs = graded["out"], graded["root"] / "regrade-input"
    shutil.copytree(graded["subs"], subs)
    others = {p: p.read_bytes() for p in (out / "students").glob("*/result.json")
              if p.parent.name != "missing"}
    # "missing" now hands in everything, as the solution does
    for nb in (graded["subs"] / "solution").glob("*.ipynb"):
        shutil.copy2(nb, subs / "missing" / nb.name)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert grade([str(subs), "--out", str(out), "--solutions", str(SOLUTIONS),
                      "--student", "missing", "--cell-timeout", str(CELL_TIMEOUT), "--quiet"]) == 0
    rows = _rows(out)
    assert rows["missing"]["total"] == rows["solution"]["total"]
    assert set(rows) == set(CASES)
    assert {p: p.read_bytes() for p in others} == others


def test_manual_grades_reach_grades_csv(graded):
    from nbgrader.api import Gradebook

    out = graded["out"]
    manual = [(stem, gid) for stem, spec in _lab(out).notebooks.items()
              for gid, cell in spec.cells.items() if cell.kind == "manual"]
    if not manual:
        pytest.skip("no manually graded cells")
    before = _rows(out)["solution"]
    with Gradebook(f"sqlite:///{out / 'course' / 'gradebook.db'}") as gb:  # what the formgrader does
        for stem, gid in manual:
            grade_ = gb.find_grade(gid, stem, "lab5", "solution")
            grade_.manual_score = grade_.max_score
            grade_.needs_manual_grade = False
        gb.db.commit()
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert grade(["--out", str(out), "--export"]) == 0
    after = _rows(out)["solution"]
    assert float(after["total"]) == float(before["total"]) + sum(
        _lab(out).notebooks[s].cells[g].points for s, g in manual)
    assert after["needs_manual"] == "0"
    assert "solution" in stdout.getvalue()


def _lab(out: Path):
    from labutils.grading.spec import LabSpec

    return LabSpec.from_course(out / "master")


def test_summary_lists_every_student(graded, tmp_path):
    from labutils.grading import report
    from labutils.grading.store import Workspace

    ws = Workspace(graded["out"])
    stems = sorted(p.stem for p in SOLUTIONS.glob("*.ipynb"))
    text = report.summary(report.rows(ws.results(), ws.official_scores(), stems), stems)
    for case in CASES:
        assert f"\n{case} " in text

