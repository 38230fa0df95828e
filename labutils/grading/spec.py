"""What the lab expects, read from nbgrader's own output: the release (student notebooks with
nbgrader metadata) and the source (solutions with hidden tests) of each notebook.

The grade_id convention ties tests to answers: ``nbNN-<name>`` is an answer cell and
``nbNN-<name>-test`` (or ``nbNN-<name>-<part>-test``, ``nbNN-<name>-test-<more>``) a test cell
of that answer, the answer being the longest answer grade_id that starts the test's; a graded
cell that is both ``solution`` and ``grade`` (a written reflection) is graded by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from labutils.course import ASSIGNMENT


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


@dataclass(frozen=True)
class GradedCell:
    grade_id: str
    kind: str  # "answer", "test", "manual" (graded by hand) or "locked"
    points: float
    cell_type: str


@dataclass
class NotebookSpec:
    stem: str
    release: nbformat.NotebookNode
    source: nbformat.NotebookNode
    cells: dict[str, GradedCell] = field(default_factory=dict)  # release order

    @classmethod
    def from_files(cls, release: Path, source: Path) -> "NotebookSpec":
        spec = cls(release.stem, nbformat.read(release, as_version=4),
                   nbformat.read(source, as_version=4))
        for cell in spec.release.cells:
            meta = nbgrader_meta(cell)
            gid = meta.get("grade_id")
            if not gid:
                continue
            if meta.get("grade") and meta.get("solution"):
                kind = "manual"
            elif meta.get("grade"):
                kind = "test"
            elif meta.get("solution"):
                kind = "answer"
            else:
                kind = "locked"
            spec.cells[gid] = GradedCell(gid, kind, float(meta.get("points", 0) or 0),
                                         cell.cell_type)
        return spec

    def release_cell(self, grade_id: str):
        return next(c for c in self.release.cells if nbgrader_meta(c).get("grade_id") == grade_id)

    def source_cell(self, grade_id: str):
        return next((c for c in self.source.cells
                     if nbgrader_meta(c).get("grade_id") == grade_id), None)

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.cells.values() if c.kind in ("test", "manual"))

    @property
    def auto_max(self) -> float:
        """The points the autograder can give (test cells)."""
        return sum(c.points for c in self.cells.values() if c.kind == "test")

    def answers(self) -> list[str]:
        return [g for g, c in self.cells.items() if c.kind == "answer"]

    def tests_of(self, answer: str) -> list[str]:
        """The test cells of ``answer`` by the grade_id convention."""
        tests = [g for g, c in self.cells.items() if c.kind == "test"]
        owner = {t: max((a for a in self.answers() if t.startswith(f"{a}-")), key=len, default=None)
                 for t in tests}
        return [t for t, a in owner.items() if a == answer]


@dataclass
class LabSpec:
    notebooks: dict[str, NotebookSpec]

    @classmethod
    def from_course(cls, root: Path) -> "LabSpec":
        """Read ``release/lab5`` and ``source/lab5`` of an nbgrader course folder."""
        release = root / "release" / ASSIGNMENT
        source = root / "source" / ASSIGNMENT
        return cls({p.stem: NotebookSpec.from_files(p, source / p.name)
                    for p in sorted(release.glob("*.ipynb"))})

    @property
    def stems(self) -> list[str]:
        return list(self.notebooks)

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks.values())
