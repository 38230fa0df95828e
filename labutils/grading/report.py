"""What the TA reads: ``grades.csv`` (one row per student), ``unplaced.csv`` and a summary."""

from __future__ import annotations

import csv
from pathlib import Path

from labutils.grading.collect import Unplaced


def _num(x: float) -> str:
    return f"{x:g}"


def reasons(result: dict, by_hand: dict[str, dict[str, float]] | None = None) -> list[str]:
    """Why each notebook scored what it did, and what deserves a look; ``by_hand``
    (notebook -> grade_id -> score) are the cells a person has since scored in the formgrader."""
    out = []
    by_hand = by_hand or {}
    for stem, entry in result["notebooks"].items():
        short = stem.split("_", 1)[0]
        for note in entry["notes"]:
            out.append(f"{short}: {note}")
        for gid, why in entry.get("answers", {}).items():
            out.append(f"{short}: {gid} failed ({why})")
        for gid, cell in entry["cells"].items():
            if gid in by_hand.get(stem, {}):
                if by_hand[stem][gid] < cell["max"]:
                    out.append(f"{short}: {gid} {_num(by_hand[stem][gid])}/{_num(cell['max'])} "
                               "(graded by hand)")
                continue
            if cell.get("why") and (cell["score"] is None or cell["score"] < cell["max"]):
                got = "?" if cell["score"] is None else _num(cell["score"])
                out.append(f"{short}: {gid} {got}/{_num(cell['max'])} ({cell['why']})")
        for flag in entry["flags"]:
            out.append(f"{short}: review: {flag}")
    if result.get("feedback_error"):
        out.append(f"feedback not generated: {result['feedback_error']}")
    return out


def rows(results: dict[str, dict], official: dict[str, dict[str, dict]],
         stems: list[str]) -> list[dict]:
    """One row per student; scores from the gradebook (manual grades included)."""
    table = []
    for student in sorted(results):
        result, scores = results[student], official.get(student, {})
        row = {"student": student}
        total = maximum = 0.0
        manual = 0
        for stem in stems:
            s = scores.get(stem, {"score": 0.0, "max": result["notebooks"].get(stem, {}).get("max", 0.0),
                                  "needs_manual": 0})
            row[stem] = _num(s["score"])
            total, maximum, manual = total + s["score"], maximum + s["max"], manual + s["needs_manual"]
        row.update(total=_num(total), max=_num(maximum), needs_manual=manual,
                   reasons="; ".join(reasons(result, {stem: scores.get(stem, {}).get("by_hand", {})
                                                      for stem in stems})) or "ok")
        table.append(row)
    return table


def write_grades(path: Path, table: list[dict], stems: list[str]) -> None:
    fields = ["student", *stems, "total", "max", "needs_manual", "reasons"]
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(table)
    tmp.replace(path)


def write_unplaced(path: Path, unplaced: list[Unplaced]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "reason"])
        for u in sorted(unplaced, key=lambda u: u.rel):
            writer.writerow([u.rel, u.reason])


def summary(table: list[dict], stems: list[str], width: int = 70) -> str:
    """A fixed-width table of the grades (the first reason, shortened)."""
    header = ["student", *[s.split("_", 1)[0] for s in stems], "total", "manual", "first reason"]
    lines = [header]
    for r in table:
        first = r["reasons"].split("; ")[0]
        first = first if len(first) <= width else first[: width - 1] + "…"
        lines.append([r["student"], *[r[s] for s in stems], f"{r['total']}/{r['max']}",
                      str(r["needs_manual"]), first])
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(header))]
    fmt = lambda row: "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(lines[0]), fmt(["-" * w for w in widths]), *map(fmt, lines[1:])])
