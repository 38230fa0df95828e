"""``make release``: regenerate ``notebooks/`` from ``solutions/`` through nbgrader, stamp the
course's Colab badge and install line, and refuse to write a release that leaks.

The release is rebuilt in a temporary nbgrader course, checked, and only then copied over
``notebooks/``, so a failed check leaves the committed release as it was.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import nbformat

from labutils.course import colab_badge, pip_requirement
from labutils.grading.course import SOLUTIONS_DIR, Course
from labutils.paths import REPO_ROOT

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
PIP_RE = re.compile(r"labutils @ git\+https://github\.com/[^\"'@\s]+@[^\"'\s]+")
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
SOLUTION_RE = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN_RE = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


class LeakError(RuntimeError):
    """A released notebook holds solution code, a hidden test or an output."""


def stamp(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Point the notebook's Colab badge and install line at the course's published release."""
    for cell in nb.cells:
        src = BADGE_RE.sub(colab_badge(name), cell.source)
        cell.source = PIP_RE.sub(pip_requirement(), src)
    return nb


def _distinctive_lines(block: str) -> list[str]:
    lines = []
    for line in block.splitlines():
        s = line.strip()
        if len(s) >= 24 and not s.startswith("#"):
            lines.append(s)
    return lines


def find_leaks(released: nbformat.NotebookNode, source: nbformat.NotebookNode, name: str) -> list[str]:
    """Every way ``released`` shows what only the instructor should see."""
    problems = []
    text = "\n".join(c.source for c in released.cells)
    for marker in LEAK_MARKERS:
        if marker in text:
            problems.append(f"{name}: contains the marker '{marker}'")
    for i, cell in enumerate(released.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"{name}: cell {i} has an output (clear outputs in solutions/)")
    released_lines = {line.strip() for line in text.splitlines()}
    for cell in source.cells:
        for regex, what in ((SOLUTION_RE, "solution code"), (HIDDEN_RE, "a hidden test")):
            for block in regex.findall(cell.source):
                for line in _distinctive_lines(block):
                    if line in released_lines:
                        problems.append(f"{name}: {what} is visible: {line[:80]!r}")
    return problems


def build_release(out_dir: Path, solutions: Path = SOLUTIONS_DIR) -> list[Path]:
    """Generate, stamp and leak-check the student notebooks into ``out_dir``."""
    sources = sorted(solutions.glob("*.ipynb"))
    if not sources:
        print(f"No notebooks in {solutions}: nothing to release.")
        return []
    problems: list[str] = []
    released: dict[str, nbformat.NotebookNode] = {}
    with tempfile.TemporaryDirectory(prefix="lab5-release-") as tmp:
        course = Course.create(tmp, sources)
        release_dir = course.generate()
        for src in sources:
            nb = stamp(nbformat.read(release_dir / src.name, as_version=4), src.name)
            problems += find_leaks(nb, nbformat.read(src, as_version=4), src.name)
            released[src.name] = nb
    if problems:
        raise LeakError("The release leaks:\n  " + "\n  ".join(problems))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, nb in released.items():
        path = out_dir / name
        nbformat.write(nb, path)
        written.append(path)
    for stale in set(out_dir.glob("*.ipynb")) - set(written):
        stale.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labutils.release", description=__doc__)
    parser.add_argument("--out", type=Path, default=NOTEBOOKS_DIR)
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS_DIR)
    args = parser.parse_args(argv)
    try:
        written = build_release(args.out, args.solutions)
    except LeakError as err:
        print(err, file=sys.stderr)
        return 1
    for path in written:
        print(f"released {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
