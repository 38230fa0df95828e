"""Grade one student, isolated: a private nbgrader course folder (its own copy of the
gradebook, its own submitted/autograded/feedback folders), its own data root, temp folder and
Jupyter runtime folder, and its own worker process group.

The worker (``labutils.grading.worker``) autogrades the student's notebooks one after the
other through nbgrader; each notebook has a wall limit: past it the worker and everything it
started (kernels included, found by process tree and by an environment tag) are killed, the
notebook scores zero with the reason, and a new worker grades the notebooks left. Scores are
read back from the private gradebook and checked against the autograded notebook itself.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat

from labutils.course import ASSIGNMENT
from labutils.grading import validate
from labutils.grading.collect import Placed
from labutils.grading.course import CONFIG_FILE, nbgrader_env
from labutils.grading.execute import DEAD_ENAME, NOT_RUN_ENAME, TIMEOUT_ENAME
from labutils.grading.spec import LabSpec, NotebookSpec, nbgrader_meta

TAG_ENV = "LAB_GRADING_TAG"
FEEDBACK_LIMIT = 300.0


@dataclass
class Settings:
    cell_timeout: int | None = None  # None: nbgrader_config.py's Execute.timeout
    notebook_timeout: float = 600.0
    threads: int = 1
    data: Path | None = None  # a data root to copy for each student (None: an empty one)
    feedback: bool = True


def course_config(settings: Settings) -> str:
    """The student's ``nbgrader_config.py``: the repository's plus the run's overrides."""
    text = CONFIG_FILE.read_text()
    if settings.cell_timeout:
        text += f"\n# labutils.grading override\nc.Execute.timeout = {int(settings.cell_timeout)}\n"
    return text


