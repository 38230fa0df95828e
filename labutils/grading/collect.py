"""Collect submissions: which file is which student's copy of which notebook.

What TAs get: a folder or an LMS zip; one folder per student (Moodle adds
``_12345_assignsubmission_file_``) or flat files named after the student (Canvas:
``smithalice_12345_67890_Copy of 02_unet_pascal_voc.ipynb``, ``..._LATE_...``; Blackboard:
``Lab 5_alice_attempt_2024-..._02_unet_pascal_voc.ipynb``; or simply
``alice_02_unet_pascal_voc.ipynb``). Colab names downloads ``Copy of X.ipynb`` and browsers
number repeats ``X (1).ipynb``. A student may also rename a file: then its content says which
notebook it is.

The input is first copied (or extracted) into the output folder and only the copy is read, so
what was given is never modified. Every file that is not graded is reported with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
JUNK_DIRS = {"__MACOSX", ".ipynb_checkpoints", ".git"}
MAX_ZIP_BYTES = 4 << 30
MOODLE_RE = re.compile(r"_(?P<lms_id>\d+)_assignsubmission_\w*$", re.I)
CANVAS_RE = re.compile(r"^(?P<student>.+?)(?:_late)?_(?P<lms_id>\d+)_\d+(?:_.*)?$", re.I)
BLACKBOARD_RE = re.compile(r"^(?:.*?_)?(?P<student>[^_]+)_attempt_[\d-]+", re.I)
COPY_RE = re.compile(r"copy[ _]of[ _]", re.I)
DUPLICATE_RE = re.compile(r"^[\s_-]*(?:\((?P<a>\d+)\)|-(?P<b>\d+))[\s_-]*$")


@dataclass
class Placed:
    """One file graded as ``student``'s ``notebook``."""

    path: Path
    rel: str
    student: str
    notebook: str
    how: str  # "name", "content" or "pattern"
    mtime: float = 0.0
    number: int = 0  # Colab/browser duplicate number: "X (2).ipynb" -> 2
    notes: list[str] = field(default_factory=list)
    lms_id: str | None = None  # the LMS's user id in the name (Canvas, Moodle), if any


@dataclass
class Unplaced:
    rel: str
    reason: str


@dataclass
class Collection:
    placed: dict[str, dict[str, Placed]] = field(default_factory=dict)
    students: set[str] = field(default_factory=set)
    unplaced: list[Unplaced] = field(default_factory=list)

    def files(self) -> list[str]:
        """Every file of the input, graded or not (nothing is lost)."""
        return sorted([p.rel for nbs in self.placed.values() for p in nbs.values()]
                      + [u.rel for u in self.unplaced])


def student_id(raw: str) -> str | None:
    """A folder- and nbgrader-safe student id (``None`` if nothing is left); accents are
    dropped (José Núñez -> Jose_Nunez)."""
    ascii_ = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "_", ascii_.strip()).strip("._-")
    return clean or None


# --------------------------------------------------------------------------- snapshot
def _safe_member(name: str) -> PurePosixPath | None:
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".", "/")]
    if not parts or ".." in parts:
        return None
    return PurePosixPath(*parts)


def _member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its author wrote it: zips made without the UTF-8 flag (Info-ZIP,
    some LMSs) still hold UTF-8 bytes, which :mod:`zipfile` decodes as cp437 (José -> Jos├⌐)."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _extract(archive: Path, dest: Path) -> list[str]:
    """Extract ``archive`` into ``dest`` safely (no absolute paths, no ``..``, size-capped);
    keep each member's date so "newest duplicate" means what the student did last."""
    skipped = []
    with zipfile.ZipFile(archive) as zf:
        total = sum(i.file_size for i in zf.infolist())
        if total > MAX_ZIP_BYTES:
            raise ValueError(f"{archive.name}: {total / 2**30:.1f} GiB unpacked, too large")
        for info in zf.infolist():
            if info.is_dir():
                continue
            member = _safe_member(_member_name(info))
            if member is None:
                skipped.append(info.filename)
                continue
            target = dest / member
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            stamp = time.mktime(info.date_time + (0, 0, -1))
            os.utime(target, (stamp, stamp))
    return skipped


