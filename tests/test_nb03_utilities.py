"""Notebook 03's graded utilities (the solution notebook's answer cells) against pycocotools and
torchvision on random inputs, and the self-checks: they pass the solutions and catch typical
mistakes with a hint."""

from __future__ import annotations

import contextlib
import io
import json

import nbformat
import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from torchvision.ops import roi_align

from labutils.checks import nb03 as checks
from tests.conftest import REPO

NOTEBOOK = REPO / "solutions" / "03_mask_rcnn_coco.ipynb"
ANSWERS = ("nb03-polygons-to-mask", "nb03-mask-to-bbox", "nb03-mask-iou", "nb03-roi-align",
           "nb03-build-maskrcnn", "nb03-to-coco-results")


@pytest.fixture(scope="module")
def sol() -> dict:
    """The solution notebook's answer cells, executed with the imports of its set-up cells."""
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    ns = {"np": np, "torch": torch, "mask_utils": mask_utils,
          "maskrcnn_resnet50_fpn": maskrcnn_resnet50_fpn}
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source
             for c in nbformat.read(NOTEBOOK, as_version=4).cells}
    for grade_id in ANSWERS:
        exec(compile(cells[grade_id], grade_id, "exec"), ns)  # noqa: S102 - our own notebook
    return ns


def _rles(masks: np.ndarray):
    return mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))


def test_polygons_to_mask_matches_pycocotools(sol):
    rng = np.random.default_rng(1)
    for _ in range(20):
        h, w = (int(v) for v in rng.integers(5, 50, size=2))
        polygons = [list(rng.uniform(-2, max(h, w) + 2, size=2 * int(rng.integers(3, 7))))
                    for _ in range(int(rng.integers(1, 3)))]
        expected = np.zeros((h, w), np.uint8)
        for p in polygons:
            expected |= mask_utils.decode(mask_utils.frPyObjects([p], h, w))[..., 0]
        got = sol["polygons_to_mask"](polygons, h, w)
        assert got.dtype == np.uint8 and got.shape == (h, w)
        assert np.array_equal(got, expected)


def test_mask_to_bbox_matches_to_bbox(sol):
    rng = np.random.default_rng(2)
    for trial in range(30):
        m = (rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 30)))) <
             (0 if trial % 6 == 0 else rng.uniform(0.01, 0.3))).astype(np.uint8)
        expected = mask_utils.toBbox(mask_utils.encode(np.asfortranarray(m))).tolist()
        assert sol["mask_to_bbox"](m) == expected
        assert sol["mask_to_bbox"](torch.from_numpy(m).bool()) == expected


def test_mask_iou_matches_pycocotools(sol):
    rng = np.random.default_rng(3)
    for _ in range(10):
        a = rng.random((int(rng.integers(1, 7)), 13, 17)) < rng.uniform(0.05, 0.6)
        b = rng.random((int(rng.integers(1, 7)), 13, 17)) < rng.uniform(0.05, 0.6)
        a[0] = False
        expected = mask_utils.iou(_rles(a), _rles(b), [0] * len(b))
        got = sol["mask_iou"](a, b)
        assert isinstance(got, np.ndarray) and np.allclose(got, expected)
        got_t = sol["mask_iou"](torch.from_numpy(a), torch.from_numpy(b))
        assert isinstance(got_t, torch.Tensor) and np.allclose(got_t.numpy(), expected, atol=1e-6)


def test_roi_align_single_matches_torchvision(sol):
    g = torch.Generator().manual_seed(4)
    rng = np.random.default_rng(4)
    for trial in range(40):
        h, w = (int(v) for v in rng.integers(2, 20, size=2))
        scale = float(rng.choice([1.0, 0.5, 0.25]))
        feature = torch.randn(int(rng.integers(1, 4)), h, w, generator=g)
        x1, y1 = rng.uniform(-5, w / scale + 3), rng.uniform(-5, h / scale + 3)
        x2, y2 = x1 + rng.uniform(0.1, w / scale), y1 + rng.uniform(0.1, h / scale)
        box = torch.tensor([x1, y1, x2, y2], dtype=torch.float32)
        out = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
        ratio = int(rng.integers(1, 5))
        expected = roi_align(feature[None], [box[None]], out, scale, ratio, aligned=True)[0]
        got = sol["roi_align_single"](feature, box, out, spatial_scale=scale, sampling_ratio=ratio)
        assert got.shape == expected.shape
        assert float((got - expected).abs().max()) < 1e-5, trial
    got2d = sol["roi_align_single"](feature[0], box, 3, spatial_scale=scale)
    assert got2d.shape == (3, 3)


