"""The output folder of ``python -m labutils.grading`` and what persists in it::

    <out>/grades.csv              one row per student (the file to upload)
    <out>/unplaced.csv            every input file that was not graded, and why
    <out>/course/                 the nbgrader course for TAs: source, release, submitted,
                                  autograded, feedback/<student>/lab5/*.html, gradebook.db
                                  (open the formgrader here for manual grading)
    <out>/students/<id>/          one student's private grading: result.json, grading.log, work/
    <out>/master/                 the release and a pristine gradebook (generate_assignment)
    <out>/inbox/                  the copy of the submissions that was graded

Each student's results live in their own folder, so grading one student again replaces only
theirs. The course's gradebook keeps manual grades across re-runs, as nbgrader's own does.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import warnings
from pathlib import Path

import nbformat

from labutils.course import ASSIGNMENT
from labutils.grading.course import CONFIG_FILE, Course
from labutils.grading.spec import LabSpec


class StaleOutput(RuntimeError):
    """The output folder was graded against different solutions."""


def fingerprint(solutions: Path) -> str:
    import nbgrader

    h = hashlib.sha256(f"nbgrader {nbgrader.__version__}\n".encode())
    h.update(CONFIG_FILE.read_bytes())
    for path in sorted(solutions.glob("*.ipynb")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def build_master(solutions: Path, dest: Path) -> LabSpec:
    """An nbgrader course in ``dest`` with ``solutions`` as source: ``generate_assignment``'s
    release (stamped as ``make release`` does, so it equals what students got) and gradebook."""
    from labutils.release import stamp as stamp_links

    if dest.exists():
        shutil.rmtree(dest)
    sources = sorted(Path(solutions).glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no notebooks in {solutions}")
    release = Course.create(dest, sources).generate()
    for path in sorted(release.glob("*.ipynb")):
        nbformat.write(stamp_links(nbformat.read(path, as_version=4), path.name), path)
    return LabSpec.from_course(dest)


class Workspace:
    def __init__(self, out: Path):
        self.out = Path(out).resolve()
        self.inbox = self.out / "inbox"
        self.master = self.out / "master"
        self.course = self.out / "course"
        self.students = self.out / "students"

    # ------------------------------------------------------------------ master and course
    def prepare(self, solutions: Path, fresh: bool = False) -> LabSpec:
        """The master release and gradebook for ``solutions`` (rebuilt when they changed) and
        the TAs' course folder."""
        stamp = fingerprint(solutions)
        known = (self.course / ".fingerprint").read_text().strip() \
            if (self.course / ".fingerprint").is_file() else None
        if known and known != stamp:
            if not fresh:
                raise StaleOutput(f"{self.out} was graded against other solutions (or another "
                                  "nbgrader_config.py). Use a new --out, or --fresh to start over "
                                  "(the old gradebook is kept as a backup).")
            backup = self.out / f"previous-{time.strftime('%Y%m%d-%H%M%S')}"
            backup.mkdir(parents=True)
            for name in ("course", "students", "grades.csv"):
                if (self.out / name).exists():
                    shutil.move(str(self.out / name), str(backup / name))
        if (self.master / ".fingerprint").is_file() and \
                (self.master / ".fingerprint").read_text().strip() == stamp:
            lab = LabSpec.from_course(self.master)
        else:
            lab = self._build_master(solutions, stamp)
        if not (self.course / "gradebook.db").is_file():
            self._init_course(stamp)
        return lab

    def _build_master(self, solutions: Path, stamp: str) -> LabSpec:
        lab = build_master(solutions, self.master)
        (self.master / ".fingerprint").write_text(stamp)
        return lab

    def _init_course(self, stamp: str) -> None:
        self.course.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CONFIG_FILE, self.course / "nbgrader_config.py")
        for sub in ("source", "release"):
            shutil.copytree(self.master / sub, self.course / sub, dirs_exist_ok=True)
        shutil.copy2(self.master / "gradebook.db", self.course / "gradebook.db")
        (self.course / ".fingerprint").write_text(stamp)

    # ------------------------------------------------------------------ results
    def student_dir(self, student: str) -> Path:
        return self.students / student

    def results(self) -> dict[str, dict]:
        out = {}
        for path in sorted(self.students.glob("*/result.json")):
            result = json.loads(path.read_text())
            out[result["student"]] = result
        return out

    def merge(self, result: dict) -> None:
        """Put one student's grading into the TAs' course: files and gradebook (manual grades
        kept; a regraded cell that had one is flagged for review, as nbgrader does)."""
        from nbgrader.api import Gradebook

        student = result["student"]
        work = self.student_dir(student) / "work" / "course"
        for sub in ("submitted", "autograded", "feedback"):
            dest = self.course / sub / student
            if dest.exists():
                shutil.rmtree(dest)
            if (work / sub / student).is_dir():
                shutil.copytree(work / sub / student, dest)
        comments = self._auto_comments(work / "gradebook.db", student)
        with warnings.catch_warnings(), Gradebook(f"sqlite:///{self.course / 'gradebook.db'}") as gb:
            warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes inside nbgrader
            gb.update_or_create_student(student)
            gb.update_or_create_submission(ASSIGNMENT, student)
            for stem, entry in result["notebooks"].items():
                snb = gb.find_submission_notebook(stem, ASSIGNMENT, student)
                for grade in snb.grades:
                    cell = entry["cells"].get(grade.name)
                    grade.auto_score = cell["score"] if cell else 0.0
                    grade.needs_manual_grade = (grade.manual_score is not None
                                                or grade.auto_score is None)
                for comment in snb.comments:
                    comment.auto_comment = comments.get((stem, comment.name),
                                                        "No response." if entry["status"] != "graded"
                                                        else None)
            gb.db.commit()

    @staticmethod
    def _auto_comments(db: Path, student: str) -> dict[tuple[str, str], str | None]:
        from nbgrader.api import Gradebook, MissingEntry

        if not db.is_file():
            return {}
        out = {}
        with Gradebook(f"sqlite:///{db}") as gb:
            try:
                sub = gb.find_submission(ASSIGNMENT, student)
            except MissingEntry:
                return {}
            for nb in sub.notebooks:
                for comment in nb.comments:
                    out[(nb.name, comment.name)] = comment.auto_comment
        return out

    def official_scores(self) -> dict[str, dict[str, dict]]:
        """``{student: {notebook: {score, max, needs_manual, by_hand}}}`` from the course's
        gradebook (manual grades included; ``by_hand``: grade_id -> score of the cells a person
        has scored in the formgrader)."""
        from nbgrader.api import Gradebook, MissingEntry

        out: dict[str, dict[str, dict]] = {}
        with Gradebook(f"sqlite:///{self.course / 'gradebook.db'}") as gb:
            for student in gb.students:
                try:
                    sub = gb.find_submission(ASSIGNMENT, student.id)
                except MissingEntry:
                    continue
                out[student.id] = {
                    nb.name: {"score": float(nb.score or 0.0), "max": float(nb.max_score or 0.0),
                              "needs_manual": sum(bool(g.needs_manual_grade) for g in nb.grades),
                              "by_hand": {g.name: float(g.score or 0.0) for g in nb.grades
                                          if g.manual_score is not None and not g.needs_manual_grade}}
                    for nb in sub.notebooks}
        return out
