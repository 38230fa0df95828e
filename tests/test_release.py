"""`make release`: the committed notebooks/ equal a fresh regeneration, and leaks are caught."""

from __future__ import annotations

import nbformat
import pytest

from labutils.grading.course import NbgraderError
from labutils.release import LeakError, build_release, find_leaks
from tests.conftest import REPO, SOLUTIONS


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    if not SOLUTIONS:
        pytest.skip("no notebooks in solutions/ yet")
    out = tmp_path_factory.mktemp("release")
    build_release(out)
    return out


def test_committed_release_is_up_to_date(fresh_release):
    committed = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert committed == sorted(p.name for p in fresh_release.glob("*.ipynb"))
    for name in committed:
        assert (REPO / "notebooks" / name).read_bytes() == (fresh_release / name).read_bytes(), (
            f"notebooks/{name} differs from a fresh `make release`: run it and commit")


def test_release_has_no_solutions_tests_or_outputs(fresh_release):
    for src in SOLUTIONS:
        released = nbformat.read(fresh_release / src.name, as_version=4)
        assert find_leaks(released, nbformat.read(src, as_version=4), src.name) == []


def test_planted_leak_is_refused(tmp_path):
    from tools.nbcells import answer, code, notebook, tests

    leaky = notebook([
        answer("nb99-f", "def f():\n    ### BEGIN SOLUTION\n    return 'the secret answer is 42!!'\n"
                         "    ### END SOLUTION"),
        tests("nb99-f-test", "assert f()\n### BEGIN HIDDEN TESTS\n"
                             "assert f() == 'the secret answer is 42!!'\n### END HIDDEN TESTS", 1),
    ])
    # A release that kept the solution (as a hand-edited release would) is caught ...
    assert any("solution code is visible" in p or "BEGIN SOLUTION" in p
               for p in find_leaks(leaky, leaky, "leaky.ipynb"))
    # ... an output is caught ...
    leaky.cells[0].outputs = [nbformat.v4.new_output("stream", text="42")]
    assert any("has an output" in p for p in find_leaks(leaky, leaky, "leaky.ipynb"))
    # ... and build_release refuses to write a release whose visible cells repeat solution
    # code (here a "hint" cell the author forgot), leaving the output folder untouched ...
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    leaky.cells[0].outputs = []
    leaky.cells.append(code("def hint():\n    return 'the secret answer is 42!!'"))
    nbformat.write(leaky, solutions / "99_leak.ipynb")
    with pytest.raises(LeakError, match="solution code is visible"):
        build_release(tmp_path / "out", solutions)
    assert not (tmp_path / "out").exists()
    # ... as nbgrader itself refuses a solution region outside a solution cell.
    leaky.cells[-1] = tests("nb99-g-test", "### BEGIN SOLUTION\nx = 'the secret answer is 42!!'\n"
                                           "### END SOLUTION", 1)
    nbformat.write(leaky, solutions / "99_leak.ipynb")
    with pytest.raises((LeakError, NbgraderError)):
        build_release(tmp_path / "out", solutions)
    assert not (tmp_path / "out").exists()


def test_release_is_reproducible(tmp_path):
    """Two regenerations are byte-identical (on the grading fixture, whatever solutions/ holds)."""
    from tests.conftest import GRADING_FIXTURE

    first, second = build_release(tmp_path / "a", GRADING_FIXTURE), build_release(tmp_path / "b", GRADING_FIXTURE)
    assert [p.name for p in first] == [p.name for p in second] != []
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
        assert "colab.research.google.com/github/" in a.read_text()
