"""``make bench-grading``: grade a batch of crafted submissions of the whole lab and print the
seconds per student (target: 60 s or less on 2 CPU cores).

    python -m labutils.grading.bench [--solutions solutions] [--cases solution,partial,blank]
                                     [--copies N] [--jobs J]

Every crafted student hands in all notebooks, so a student's time is the whole lab's. Two
figures: a student's own grading time (its worker, kernels and feedback, from result.json)
and the batch's wall time divided by the number of students (throughput with --jobs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from labutils.grading.course import SOLUTIONS_DIR
from labutils.paths import REPO_ROOT

TARGET_S = 60.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labutils.grading.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--solutions", type=Path, default=SOLUTIONS_DIR)
    p.add_argument("--cases", default="solution,partial,blank")
    p.add_argument("--copies", type=int, default=1, help="students per case")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--cell-timeout", type=int, default=None)
    p.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "bench-grading")
    args = p.parse_args(argv)
    if not any(args.solutions.glob("*.ipynb")):
        print(f"No notebooks in {args.solutions} yet: nothing to grade.")
        return 0
    from labutils.grading import crafted
    from labutils.grading.__main__ import main as grade
    from labutils.grading.store import Workspace

    if args.out.exists():
        shutil.rmtree(args.out)
    crafted.generate(args.solutions, args.out / "crafted", args.cases.split(","))
    subs = args.out / "crafted" / "submissions"
    for case in list(subs.iterdir()):
        for i in range(2, args.copies + 1):
            shutil.copytree(case, subs / f"{case.name}-{i}")
    n = sum(1 for _ in subs.iterdir())
    cmd = [str(subs), "--out", str(args.out / "graded"), "--solutions", str(args.solutions),
           "--jobs", str(args.jobs), "--quiet"]
    if args.cell_timeout:
        cmd += ["--cell-timeout", str(args.cell_timeout)]
    Workspace(args.out / "graded").prepare(args.solutions.resolve())  # release + gradebook, untimed
    start = time.perf_counter()
    grade(cmd)
    wall = time.perf_counter() - start
    results = [json.loads(f.read_text()) for f in (args.out / "graded" / "students").glob("*/result.json")]
    per_student = [r["seconds"] for r in results]
    per_nb: dict[str, list[float]] = {}
    for r in results:
        for stem, entry in r["notebooks"].items():
            if entry.get("seconds"):
                per_nb.setdefault(stem, []).append(entry["seconds"])
    summary = {"students": n, "jobs": args.jobs, "wall_s": round(wall, 1),
               "wall_per_student_s": round(wall / n, 1),
               "student_mean_s": round(statistics.mean(per_student), 1),
               "student_max_s": round(max(per_student), 1),
               "autograde_mean_s": {k: round(statistics.mean(v), 1) for k, v in sorted(per_nb.items())}}
    (args.out / "bench.json").write_text(json.dumps(summary, indent=1))
    print(f"{n} students ({args.cases}), {args.jobs} job(s): {wall:.1f} s wall, "
          f"{summary['wall_per_student_s']} s per student (throughput)")
    print(f"one student's grading: mean {summary['student_mean_s']} s, max {summary['student_max_s']} s "
          f"(target <= {TARGET_S:g} s: {'OK' if summary['student_max_s'] <= TARGET_S else 'OVER'})")
    for stem, s in summary["autograde_mean_s"].items():
        print(f"  autograde {stem}: {s} s")
    print(f"details: {args.out / 'bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
