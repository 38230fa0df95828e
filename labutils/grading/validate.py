"""Check a submission before grading and put back what nbgrader needs.

* It must be JSON and a notebook; a notebook that breaks nbformat's schema is rebuilt from its
  cells (said in the report); a file that is not JSON cannot be graded (zero, with the reason).
* Every graded cell of the release must be there with its nbgrader metadata. Editors other
  than Jupyter (and some Colab round trips) drop that metadata; then each release cell is found
  again by its ``grade_id``, else its cell id, else the similarity of its source to the release
  or the solution, else (an answer) its place just above its matched test. Cells that cannot
  be found are inserted from the release (a deleted test is run; a deleted answer scores zero).
  nbgrader itself (``OverwriteCells``) then restores the tests' sources, hidden tests
  included, their points and cell types.
* Code the student wrote is scanned for things worth a TA's look (replacing comparison
  functions, IPython hooks, killing the kernel, reading the grading mode...).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from labutils.grading.spec import LabSpec, NotebookSpec, nbgrader_meta

MAX_BYTES = 256 << 20
SIMILAR = 60.0  # rapidfuzz ratio (0..100) above which a cell is taken for a release cell
CELL_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

SUSPICIOUS = [
    (r"\bget_ipython\b|input_transformers|ast_transformers|set_custom_exc|showtraceback|"
     r"events\s*\.\s*register", "changes how IPython runs cells"),
    (r"NBGRADER_EXECUTION|LAB_MODE", "reads or sets the grading mode"),
    (r"\bos\s*\.\s*(_exit|kill|killpg|abort)\b|\bsignal\s*\.\s*signal\b", "kills or signals processes"),
    (r"\bsys\s*\.\s*exit\b|^\s*(exit|quit)\s*\(", "exits the kernel"),
    (r"\.\s*(allclose|array_equal|assert_\w+|testing|isclose|equal)\s*=[^=]|\bsetattr\s*\(\s*(torch|np|numpy|math)\b",
     "replaces a library function"),
    (r"\bbuiltins\b|__builtins__", "touches Python's builtins"),
    (r"def\s+__(eq|ne|bool|float|index|int)__", "defines __eq__/__bool__-like methods"),
    (r"gradebook|sqlite3|nbgrader", "touches grading files"),
    (r"\bsubprocess\b|\bos\s*\.\s*(system|fork|popen|exec\w*)\b|\bctypes\b|\bmultiprocessing\b",
     "starts processes or native code"),
    (r"\bsys\s*\.\s*modules\s*\[", "edits sys.modules"),
]


@dataclass
class Checked:
    """A submission after checking: the notebook to grade (``None`` if it cannot be graded)."""

    nb: nbformat.NotebookNode | None
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    fatal: str | None = None


def _text(src) -> str:
    if isinstance(src, list):
        return "".join(str(s) for s in src)
    return src if isinstance(src, str) else ""


def _rebuild(raw: dict) -> nbformat.NotebookNode:
    """A valid notebook from the cells of an invalid one (sources, types, nbgrader metadata)."""
    make = {"code": new_code_cell, "markdown": new_markdown_cell, "raw": new_raw_cell}
    cells = []
    for rc in raw.get("cells", []):
        if not isinstance(rc, dict):
            continue
        cell = make.get(rc.get("cell_type"), new_code_cell)(_text(rc.get("source")))
        meta = rc.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("nbgrader"), dict):
            cell.metadata["nbgrader"] = meta["nbgrader"]
        if isinstance(rc.get("id"), str) and CELL_ID_RE.match(rc["id"]):
            cell["id"] = rc["id"]
        cells.append(cell)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def read(path: Path) -> Checked:
    """Parse ``path`` as a notebook, repairing what the schema rejects."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        return Checked(None, fatal=f"corrupted: {size / 2**20:.0f} MiB, too large to be a notebook")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
        raw = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return Checked(None, fatal=f"corrupted: not valid JSON ({err})"[:200])
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        return Checked(None, fatal="corrupted: JSON but not a notebook (no cells)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
        return Checked(nb)
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds
        if not isinstance(raw.get("cells"), list):
            return Checked(None, fatal=f"corrupted: an unreadable notebook ({err})"[:200])
        nb = _rebuild(raw)
        nbformat.validate(nb)
        return Checked(nb, notes=["repaired an invalid notebook structure (cells kept)"])


# --------------------------------------------------------------------------- identify
def identify(path: Path, lab: LabSpec) -> str | None:
    """Which of the lab's notebooks ``path`` holds, judged by its content (``None``: unsure)."""
    try:
        raw = json.loads(path.read_bytes().decode("utf-8-sig"))
        cells = [c for c in raw.get("cells", []) if isinstance(c, dict)]
    except Exception:  # noqa: BLE001 - unreadable: no opinion
        return None
    ids = {nbgrader_meta(c).get("grade_id") for c in cells}
    text = "\n".join(_text(c.get("source")) for c in cells)
    scores = {}
    for stem, spec in lab.notebooks.items():
        score = 3 * len(ids & set(spec.cells))
        score += 5 * (f'setup("{stem}")' in text or f"setup('{stem}')" in text)
        score += 5 * (f"/{stem}.ipynb" in text)
        scores[stem] = score
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    if ranked and ranked[0][1] > 0 and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
        return ranked[0][0]
    from rapidfuzz import fuzz

    md = "\n".join(_text(c.get("source")) for c in cells if c.get("cell_type") == "markdown")
    sims = sorted(((fuzz.ratio(md, "\n".join(c.source for c in spec.release.cells
                                            if c.cell_type == "markdown")), stem)
                   for stem, spec in lab.notebooks.items()), reverse=True)
    if sims and sims[0][0] >= SIMILAR and (len(sims) == 1 or sims[0][0] - sims[1][0] >= 10):
        return sims[0][1]
    return None


# --------------------------------------------------------------------------- restore
def _norm(src: str) -> str:
    return "\n".join(line.rstrip() for line in src.strip().splitlines())


def _set_type(cell, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.outputs, cell.execution_count = [], None
        cell.pop("attachments", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def restore(nb: nbformat.NotebookNode, spec: NotebookSpec) -> list[str]:
    """Give every graded release cell its place and metadata in ``nb`` (in place); the notes."""
    from rapidfuzz import fuzz

    notes: list[str] = []
    order = list(spec.cells)
    sub_ids: list[str | None] = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(gid, str) or gid not in spec.cells:
            if meta is not None:
                if isinstance(gid, str) and gid:
                    notes.append(f"a cell has an unknown grade_id {gid!r}: graded as ordinary code")
                del cell.metadata["nbgrader"]
            gid = None
        sub_ids.append(gid)

    match: dict[str, int] = {}
    how: dict[str, str] = {}
    for j, gid in enumerate(sub_ids):
        if gid is None:
            continue
        if gid in match:  # like nbgrader's DeduplicateIds: the last copy counts
            notes.append(f"{gid} appears more than once: the last copy is graded")
            del nb.cells[match[gid]].metadata["nbgrader"]
        match[gid], how[gid] = j, "grade_id"
    taken = set(match.values())

    def window(gid: str) -> range:
        i = order.index(gid)
        before = [match[g] for g in order[:i] if g in match]
        after = [match[g] for g in order[i + 1:] if g in match]
        lo, hi = (max(before) if before else -1), (min(after) if after else len(nb.cells))
        return range(lo + 1, hi) if lo < hi else range(len(nb.cells))

    def cell_id(cell) -> str | None:
        return cell.get("id") or cell.get("metadata", {}).get("id")

    for gid in order:  # by cell id
        if gid in match:
            continue
        rid = cell_id(spec.release_cell(gid))
        for j in window(gid):
            if j not in taken and rid and cell_id(nb.cells[j]) == rid:
                match[gid], how[gid] = j, "cell id"
                taken.add(j)
                break
    sims: dict[tuple[str, int], float] = {}

    def similarity(gid: str, j: int) -> float:
        if (gid, j) not in sims:
            refs = [spec.release_cell(gid)] + [c for c in [spec.source_cell(gid)] if c is not None]
            sims[gid, j] = max(fuzz.ratio(_norm(nb.cells[j].source), _norm(r.source)) for r in refs)
        return sims[gid, j]

    # by similarity to the release or the solution: the best order-preserving alignment of
    # the cells still unmatched, between the cells already matched
    anchors = sorted((order.index(g), j) for g, j in match.items())
    if [j for _, j in anchors] != sorted(j for _, j in anchors):  # reordered: one segment
        anchors = []
    bounds = [(-1, -1), *anchors, (len(order), len(nb.cells))]
    for (ra, sa), (rb, sb) in zip(bounds, bounds[1:]):
        gids = [g for g in order[ra + 1:rb] if g not in match]
        free = [j for j in range(sa + 1, sb) if j not in taken] if anchors else \
            [j for j in range(len(nb.cells)) if j not in taken]
        for gid, j in _align(gids, free, similarity):
            match[gid], how[gid] = j, "similar source"
            taken.add(j)
    for gid in order:  # an answer sits just above its test
        if gid in match or spec.cells[gid].kind != "answer":
            continue
        tests = [match[t] for t in spec.tests_of(gid) if t in match]
        j = min(tests) - 1 if tests else -1
        if j >= 0 and j not in taken and j in window(gid) and nb.cells[j].cell_type == "code":
            match[gid], how[gid] = j, "position above its test"
            taken.add(j)

    for gid, j in match.items():
        cell, ref, kind = nb.cells[j], spec.release_cell(gid), spec.cells[gid].kind
        if how[gid] != "grade_id":
            notes.append(f"{gid}: nbgrader metadata was missing, restored (matched by {how[gid]})")
        cell.metadata["nbgrader"] = copy.deepcopy(ref.metadata["nbgrader"])
        if cell.cell_type != ref.cell_type:
            notes.append(f"{gid}: cell type was changed to {cell.cell_type}, set back to {ref.cell_type}")
            _set_type(cell, ref.cell_type)
        originals = {_norm(ref.source)} | {_norm(c.source) for c in [spec.source_cell(gid)] if c}
        if kind == "test" and _norm(cell.source) not in originals:
            notes.append(f"{gid}: the test cell was edited; the original test is run")

    placed = {gid: nb.cells[j] for gid, j in match.items()}
    cells = list(nb.cells)

    def index_of(cell) -> int:
        return next(k for k, c in enumerate(cells) if c is cell)

    for i, gid in enumerate(order):
        if gid in placed:
            continue
        kind = spec.cells[gid].kind
        prev = next((placed[g] for g in reversed(order[:i]) if g in placed), None)
        nxt = next((placed[g] for g in order[i + 1:] if g in placed), None)
        at = index_of(prev) + 1 if prev is not None else (index_of(nxt) if nxt is not None
                                                           else len(cells))
        placed[gid] = copy.deepcopy(spec.release_cell(gid))
        cells.insert(at, placed[gid])
        what = {"test": "the test is run", "answer": "the release stub is graded (no credit)",
                "manual": "it scores zero"}.get(kind)
        if what:
            notes.append(f"{gid}: the cell was deleted; restored from the release, {what}")
    nb.cells = cells
    return notes


def _align(gids: list[str], cells: list[int], sim) -> list[tuple[str, int]]:
    """The order-preserving pairing of ``gids`` with ``cells`` of the largest total similarity
    (pairs below ``SIMILAR`` are never made)."""
    n, m = len(gids), len(cells)
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for a in range(n - 1, -1, -1):
        for b in range(m - 1, -1, -1):
            s = sim(gids[a], cells[b])
            take = s + best[a + 1][b + 1] if s >= SIMILAR else -1.0
            best[a][b] = max(best[a + 1][b], best[a][b + 1], take)
    pairs, a, b = [], 0, 0
    while a < n and b < m:
        s = sim(gids[a], cells[b])
        if s >= SIMILAR and best[a][b] == s + best[a + 1][b + 1]:
            pairs.append((gids[a], cells[b]))
            a, b = a + 1, b + 1
        elif best[a][b] == best[a + 1][b]:
            a += 1
        else:
            b += 1
    return pairs


# --------------------------------------------------------------------------- scan
def scan(nb: nbformat.NotebookNode, spec: NotebookSpec) -> list[str]:
    """What in the student's own code deserves a look (cells equal to the release or the
    solution are skipped)."""
    known = {_norm(c.source) for c in spec.release.cells + spec.source.cells}
    flags = []
    for cell in nb.cells:
        if cell.cell_type != "code" or _norm(cell.source) in known:
            continue
        graded = spec.cells.get(nbgrader_meta(cell).get("grade_id", ""))
        if graded is not None and graded.kind in ("test", "locked"):
            continue  # nbgrader puts the original back
        for regex, what in SUSPICIOUS:
            if re.search(regex, cell.source, re.M) and what not in flags:
                flags.append(what)
    return flags


def check(path: Path, spec: NotebookSpec) -> Checked:
    """Read, repair, restore and scan one submission."""
    checked = read(path)
    if checked.nb is None:
        return checked
    nb = checked.nb
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    checked.notes += restore(nb, spec)
    checked.flags = scan(nb, spec)
    nbformat.validate(nb)
    return checked
