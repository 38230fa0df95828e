"""`make smoke` / `make bench`'s runner: a failing or endless notebook is reported, not a crash,
and its executed copy is still written so the failing cell can be read."""

from __future__ import annotations

import nbformat
import pytest

from labutils.runner import format_table, run_notebook

pytestmark = pytest.mark.notebook


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("source, status", [
    ("raise ValueError('broken on purpose')", "error"),
    ("import time\ntime.sleep(60)", "timeout"),
])
def test_failure_is_reported_and_the_copy_written(tmp_path, source, status):
    src = _notebook(tmp_path / "nb.ipynb", "import os\nprint(os.environ['LAB_MODE'])", source, "print('after')")
    row = run_notebook(src, tmp_path / "out", timeout=5)
    assert row["status"] == status
    if status == "error":
        assert "broken on purpose" in row["error"]
    executed = nbformat.read(tmp_path / "out" / "nb.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"].strip() == "smoke"
    assert not executed.cells[2].get("outputs")  # nothing ran after the failure


def test_ok_notebook_and_its_figures(tmp_path):
    src = _notebook(tmp_path / "nb.ipynb",
                    "from labutils.report import record\nrecord(miou=0.5, seconds=1.25)",
                    "from labutils.widgets import widgets_supported\nprint(widgets_supported())")
    row = run_notebook(src, tmp_path / "out", timeout=60)
    assert (row["status"], row["figures"]) == ("ok", {"miou": 0.5, "seconds": 1.25})
    executed = nbformat.read(tmp_path / "out" / "nb.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"].strip() == "False"  # headless: static fallbacks
    table = format_table([row])
    assert "miou" in table.splitlines()[0] and "0.5" in table.splitlines()[2]
