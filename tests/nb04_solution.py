"""The graded functions of notebook 04, taken from the solution notebook's answer cells."""

from __future__ import annotations

import functools

import nbformat

from tests.conftest import REPO

NOTEBOOK = REPO / "solutions" / "04_panoptic_segmentation.ipynb"


def answer_sources() -> dict[str, str]:
    """``{grade_id: source}`` of the notebook's answer (solution) code cells."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def graded_test_sources() -> dict[str, str]:
    """``{grade_id: source}`` of the notebook's test cells (visible checks and hidden tests)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


def run_test_cell(grade_id: str, **names) -> None:
    """Execute one test cell (hidden tests included) with ``names`` as the student's answers."""
    exec(compile(graded_test_sources()[grade_id], f"<{grade_id}>", "exec"), dict(names))


def namespace_from(sources: dict[str, str]) -> dict:
    ns: dict = {}
    for grade_id, src in sources.items():
        exec(compile(src, f"<{grade_id}>", "exec"), ns)
    return ns


@functools.lru_cache(maxsize=1)
def solution() -> dict:
    """The names the answer cells define (``rgb2id``, ``fuse_panoptic``, ...)."""
    return namespace_from(answer_sources())


def mutant(grade_id: str, old: str, new: str) -> dict:
    """The answer cells with one edit in ``grade_id`` (a deliberately wrong solution)."""
    sources = answer_sources()
    assert old in sources[grade_id], f"{old!r} is no longer in {grade_id}: update the mutant"
    sources[grade_id] = sources[grade_id].replace(old, new)
    return namespace_from(sources)