def snapshot(source: Path, inbox: Path) -> tuple[Path, list[Unplaced]]:
    """Copy a folder, or extract a zip, into ``inbox`` (replaced); zips found inside are
    extracted next to themselves, one level deep. Returns the root to collect from and the
    members that could not be extracted."""
    source = Path(source)
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)
    problems: list[Unplaced] = []
    if source.is_dir():
        shutil.copytree(source, inbox, dirs_exist_ok=True, symlinks=False,
                        ignore_dangling_symlinks=True)
    elif zipfile.is_zipfile(source):
        problems += [Unplaced(m, "unsafe path in the zip (absolute or '..'): not extracted")
                     for m in _extract(source, inbox)]
    elif source.suffix == ".ipynb" and source.is_file():
        shutil.copy2(source, inbox / source.name)
    else:
        raise FileNotFoundError(f"{source}: not a folder, a zip or a notebook")
    for nested in sorted(inbox.rglob("*.zip")):
        try:
            out = nested.with_suffix("")
            problems += [Unplaced(f"{nested.relative_to(inbox)}/{m}", "unsafe path in the zip")
                         for m in _extract(nested, out)]
            nested.rename(nested.with_name(nested.name + ".extracted"))
        except (zipfile.BadZipFile, ValueError, OSError) as err:
            problems.append(Unplaced(str(nested.relative_to(inbox)), f"unreadable zip: {err}"))
    return inbox, problems


# --------------------------------------------------------------------------- names
def _unwrap(root: Path) -> tuple[Path, list[str]]:
    """Descend through folders that are the only thing in their parent (an LMS wrapper)."""
    wrappers = []
    while True:
        entries = [e for e in root.iterdir() if e.name not in JUNK_NAMES | JUNK_DIRS]
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
            wrappers.append(root.name)
        else:
            return root, wrappers


def match_notebook(filename: str, notebooks: list[str]) -> tuple[str | None, str, str]:
    """``(notebook, text before it, text after it)`` for a file name (without ``.ipynb``)."""
    key = filename.lower().translate(str.maketrans(" -.", "___"))
    for stem in sorted(notebooks, key=len, reverse=True):
        at = key.find(stem.lower())
        if at >= 0:
            return stem, filename[:at], filename[at + len(stem):]
    return None, filename, ""


def duplicate_number(suffix: str) -> int | None:
    m = DUPLICATE_RE.match(suffix)
    if m:
        return int(m.group("a") or m.group("b"))
    return 0 if not suffix.strip(" _-") else None


def lms_id(name: str) -> str | None:
    """The LMS user id in a Canvas file name or a Moodle folder name (``None`` if none)."""
    m = MOODLE_RE.search(name) or CANVAS_RE.match(COPY_RE.sub("", name).strip(" _-."))
    return m.group("lms_id") if m else None


def student_from_name(prefix: str, suffix: str, lms_only: bool = False) -> str | None:
    """The student a flat file name carries (LMS conventions first, then the bare prefix;
    ``lms_only``: only an LMS convention counts, as when the name holds no notebook name and
    the prefix is just whatever the student called the file)."""
    prefix = COPY_RE.sub("", prefix).strip(" _-.")
    if prefix:
        for regex in (BLACKBOARD_RE, CANVAS_RE):
            m = regex.match(prefix)
            if m:
                return student_id(m.group("student"))
        return None if lms_only else student_id(prefix)
    if suffix and duplicate_number(suffix) is None:
        return student_id(re.sub(r"\s*\(\d+\)$", "", suffix))
    return None


