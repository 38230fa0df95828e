"""Pin the grade_ids of solutions/: nbgrader matches a submission's cells to the gradebook by
grade_id only, so a grade_id (or its points) must never change once students have a release.

    python -m labutils.grading.gradeids            # compare solutions/ with tests/grade_ids.json
    python -m labutils.grading.gradeids --write    # pin the current ones (deliberately!)

``make grade-ids`` runs the second; ``tests/test_grading_ids.py`` the first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nbformat

from labutils.grading.course import SOLUTIONS_DIR
from labutils.grading.spec import nbgrader_meta
from labutils.paths import REPO_ROOT

PINNED = REPO_ROOT / "tests" / "grade_ids.json"


def _kind(meta: dict) -> str:
    if meta.get("grade") and meta.get("solution"):
        return "manual"
    return "test" if meta.get("grade") else ("answer" if meta.get("solution") else "locked")


def current(solutions: Path = SOLUTIONS_DIR) -> dict[str, dict[str, dict]]:
    """``{notebook: {grade_id: {"kind", "points"}}}`` of every notebook in ``solutions``."""
    out = {}
    for path in sorted(Path(solutions).glob("*.ipynb")):
        cells = {}
        for cell in nbformat.read(path, as_version=4).cells:
            meta = nbgrader_meta(cell)
            if meta.get("grade_id"):
                entry = {"kind": _kind(meta)}
                if meta.get("grade"):
                    entry["points"] = float(meta.get("points", 0))
                cells[meta["grade_id"]] = entry
        out[path.stem] = cells
    return out


def compare(pinned: dict, now: dict) -> list[str]:
    """Every difference between the pinned grade_ids and the current ones."""
    problems = []
    for nb, cells in pinned.items():
        if nb not in now:
            problems.append(f"{nb}: pinned but gone from solutions/")
            continue
        for gid, entry in cells.items():
            if gid not in now[nb]:
                problems.append(f"{nb}: grade_id {gid!r} disappeared (renamed?)")
            elif now[nb][gid] != entry:
                problems.append(f"{nb}: {gid} changed from {entry} to {now[nb][gid]}")
        for gid in now[nb].keys() - cells.keys():
            problems.append(f"{nb}: new grade_id {gid!r} is not pinned")
    for nb in now.keys() - pinned.keys():
        problems.append(f"{nb}: not pinned yet")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labutils.grading.gradeids", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--solutions", type=Path, default=SOLUTIONS_DIR)
    p.add_argument("--pinned", type=Path, default=PINNED)
    p.add_argument("--write", action="store_true", help="pin the current grade_ids")
    args = p.parse_args(argv)
    now = current(args.solutions)
    if args.write:
        args.pinned.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"pinned {sum(map(len, now.values()))} grade_ids of {len(now)} notebooks in {args.pinned}")
        return 0
    pinned = json.loads(args.pinned.read_text()) if args.pinned.is_file() else {}
    problems = compare(pinned, now)
    print("\n".join(problems) or "grade_ids as pinned")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
