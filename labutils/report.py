"""Figures a notebook reports (its wall time and quality numbers such as mIoU, mask AP, PQ).

A notebook calls :func:`record`; under ``make smoke`` / ``make bench`` the runner sets
``LAB_REPORT_FILE`` and collects what was recorded into one table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

REPORT_ENV = "LAB_REPORT_FILE"


def record(**figures: float) -> dict[str, float]:
    """Print the figures and, under the runner, add them to this notebook's report file."""
    clean = {k: float(v) for k, v in figures.items()}
    print("  ".join(f"{k} = {v:.4g}" for k, v in clean.items()))
    target = os.environ.get(REPORT_ENV)
    if target:
        path = Path(target)
        current = json.loads(path.read_text()) if path.is_file() else {}
        current.update(clean)
        path.write_text(json.dumps(current, indent=2, sort_keys=True))
    return clean
