"""Crafted submissions: what students really send, built from the solutions, with the score
each must get. One student (a folder) per case; every notebook of the lab is in it.

    python -m labutils.grading.crafted --solutions solutions --out build/crafted
    python -m labutils.grading build/crafted/submissions --out build/crafted/graded --cell-timeout 20
    python -m labutils.grading.crafted --check build/crafted --grades build/crafted/graded/grades.csv

Expected scores follow from nbgrader metadata alone: each notebook's autograded maximum (its
test cells' points) and, for a case that breaks one exercise, that maximum minus the points of
the broken answer's tests (``nbNN-x`` -> ``nbNN-x-test``). The broken exercise is a notebook's
last answer that has tests (so no later test depends on it); ``--target`` picks another.
Written answers are graded by hand and left out of the expected scores.
"""

from __future__ import annotations

import argparse
import ast
import copy
import csv
import json
import os
import re
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from labutils.grading.spec import LabSpec, NotebookSpec, nbgrader_meta

ALWAYS = '''
class _Always:
    """Equal to everything; any attribute or call gives itself back."""
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __bool__(self):
        return True
    def __hash__(self):
        return 0
    def __getattr__(self, name):
        return _Always()
    def __call__(self, *args, **kwargs):
        return _Always()
'''

PATCHES = '''
import numpy as _np_patch
import torch as _torch_patch
_torch_patch.allclose = lambda *a, **k: True
_torch_patch.equal = lambda *a, **k: True
_torch_patch.testing.assert_close = lambda *a, **k: None
_np_patch.allclose = lambda *a, **k: True
_np_patch.array_equal = lambda *a, **k: True
_np_patch.testing.assert_allclose = lambda *a, **k: None
_np_patch.testing.assert_array_equal = lambda *a, **k: None
_np_patch.testing.assert_almost_equal = lambda *a, **k: None


def _perturb(x):
    """The right type and shape, the wrong numbers."""
    import numbers
    if isinstance(x, _torch_patch.Tensor):
        return ~x if x.dtype == _torch_patch.bool else x + 1
    if isinstance(x, _np_patch.ndarray):
        return ~x if x.dtype == bool else x + 1
    if isinstance(x, bool):
        return not x
    if isinstance(x, numbers.Number):
        return x + 1
    if isinstance(x, (list, tuple)):
        return type(x)(_perturb(v) for v in x)
    if isinstance(x, dict):
        return {k: _perturb(v) for k, v in x.items()}
    return x
'''

GRADING_MODE = '''
import os
print("NBGRADER_EXECUTION =", os.environ.get("NBGRADER_EXECUTION"), "LAB_MODE =", os.environ.get("LAB_MODE"))
os.environ.pop("NBGRADER_EXECUTION", None)  # try to leave grade mode
os.environ["LAB_MODE"] = "full"
'''


def defined_names(src: str) -> tuple[list[str], list[str]]:
    """Top-level ``(functions, other names)`` an answer cell defines."""
    try:
        tree = ast.parse(src)
    except SyntaxError:  # IPython magics: fall back to the obvious
        return re.findall(r"^def (\w+)", src, re.M), re.findall(r"^class (\w+)", src, re.M)
    funcs, others = [], []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            funcs.append(node.name)
        elif isinstance(node, ast.ClassDef):
            others.append(node.name)
        elif isinstance(node, ast.Assign):
            others += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return funcs, others


def always_answer(src: str) -> str:
    funcs, others = defined_names(src)
    lines = [ALWAYS]
    lines += [f"def {f}(*args, **kwargs):\n    return _Always()\n" for f in funcs]
    lines += [f"{n} = _Always()" for n in others]
    return "\n".join(lines)


def patched_answer(src: str) -> str:
    funcs, _ = defined_names(src)
    if not funcs:
        return always_answer(src) + PATCHES
    wrap = [f"_crafted_{f} = {f}\n\n\ndef {f}(*args, **kwargs):\n"
            f"    return _perturb(_crafted_{f}(*args, **kwargs))\n" for f in funcs]
    return "\n".join([src, PATCHES, *wrap])


def noisy_answer(src: str) -> str:
    """The solution, but each function also warns on stderr (as tqdm or warnings.warn do)."""
    wrap = [f"_crafted_{f} = {f}\n\n\ndef {f}(*args, **kwargs):\n"
            f"    import sys\n    print('UserWarning: careful!', file=sys.stderr)\n"
            f"    return _crafted_{f}(*args, **kwargs)\n" for f in defined_names(src)[0]]
    return "\n".join([src, *wrap])


