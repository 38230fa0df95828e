"""labutils' Mask R-CNN machinery for notebooks 03 and 04: the light model, the time-budgeted
training loop, prediction and COCO evaluation."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
import torch
from torch.utils.data import Subset

from labutils.data.coco import CocoInstances, collate
from labutils.models.maskrcnn import light_maskrcnn
from labutils.train.detection import STAT_NAMES, evaluate_coco, lr_factor, predict, train_detection


@pytest.fixture
def one_thread():
    """Small models train faster on one CPU thread, much faster on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def val_set(shapes):
    with contextlib.redirect_stdout(io.StringIO()):
        return CocoInstances(shapes.coco("val"))


def test_light_maskrcnn_is_small_and_keeps_the_image_size():
    model = light_maskrcnn(num_classes=4).eval()
    n_params = sum(p.numel() for p in model.parameters())
    assert 0.5e6 < n_params < 3e6
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.backbone.modules())
    with torch.no_grad():
        out = model([torch.rand(3, 128, 160)])[0]
    assert out["masks"].shape[1:] == (1, 128, 160)
    assert out["labels"].max(dim=0).values < 4 if len(out["labels"]) else True


def test_lr_factor_warms_up_then_decays_to_zero():
    assert lr_factor(0.0) < 0.05
    assert lr_factor(0.05) == pytest.approx(1.0)
    assert lr_factor(0.5) < 1.0
    assert lr_factor(1.0) == pytest.approx(0.0, abs=1e-12)


def test_a_few_steps_on_one_batch_reduce_the_loss(val_set, one_thread):
    torch.manual_seed(0)
    batch = collate([val_set[i] for i in range(4)])
    model = light_maskrcnn(num_classes=4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    history = train_detection(model, [batch] * 8, optimizer, minutes=5, max_steps=8,
                              warmup=0.0, progress=False)
    assert len(history["loss"]) == 8
    assert {"loss_classifier", "loss_box_reg", "loss_mask", "loss_objectness",
            "loss_rpn_box_reg", "lr", "seconds"} <= set(history)
    assert all(math.isfinite(v) for v in history["loss"])
    assert sum(history["loss"][-2:]) < 0.8 * sum(history["loss"][:2])
    assert not model.training


def test_training_stops_at_the_time_budget(val_set, one_thread):
    batch = collate([val_set[0]])
    model = light_maskrcnn(num_classes=4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    history = train_detection(model, [batch] * 1000, optimizer, minutes=0.001, max_steps=1000,
                              progress=False)
    assert 1 <= len(history["loss"]) < 1000


def _ground_truth_as_results(coco, image_ids):
    results = []
    for ann in coco.loadAnns(coco.getAnnIds(imgIds=image_ids, iscrowd=False)):
        rle = coco.annToRLE(ann)
        counts = rle["counts"] if isinstance(rle["counts"], str) else rle["counts"].decode()
        results.append({"image_id": ann["image_id"], "category_id": ann["category_id"],
                        "score": 1.0, "bbox": ann["bbox"],
                        "segmentation": {"size": rle["size"], "counts": counts}})
    return results


def test_evaluate_coco_gives_ap_one_for_the_ground_truth(val_set):
    ids = sorted(val_set.coco.getImgIds())[:20]
    stats = evaluate_coco(val_set.coco, _ground_truth_as_results(val_set.coco, ids), image_ids=ids)
    for iou_type in ("segm", "bbox"):
        assert set(stats[iou_type]) == set(STAT_NAMES)
        assert stats[iou_type]["AP"] == pytest.approx(1.0)
        assert stats[iou_type]["AP50"] == pytest.approx(1.0)
        assert math.isnan(stats[iou_type]["APl"])  # no object in Shapes is larger than 96²
    # COCOeval rewrites ground-truth segmentations in place: evaluate_coco works on a copy.
    assert any(isinstance(a["segmentation"], list) for a in val_set.coco.dataset["annotations"])
    val_set[0]


def test_evaluate_coco_without_detections_is_zero(val_set):
    stats = evaluate_coco(val_set.coco, [])
    assert stats["segm"]["AP"] == 0.0 and stats["bbox"]["AP50"] == 0.0


def test_predict_returns_cpu_outputs_and_image_ids(val_set, one_thread):
    model = light_maskrcnn(num_classes=4, image_size=(64, 80))
    outputs, ids = predict(model, Subset(val_set, range(3)), batch_size=2, progress=False)
    assert ids == [int(val_set[i][1]["image_id"]) for i in range(3)]
    assert len(outputs) == 3
    assert all(o["masks"].shape[-2:] == (128, 160) and o["boxes"].device.type == "cpu"
               for o in outputs)
