"""Self-checks for notebook 03 (Mask R-CNN on COCO).

Each ``check_*`` runs a student's function on small inputs, compares it with what pycocotools
or torchvision compute, and raises ``AssertionError`` with a hint that says what differs and
what usually causes it. They print one line when everything agrees.
"""

from __future__ import annotations

import numpy as np
import torch


def _ok(what: str) -> None:
    print(f"✓ {what}: all checks passed")


def _plain(value, what: str) -> np.ndarray:
    """A fresh float64 NumPy copy of a result (tensor or array-like)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise AssertionError(f"{what} should be numbers (an array, a tensor or a list); "
                             f"got {type(value).__name__}: {err}") from None


def _first_diff(got: np.ndarray, expected: np.ndarray, atol: float) -> str:
    bad = np.argwhere(np.abs(got - expected) > atol)
    index = tuple(int(i) for i in bad[0])
    return (f"{len(bad)} of {expected.size} entries differ; the first at index {index}: "
            f"expected {expected[index]:.6g}, got {got[index]:.6g}")


def _tiny_coco(height: int, width: int, anns: list[dict]):
    """A ``pycocotools.COCO`` built in memory: one image, the given annotations."""
    import contextlib
    import io

    from pycocotools.coco import COCO

    coco = COCO()
    coco.dataset = {
        "images": [{"id": 1, "height": height, "width": width, "file_name": "x.jpg"}],
        "categories": [{"id": k, "name": f"class{k}"} for k in (1, 2, 3)],
        "annotations": [{"id": i + 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                         "area": 1.0, "bbox": [0, 0, 1, 1], **a} for i, a in enumerate(anns)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


# --------------------------------------------------------------------------- polygons_to_mask


def check_polygons_to_mask(fn) -> None:
    """``fn(polygons, height, width)`` equals ``COCO.annToMask`` of the same polygons."""
    h, w = 12, 16
    cases = {
        "a rectangle": [[2.0, 3.0, 10.0, 3.0, 10.0, 8.0, 2.0, 8.0]],
        "a triangle": [[1.0, 1.0, 14.0, 2.5, 6.5, 11.0]],
        "two parts of one object": [[0.5, 0.5, 4.0, 0.5, 4.0, 4.0],
                                    [9.0, 6.0, 15.0, 6.0, 12.0, 11.5]],
    }
    for name, polygons in cases.items():
        got = fn([list(p) for p in polygons], h, w)
        arr = np.asarray(got.detach().cpu() if isinstance(got, torch.Tensor) else got)
        assert arr.shape == (h, w), (
            f"{name}: the mask should be (height, width) = {(h, w)}, got {arr.shape}. "
            f"pycocotools works on RLEs: decode the merged RLE of all polygons into one mask.")
        assert arr.dtype == np.uint8, (
            f"{name}: the mask should be uint8 (0/1) as pycocotools decodes it, got {arr.dtype}")
        coco = _tiny_coco(h, w, [{"segmentation": polygons}])
        expected = coco.annToMask(coco.anns[1])
        if not np.array_equal(arr, expected):
            hint = ""
            if len(polygons) > 1 and arr.sum() < expected.sum():
                hint = (" An object can have several polygons: merge them all "
                        "(pycocotools.mask.merge) before decoding.")
            elif arr.sum() == 0:
                hint = " Polygons are flat [x1, y1, x2, y2, ...] lists in pixels: x is the column."
            raise AssertionError(f"{name}: the mask differs from COCO's annToMask in "
                                 f"{int((arr != expected).sum())} pixels.{hint} Use "
                                 f"pycocotools' own rasteriser (mask.frPyObjects), not a "
                                 f"drawing library: COCO's masks are defined by it.")
    _ok("polygons_to_mask")


# --------------------------------------------------------------------------- mask_to_bbox


def check_mask_to_bbox(fn) -> None:
    """``fn(mask)`` equals ``pycocotools.mask.toBbox`` for a few masks (NumPy and torch)."""
    from pycocotools import mask as mask_utils

    masks = []
    m = np.zeros((10, 12), np.uint8)
    m[2:5, 3:9] = 1
    masks.append(("a rectangle rows 2-4, columns 3-8", m))
    m = np.zeros((10, 12), np.uint8)
    m[0, 11] = m[9, 0] = 1
    masks.append(("two corner pixels", m))
    m = np.zeros((10, 12), np.uint8)
    m[4, 5] = 1
    masks.append(("one pixel", m))
    masks.append(("an empty mask", np.zeros((10, 12), np.uint8)))
    for name, m in masks:
        expected = mask_utils.toBbox(mask_utils.encode(np.asfortranarray(m)))
        for kind, given in (("NumPy", m.copy()), ("torch bool", torch.from_numpy(m).bool())):
            try:
                result = fn(given)
            except (IndexError, ValueError, RuntimeError) as err:
                if m.any():
                    raise
                raise AssertionError(
                    f"{name} ({kind}): your function raised {err!r}. An empty mask has no first "
                    f"row or column: return [0.0, 0.0, 0.0, 0.0], as pycocotools does.") from None
            got = _plain(result, "mask_to_bbox's result")
            assert got.shape == (4,), (f"{name} ({kind}): expected 4 numbers [x, y, width, "
                                       f"height], got shape {got.shape}")
            if not np.allclose(got, expected):
                hint = ""
                if np.allclose(got[:2], expected[:2]) and np.allclose(got[2:], expected[2:] - 1):
                    hint = (" Width and height count pixels: a box over columns 3..8 is "
                            "6 wide (last - first + 1).")
                elif np.allclose(got, [expected[1], expected[0], expected[3], expected[2]]):
                    hint = " x is the column (axis 1) and y the row (axis 0)."
                elif np.allclose(got[2:], expected[:2] + expected[2:]):
                    hint = " COCO boxes are [x, y, width, height], not [x1, y1, x2, y2]."
                elif np.allclose(got[:2], expected[:2]) and np.allclose(
                        got[2:], expected[:2] + expected[2:] - 1):
                    hint = (" COCO boxes are [x, y, width, height] (width = last - first + 1), "
                            "not the last column and row [x1, y1, x2, y2].")
                elif not m.any():
                    hint = " An empty mask has the box [0, 0, 0, 0], as pycocotools says."
                raise AssertionError(f"{name} ({kind}): expected {expected.tolist()}, got "
                                     f"{got.tolist()}.{hint}")
    _ok("mask_to_bbox")


# --------------------------------------------------------------------------- mask_iou


def _rles(masks: np.ndarray):
    from pycocotools import mask as mask_utils

    return mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))


def check_mask_iou(fn) -> None:
    """``fn(masks_a, masks_b)`` equals ``pycocotools.mask.iou`` (no crowd) as an (Na, Nb) matrix."""
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(3)
    a = rng.random((3, 9, 11)) < 0.4
    b = rng.random((4, 9, 11)) < 0.5
    a[2] = False                      # two empty masks: union 0, IoU 0 (not NaN)
    b[3] = False
    b[0] = a[0]                       # an identical pair: IoU 1
    expected = mask_utils.iou(_rles(a), _rles(b), [0] * len(b))
    for kind, args in (("NumPy bool", (a, b)), ("torch bool", (torch.from_numpy(a),
                                                                 torch.from_numpy(b)))):
        result = fn(*args)
        if kind.startswith("torch"):
            assert isinstance(result, torch.Tensor), (
                f"given torch tensors, return a torch tensor (got {type(result).__name__})")
        else:
            assert isinstance(result, np.ndarray), (
                f"given NumPy arrays, return a NumPy array (got {type(result).__name__})")
        got = _plain(result, "mask_iou's result")
        assert got.shape == expected.shape, (
            f"({kind}) the IoU matrix of 3 masks against 4 should be (3, 4), got {got.shape}."
            + (" Rows are masks_a, columns masks_b." if got.shape == expected.T.shape else ""))
        assert np.isfinite(got).all(), (
            f"({kind}) NaN or inf in the result: two empty masks have union 0; define their "
            f"IoU as 0 (as pycocotools does) instead of dividing by zero")
        if not np.allclose(got, expected, atol=1e-6):
            fa = a.reshape(len(a), -1).astype(np.float64)
            fb = b.reshape(len(b), -1).astype(np.float64)
            inter = fa @ fb.T
            sums = fa.sum(1)[:, None] + fb.sum(1)[None, :]
            no_minus = np.divide(inter, sums, out=np.zeros_like(inter), where=sums > 0)
            hint = ""
            if np.allclose(got, no_minus, atol=1e-6):
                hint = " The union is |A| + |B| - |A ∩ B|: subtract the intersection."
            raise AssertionError(f"({kind}) {_first_diff(got, expected, 1e-6)}.{hint} "
                                 f"IoU = |A ∩ B| / (|A| + |B| - |A ∩ B|); one matrix product "
                                 f"of the flattened masks gives every intersection at once.")
    _ok("mask_iou")


# --------------------------------------------------------------------------- roi_align_single


def check_roi_align_single(fn) -> None:
    """``fn(feature, box, output_size, spatial_scale, sampling_ratio)`` equals
    ``torchvision.ops.roi_align(..., aligned=True)`` for boxes inside and across the border."""
    from torchvision.ops import roi_align

    g = torch.Generator().manual_seed(5)
    feature = torch.randn(3, 10, 12, generator=g)
    cases = [
        ("an integer box, 2x2 output", [2.0, 3.0, 8.0, 7.0], 2, 1.0, 1),
        ("a fractional box", [1.3, 2.6, 9.7, 8.2], (3, 4), 1.0, 2),
        ("spatial_scale 0.5 (a stride-2 feature map)", [3.0, 1.0, 19.0, 15.0], 3, 0.5, 2),
        ("a box crossing the border", [-2.5, -1.5, 4.5, 5.0], 3, 1.0, 2),
        ("a box past the bottom-right corner", [8.2, 6.1, 13.9, 11.7], 2, 1.0, 3),
    ]
    for name, box, out, scale, ratio in cases:
        ph, pw = (out, out) if isinstance(out, int) else out
        rois = [torch.tensor([box], dtype=torch.float32)]
        expected = roi_align(feature[None], rois, (ph, pw), scale, ratio, aligned=True)[0]
        result = fn(feature.clone(), torch.tensor(box), out, spatial_scale=scale,
                    sampling_ratio=ratio)
        got = _plain(result, "roi_align_single's result")
        assert got.shape == (3, ph, pw), (
            f"{name}: a (C, H, W) = (3, 10, 12) feature and output_size {out} should give "
            f"(3, {ph}, {pw}), got {got.shape}")
        exp = expected.numpy().astype(np.float64)
        if not np.allclose(got, exp, atol=1e-5):
            unaligned = roi_align(feature[None], rois, (ph, pw), scale, ratio,
                                  aligned=False)[0].numpy()
            hint = " Check the sample points: bin start + (i + 0.5) * bin size / sampling_ratio."
            if np.allclose(got, unaligned, atol=1e-5):
                hint = (" Your result equals aligned=False: shift the box by -0.5 after scaling "
                        "(pixel centres sit at integer + 0.5).")
            elif np.allclose(got, exp * ratio * ratio, atol=1e-4):
                hint = " Average the sampling_ratio² samples of a bin, don't sum them."
            elif "border" in name or "past" in name:
                hint = (" Inside the map you match; near the border you don't. A sample with "
                        "y < -1 or y > H (x likewise) counts 0; otherwise clamp y to >= 0, and "
                        "a sample at or beyond row H-1 uses row H-1 alone.")
            raise AssertionError(f"{name}: {_first_diff(got, exp, 1e-5)}.{hint}")
    got2d = _plain(fn(feature[0].clone(), torch.tensor([1.0, 1.0, 7.0, 5.0]), 2), "2-D result")
    exp2d = roi_align(feature[None, :1], [torch.tensor([[1.0, 1.0, 7.0, 5.0]])], 2, 1.0, 2,
                      aligned=True)[0, 0].numpy()
    assert got2d.shape == (2, 2), (
        f"a 2-D (H, W) feature map should give a 2-D (2, 2) result, got {got2d.shape}")
    assert np.allclose(got2d, exp2d, atol=1e-5), (
        f"2-D feature map: {_first_diff(got2d, exp2d, 1e-5)}")
    _ok("roi_align_single")


# --------------------------------------------------------------------------- build_maskrcnn_for


def _describe_predictors(model) -> str:
    box, mask = model.roi_heads.box_predictor, model.roi_heads.mask_predictor
    return (f"cls_score {tuple(box.cls_score.weight.shape)}, bbox_pred "
            f"{tuple(box.bbox_pred.weight.shape)}, mask_fcn_logits "
            f"{tuple(mask.mask_fcn_logits.weight.shape)}")


def check_build_maskrcnn_for(fn) -> None:
    """``fn(num_classes)`` / ``fn(num_classes, model)`` give a MaskRCNN with new predictors."""
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
    from torchvision.models.detection.mask_rcnn import MaskRCNNPredictor

    from labutils.models.maskrcnn import light_maskrcnn

    torch.manual_seed(0)
    base = light_maskrcnn(num_classes=4)
    backbone_before = {k: v.clone() for k, v in base.backbone.state_dict().items()}
    old_box, old_mask = base.roi_heads.box_predictor, base.roi_heads.mask_predictor
    old_cls_score, old_mask_logits = old_box.cls_score, old_mask.mask_fcn_logits
    old_features, old_channels = old_cls_score.in_features, old_mask.conv5_mask.in_channels
    model = fn(6, base)
    assert isinstance(model, MaskRCNN), f"return the MaskRCNN model, got {type(model).__name__}"
    box, mask = model.roi_heads.box_predictor, model.roi_heads.mask_predictor
    assert isinstance(box, FastRCNNPredictor) and box.cls_score is not old_cls_score, (
        "the box predictor was not replaced: set model.roi_heads.box_predictor to a new "
        "FastRCNNPredictor(in_features, num_classes)")
    assert isinstance(mask, MaskRCNNPredictor) and mask.mask_fcn_logits is not old_mask_logits, (
        "the mask predictor was not replaced: set model.roi_heads.mask_predictor to a new "
        "MaskRCNNPredictor(in_channels, hidden, num_classes)")
    assert box.cls_score.out_features == 6 and box.bbox_pred.out_features == 24, (
        f"for num_classes=6 the box predictor needs 6 class scores and 6 * 4 = 24 box "
        f"deltas (background counted); got {_describe_predictors(model)}")
    assert box.cls_score.in_features == old_features, (
        f"the new box predictor must take the box head's {old_features} "
        f"features (read them from the old predictor's cls_score.in_features)")
    assert mask.mask_fcn_logits.out_channels == 6, (
        f"the mask predictor needs one mask per class: 6 output channels; got "
        f"{_describe_predictors(model)}")
    assert mask.conv5_mask.in_channels == old_channels, (
        f"the new mask predictor must take the mask head's "
        f"{old_channels} channels (old conv5_mask.in_channels)")
    after = model.backbone.state_dict()
    assert all(torch.equal(backbone_before[k], after[k]) for k in backbone_before), (
        "the backbone changed: the recipe keeps every pretrained weight except the predictors")
    model.eval()
    with torch.no_grad():
        out = model([torch.rand(3, 64, 80)])[0]
    assert set(out) >= {"boxes", "labels", "scores", "masks"}, f"inference gave {sorted(out)}"
    assert max(out["labels"].tolist(), default=0) < 6, "predicted labels must be < num_classes"
    with torch.device("meta"):  # the ResNet-50 default, built without allocating weights
        default = fn(3)
    assert isinstance(default, MaskRCNN), "fn(num_classes) alone should build a Mask R-CNN"
    assert default.roi_heads.box_predictor.cls_score.out_features == 3, (
        f"fn(3): expected 3 classes, got {_describe_predictors(default)}")
    assert default.roi_heads.mask_predictor.mask_fcn_logits.out_channels == 3, (
        f"fn(3): expected 3 mask channels, got {_describe_predictors(default)}")
    _ok("build_maskrcnn_for")


# --------------------------------------------------------------------------- to_coco_results


def _fake_outputs():
    g = torch.Generator().manual_seed(11)
    outputs = []
    for n in (3, 0, 2):
        boxes = torch.tensor([[1.5, 2.0, 9.0, 7.5], [0.0, 0.0, 4.0, 3.0],
                              [5.0, 1.0, 11.5, 8.0]])[:n]
        outputs.append({"boxes": boxes, "labels": torch.tensor([1, 3, 2])[:n],
                        "scores": torch.tensor([0.9, 0.03, 0.4])[:n],
                        "masks": torch.rand(n, 1, 9, 12, generator=g)})
    return outputs, [7, 8, 9]


def check_to_coco_results(fn) -> None:
    """``fn(outputs, image_ids)`` gives COCO result dicts that ``COCO.loadRes`` accepts."""
    import contextlib
    import io
    import json

    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    outputs, ids = _fake_outputs()
    results = fn(outputs, ids)
    assert isinstance(results, list), f"return a list of dicts, got {type(results).__name__}"
    kept = [(i, k) for i, o in zip(ids, outputs) for k in range(len(o["scores"]))
            if float(o["scores"][k]) >= 0.05]
    assert len(results) == len(kept), (
        f"expected {len(kept)} results (one per detection with score >= 0.05, the two with "
        f"score 0.03 left out), got {len(results)}")
    try:
        json.dumps(results)
    except TypeError as err:
        raise AssertionError(f"results must be JSON-serialisable plain Python ({err}); turn "
                             f"tensors into int/float/list and the RLE counts bytes into str "
                             f"(.decode('ascii'))") from None
    by_key = {(r.get("image_id"), round(float(r.get("score", -1)), 5)): r for r in results}
    for image_id, k in kept:
        out = next(o for i, o in zip(ids, outputs) if i == image_id)
        key = (image_id, round(float(out["scores"][k]), 5))
        assert key in by_key, (f"no result with image_id {image_id} and score "
                               f"{float(out['scores'][k]):.3f}: image_ids[i] belongs to outputs[i]")
        r = by_key[key]
        missing = {"image_id", "category_id", "score", "bbox", "segmentation"} - set(r)
        assert not missing, f"each result needs the keys {sorted(missing)}"
        assert type(r["image_id"]) is int and type(r["category_id"]) is int, (
            "image_id and category_id must be Python ints")
        assert r["category_id"] == int(out["labels"][k]), (
            "category_id is the predicted label (Shapes and torchvision's COCO models use "
            "COCO's category ids as labels)")
        x1, y1, x2, y2 = out["boxes"][k].tolist()
        got_box = _plain(r["bbox"], "bbox")
        assert got_box.shape == (4,) and np.allclose(got_box, [x1, y1, x2 - x1, y2 - y1]), (
            f"bbox must be COCO's [x, y, width, height] = {[x1, y1, x2 - x1, y2 - y1]} for the "
            f"box [x1, y1, x2, y2] = {[x1, y1, x2, y2]}; got {got_box.tolist()}")
        seg = r["segmentation"]
        assert isinstance(seg, dict) and {"size", "counts"} <= set(seg), (
            "segmentation must be an RLE dict {'size': [h, w], 'counts': str} "
            "(pycocotools.mask.encode of a Fortran-ordered uint8 mask)")
        assert list(seg["size"]) == [9, 12], f"RLE size should be [height, width] = [9, 12]"
        decoded = mask_utils.decode({"size": seg["size"], "counts": seg["counts"].encode()
                                     if isinstance(seg["counts"], str) else seg["counts"]})
        expected = (out["masks"][k, 0] > 0.5).numpy().astype(np.uint8)
        if not np.array_equal(decoded, expected):
            hint = ""
            if np.array_equal(decoded, expected.T.reshape(decoded.shape)):
                hint = " pycocotools wants np.asfortranarray(mask), not the transposed mask."
            raise AssertionError(f"the decoded mask differs from masks > 0.5 in "
                                 f"{int((decoded != expected).sum())} pixels.{hint}")
    gt = {"images": [{"id": i, "height": 9, "width": 12} for i in ids],
          "categories": [{"id": k, "name": str(k)} for k in (1, 2, 3)], "annotations": []}
    coco = COCO()
    coco.dataset = gt
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        try:
            coco.loadRes(results)
        except Exception as err:  # noqa: BLE001 - pass pycocotools' complaint on
            raise AssertionError(f"COCO.loadRes refused the results: {err!r}") from None
    strict = fn(outputs, ids, score_threshold=0.5, mask_threshold=0.8)
    assert len(strict) == 2, (f"with score_threshold=0.5 two detections are left (score 0.9 in "
                              f"two images), got {len(strict)}: use the score_threshold argument")
    first = next((r for r in strict if r.get("image_id") == ids[0]), None)
    assert first is not None, (f"with score_threshold=0.5 image {ids[0]} keeps its detection of "
                               f"score 0.9; no result has that image_id")
    decoded = mask_utils.decode({"size": first["segmentation"]["size"],
                                 "counts": str(first["segmentation"]["counts"]).encode()})
    assert decoded.sum() == int((outputs[0]["masks"][0, 0] > 0.8).sum()), (
        "binarise the soft masks with the mask_threshold argument")
    _ok("to_coco_results")