def kill_tree(proc: subprocess.Popen, tag: str) -> None:
    """Kill ``proc``, its process group, its descendants (kernels run in their own session)
    and anything else that carries this student's environment tag."""
    victims = []
    try:
        import psutil

        try:
            victims = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            victims = []
        for p in psutil.process_iter():
            try:
                if p.pid != os.getpid() and p.environ().get(TAG_ENV) == tag:
                    victims.append(p)
            except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess, OSError):
                continue
        for p in victims:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
    except ImportError:  # psutil comes with ipykernel; without it, the process group only
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _events(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def run_worker(course: Path, student: str, steps: list[tuple[str, str]], env: dict[str, str],
               settings: Settings, log: Path) -> dict[tuple[str, str], dict]:
    """Run the worker over ``steps`` (("autograde", notebook) / ("feedback", "*")) with a wall
    limit per step; restart it after a kill. Returns each step's outcome."""
    outcomes: dict[tuple[str, str], dict] = {}
    pending = list(steps)
    attempt = 0
    while pending:
        attempt += 1
        status = course.parent / f"status-{attempt}.jsonl"
        args = [sys.executable, "-m", "labutils.grading.worker", str(course), student,
                "--status", str(status),
                "--notebooks", *[nb for step, nb in pending if step == "autograde"]]
        if any(step == "feedback" for step, _ in pending):
            args.append("--feedback")
        with open(log, "a") as logf:
            logf.write(f"\n===== worker attempt {attempt}: {' '.join(args[3:])}\n")
            logf.flush()
            proc = subprocess.Popen(args, cwd=course, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            killed: tuple[str, str] | None = None
            while proc.poll() is None:
                time.sleep(0.2)
                started = [e for e in _events(status) if e["event"] == "start"]
                done = {(e["step"], e["notebook"]) for e in _events(status) if e["event"] == "done"}
                current = next((e for e in reversed(started)
                                if (e["step"], e["notebook"]) not in done), None)
                if current:
                    limit = settings.notebook_timeout if current["step"] == "autograde" else FEEDBACK_LIMIT
                    if time.time() - current["t"] > limit:
                        killed = (current["step"], current["notebook"])
                        break
            kill_tree(proc, env[TAG_ENV])
        events = _events(status)
        progressed = False
        for e in events:
            key = (e["step"], e["notebook"])
            if e["event"] == "done":
                outcomes[key] = {"ok": e.get("ok", False), "error": e.get("error"),
                                 "seconds": round(e["t"] - next(s["t"] for s in events
                                                  if s["event"] == "start" and
                                                  (s["step"], s["notebook"]) == key), 2)}
                progressed = True
        for e in events:
            key = (e["step"], e["notebook"])
            if e["event"] == "start" and key not in outcomes:
                why = (f"stopped after {settings.notebook_timeout:g} s (the per-notebook limit)"
                       if key == killed else "the grading process died")
                outcomes[key] = {"ok": False, "error": why, "killed": key == killed,
                                 "seconds": round(time.time() - e["t"], 2)}
                progressed = True
        pending = [s for s in pending if s not in outcomes]
        if not progressed:
            for key in pending:
                outcomes[key] = {"ok": False, "error": f"the grading worker did not start (see {log})"}
            pending = []
    return outcomes


# --------------------------------------------------------------------------- scores
def failure_reason(cell) -> str | None:
    """Why a test cell lost points, as a TA reads it."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            ename, evalue = out.get("ename", "Error"), str(out.get("evalue", ""))
            if ename == TIMEOUT_ENAME:
                return "timed out"
            if ename == DEAD_ENAME:
                return "the kernel died"
            if ename == NOT_RUN_ENAME:
                return evalue
            first = evalue.strip().splitlines()[0][:100] if evalue.strip() else ""
            return f"{ename}: {first}" if first else ename
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return "wrote to stderr (nbgrader gives such a test cell zero)"
    return None


def read_scores(course: Path, student: str, spec: NotebookSpec) -> dict:
    """Per graded cell: the score (gradebook and autograded notebook must agree, else the
    lower counts), its maximum and why points were lost."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.utils import determine_grade

    cells: dict[str, dict] = {}
    notes: list[str] = []
    db: dict[str, tuple] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            snb = gb.find_submission_notebook(spec.stem, ASSIGNMENT, student)
            db = {g.name: (g.auto_score, g.needs_manual_grade) for g in snb.grades}
        except MissingEntry:
            pass
    path = course / "autograded" / student / ASSIGNMENT / f"{spec.stem}.ipynb"
    graded = nbformat.read(path, as_version=4)
    in_nb = {nbgrader_meta(c).get("grade_id"): c for c in graded.cells if nbgrader_meta(c)}
    answers = {}
    for gid, info in spec.cells.items():
        if info.kind == "answer" and gid in in_nb:
            why = failure_reason(in_nb[gid])
            if why and not why.startswith("wrote to stderr"):
                answers[gid] = why
        if info.kind not in ("test", "manual"):
            continue
        auto, _ = db.get(gid, (None, True))
        cell = in_nb.get(gid)
        if info.kind == "manual":
            cells[gid] = {"score": auto, "max": info.points,
                          "why": "needs manual grading" if auto is None else "no answer written"}
            continue
        from_nb = determine_grade(cell)[0] if cell is not None else 0.0
        scores = [s for s in (auto, from_nb) if s is not None]
        score = float(min(scores)) if scores else 0.0
        if auto is not None and from_nb is not None and abs(auto - from_nb) > 1e-9:
            notes.append(f"{gid}: the gradebook says {auto:g}, the notebook {from_nb:g}; the "
                         "lower counts (check for tampering)")
        why = None
        if score < info.points:
            why = failure_reason(cell) if cell is not None else "missing after grading"
            why = why or ("partial credit" if score > 0 else "no points")
        cells[gid] = {"score": score, "max": info.points, "why": why}
    return {"cells": cells, "answers": answers, "notes": notes}


# --------------------------------------------------------------------------- one student
def student_env(work: Path, settings: Settings, tag: str) -> dict[str, str]:
    for sub in ("data", "tmp", "ipython", "runtime"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    threads = str(max(1, settings.threads))
    return nbgrader_env({
        "LAB_DATA_DIR": str(work / "data"), "TMPDIR": str(work / "tmp"),
        "IPYTHONDIR": str(work / "ipython"), "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
        "MPLBACKEND": "Agg", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
        "LAB_THREADS": threads, TAG_ENV: tag, "PYTHONDONTWRITEBYTECODE": "1",
    })


def grade_student(student: str, placed: dict[str, Placed], lab: LabSpec, master: Path,
                  student_dir: Path, settings: Settings) -> dict:
    """Grade ``student``'s files (``{notebook: Placed}``) in ``student_dir``; the result
    (also written to ``student_dir/result.json``)."""
    start = time.time()
    work = student_dir / "work"
    if work.exists():
        shutil.rmtree(work)
    course = work / "course"
    submitted = course / "submitted" / student / ASSIGNMENT
    submitted.mkdir(parents=True)
    shutil.copy2(master / "gradebook.db", course / "gradebook.db")
    (course / "nbgrader_config.py").write_text(course_config(settings))
    tag = uuid.uuid4().hex
    env = student_env(work, settings, tag)
    if settings.data and settings.data.is_dir():
        shutil.copytree(settings.data, work / "data", dirs_exist_ok=True)

    result: dict = {"student": student, "notebooks": {}, "graded_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    to_grade = []
    for stem, spec in lab.notebooks.items():
        entry = {"status": "missing", "file": None, "score": 0.0, "max": spec.max_score,
                 "auto_max": spec.auto_max, "cells": {}, "notes": [], "flags": []}
        result["notebooks"][stem] = entry
        if stem not in placed:
            if spec.max_score:  # a notebook worth no points (00_setup) missing is no reason
                entry["notes"].append("not submitted")
            continue
        entry["file"] = placed[stem].rel
        entry["notes"] += placed[stem].notes
        try:
            checked = validate.check(placed[stem].path, spec)
        except Exception as err:  # noqa: BLE001 - a notebook nothing could make sense of
            checked = validate.Checked(None, fatal=f"could not be checked ({type(err).__name__}: "
                                                   f"{err})"[:300])
        entry["notes"] += checked.notes
        entry["flags"] = checked.flags
        if checked.nb is None:
            entry["status"] = "unreadable"
            entry["notes"].append(checked.fatal)
            continue
        nbformat.write(checked.nb, submitted / f"{stem}.ipynb")
        to_grade.append(stem)

    steps = [("autograde", stem) for stem in to_grade]
    if settings.feedback and to_grade:
        steps.append(("feedback", "*"))
    outcomes = run_worker(course, student, steps, env, settings, student_dir / "grading.log")
    for stem in to_grade:
        entry = result["notebooks"][stem]
        outcome = outcomes.get(("autograde", stem), {"ok": False, "error": "not run"})
        entry["seconds"] = outcome.get("seconds")
        autograded = course / "autograded" / student / ASSIGNMENT / f"{stem}.ipynb"
        if not outcome["ok"] or not autograded.is_file():
            entry["status"] = "killed" if outcome.get("killed") else "failed"
            entry["notes"].append(f"{outcome.get('error') or 'autograde failed'}; scored 0 "
                                  "(see grading.log)")
            continue
        try:
            scores = read_scores(course, student, lab.notebooks[stem])
        except Exception as err:  # noqa: BLE001 - e.g. an autograded notebook left unreadable
            entry["status"] = "failed"
            entry["notes"].append(f"scores unreadable ({type(err).__name__}: {err}); scored 0")
            continue
        entry["status"] = "graded"
        entry["cells"] = scores["cells"]
        entry["answers"] = scores["answers"]
        entry["notes"] += scores["notes"]
        entry["score"] = sum(c["score"] or 0.0 for c in scores["cells"].values())
    for sub in ("data", "tmp", "ipython", "runtime"):  # keep only the course folder
        shutil.rmtree(work / sub, ignore_errors=True)
    fb = outcomes.get(("feedback", "*"))
    if fb and not fb["ok"]:
        result["feedback_error"] = fb.get("error")
    result["score"] = sum(e["score"] for e in result["notebooks"].values())
    result["max"] = lab.max_score
    result["seconds"] = round(time.time() - start, 2)
    tmp = student_dir / "result.json.tmp"
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(student_dir / "result.json")
    return result
