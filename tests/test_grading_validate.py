"""Checking submissions before grading: broken files, lost nbgrader metadata, deleted or
retyped cells, notebooks recognised by content, code worth a TA's look, clean feedback."""

from __future__ import annotations

import copy
import json

import nbformat
import pytest

from labutils.grading import crafted, validate
from labutils.grading.execute import FeedbackSanitizer
from labutils.grading.spec import nbgrader_meta

NB = "98_grading_fixture"


@pytest.fixture
def spec(fixture_lab):
    return fixture_lab[0].notebooks[NB]


def _solution(spec):
    return crafted.Ctx(spec, "nb98-convsize").solution()


def _ids(nb) -> list[str]:
    return [nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c).get("grade_id")]


def test_spec_follows_the_grade_id_convention(spec):
    assert spec.tests_of("nb98-convsize") == ["nb98-convsize-test"]
    assert spec.auto_max == 8 and spec.max_score == 10
    assert spec.cells["nb98-why"].kind == "manual"


def test_tests_belong_to_the_longest_answer_that_starts_their_grade_id():
    from labutils.grading.spec import GradedCell, NotebookSpec

    spec = NotebookSpec("04_x", nbformat.v4.new_notebook(), nbformat.v4.new_notebook())
    for gid, kind in [("nb04-fuse", "answer"), ("nb04-fuse-panoptic", "answer"),
                      ("nb04-fuse-panoptic-things-test", "test"), ("nb04-fuse-panoptic-test-2", "test"),
                      ("nb04-fuse-test", "test"), ("nb04-other-test", "test")]:
        spec.cells[gid] = GradedCell(gid, kind, 1.0, "code")
    assert spec.tests_of("nb04-fuse-panoptic") == ["nb04-fuse-panoptic-things-test",
                                                   "nb04-fuse-panoptic-test-2"]
    assert spec.tests_of("nb04-fuse") == ["nb04-fuse-test"]


def test_unreadable_files(tmp_path):
    bad = tmp_path / "a.ipynb"
    bad.write_text('{"cells": [')
    assert validate.read(bad).fatal.startswith("corrupted: not valid JSON")
    bad.write_text("[1, 2]")
    assert "not a notebook" in validate.read(bad).fatal
    bad.write_bytes(b"\xff\xfe\x00garbage")
    assert validate.read(bad).nb is None


def test_schema_errors_are_repaired(tmp_path, spec):
    raw = json.loads(nbformat.writes(_solution(spec)))
    del raw["metadata"]
    for cell in raw["cells"]:
        cell.pop("outputs", None)
    path = tmp_path / "b.ipynb"
    path.write_text(json.dumps(raw))
    checked = validate.check(path, spec)
    assert checked.nb is not None and any("repaired" in n for n in checked.notes)
    assert _ids(checked.nb) == list(spec.cells)


def test_stripped_metadata_is_restored(spec):
    nb = _solution(spec)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
        cell["id"] = "x" + cell["id"][::-1][:7]
    # the student also rewrote an answer beyond recognition: found by its place above its test
    answer = next(c for c in nb.cells if "def transpose_conv_size" in c.source)
    answer.source = "def transpose_conv_size(a, b, c=1, d=0):\n    return b + c * (a - 1) - d - d"
    notes = validate.restore(nb, spec)
    assert _ids(nb) == list(spec.cells)
    assert any("nb98-convsize: nbgrader metadata was missing" in n and "position" in n for n in notes)
    assert nbgrader_meta(answer)["grade_id"] == "nb98-convsize"


def test_deleted_and_retyped_cells(spec):
    nb = _solution(spec)
    nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") != "nb98-square-test"]
    test = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "nb98-accuracy-test")
    test.cell_type = "markdown"
    del test["outputs"], test["execution_count"]
    notes = validate.restore(nb, spec)
    assert _ids(nb) == list(spec.cells)
    assert test.cell_type == "code"
    ids = _ids(nb)
    assert ids.index("nb98-square-test") == ids.index("nb98-square") + 1
    assert any("nb98-square-test: the cell was deleted" in n for n in notes)
    assert any("nb98-accuracy-test: cell type was changed" in n for n in notes)


def test_duplicate_and_unknown_grade_ids(spec):
    nb = _solution(spec)
    extra = copy.deepcopy(next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "nb98-square"))
    stray = copy.deepcopy(extra)
    stray.metadata["nbgrader"]["grade_id"] = "nb98-from-last-year"
    nb.cells.insert(1, extra)
    nb.cells.insert(1, stray)
    notes = validate.restore(nb, spec)
    assert _ids(nb) == list(spec.cells)
    assert any("appears more than once" in n for n in notes)
    assert any("unknown grade_id 'nb98-from-last-year'" in n for n in notes)


def test_identify_by_content(tmp_path, fixture_lab):
    lab = fixture_lab[0]
    for stem, spec in lab.notebooks.items():
        nb = crafted.Ctx(spec, None).solution()
        for cell in nb.cells:
            cell.metadata.pop("nbgrader", None)
        path = tmp_path / "renamed.ipynb"
        nbformat.write(nb, path)
        assert validate.identify(path, lab) == stem
    path.write_text("{not json")
    assert validate.identify(path, lab) is None


def test_scan_flags_tampering_not_the_solution(spec):
    assert validate.scan(_solution(spec), spec) == []
    nb = _solution(spec)
    answer = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "nb98-convsize")
    answer.source = crafted.patched_answer(answer.source)
    assert "replaces a library function" in validate.scan(nb, spec)
    answer.source = crafted.always_answer(answer.source) + "\nimport os\nos.environ['LAB_MODE'] = 'full'"
    flags = validate.scan(nb, spec)
    assert "defines __eq__/__bool__-like methods" in flags and "reads or sets the grading mode" in flags


def test_feedback_hides_hidden_tests_and_their_tracebacks(spec):
    cell = copy.deepcopy(spec.source_cell("nb98-square-test"))
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong value",
                                           traceback=["line 12: assert _g - _w <= 1e-9", "..."])]
    FeedbackSanitizer().preprocess_cell(cell, {}, 0)
    assert "HIDDEN" not in cell.source and "default_rng" not in cell.source
    assert "square(x) should return an array" in cell.source  # the visible self-check stays
    assert cell.outputs[0]["traceback"] == ["AssertionError: wrong value"]


def test_alignment_keeps_each_exercise_in_place(spec):
    nb = _solution(spec)
    cells = []
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
        cell["id"] = "y" + cell["id"][:7]
        cells.append(cell)
        if cell.cell_type == "code":  # scratch work everywhere
            cells.append(nbformat.v4.new_code_cell("print('trying things out')\nx = 1"))
    nb.cells = cells
    validate.restore(nb, spec)
    where = {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells if nbgrader_meta(c)}
    assert "def square" in where["nb98-square"]
    assert "def pixel_accuracy" in where["nb98-accuracy"]
    assert "def transpose_conv_size" in where["nb98-convsize"]
    assert "square(_x)" in where["nb98-square-test"]
    assert "pixel_accuracy(_p, _t)" in where["nb98-accuracy-test"]
    assert "transpose_conv_size(4, 2" in where["nb98-convsize-test"]
    assert sum("trying things out" in c.source for c in nb.cells) == sum(
        c.cell_type == "code" for c in _solution(spec).cells)
