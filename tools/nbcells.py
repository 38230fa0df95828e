"""Build nbgrader source cells with the right metadata (for writing or editing solutions/).

    from tools.nbcells import md, code, answer, tests, written, notebook
    nb = notebook([md("# Title"), answer("nb02-unet", "def f(): ..."), tests("nb02-unet-test", "...", 2)])
    nbformat.write(nb, "solutions/02_unet_pascal_voc.ipynb")

``answer`` cells hold ``### BEGIN SOLUTION`` / ``### END SOLUTION`` regions; ``tests`` cells are
locked and may hold ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` regions.
"""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def _meta(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: float | None = None,
          task: bool = False) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": task}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text: str, grade_id: str | None = None):
    """A markdown cell; with ``grade_id`` it is locked (students cannot edit it in Jupyter)."""
    cell = new_markdown_cell(text.strip("\n"))
    if grade_id:
        cell.metadata.update(_meta(grade_id, solution=False, grade=False, locked=True))
    return cell


def code(src: str, grade_id: str | None = None):
    """A plain code cell; with ``grade_id`` it is locked read-only."""
    cell = new_code_cell(src.strip("\n"))
    if grade_id:
        cell.metadata.update(_meta(grade_id, solution=False, grade=False, locked=True))
    return cell


def answer(grade_id: str, src: str):
    """An autograded answer cell (``nbNN-<name>``): the student writes the solution region."""
    cell = new_code_cell(src.strip("\n"))
    cell.metadata.update(_meta(grade_id, solution=True, grade=False, locked=False))
    return cell


def tests(grade_id: str, src: str, points: float):
    """A locked test cell (``nbNN-<name>-test``) worth ``points``."""
    cell = new_code_cell(src.strip("\n"))
    cell.metadata.update(_meta(grade_id, solution=False, grade=True, locked=True, points=points))
    return cell


def written(grade_id: str, text: str, points: float):
    """A manually graded markdown answer (reflection question)."""
    cell = new_markdown_cell(text.strip("\n"))
    cell.metadata.update(_meta(grade_id, solution=True, grade=True, locked=False, points=points))
    return cell


def notebook(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata.update({
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    return nb
