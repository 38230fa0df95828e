"""Where data lives: ``LAB_DATA_DIR``, else ``/content/data`` in Colab, ``data/`` in a checkout,
or a per-user cache folder when the package was installed from pip.

While nbgrader executes a notebook and no ``LAB_DATA_DIR`` was given, the data root is a fresh
private folder of that process, so a submission never reads or writes data another one sees.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

DATA_ENV = "LAB_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def is_checkout() -> bool:
    """True when labutils runs from a clone of the lab (not a pip install)."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "solutions").is_dir()


@lru_cache(maxsize=1)
def _private_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="lab5-grade-data-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def data_root() -> Path:
    """The data root, created if missing."""
    from labutils.modes import NBGRADER_ENV

    if os.environ.get(DATA_ENV):
        root = Path(os.environ[DATA_ENV]).expanduser()
    elif os.environ.get(NBGRADER_ENV):
        root = _private_root()
    elif in_colab():
        root = Path("/content/data")
    elif is_checkout():
        root = REPO_ROOT / "data"
    else:
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        root = cache / "lab5-segmentation"
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


DRIVE_ROOT = Path("/content/drive")


def use_google_drive(folder: str = "lab5-data") -> Path:
    """In Colab: mount Google Drive and make ``MyDrive/<folder>`` the data root, so downloads
    and checkpoints survive a disconnected runtime. Call it before ``labutils.setup()``."""
    if not in_colab():
        raise RuntimeError("use_google_drive() works in Google Colab only; elsewhere set "
                           f"{DATA_ENV} to a folder instead.")
    from google.colab import drive  # type: ignore[import-not-found]

    drive.mount(str(DRIVE_ROOT))
    root = DRIVE_ROOT / "MyDrive" / folder
    root.mkdir(parents=True, exist_ok=True)
    os.environ[DATA_ENV] = str(root)
    return root
