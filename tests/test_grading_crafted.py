"""`make grade` on the crafted submissions: every case gets its expected score and a reason,
nothing stops the batch, no file is lost or modified, feedback hides the hidden tests, the
course folder works with nbgrader, one student can be regraded alone, and manual grades from
the formgrader reach grades.csv.

Everything runs twice: on the small fixture assignment (the pipeline's own edge cases) and on
the real lab's solutions (the real hidden tests resist an always-true ``__eq__`` and a patched
``torch.allclose``; the real notebooks survive endless loops and killed kernels). Choose one with
``GRADING_SOLUTIONS=solutions`` (or a fixture folder).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labutils.grading import crafted
from labutils.grading.__main__ import main as grade
from labutils.grading.course import SOLUTIONS_DIR
from tests.conftest import GRADING_FIXTURE

pytestmark = pytest.mark.notebook
SOLUTION_SETS = ({"env": Path(os.environ["GRADING_SOLUTIONS"])} if os.environ.get("GRADING_SOLUTIONS")
                 else {"fixture": GRADING_FIXTURE, "lab": SOLUTIONS_DIR})
CASES = [c.name for c in crafted.CASES] + list(crafted.FILE_CASES)
# Short limits keep the endless loops cheap; a real run uses nbgrader_config.py's timeout.
CELL_TIMEOUT = int(os.environ.get("GRADING_CELL_TIMEOUT", "15"))


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _rows(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", newline="") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module", params=list(SOLUTION_SETS))
def graded(request, tmp_path_factory):
    solutions = SOLUTION_SETS[request.param].resolve()
    if not any(solutions.glob("*.ipynb")):
        pytest.skip(f"no notebooks in {solutions}")
    root = tmp_path_factory.mktemp("crafted")
    expected = crafted.generate(solutions, root / "crafted")
    subs = root / "crafted" / "submissions"
    before = _hashes(subs)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        rc = grade([str(subs), "--out", str(root / "out"), "--solutions", str(solutions),
                    "--jobs", "2", "--cell-timeout", str(CELL_TIMEOUT),
                    "--notebook-timeout", "300", "--quiet"])
    return {"solutions": solutions, "root": root, "out": root / "out", "subs": subs, "expected": expected,
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


HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)


def _page_text(page: Path) -> str:
    """What a student reads on a feedback page: the HTML without tags (syntax highlighting
    splits code into spans), entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if len(line.strip()) > 15}


def test_feedback_without_hidden_tests(graded):
    course = graded["out"] / "course"
    pages = list((course / "feedback").glob("*/lab5/*.html"))
    assert {p.parent.parent.name for p in pages} >= {"solution", "blank", "partial"}
    for src in graded["solutions"].glob("*.ipynb"):
        cells = nbformat.read(src, as_version=4).cells
        shown = set().union(*(_lines(HIDDEN.sub("", c.source)) for c in cells))
        hidden = set().union(*(_lines(block) for c in cells for block in HIDDEN.findall(c.source))) - shown
        visible_tests = set().union(*(_lines(HIDDEN.sub("", c.source)) for c in cells
                                      if c.metadata.get("nbgrader", {}).get("grade")
                                      and c.cell_type == "code"))
        for page in (p for p in pages if p.stem == src.stem):
            text = _page_text(page)
            assert "HIDDEN TESTS" not in text, page
            # a line the student wrote themselves (the monkeypatcher's imports) is no leak
            handed_in = "".join(f.read_text(errors="replace")
                                for f in (graded["subs"] / page.parent.parent.name).rglob("*") if f.is_file())
            leaked = sorted(line for line in hidden
                            if line in text and json.dumps(line)[1:-1] not in handed_in)
            assert not leaked, f"{page}: {leaked[:5]}"
            if visible_tests:  # the check can see code at all: the visible tests are on the page
                assert any(line in text for line in visible_tests), page


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
        assert grade([str(subs), "--out", str(out), "--solutions", str(graded["solutions"]),
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
    assert "needs manual grading" in before["reasons"]
    assert "needs manual grading" not in after["reasons"]  # the reasons follow the gradebook
    assert "solution" in stdout.getvalue()


def _lab(out: Path):
    from labutils.grading.spec import LabSpec

    return LabSpec.from_course(out / "master")


def test_summary_lists_every_student(graded, tmp_path):
    from labutils.grading import report
    from labutils.grading.store import Workspace

    ws = Workspace(graded["out"])
    stems = sorted(p.stem for p in graded["solutions"].glob("*.ipynb"))
    text = report.summary(report.rows(ws.results(), ws.official_scores(), stems), stems)
    for case in CASES:
        assert f"\n{case} " in text

