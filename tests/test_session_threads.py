"""``Lab.limit_threads``: one torch thread on a CPU unless LAB_THREADS chose, never on a GPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from labutils.session import Lab


def _lab(device: str) -> Lab:
    return Lab(notebook="04_panoptic_segmentation", mode="smoke", reason="test", device=torch.device(device),
               data_root=Path("."), seed=0, colab=False)


@pytest.fixture
def threads():
    """Start from 2 threads and restore the setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_cpu_without_lab_threads_sets_n(threads, monkeypatch):
    monkeypatch.delenv("LAB_THREADS", raising=False)
    _lab("cpu").limit_threads(1)
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("case", ["None", "LAB_THREADS set", "GPU"])
def test_leaves_threads_alone(threads, monkeypatch, case):
    monkeypatch.delenv("LAB_THREADS", raising=False)
    if case == "LAB_THREADS set":
        monkeypatch.setenv("LAB_THREADS", "2")
    _lab("cuda" if case == "GPU" else "cpu").limit_threads(None if case == "None" else 1)
    assert torch.get_num_threads() == 2


def test_notebook_04_budgets_have_threads():
    from labutils.modes import budget

    assert [budget("04_panoptic_segmentation", m)["threads"] for m in ("smoke", "grade", "full")] == [1, 1, None]
