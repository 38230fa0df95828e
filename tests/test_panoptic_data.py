"""``labutils.data.panoptic`` on the generated Shapes tree, and the panoptic figures."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from labutils.data.classes import VOID, shapes_categories
from labutils.data.panoptic import load_panoptic, read_panoptic_png, segment_info, semantic_from_panoptic
from labutils.data.shapes import CocoSplit


@pytest.fixture(scope="module")
def val(shapes):
    return load_panoptic(shapes.coco("val"))


def test_records_and_categories(val, shapes):
    records, categories = val
    assert len(records) == 100
    assert categories == shapes_categories()
    first = records[0]
    assert first.ids.dtype == np.int64 and first.ids.shape == (128, 160)
    assert first.image_file.is_file() and first.image_file.suffix == ".jpg"
    assert (shapes.coco("val").panoptic_masks / first.file_name).is_file()
    assert len(load_panoptic(shapes.coco("val"), limit=3)[0]) == 3


def test_segments_agree_with_the_pixels(val):
    records, _ = val
    crowds = 0
    for rec in records:
        listed = {s["id"] for s in rec.segments_info}
        present = set(np.unique(rec.ids).tolist())
        assert present == listed, "every id in the PNG is listed, and every listed id has pixels"
        assert 0 not in present  # Shapes stuff covers every pixel: no VOID
        for s in rec.segments_info:
            assert s["area"] == int((rec.ids == s["id"]).sum())
            assert segment_info(rec.ids == s["id"], s["id"], s["category_id"], s["iscrowd"]) == s
        crowds += sum(s["iscrowd"] for s in rec.segments_info)
    assert crowds > 0


def test_ids_decode_by_hand(val, shapes):
    rec = val[0][0]
    rgb = np.asarray(Image.open(shapes.coco("val").panoptic_masks / rec.file_name)).astype(np.int64)
    assert (read_panoptic_png(shapes.coco("val").panoptic_masks / rec.file_name) ==
            rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]).all()


def test_semantic_view_matches_the_voc_map_outside_its_void_band(val, shapes):
    for rec in val[0][:10]:
        semantic = semantic_from_panoptic(rec.ids, rec.segments_info)
        name = rec.file_name.replace(".png", "")
        voc = np.asarray(Image.open(shapes.voc_dir / "SegmentationClass" / f"{name}.png"))
        keep = voc != VOID
        assert (semantic[keep] == voc[keep]).all()
        assert keep.mean() > 0.8


def test_segment_info_box_and_extra_keys():
    mask = np.zeros((5, 6), bool)
    mask[1:3, 2:5] = True
    info = segment_info(mask, 7, 2, score=0.5)
    assert info == {"id": 7, "category_id": 2, "iscrowd": 0, "area": 6, "bbox": [2.0, 1.0, 3.0, 2.0],
                    "score": 0.5}


def test_missing_annotations_are_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match="ensure_shapes"):
        load_panoptic(CocoSplit(tmp_path, tmp_path / "i.json", tmp_path / "p.json", tmp_path / "p"))
    with pytest.raises(ValueError, match="no panoptic"):
        load_panoptic(CocoSplit(tmp_path, tmp_path / "i.json"))


def test_panoptic_figures(val):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labutils import panoptic_viz as pviz
    from labutils.viz import VOID_COLOR

    rec = val[0][0]
    cats = val[1]
    picture = pviz.colorize_panoptic(rec.ids, rec.segments_info, cats, outline=False)
    assert picture.shape == (128, 160, 3) and picture.dtype == np.uint8
    stuff = next(s for s in rec.segments_info if s["category_id"] == 4)
    assert tuple(picture[rec.ids == stuff["id"]][0]) == tuple(cats[3]["color"])
    partial = pviz.colorize_panoptic(rec.ids, [stuff], cats, outline=False)
    assert tuple(partial[rec.ids != stuff["id"]][0]) == VOID_COLOR
    edges = pviz.boundaries(rec.ids)
    assert edges.any() and not edges.all()
    image = np.zeros((128, 160, 3), np.uint8)
    assert pviz.overlay_panoptic(image, rec.ids, rec.segments_info, cats).shape == (128, 160, 3)
    fig, ax = plt.subplots()
    pviz.label_segments(ax, rec.ids, rec.segments_info, [c["name"] for c in [{"name": "bg"}, *cats]])
    assert len(ax.texts) >= 3
    plt.close(fig)