# --------------------------------------------------------------------------- collect
def collect(root: Path, notebooks: list[str], identify: Callable[[Path], str | None],
            pattern: str | None = None, problems: list[Unplaced] | None = None) -> Collection:
    """Place every file under ``root``. ``identify(path)`` names the notebook a file holds by
    its content (``None``: unknown); ``pattern`` is a regex with a ``student`` group (and
    optionally ``notebook``) matched against each file's path relative to ``root``."""
    found = Collection(unplaced=list(problems or []))
    regex = re.compile(pattern) if pattern else None
    base, wrappers = _unwrap(root)
    candidates: dict[tuple[str, str], list[Placed]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        parts = path.relative_to(base).parts if path.is_relative_to(base) else path.parts
        if path.name in JUNK_NAMES or set(path.relative_to(root).parts) & JUNK_DIRS:
            found.unplaced.append(Unplaced(rel, "ignored: system or checkpoint file"))
            continue
        if path.name.endswith(".zip.extracted"):
            continue  # reported through its extracted content
        if path.suffix.lower() != ".ipynb":
            found.unplaced.append(Unplaced(rel, f"not a notebook ({path.suffix or 'no extension'})"))
            if len(parts) >= 2 and not regex:
                sid = student_id(MOODLE_RE.sub("", parts[0]))
                if sid:
                    found.students.add(sid)
            continue
        notes: list[str] = []
        stem_from_name, prefix, suffix = match_notebook(path.stem, notebooks)
        number = (duplicate_number(suffix) or 0) if stem_from_name else 0
        if regex:
            m = regex.search(path.relative_to(root).as_posix())
            if not m or not m.groupdict().get("student"):
                found.unplaced.append(Unplaced(rel, f"does not match --pattern {pattern!r}"))
                continue
            sid, how, owner = student_id(m.group("student")), "pattern", None
            if m.groupdict().get("notebook"):
                stem_from_name = match_notebook(m.group("notebook"), notebooks)[0]
        elif len(parts) >= 2:
            sid, how, owner = student_id(MOODLE_RE.sub("", parts[0])), "name", parts[0]
        else:
            sid, how, owner = student_from_name(prefix, suffix, lms_only=stem_from_name is None), "name", prefix
            if sid is None and wrappers:
                sid, owner = student_id(MOODLE_RE.sub("", wrappers[-1])), wrappers[-1]
                notes.append(f"student taken from the folder name {wrappers[-1]!r}")
        if not sid:
            found.unplaced.append(Unplaced(rel, "cannot tell whose file this is: put each "
                                  "student's files in a folder named after them, name files "
                                  "<student>_<notebook>.ipynb, or pass --pattern"))
            continue
        found.students.add(sid)
        by_content = identify(path)
        notebook = stem_from_name or by_content
        if stem_from_name is None and by_content:
            how = "content"
            notes.append(f"{path.name!r} identified as {by_content} by its content")
        elif stem_from_name and by_content and by_content != stem_from_name:
            notebook, how = by_content, "content"
            notes.append(f"{path.name!r} is named like {stem_from_name} but holds {by_content}")
        if notebook is None:
            found.unplaced.append(Unplaced(rel, "not one of the lab's notebooks (neither its "
                                  f"name nor its content matches {', '.join(notebooks)})"))
            continue
        candidates.setdefault((sid, notebook), []).append(
            Placed(path, rel, sid, notebook, how, path.stat().st_mtime, number, notes,
                   lms_id(owner) if owner else None))
    candidates = _split_namesakes(candidates, found)
    for (sid, notebook), files in candidates.items():
        files.sort(key=lambda p: (p.mtime, p.number, p.rel))
        chosen = files[-1]
        for older in files[:-1]:
            found.unplaced.append(Unplaced(older.rel, f"superseded: {sid} also sent "
                                           f"{chosen.rel!r} for {notebook} (the newest is graded)"))
        if len(files) > 1:
            chosen.notes.append(f"{len(files)} files for {notebook}; graded the newest, "
                                f"{PurePosixPath(chosen.rel).name!r}")
        found.placed.setdefault(sid, {})[notebook] = chosen
    return found


def _split_namesakes(candidates: dict[tuple[str, str], list[Placed]],
                     found: Collection) -> dict[tuple[str, str], list[Placed]]:
    """Two students whose names give the same id but whose LMS user ids differ (two Canvas
    users called smithjohn) are kept apart as ``<id>_<lms id>``, never merged."""
    ids: dict[str, set[str]] = {}
    for (sid, _), files in candidates.items():
        ids.setdefault(sid, set()).update(f.lms_id for f in files if f.lms_id)
    out: dict[tuple[str, str], list[Placed]] = {}
    for (sid, notebook), files in candidates.items():
        for f in files:
            if len(ids[sid]) > 1 and f.lms_id:
                f.student = f"{sid}_{f.lms_id}"
                f.notes.append(f"{sid!r} is the name of {len(ids[sid])} LMS users: graded as "
                               f"{f.student!r}")
            out.setdefault((f.student, notebook), []).append(f)
    for sid, lms_ids in ids.items():
        if len(lms_ids) > 1:
            found.students.discard(sid)
            found.students.update(f"{sid}_{i}" for i in lms_ids)
    return out
