"""Shared fixtures: a Shapes tree generated once per test session, in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((REPO / "solutions").glob("*.ipynb"))


@pytest.fixture(scope="session")
def shapes(tmp_path_factory):
    """A generated Shapes tree (the default config), shared by the whole session."""
    from labutils.data.shapes import generate

    return generate(tmp_path_factory.mktemp("shapes") / "shapes", progress=False)
