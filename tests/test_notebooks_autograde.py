"""The nbgrader round trip for every notebook in solutions/, through nbgrader itself:
generate_assignment, then autograde (which runs each notebook in `grade` mode) of

* the solution notebook: every autograded test cell gets full points;
* the released (blank) notebook: every autograded test cell gets zero, and the notebook still
  runs to its last cell (no cell kills the kernel).
"""

from __future__ import annotations

import nbformat
import pytest

from labutils.grading.course import Course
from tests.conftest import SOLUTIONS

pytestmark = pytest.mark.notebook


def _graded_ids(path) -> dict[str, float]:
    nb = nbformat.read(path, as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            out[meta["grade_id"]] = float(meta["points"])
    return out


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    if not SOLUTIONS:
        pytest.skip("no notebooks in solutions/ yet")
    root = tmp_path_factory.mktemp("course")
    course = Course.create(root, SOLUTIONS, env={"LAB_DATA_DIR": str(root / "data")})
    release = course.generate()
    for path in SOLUTIONS:
        course.submit("solution", path)
        course.submit("blank", release / path.name)
    course.autograde("solution", timeout=1800)
    course.autograde("blank", timeout=1800)
    return course


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_scores_full_points(graded_course, path):
    expected = _graded_ids(path)
    scores = graded_course.scores("solution")[path.stem]
    for grade_id, points in expected.items():
        assert scores[grade_id].max_score == points
        assert scores[grade_id].score == points, f"{grade_id}: solution lost points"


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_blank_scores_zero_and_runs_to_the_end(graded_course, path):
    expected = _graded_ids(path)
    scores = graded_course.scores("blank")[path.stem]
    for grade_id in expected:
        assert scores[grade_id].score == 0, f"{grade_id}: the blank notebook earned points"
    graded = graded_course.root / "autograded" / "blank" / "lab5" / path.name
    nb = nbformat.read(graded, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert code_cells[-1].get("execution_count") is not None, "the last cell never ran"
    for cell in code_cells:
        for out in cell.get("outputs", []):
            assert out.get("ename") not in ("DeadKernelError",), "the kernel died"
