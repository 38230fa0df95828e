"""``make smoke`` and ``make bench``: run every solution notebook headless in smoke mode.

Executed copies go to ``build/smoke/<name>.ipynb``; ``build/smoke/summary.json`` lists each
notebook's status and wall time. ``bench`` adds the figures each notebook recorded with
``labutils.report.record`` and prints one table (also written to ``build/bench.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from labutils.paths import REPO_ROOT
from labutils.report import REPORT_ENV
from labutils.widgets import WIDGETS_ENV

SOLUTIONS = REPO_ROOT / "solutions"
BUILD = REPO_ROOT / "build"


def run_notebook(path: Path, out_dir: Path, mode: str = "smoke", timeout: int = 900) -> dict:
    """Execute one notebook with nbclient in ``mode``; return its status, time and figures."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / f"{path.stem}.figures.json"
    report.unlink(missing_ok=True)
    nb = nbformat.read(path, as_version=4)
    env_before = dict(os.environ)
    os.environ.update({"LAB_MODE": mode, REPORT_ENV: str(report)})
    os.environ.pop("MPLBACKEND", None)  # the kernel draws inline, so executed copies keep figures
    os.environ[WIDGETS_ENV] = "0"  # no front end: the static fallbacks (a headless interact can hang)
    os.environ.pop("NBGRADER_EXECUTION", None)
    start = time.perf_counter()
    status, error = "ok", ""
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
        # the executed copy is still written below, so the failing cell can be read there
        kind = "timeout" if isinstance(err, CellTimeoutError) else "error"
        status, error = kind, str(err).strip().splitlines()[-1][:300] if str(err).strip() else kind
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    seconds = time.perf_counter() - start
    nbformat.write(nb, out_dir / path.name)
    figures = json.loads(report.read_text()) if report.is_file() else {}
    return {"notebook": path.stem, "status": status, "seconds": round(seconds, 1),
            "figures": figures, "error": error}


def format_table(rows: list[dict]) -> str:
    keys = sorted({k for r in rows for k in r["figures"]})
    header = ["notebook", "status", "wall s", *keys]
    lines = [header]
    for r in rows:
        lines.append([r["notebook"], r["status"], f"{r['seconds']:.1f}",
                      *(f"{r['figures'][k]:.4g}" if k in r["figures"] else "-" for k in keys)])
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(header))]
    fmt = lambda row: "  ".join(str(c).ljust(w) for c, w in zip(row, widths))  # noqa: E731
    return "\n".join([fmt(lines[0]), fmt(["-" * w for w in widths]), *map(fmt, lines[1:])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labutils.runner", description=__doc__)
    parser.add_argument("what", choices=["smoke", "bench"])
    parser.add_argument("notebooks", nargs="*", help="file stems (default: all)")
    args = parser.parse_args(argv)
    paths = sorted(SOLUTIONS.glob("*.ipynb"))
    if args.notebooks:
        paths = [p for p in paths if p.stem in args.notebooks or p.name in args.notebooks]
    if not paths:
        print(f"No notebooks in {SOLUTIONS} yet: nothing to run.")
        return 0
    out_dir = BUILD / "smoke"
    rows = []
    for path in paths:
        print(f"running {path.name} in smoke mode ...", flush=True)
        row = run_notebook(path, out_dir)
        print(f"  {row['status']} in {row['seconds']:.1f} s {row['error']}", flush=True)
        rows.append(row)
    (out_dir / "summary.json").write_text(json.dumps(rows, indent=2))
    if args.what == "bench":
        print()
        print(format_table(rows))
        (BUILD / "bench.json").write_text(json.dumps(rows, indent=2))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