def test_build_maskrcnn_for_replaces_only_the_predictors(sol):
    from labutils.models.maskrcnn import light_maskrcnn

    base = light_maskrcnn(num_classes=4)
    before = {k: v.clone() for k, v in base.state_dict().items() if "predictor" not in k}
    model = sol["build_maskrcnn_for"](7, base)
    assert model.roi_heads.box_predictor.cls_score.out_features == 7
    assert model.roi_heads.box_predictor.bbox_pred.out_features == 28
    assert model.roi_heads.mask_predictor.mask_fcn_logits.out_channels == 7
    after = model.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    with torch.device("meta"):
        default = sol["build_maskrcnn_for"](3)
    assert default.roi_heads.box_predictor.cls_score.in_features == 1024


def _outputs(rng: np.random.Generator, n_images: int, h: int, w: int):
    outs = []
    for _ in range(n_images):
        n = int(rng.integers(0, 5))
        xy = torch.from_numpy(rng.uniform(0, 0.5, (n, 2)) * [w, h]).float()
        wh = torch.from_numpy(rng.uniform(1, 0.5 * min(h, w), (n, 2))).float()
        outs.append({"boxes": torch.cat([xy, xy + wh], 1),
                     "labels": torch.from_numpy(rng.integers(1, 4, n)),
                     "scores": torch.from_numpy(np.sort(rng.random(n))[::-1].copy()).float(),
                     "masks": torch.from_numpy(rng.random((n, 1, h, w))).float()})
    return outs


def test_to_coco_results_round_trip_through_load_res(sol):
    rng = np.random.default_rng(5)
    h, w = 11, 14
    outputs = _outputs(rng, 3, h, w)
    ids = [4, 9, 2]
    results = sol["to_coco_results"](outputs, ids, score_threshold=0.3, mask_threshold=0.6)
    json.dumps(results)
    expected = [(i, k) for i, o in zip(ids, outputs) for k in range(len(o["scores"]))
                if o["scores"][k] >= 0.3]
    assert len(results) == len(expected)
    for r, (image_id, k) in zip(results, expected):
        out = outputs[ids.index(image_id)]
        assert r["image_id"] == image_id and r["category_id"] == int(out["labels"][k])
        x1, y1, x2, y2 = out["boxes"][k].tolist()
        assert np.allclose(r["bbox"], [x1, y1, x2 - x1, y2 - y1])
        decoded = mask_utils.decode({"size": r["segmentation"]["size"],
                                     "counts": r["segmentation"]["counts"].encode()})
        assert np.array_equal(decoded, (out["masks"][k, 0] > 0.6).numpy().astype(np.uint8))
    gt = COCO()
    gt.dataset = {"images": [{"id": i, "height": h, "width": w} for i in ids],
                  "categories": [{"id": k, "name": str(k)} for k in (1, 2, 3)], "annotations": []}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        if results:
            assert len(gt.loadRes(results).getAnnIds()) == len(results)


# --------------------------------------------------------------------------- the self-checks


def test_checks_pass_the_solutions(sol, capsys):
    for name in ("polygons_to_mask", "mask_to_bbox", "mask_iou", "roi_align_single",
                 "build_maskrcnn_for", "to_coco_results"):
        getattr(checks, f"check_{name}")(sol[name])
    assert capsys.readouterr().out.count("✓") == 6


def test_check_mask_to_bbox_hints_at_the_off_by_one(sol):
    def wrong(mask):
        x, y, w, h = sol["mask_to_bbox"](mask)
        return [x, y, w - 1, h - 1] if w else [x, y, w, h]

    with pytest.raises(AssertionError, match="last - first \\+ 1"):
        checks.check_mask_to_bbox(wrong)


def test_check_mask_iou_catches_nan_for_empty_masks(sol):
    def wrong(a, b):
        a_t = torch.as_tensor(np.asarray(a)).flatten(1).double()
        b_t = torch.as_tensor(np.asarray(b)).flatten(1).double()
        inter = a_t @ b_t.T
        iou = inter / (a_t.sum(1)[:, None] + b_t.sum(1)[None] - inter)
        return iou if isinstance(a, torch.Tensor) else iou.numpy()

    with pytest.raises(AssertionError, match="union 0"):
        checks.check_mask_iou(wrong)


def test_check_roi_align_recognises_the_unaligned_version():
    def unaligned(feature, box, output_size, spatial_scale=1.0, sampling_ratio=2):
        f = feature if feature.ndim == 3 else feature[None]
        out = roi_align(f[None], [torch.as_tensor(box, dtype=torch.float32)[None]], output_size,
                        spatial_scale, sampling_ratio, aligned=False)[0]
        return out if feature.ndim == 3 else out[0]

    with pytest.raises(AssertionError, match="aligned=False"):
        checks.check_roi_align_single(unaligned)


