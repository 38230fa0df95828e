"""One student's grading process: a notebook past its wall limit is killed with everything it
started, scores zero with the reason, and the student's other notebooks are still graded."""

from __future__ import annotations

import time

import nbformat
import pytest

from labutils.grading import crafted
from labutils.grading.collect import Placed
from labutils.grading.run import Settings, grade_student

pytestmark = pytest.mark.notebook


def _leftovers(marker: str) -> list[int]:
    import psutil

    pids = []
    for p in psutil.process_iter():
        try:
            if marker in p.environ().get("LAB_DATA_DIR", ""):
                pids.append(p.pid)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess, OSError):
            continue
    return pids


def test_notebook_wall_limit_kills_and_grading_goes_on(tmp_path, fixture_lab):
    lab, master = fixture_lab
    placed = {}
    for stem, spec in lab.notebooks.items():
        nb = crafted.Ctx(spec, None).solution()
        if stem == "97_grading_mini":  # slower than the wall limit, yet each cell within its timeout
            nb.cells.insert(2, nbformat.v4.new_code_cell(
                "import subprocess, time\n"
                "subprocess.Popen(['sleep', '600'])  # a child that outlives the kernel\n"
                "time.sleep(50)"))
        path = tmp_path / "in" / f"{stem}.ipynb"
        path.parent.mkdir(exist_ok=True)
        nbformat.write(nb, path)
        placed[stem] = Placed(path, path.name, "slow", stem, "name")
    settings = Settings(cell_timeout=120, notebook_timeout=12, feedback=False)
    start = time.time()
    result = grade_student("slow", placed, lab, master, tmp_path / "out" / "slow", settings)
    assert time.time() - start < 90
    mini, fixture = result["notebooks"]["97_grading_mini"], result["notebooks"]["98_grading_fixture"]
    assert mini["status"] == "killed" and mini["score"] == 0
    assert any("stopped after 12 s" in n for n in mini["notes"])
    assert fixture["status"] == "graded" and fixture["score"] == lab.notebooks["98_grading_fixture"].auto_max
    assert _leftovers(str(tmp_path / "out" / "slow")) == []
    assert (tmp_path / "out" / "slow" / "result.json").is_file()
