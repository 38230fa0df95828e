"""A throw-away nbgrader course folder: the real nbgrader workflow (generate_assignment,
autograde, generate_feedback) run on copies, so nothing in the repository is ever written.

Layout it builds (nbgrader's own)::

    <root>/nbgrader_config.py          copied from the repository
    <root>/source/lab5/*.ipynb         the instructor notebooks (solutions/)
    <root>/release/lab5/*.ipynb        generate_assignment's output
    <root>/submitted/<student>/lab5/   what a student handed in
    <root>/autograded/<student>/lab5/  autograde's output
    <root>/feedback/<student>/lab5/    generate_feedback's HTML
    <root>/gradebook.db
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from labutils.course import ASSIGNMENT
from labutils.paths import REPO_ROOT

CONFIG_FILE = REPO_ROOT / "nbgrader_config.py"
SOLUTIONS_DIR = REPO_ROOT / "solutions"


def nbgrader_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for an nbgrader subprocess: this interpreter's ``bin/`` first on PATH
    (nbgrader runs ``alembic`` from PATH when it creates a gradebook)."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env.pop("LAB_MODE", None)  # grading decides the mode (nbgrader forces `grade` anyway)
    env.setdefault("PYTHONHASHSEED", "0")
    if extra:
        env.update(extra)
    return env


@dataclass
class GradeCellScore:
    grade_id: str
    score: float
    max_score: float


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message holds its output."""


class Course:
    """One temporary nbgrader course holding the lab's assignment."""

    def __init__(self, root: Path | str, env: dict[str, str] | None = None):
        self.root = Path(root)
        self.env = nbgrader_env(env)

    # ------------------------------------------------------------------ building
    @classmethod
    def create(cls, root: Path | str, notebooks: list[Path] | None = None,
               env: dict[str, str] | None = None) -> "Course":
        """Lay out a course in ``root`` with ``notebooks`` (default: every solution notebook)."""
        course = cls(root, env)
        source = course.root / "source" / ASSIGNMENT
        source.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CONFIG_FILE, course.root / "nbgrader_config.py")
        for nb in notebooks if notebooks is not None else sorted(SOLUTIONS_DIR.glob("*.ipynb")):
            shutil.copy2(nb, source / Path(nb).name)
        return course

    def run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
        """Run ``nbgrader <args>`` in the course folder."""
        cmd = [sys.executable, "-m", "nbgrader", *args]
        proc = subprocess.run(cmd, cwd=self.root, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise NbgraderError(f"`nbgrader {' '.join(args)}` failed ({proc.returncode}):\n"
                                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        return proc

    def generate(self) -> Path:
        """``nbgrader generate_assignment``: the student release and the gradebook entries."""
        self.run("generate_assignment", ASSIGNMENT, "--force")
        return self.root / "release" / ASSIGNMENT

    @property
    def release_dir(self) -> Path:
        return self.root / "release" / ASSIGNMENT

    def submit(self, student: str, notebook: Path | str, as_name: str | None = None) -> Path:
        """Place a copy of ``notebook`` as ``student``'s submission (named ``as_name``)."""
        dest_dir = self.root / "submitted" / student / ASSIGNMENT
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / (as_name or Path(notebook).name)
        shutil.copy2(notebook, dest)
        return dest

    def autograde(self, student: str, timeout: float | None = None) -> subprocess.CompletedProcess:
        """``nbgrader autograde`` for one student (``NBGRADER_EXECUTION`` puts it in grade mode)."""
        return self.run("autograde", ASSIGNMENT, "--student", student, "--force", timeout=timeout)

    def feedback(self, student: str) -> Path:
        """``nbgrader generate_feedback``: the HTML a student gets back (no hidden test source)."""
        self.run("generate_feedback", ASSIGNMENT, "--student", student, "--force")
        return self.root / "feedback" / student / ASSIGNMENT

    # ------------------------------------------------------------------ reading
    def scores(self, student: str) -> dict[str, dict[str, GradeCellScore]]:
        """``{notebook: {grade_id: score}}`` for one autograded student, from the gradebook."""
        from nbgrader.api import Gradebook

        out: dict[str, dict[str, GradeCellScore]] = {}
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            submission = gb.find_submission(ASSIGNMENT, student)
            for nb in submission.notebooks:
                cells = {}
                for grade in nb.grades:
                    cells[grade.name] = GradeCellScore(grade.name, float(grade.score),
                                                       float(grade.max_score))
                out[nb.name] = cells
        return out