def test_check_build_maskrcnn_for_wants_the_mask_predictor_replaced():
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor

    def box_only(num_classes, model=None):
        model.roi_heads.box_predictor = FastRCNNPredictor(
            model.roi_heads.box_predictor.cls_score.in_features, num_classes)
        return model

    with pytest.raises(AssertionError, match="mask"):
        checks.check_build_maskrcnn_for(box_only)


def test_check_to_coco_results_wants_str_counts(sol):
    def bytes_counts(outputs, image_ids, score_threshold=0.05, mask_threshold=0.5):
        results = sol["to_coco_results"](outputs, image_ids, score_threshold, mask_threshold)
        for r in results:
            r["segmentation"]["counts"] = r["segmentation"]["counts"].encode()
        return results

    with pytest.raises(AssertionError, match="JSON"):
        checks.check_to_coco_results(bytes_counts)


def test_check_polygons_to_mask_hints_at_merging_the_parts(sol):
    def first_part_only(polygons, height, width):
        return sol["polygons_to_mask"](polygons[:1], height, width)

    with pytest.raises(AssertionError, match="merge"):
        checks.check_polygons_to_mask(first_part_only)


def test_check_mask_to_bbox_hints_at_inclusive_corners(sol):
    def inclusive_corners(mask):
        x, y, w, h = sol["mask_to_bbox"](mask)
        return [x, y, x + w - 1, y + h - 1] if w else [x, y, w, h]

    with pytest.raises(AssertionError, match="not the last column and row"):
        checks.check_mask_to_bbox(inclusive_corners)


def test_check_mask_to_bbox_explains_a_crash_on_the_empty_mask():
    def no_empty_case(mask):
        m = np.asarray(mask).astype(bool)
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        return [float(cols[0]), float(rows[0]), float(cols[-1] - cols[0] + 1),
                float(rows[-1] - rows[0] + 1)]

    with pytest.raises(AssertionError, match="An empty mask has no first row"):
        checks.check_mask_to_bbox(no_empty_case)


def test_check_mask_iou_hints_at_the_missing_minus(sol):
    def no_minus(a, b):
        a_t = torch.as_tensor(np.asarray(a)).flatten(1).double()
        b_t = torch.as_tensor(np.asarray(b)).flatten(1).double()
        inter = a_t @ b_t.T
        sums = a_t.sum(1)[:, None] + b_t.sum(1)[None]
        iou = torch.where(sums > 0, inter / sums.clamp(min=1), torch.zeros_like(inter))
        return iou if isinstance(a, torch.Tensor) else iou.numpy()

    with pytest.raises(AssertionError, match="subtract the intersection"):
        checks.check_mask_iou(no_minus)


def test_check_mask_iou_hints_at_transposed_results(sol):
    def transposed(a, b):
        return sol["mask_iou"](a, b).T

    with pytest.raises(AssertionError, match="Rows are masks_a, columns masks_b"):
        checks.check_mask_iou(transposed)


def test_check_build_maskrcnn_for_accepts_the_three_layers_replaced_in_place(capsys):
    from torch import nn
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    def in_place(num_classes, model=None):
        if model is None:
            model = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None)
        box, mask = model.roi_heads.box_predictor, model.roi_heads.mask_predictor
        box.cls_score = nn.Linear(box.cls_score.in_features, num_classes)
        box.bbox_pred = nn.Linear(box.bbox_pred.in_features, 4 * num_classes)
        mask.mask_fcn_logits = nn.Conv2d(mask.mask_fcn_logits.in_channels, num_classes, 1)
        return model

    checks.check_build_maskrcnn_for(in_place)
    assert "✓" in capsys.readouterr().out


def test_check_to_coco_results_accepts_any_order(sol, capsys):
    def reversed_order(outputs, image_ids, score_threshold=0.05, mask_threshold=0.5):
        return sol["to_coco_results"](outputs, image_ids, score_threshold, mask_threshold)[::-1]

    checks.check_to_coco_results(reversed_order)
    assert "✓" in capsys.readouterr().out


def test_check_to_coco_results_wants_the_mask_threshold_used(sol):
    def fixed_threshold(outputs, image_ids, score_threshold=0.05, mask_threshold=0.5):
        return sol["to_coco_results"](outputs, image_ids, score_threshold)

    with pytest.raises(AssertionError, match="mask_threshold argument"):
        checks.check_to_coco_results(fixed_threshold)
