"""Run modes, budgets and labutils.setup()."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import labutils
from labutils.modes import BUDGETS, MODES, budget, resolve_mode


@pytest.mark.parametrize("env,cuda,expected", [
    ({}, False, "smoke"),
    ({}, True, "full"),
    ({"LAB_MODE": "full"}, False, "full"),
    ({"LAB_MODE": " Smoke "}, True, "smoke"),
    ({"NBGRADER_EXECUTION": "autograde"}, True, "grade"),
    ({"NBGRADER_EXECUTION": "validate", "LAB_MODE": "full"}, True, "grade"),
    ({"LAB_MODE": "grade"}, False, "grade"),
])
def test_resolve_mode(env, cuda, expected):
    choice = resolve_mode(env, cuda=cuda)
    assert choice.mode == expected
    assert choice.reason


def test_unknown_mode_lists_the_valid_ones():
    with pytest.raises(ValueError, match="smoke, full, grade"):
        resolve_mode({"LAB_MODE": "fast"}, cuda=False)


def test_every_notebook_has_a_budget_for_every_mode():
    for notebook, per_mode in BUDGETS.items():
        assert set(per_mode) == set(MODES), notebook
    b = budget("02_unet_pascal_voc", "smoke")
    b["epochs"] = -1  # a copy: changing it changes nothing
    assert budget("02_unet_pascal_voc", "smoke")["epochs"] != -1
    with pytest.raises(KeyError, match="known"):
        budget("99_nope", "smoke")


def test_setup_seeds_and_prints_one_block(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LAB_MODE", "smoke")
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    lab = labutils.setup("02_unet_pascal_voc")
    first = (torch.rand(3), np.random.rand(3))
    labutils.setup("02_unet_pascal_voc", verbose=False)
    second = (torch.rand(3), np.random.rand(3))
    assert torch.equal(first[0], second[0]) and (first[1] == second[1]).all()
    out = capsys.readouterr().out
    for word in ("mode", "smoke", "device", "torch", "torchvision", "data root", str(tmp_path / "d")):
        assert word in out
    assert lab.data_root == (tmp_path / "d").resolve() and lab.data_root.is_dir()
    assert lab.budget == budget("02_unet_pascal_voc", "smoke")


def test_grade_mode_never_uses_the_gpu(monkeypatch, tmp_path):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    lab = labutils.setup("01_transpose_convolution", verbose=False)
    assert lab.mode == "grade" and lab.device.type == "cpu"


def test_grade_mode_uses_a_small_private_shapes_set(monkeypatch, tmp_path):
    from labutils import paths
    from labutils.data.shapes import ensure_shapes

    monkeypatch.delenv("LAB_DATA_DIR", raising=False)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    paths._private_root.cache_clear()
    root = paths.data_root()
    assert root.name.startswith("lab5-grade-data-") and root != paths.REPO_ROOT / "data"
    shapes = ensure_shapes(progress=False)
    assert shapes.root == root / "shapes-grade"
    names = (shapes.voc_dir / "ImageSets/Segmentation/train.txt").read_text().split()
    assert len(names) == 40
    paths._private_root.cache_clear()