# --------------------------------------------------------------------------- cases
@dataclass
class Ctx:
    spec: NotebookSpec
    target: str | None  # the answer a breaking case breaks

    @property
    def full(self) -> float:
        return self.spec.auto_max

    @property
    def broken(self) -> float:
        if self.target is None:
            return self.full
        return self.full - sum(self.spec.cells[t].points for t in self.spec.tests_of(self.target))

    def solution(self) -> nbformat.NotebookNode:
        """What a perfect student hands in: the release with every answer filled in."""
        nb = copy.deepcopy(self.spec.release)
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            src = self.spec.source_cell(meta["grade_id"]) if meta.get("solution") else None
            if src is not None:
                cell.source = "\n".join(line for line in src.source.splitlines()
                                        if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)
        return nb

    def cell(self, nb, gid):
        return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == gid)


def _edit_answer(edit: Callable[[str, Ctx], str], full_marks: bool = False):
    def case(ctx: Ctx):
        nb = ctx.solution()
        if ctx.target:
            cell = ctx.cell(nb, ctx.target)
            cell.source = edit(cell.source, ctx)
        return nb, ctx.full if full_marks else ctx.broken
    return case


def _prepend(code: str, full_marks: bool = False):
    return _edit_answer(lambda src, ctx: textwrap.dedent(code).strip() + "\n" + src, full_marks)


def _solution(ctx):
    return ctx.solution(), ctx.full


def _blank(ctx):
    return copy.deepcopy(ctx.spec.release), 0.0


def _stderr(ctx):
    nb = ctx.solution()
    if not ctx.target or not defined_names(ctx.cell(nb, ctx.target).source)[0]:
        return nb, ctx.full
    cell = ctx.cell(nb, ctx.target)
    cell.source = noisy_answer(cell.source)
    return nb, ctx.broken


def _tests(ctx: Ctx, nb) -> list:
    return [ctx.cell(nb, t) for t in ctx.spec.tests_of(ctx.target)] if ctx.target else []


def _test_edited(ctx):
    nb = ctx.solution()
    for cell in _tests(ctx, nb):
        cell.source = "pass  # tests are for other people"
    return nb, ctx.full


def _test_deleted(ctx):
    nb = ctx.solution()
    gone = {id(c) for c in _tests(ctx, nb)}
    nb.cells = [c for c in nb.cells if id(c) not in gone]
    return nb, ctx.full


def _cell_type_changed(ctx):
    nb = ctx.solution()
    for cell in _tests(ctx, nb):
        cell.cell_type = "markdown"
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    return nb, ctx.full


def _answer_deleted(ctx):
    nb = ctx.solution()
    if ctx.target:
        nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") != ctx.target]
    return nb, ctx.broken


def _metadata_stripped(ctx):
    nb = ctx.solution()
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
        cell["id"] = uuid.uuid4().hex[:8]  # another editor: other cell ids too
    return nb, ctx.full


def _schema_broken(ctx):
    raw = json.loads(nbformat.writes(ctx.solution()))
    raw.pop("metadata", None)
    for cell in raw["cells"]:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    return json.dumps(raw, indent=1), ctx.full


@dataclass
class Case:
    name: str
    make: Callable[[Ctx], tuple]
    reason: str | None  # a regex grades.csv's reasons must match
    what: str


