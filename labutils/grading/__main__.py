"""``make grade SUBMISSIONS=...``: autograde a folder or zip of submissions with nbgrader.

    python -m labutils.grading SUBMISSIONS --out DIR [--student ID] [--pattern REGEX] [--jobs N]
    python -m labutils.grading --out DIR --export      # after manual grading in the formgrader

Writes DIR/grades.csv (one row per student), DIR/unplaced.csv, feedback HTML per student in
DIR/course/feedback/<student>/lab5/, and prints a summary. Re-running with --student grades that
student again and leaves everyone else's results as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from labutils.grading import report, validate
from labutils.grading.collect import collect, snapshot
from labutils.grading.course import SOLUTIONS_DIR, nbgrader_env
from labutils.grading.run import Settings, grade_student
from labutils.grading.store import StaleOutput, Workspace


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m labutils.grading", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("submissions", nargs="?", type=Path, help="a folder or a zip of submissions")
    p.add_argument("--out", type=Path, default=Path("build/grading"), help="output folder (kept "
                   "between runs; default build/grading)")
    p.add_argument("--solutions", type=Path, default=SOLUTIONS_DIR,
                   help="the instructor notebooks (default: the repository's solutions/)")
    p.add_argument("--student", action="append", default=[], metavar="ID",
                   help="grade only this student (repeatable); the others' results are kept")
    p.add_argument("--pattern", help="regex with a 'student' group (and optionally 'notebook') "
                   "matched against each file's path inside the submissions")
    p.add_argument("--jobs", type=int, default=1, help="students graded in parallel")
    p.add_argument("--cell-timeout", type=int, default=None,
                   help="seconds per cell (default: Execute.timeout of nbgrader_config.py)")
    p.add_argument("--notebook-timeout", type=float, default=600.0,
                   help="wall seconds per notebook before its process group is killed")
    p.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback")
    p.add_argument("--fresh", action="store_true",
                   help="start over when the solutions changed (old results moved aside)")
    p.add_argument("--export", action="store_true", help="no grading: rewrite grades.csv and "
                   "the feedback from the gradebook (after manual grading)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true", help="no grading: print which file is whose "
                   "copy of which notebook, and every file that would not be graded and why")
    args = p.parse_args(argv)
    if not args.export and args.submissions is None:
        p.error("give the submissions (a folder or a zip), or --export")
    return args


def needs_data(solutions: Path) -> bool:
    return any("labutils.data" in p.read_text() or "ensure_shapes" in p.read_text()
               for p in solutions.glob("*.ipynb"))


def write_outputs(ws: Workspace, stems: list[str], quiet: bool = False) -> list[dict]:
    table = report.rows(ws.results(), ws.official_scores(), stems)
    report.write_grades(ws.out / "grades.csv", table, stems)
    if not quiet:
        print(report.summary(table, stems))
        print(f"\ngrades:   {ws.out / 'grades.csv'}")
        print(f"feedback: {ws.course / 'feedback'}/<student>/lab5/*.html")
        print(f"course:   {ws.course}  (formgrader: cd there and start jupyter lab)")
    return table


def export(ws: Workspace) -> int:
    if not (ws.course / "gradebook.db").is_file():
        print(f"{ws.out} holds no grading yet", file=sys.stderr)
        return 2
    status = ws.out / "export-status.jsonl"
    status.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "labutils.grading.worker", str(ws.course), "*",
                    "--status", str(status), "--feedback"], cwd=ws.course, env=nbgrader_env(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600)
    stems = sorted(p.stem for p in (ws.course / "release" / "lab5").glob("*.ipynb"))
    write_outputs(ws, stems)
    return 0


def _safe_grade(student, placed, lab, ws, settings) -> dict:
    try:
        return grade_student(student, placed, lab, ws.master, ws.student_dir(student), settings)
    except Exception as err:  # noqa: BLE001 - one student's failure never stops the batch
        tb = traceback.format_exc()
        sdir = ws.student_dir(student)
        sdir.mkdir(parents=True, exist_ok=True)
        (sdir / "grading.log").open("a").write(tb)
        result = {"student": student, "score": 0.0, "max": lab.max_score, "notebooks": {
            stem: {"status": "failed", "file": placed[stem].rel if stem in placed else None,
                   "score": 0.0, "max": spec.max_score, "auto_max": spec.auto_max, "cells": {},
                   "notes": [f"grading failed: {type(err).__name__}: {err} (see grading.log)"],
                   "flags": []}
            for stem, spec in lab.notebooks.items()}}
        (sdir / "result.json").write_text(json.dumps(result, indent=1))
        return result


def mapping(found, students: list[str], stems: list[str]) -> str:
    """What ``--list`` prints: each student's files per notebook, then the files left out."""
    lines = []
    for student in students:
        lines.append(student)
        for stem in stems:
            placed = found.placed.get(student, {}).get(stem)
            what = f"{placed.rel}  ({placed.how}{'; ' + '; '.join(placed.notes) if placed.notes else ''})" \
                if placed else "-"
            lines.append(f"  {stem}: {what}")
    lines += ["", f"not graded ({len(found.unplaced)}):"] + [f"  {u.rel}: {u.reason}" for u in
                                                              sorted(found.unplaced, key=lambda u: u.rel)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ws = Workspace(args.out)
    if args.export:
        return export(ws)
    try:
        lab = ws.prepare(args.solutions.resolve(), fresh=args.fresh)
    except (StaleOutput, FileNotFoundError) as err:
        print(err, file=sys.stderr)
        return 2
    root, problems = snapshot(args.submissions, ws.inbox)
    found = collect(root, lab.stems, lambda p: validate.identify(p, lab), args.pattern, problems)
    students = sorted(found.students | set(found.placed))
    if args.list:
        print(mapping(found, students, lab.stems))
        return 0
    if args.student:
        unknown = [s for s in args.student if s not in students]
        for s in unknown:
            print(f"no files for student {s!r} (known: {', '.join(students) or 'none'})",
                  file=sys.stderr)
        students = [s for s in students if s in args.student]
    else:
        report.write_unplaced(ws.out / "unplaced.csv", found.unplaced)
    settings = Settings(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                        threads=max(1, (os.cpu_count() or 1) // max(1, args.jobs)),
                        feedback=not args.no_feedback)
    if needs_data(args.solutions):
        from labutils.data.shapes import ensure_shapes

        ensure_shapes(ws.master / "data" / "shapes", progress=False)
        settings.data = ws.master / "data"
    from tqdm import tqdm

    bar = tqdm(total=len(students), unit="student", disable=args.quiet, file=sys.stderr)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(_safe_grade, s, found.placed.get(s, {}), lab, ws, settings): s
                   for s in students}
        for future in as_completed(futures):
            result = future.result()
            try:
                ws.merge(result)
            except Exception:  # noqa: BLE001 - reported; grades.csv still lists the student
                traceback.print_exc()
            bar.set_postfix_str(f"{result['student']}: {result['score']:g}/{result['max']:g}")
            bar.update()
    bar.close()
    if found.unplaced and not args.quiet and not args.student:
        print(f"{len(found.unplaced)} file(s) not graded: see {ws.out / 'unplaced.csv'}")
    write_outputs(ws, lab.stems, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
