"""The course's identity: the one setting that says where the student notebooks are published.

`make release` stamps it into every student notebook's "Open in Colab" badge and install cell.
"""

from __future__ import annotations

import os

# Where the course is published (owner/name on GitHub) and the branch or tag students get.
REPOSITORY = os.environ.get("LAB_REPOSITORY", "cs3485/lab5-segmentation")
REF = os.environ.get("LAB_REF", "main")
ASSIGNMENT = "lab5"
NOTEBOOK_DIR = "notebooks"


def colab_url(notebook: str) -> str:
    """The Colab link of a student notebook (file name with ``.ipynb``)."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{REF}/{NOTEBOOK_DIR}/{notebook}"


def colab_badge(notebook: str) -> str:
    """The markdown of an "Open in Colab" badge for a student notebook."""
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)})"


def pip_requirement() -> str:
    """What Colab's install cell pip-installs: labutils pinned to the course's release."""
    return f"labutils @ git+https://github.com/{REPOSITORY}@{REF}"
