"""Interactive ipywidgets, one module per topic, each with a static fallback for where widgets
cannot render (headless runs, nbgrader, a front end without the widget extension)."""

from __future__ import annotations

import os

WIDGETS_ENV = "LAB_WIDGETS"


def widgets_supported() -> bool:
    """True when a notebook front end can draw ipywidgets.

    False while nbgrader executes, with matplotlib's Agg backend, outside an IPython kernel,
    without ipywidgets, or when ``LAB_WIDGETS=0`` (``make smoke`` sets it: no front end).
    """
    if os.environ.get("NBGRADER_EXECUTION"):
        return False
    if os.environ.get(WIDGETS_ENV, "").strip().lower() in ("0", "false", "no", "off"):
        return False
    import matplotlib

    if matplotlib.get_backend().lower() == "agg":
        return False
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None
