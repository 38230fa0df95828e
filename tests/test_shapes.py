"""The Shapes dataset: deterministic, fast, and the same pixels in all three real formats."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from labutils.data.classes import SHAPES_STUFF_IDS, SHAPES_THING_IDS, VOC_PALETTE, VOID
from labutils.data.shapes import ShapesConfig, generate, void_band


def _same_tree(a, b) -> list[str]:
    cmp = filecmp.dircmp(a, b)
    diffs = cmp.left_only + cmp.right_only + cmp.diff_files + cmp.funny_files
    for sub in cmp.common_dirs:
        diffs += _same_tree(a / sub, b / sub)
    return diffs


def test_cli_twice_gives_byte_identical_trees_quickly(tmp_path):
    times = []
    for name in ("a", "b"):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "labutils.data", "shapes", "--out", str(tmp_path / name)],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    assert _same_tree(tmp_path / "a", tmp_path / "b") == []
    # filecmp.cmp with shallow=False compares bytes; check one of each kind explicitly too
    for rel in ("VOCdevkit/VOC2012/JPEGImages/shapes_000001.jpg",
                "coco/annotations/instances_val.json", "coco/panoptic_val/shapes_000401.png"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert max(times) <= 30, f"generation took {times}"


def test_another_seed_gives_other_scenes(tmp_path):
    small = ShapesConfig(seed=1, train=3, val=1)
    a = generate(tmp_path / "a", small, progress=False)
    b = generate(tmp_path / "b", ShapesConfig(seed=2, train=3, val=1), progress=False)
    img = "VOCdevkit/VOC2012/JPEGImages/shapes_000001.jpg"
    assert (a.root / img).read_bytes() != (b.root / img).read_bytes()


def test_voc_segmentation_reads_the_tree(shapes):
    from torchvision.datasets import VOCSegmentation

    cfg = ShapesConfig()
    for split, n in (("train", cfg.train), ("val", cfg.val)):
        ds = VOCSegmentation(str(shapes.voc_root), year="2012", image_set=split)
        assert len(ds) == n
    image, mask = ds[0]
    assert image.mode == "RGB" and image.size == (cfg.width, cfg.height)
    assert mask.mode == "P"
    palette = np.array(mask.getpalette()[: 256 * 3]).reshape(-1, 3)
    assert (palette == VOC_PALETTE).all()
    labels = np.asarray(mask)
    assert set(np.unique(labels)) <= set(SHAPES_THING_IDS) | set(SHAPES_STUFF_IDS) | {VOID}
    assert (labels == VOID).any()


def _load_split(shapes, split):
    from pycocotools.coco import COCO

    coco_split = shapes.coco(split)
    coco = COCO(str(coco_split.instances))
    panoptic = json.loads(coco_split.panoptic_json.read_text())
    return coco_split, coco, panoptic


@pytest.mark.parametrize("split", ["train", "val"])
def test_three_formats_describe_the_same_pixels(shapes, split):
    coco_split, coco, panoptic = _load_split(shapes, split)
    cats = {c["id"]: c for c in panoptic["categories"]}
    seen_kinds = {"polygon": 0, "rle": 0, "crowd": 0}
    for ann in panoptic["annotations"]:
        rgb = np.asarray(Image.open(coco_split.panoptic_masks / ann["file_name"]), dtype=np.int64)
        ids = rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]
        segs = {s["id"]: s for s in ann["segments_info"]}
        assert set(np.unique(ids)) <= set(segs)  # stuff covers everything: no VOID here

        # semantic from panoptic == VOC label map outside its void band
        semantic = np.zeros(ids.shape, np.int64)
        for sid, s in segs.items():
            semantic[ids == sid] = s["category_id"]
            assert s["area"] == int((ids == sid).sum())
        name = ann["file_name"].replace(".png", "")
        voc = np.asarray(Image.open(shapes.voc_dir / "SegmentationClass" / f"{name}.png"))
        band = voc == VOID
        assert (voc[~band] == semantic[~band]).all()
        is_thing = np.isin(ids, [i for i, s in segs.items() if cats[s["category_id"]]["isthing"]])
        assert (band == void_band(ids, is_thing)).all()

        # instances from panoptic == COCO annotations through annToMask, one to one
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[ann["image_id"]]))
        thing_segs = [s for s in segs.values() if cats[s["category_id"]]["isthing"]]
        assert len(anns) == len(thing_segs)
        unmatched = list(anns)
        for s in thing_segs:
            seg_mask = ids == s["id"]
            match = [a for a in unmatched if a["category_id"] == s["category_id"]
                     and (coco.annToMask(a).astype(bool) == seg_mask).all()]
            assert len(match) == 1, f"segment {s['id']} of image {ann['image_id']} has no twin"
            a = match[0]
            unmatched.remove(a)
            assert a["iscrowd"] == s["iscrowd"] and a["area"] == s["area"]
            assert a["bbox"] == pytest.approx(s["bbox"])
            if a["iscrowd"]:
                seen_kinds["crowd"] += 1
                assert isinstance(a["segmentation"]["counts"], list)
            elif isinstance(a["segmentation"], list):
                seen_kinds["polygon"] += 1
            else:
                seen_kinds["rle"] += 1
                assert isinstance(a["segmentation"]["counts"], str)
    assert all(v > 0 for v in seen_kinds.values()), seen_kinds


def test_scenes_are_not_trivial(shapes):
    _, coco, panoptic = _load_split(shapes, "train")
    per_image = [len(coco.getAnnIds(imgIds=[i])) for i in coco.getImgIds()]
    assert np.mean(per_image) >= 4
    counts = {c: len(coco.getAnnIds(catIds=[c])) for c in SHAPES_THING_IDS}
    assert min(counts.values()) >= 200, counts
    areas = [a["area"] for a in coco.loadAnns(coco.getAnnIds(iscrowd=False))]
    assert min(areas) < 150 and max(areas) > 1500  # small and large objects
    stuff = {s["category_id"] for a in panoptic["annotations"] for s in a["segments_info"]}
    assert set(SHAPES_STUFF_IDS) <= stuff
    occluded = [a for a in coco.loadAnns(coco.getAnnIds(iscrowd=False)) if isinstance(a["segmentation"], dict)]
    assert len(occluded) >= 50  # occlusion happens


def test_ensure_shapes_reuses_an_up_to_date_tree(tmp_path):
    from labutils.data.shapes import ensure_shapes

    cfg = ShapesConfig(train=2, val=1)
    paths = ensure_shapes(tmp_path / "s", cfg, progress=False)
    stamp = (paths.root / ".complete").stat().st_mtime_ns
    assert ensure_shapes(tmp_path / "s", cfg, progress=False).root == paths.root
    assert (paths.root / ".complete").stat().st_mtime_ns == stamp
