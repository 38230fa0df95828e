"""`make release`: the committed notebooks/ equal a fresh regeneration, and leaks are caught."""

from __future__ import annotations

import nbformat
import pytest

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
    from tools.nbcells import answer, notebook, tests

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
    # ... and build_release refuses to write a release whose visible cell repeats a solution
    # line (nbgrader itself has no reason to object to that).
    from tools.nbcells import code

    solutions = tmp_path / "solutions"
    solutions.mkdir()
    leaky.cells[0].outputs = []
    leaky.cells.append(code("def g():\n    return 'the secret answer is 42!!'"))
    nbformat.write(leaky, solutions / "99_leak.ipynb")
    with pytest.raises(LeakError):
        build_release(tmp_path / "out", solutions)
    assert not (tmp_path / "out").exists()