CASES = [
    Case("solution", _solution, None, "the solution: full marks"),
    Case("blank", _blank, r"NotImplementedError", "the release as handed out: zero, runs to the end"),
    Case("partial", _edit_answer(lambda src, ctx: ctx.spec.release_cell(ctx.target).source),
         r"NotImplementedError", "one answer left as the stub: that exercise's tests score zero"),
    Case("syntax_error", _edit_answer(lambda src, ctx: src + "\n\ndef broken(:\n    pass\n"),
         r"SyntaxError", "a syntax error in one answer"),
    Case("import_error", _prepend("import lab5_no_such_module"), r"ModuleNotFoundError",
         "an exception at import in one answer"),
    Case("endless_loop", _prepend("while True:\n    pass"), r"timed out",
         "an endless loop: that cell times out, the rest is graded"),
    Case("ignores_interrupt", _prepend("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                       "while True:\n    pass"), r"timed out",
         "an endless loop that ignores interrupts (the kernel is restarted)"),
    Case("sys_exit", _prepend("import sys\nsys.exit(1)"), r"SystemExit", "sys.exit() in one answer"),
    Case("kernel_killed", _prepend("import os\nos.kill(os.getpid(), 9)"), r"kernel died",
         "an answer that kills its kernel"),
    Case("output_flood", _prepend("for _i in range(200_000):\n    print('flood', _i)", True), None,
         "200k lines of output: truncated, graded normally"),
    Case("eq_always_true", _edit_answer(lambda src, ctx: always_answer(src)), r"review: defines __eq__",
         "answers whose __eq__ is always True: no points"),
    Case("monkeypatch", _edit_answer(lambda src, ctx: patched_answer(src)),
         r"review: replaces a library function",
         "wrong answers + torch.allclose / numpy.testing patched to pass: no points"),
    Case("grading_mode", _prepend(GRADING_MODE, True), r"review: reads or sets the grading mode",
         "reads NBGRADER_EXECUTION and tries to leave grade mode: graded normally"),
    Case("stderr_in_test", _stderr, r"wrote to stderr",
         "the answer is right but writes to stderr when the test calls it: nbgrader gives zero"),
    Case("test_edited", _test_edited, r"test cell was edited", "a test cell emptied: restored and run"),
    Case("test_deleted", _test_deleted, r"was deleted", "a test cell deleted: restored and run"),
    Case("cell_type_changed", _cell_type_changed, r"cell type was changed",
         "a test cell turned into markdown: restored and run"),
    Case("answer_deleted", _answer_deleted, r"was deleted", "an answer cell deleted: stub graded"),
    Case("metadata_stripped", _metadata_stripped, r"metadata was missing",
         "every nbgrader metadata and cell id gone (edited outside Jupyter): restored"),
    Case("schema_broken", _schema_broken, r"repaired", "valid JSON, invalid nbformat: rebuilt"),
]
# Cases about files rather than cells (handled in `write_case`).
FILE_CASES = {
    "corrupted": (r"corrupted", "the first graded notebook truncated mid-file: it scores zero"),
    "renamed": (r"identified .* by its content", "files renamed beyond recognition"),
    "duplicates": (r"graded the newest", "X.ipynb (older, blank) and Copy of X (1).ipynb (newer)"),
    "missing": (r"not submitted", "only the first graded notebook, plus a text file"),
    "nothing": (r"not submitted", "a folder holding only a PDF"),
}


def pick_target(spec: NotebookSpec, wanted: list[str]) -> str | None:
    answers = [a for a in spec.answers() if spec.tests_of(a)]
    chosen = [a for a in answers if a in wanted]
    return chosen[0] if chosen else (answers[-1] if answers else None)


def _write(path: Path, content, mtime: float | None = None) -> None:
    text = content if isinstance(content, str) else nbformat.writes(content)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def write_case(name: str, lab: LabSpec, targets: dict[str, str | None],
               folder: Path) -> tuple[dict[str, float], bool]:
    """Write one case's folder; its expected scores per notebook, and whether the case could
    be applied to any notebook (e.g. no function to wrap: the solution is written as is)."""
    folder.mkdir(parents=True, exist_ok=True)
    ctxs = {stem: Ctx(spec, targets[stem]) for stem, spec in lab.notebooks.items()}
    graded = [s for s in lab.stems if lab.notebooks[s].auto_max > 0] or lab.stems
    expected: dict[str, float] = {}
    applied = name in FILE_CASES
    now = time.time()
    for i, (stem, ctx) in enumerate(ctxs.items()):
        if name in ("corrupted", "missing", "nothing"):
            if name == "corrupted" and stem == graded[0]:
                text = nbformat.writes(ctx.solution())
                _write(folder / f"{stem}.ipynb", text[: len(text) // 2])
                expected[stem] = 0.0
            elif (name == "missing" and stem != graded[0]) or name == "nothing":
                expected[stem] = 0.0
            else:
                _write(folder / f"{stem}.ipynb", ctx.solution())
                expected[stem] = ctx.full
        elif name == "renamed":
            _write(folder / f"my lab work part {i + 1} final.ipynb", ctx.solution())
            expected[stem] = ctx.full
        elif name == "duplicates":
            _write(folder / f"{stem}.ipynb", ctx.spec.release, now - 86400)
            _write(folder / f"Copy of {stem} (1).ipynb", ctx.solution(), now - 60)
            expected[stem] = ctx.full
        else:
            case = next(c for c in CASES if c.name == name)
            nb, score = case.make(ctx)
            _write(folder / f"{stem}.ipynb", nb)
            expected[stem] = score
            text = nb if isinstance(nb, str) else nbformat.writes(nb)
            applied = applied or text != nbformat.writes(ctx.solution())
    if name == "missing":
        _write(folder / "README.txt", "I ran out of time, sorry!\n")
    if name == "nothing":
        (folder / "lab5.pdf").write_bytes(b"%PDF-1.4\n% not a notebook\n")
    return expected, applied


def generate(solutions: Path, out: Path, cases: list[str] | None = None,
             targets: list[str] | None = None) -> dict:
    """Write ``out/submissions/<case>/...`` and ``out/expected.json``; return the latter."""
    from labutils.grading.store import build_master

    names = [c.name for c in CASES] + list(FILE_CASES)
    chosen = [n for n in names if not cases or n in cases]
    with tempfile.TemporaryDirectory(prefix="lab5-crafted-") as tmp:
        lab = build_master(solutions, Path(tmp) / "master")
        picked = {stem: pick_target(spec, targets or []) for stem, spec in lab.notebooks.items()}
        subs = out / "submissions"
        expected = {"solutions": str(solutions), "max": lab.max_score,
                    "auto_max": sum(s.auto_max for s in lab.notebooks.values()),
                    "targets": picked, "cases": {}}
        for name in chosen:
            scores, applied = write_case(name, lab, picked, subs / name)
            case = next((c for c in CASES if c.name == name), None)
            reason, what = (case.reason, case.what) if case else FILE_CASES[name]
            if not applied and reason:
                reason, what = None, f"{what} (not applicable here: the solution as is)"
            expected["cases"][name] = {"notebooks": scores, "total": sum(scores.values()),
                                       "reason": reason, "what": what}
    (out / "expected.json").write_text(json.dumps(expected, indent=1))
    return expected


def check(expected: dict, grades_csv: Path) -> list[str]:
    """Every way grades.csv differs from what the crafted cases must get."""
    with open(grades_csv, newline="") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    problems = []
    for name, case in expected["cases"].items():
        row = rows.get(name)
        if row is None:
            problems.append(f"{name}: missing from grades.csv")
            continue
        for stem, score in case["notebooks"].items():
            if abs(float(row[stem]) - score) > 1e-6:
                problems.append(f"{name}: {stem} scored {row[stem]}, expected {score:g} "
                                f"({case['what']}); reasons: {row['reasons']}")
        if case["reason"] and not re.search(case["reason"], row["reasons"]):
            problems.append(f"{name}: reasons lack /{case['reason']}/: {row['reasons']}")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labutils.grading.crafted", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--solutions", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("build/crafted"))
    p.add_argument("--cases", help="comma-separated case names (default: all)")
    p.add_argument("--target", action="append", default=[],
                   help="grade_id of the answer to break in its notebook (repeatable)")
    p.add_argument("--check", type=Path, help="a crafted folder (with expected.json) to check")
    p.add_argument("--grades", type=Path, help="grades.csv to check (with --check)")
    p.add_argument("--list", action="store_true", help="list the cases")
    args = p.parse_args(argv)
    if args.list:
        for c in CASES:
            print(f"{c.name:20} {c.what}")
        for name, (_, what) in FILE_CASES.items():
            print(f"{name:20} {what}")
        return 0
    if args.check:
        expected = json.loads((args.check / "expected.json").read_text())
        problems = check(expected, args.grades or args.check / "graded" / "grades.csv")
        print("\n".join(problems) or f"all {len(expected['cases'])} crafted cases as expected")
        return 1 if problems else 0
    from labutils.grading.course import SOLUTIONS_DIR

    solutions = args.solutions or SOLUTIONS_DIR
    expected = generate(solutions, args.out, args.cases.split(",") if args.cases else None,
                        args.target)
    print(f"{len(expected['cases'])} crafted students in {args.out / 'submissions'}; "
          f"expected scores in {args.out / 'expected.json'}; broken answers: {expected['targets']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
