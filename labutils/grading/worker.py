"""The child process that grades one student: nbgrader's own ``Autograde`` and
``GenerateFeedback`` converters, run in-process on the student's private course folder.

    python -m labutils.grading.worker COURSE STUDENT --status FILE [--notebooks NB ...] [--feedback]

One process imports nbgrader once for all of a student's notebooks. Before and after each
notebook it appends a JSON line to ``--status``, so the parent can enforce a wall limit per
notebook (it kills this process group and starts a new worker for the notebooks left).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import traceback
from pathlib import Path

from labutils.course import ASSIGNMENT


def load_config(root: Path, student: str, notebook: str = "*"):
    """The course's ``nbgrader_config.py`` (with the pipeline's preprocessors) for one student."""
    from traitlets.config.loader import PyFileConfigLoader

    from labutils.grading.nbconfig import configure

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    configure(cfg)  # also when the course's config predates it
    cfg.CourseDirectory.root = str(root)
    cfg.CourseDirectory.assignment_id = ASSIGNMENT
    cfg.CourseDirectory.student_id = student
    cfg.CourseDirectory.notebook_id = notebook
    cfg.Autograde.force = True
    cfg.GenerateFeedback.force = True
    return cfg


def autograde(root: Path, student: str, notebook: str) -> None:
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    cfg = load_config(root, student, notebook)
    Autograde(coursedir=CourseDirectory(config=cfg), config=cfg).start()


def feedback(root: Path, student: str) -> None:
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    cfg = load_config(root, student)
    GenerateFeedback(coursedir=CourseDirectory(config=cfg), config=cfg).start()


def _status(path: Path, **event) -> None:
    with open(path, "a") as fh:
        fh.write(json.dumps({"t": time.time(), **event}) + "\n")
        fh.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labutils.grading.worker")
    parser.add_argument("course", type=Path)
    parser.add_argument("student")
    parser.add_argument("--status", type=Path, required=True)
    parser.add_argument("--notebooks", nargs="*", default=[])
    parser.add_argument("--feedback", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="[%(asctime)s %(levelname)s] %(message)s")
    root = args.course.resolve()
    steps = [("autograde", nb) for nb in args.notebooks]
    if args.feedback:
        steps.append(("feedback", "*"))
    for step, nb in steps:
        _status(args.status, event="start", step=step, notebook=nb)
        try:
            if step == "autograde":
                autograde(root, args.student, nb)
            else:
                feedback(root, args.student)
            _status(args.status, event="done", step=step, notebook=nb, ok=True)
        except BaseException as err:  # noqa: BLE001 - one notebook's failure is recorded, not fatal
            traceback.print_exc()
            _status(args.status, event="done", step=step, notebook=nb, ok=False,
                    error=f"{type(err).__name__}: {err}"[:500])
    return 0


if __name__ == "__main__":
    sys.exit(main())
