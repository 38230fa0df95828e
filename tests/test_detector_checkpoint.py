"""Notebook 03 leaves its Shapes Mask R-CNN for notebook 04: the checkpoint 03 writes is the one
04's loader takes, and a checkpoint of another model or image size is refused (no training)."""

from __future__ import annotations

import torch

from labutils.models.maskrcnn import light_maskrcnn
from labutils.models.panoptic import load_compatible
from labutils.modes import BUDGETS
from labutils.train.checkpoint import save_atomic

SMOKE_03 = BUDGETS["03_mask_rcnn_coco"]["smoke"]
SMOKE_04 = BUDGETS["04_panoptic_segmentation"]["smoke"]
NUM_CLASSES = 4  # background + Shapes' three thing classes, in both notebooks


def _save_like_03(data_root, model, image_size):
    """What notebook 03's training cell writes (same entries, same place)."""
    return save_atomic({"model": model.state_dict(), "num_classes": NUM_CLASSES,
                        "image_size": list(image_size), "steps": 7, "history": {"loss": [2.0, 1.0]}},
                       data_root / "checkpoints" / "03_maskrcnn_shapes.pt")


def _load_like_04(data_root):
    """Notebook 04's part 5: build its detector, then try 03's checkpoint."""
    torch.manual_seed(1)
    detector = light_maskrcnn(NUM_CLASSES, image_size=SMOKE_04["detector_size"])
    reused = load_compatible(detector, data_root / "checkpoints" / "03_maskrcnn_shapes.pt",
                             expect={"image_size": SMOKE_04["detector_size"]})
    return detector, reused


def _differs(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return any(not torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


def test_smoke_budgets_build_the_same_detector():
    assert SMOKE_03["dataset"] == SMOKE_04["dataset"] == "shapes"
    assert tuple(SMOKE_03["image_size"]) == tuple(SMOKE_04["detector_size"])
    assert SMOKE_04["reuse_checkpoint"] is True
    for mode in ("grade", "full"):
        assert BUDGETS["04_panoptic_segmentation"][mode]["reuse_checkpoint"] is False


def test_notebook_04_reuses_what_notebook_03_saved(tmp_path):
    torch.manual_seed(0)
    trained = light_maskrcnn(NUM_CLASSES, image_size=SMOKE_03["image_size"])
    path = _save_like_03(tmp_path, trained, SMOKE_03["image_size"])
    assert path.is_file() and not path.with_name(path.name + ".tmp").exists()
    fresh, _ = _load_like_04(tmp_path / "elsewhere")
    assert _differs(fresh, trained)  # different seeds: reuse must be what makes them equal
    detector, reused = _load_like_04(tmp_path)
    assert reused is not None and reused["steps"] == 7 and reused["history"]["loss"] == [2.0, 1.0]
    assert not _differs(detector, trained)


def test_notebook_04_refuses_another_model_or_size(tmp_path):
    torch.manual_seed(0)
    _save_like_03(tmp_path, light_maskrcnn(NUM_CLASSES + 2), SMOKE_03["image_size"])  # other classes
    detector, reused = _load_like_04(tmp_path)
    fresh, _ = _load_like_04(tmp_path / "elsewhere")
    assert reused is None and not _differs(detector, fresh)

    _save_like_03(tmp_path, light_maskrcnn(NUM_CLASSES), (480, 640))  # same layers, other size
    detector, reused = _load_like_04(tmp_path)
    assert reused is None and not _differs(detector, fresh)
