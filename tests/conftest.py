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

# The grading pipeline's tests grade a tiny committed assignment (two notebooks, three
# exercises and a written question), not the real lab; GRADING_SOLUTIONS=solutions runs the
# crafted-submission test against the real notebooks instead.
GRADING_FIXTURE = REPO / "tests" / "fixtures" / "grading" / "solutions"


@pytest.fixture(scope="session")
def fixture_lab(tmp_path_factory):
    """The fixture assignment through generate_assignment: ``(LabSpec, master course dir)``."""
    from labutils.grading.store import build_master

    master = tmp_path_factory.mktemp("grading") / "master"
    return build_master(GRADING_FIXTURE, master), master
