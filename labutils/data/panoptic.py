"""COCO panoptic annotations (Shapes or real COCO): PNG segment ids plus ``segments_info``.

A panoptic PNG stores one segment id per pixel in its colour, ``id = R + 256 G + 256^2 B``;
id 0 is VOID (no label). The JSON lists, per image, each segment's ``id``, ``category_id``,
``iscrowd``, ``area`` and ``bbox`` (COCO's ``[x, y, width, height]``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from labutils.data.shapes import CocoSplit


class PanopticRecord(NamedTuple):
    """One annotated image: ``ids`` is the (H, W) int64 map of segment ids (0 = VOID)."""

    image_id: int
    file_name: str  # the panoptic PNG's name
    image_file: Path  # the photo (JPEG) it annotates
    ids: np.ndarray
    segments_info: list[dict]


def read_panoptic_png(path: Path | str) -> np.ndarray:
    """The (H, W) int64 segment ids of a panoptic PNG."""
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def load_panoptic(split: CocoSplit, limit: int | None = None) -> tuple[list[PanopticRecord], list[dict]]:
    """The panoptic annotations of a split (its first ``limit`` images) and its categories.

    Categories are COCO's dicts (``id``, ``name``, ``isthing``, ...). Records keep the JSON's
    order; each holds the decoded id map and that image's ``segments_info``.
    """
    if split.panoptic_json is None or split.panoptic_masks is None:
        raise ValueError("this split has no panoptic annotations (panoptic_json / panoptic_masks)")
    if not Path(split.panoptic_json).is_file():
        raise FileNotFoundError(f"{split.panoptic_json} is missing: prepare the data first "
                                "(labutils.data.ensure_shapes() for Shapes)")
    data = json.loads(Path(split.panoptic_json).read_text())
    photos = {img["id"]: img["file_name"] for img in data["images"]}
    annotations = data["annotations"] if limit is None else data["annotations"][:limit]
    records = []
    for ann in annotations:
        ids = read_panoptic_png(Path(split.panoptic_masks) / ann["file_name"])
        records.append(PanopticRecord(
            image_id=int(ann["image_id"]),
            file_name=ann["file_name"],
            image_file=Path(split.images) / photos[ann["image_id"]],
            ids=ids,
            segments_info=[dict(s) for s in ann["segments_info"]],
        ))
    return records, data["categories"]


def segment_info(mask, seg_id: int, category_id: int, iscrowd: int = 0, **extra) -> dict:
    """A ``segments_info`` entry for a binary (H, W) mask: its ``area`` and COCO ``bbox``
    ``[x, y, width, height]`` as pycocotools computes them; ``extra`` keys (e.g. ``score``) kept."""
    m = mask.detach().cpu().numpy() if hasattr(mask, "detach") else np.asarray(mask)
    rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    info = {"id": int(seg_id), "category_id": int(category_id), "iscrowd": int(iscrowd),
            "area": int(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)]}
    info.update(extra)
    return info


def semantic_from_panoptic(ids, segments_info: list[dict], void: int = 255) -> np.ndarray:
    """The (H, W) category map of a panoptic annotation (``void`` where the id is 0 or unlisted)."""
    ids = np.asarray(ids)
    out = np.full(ids.shape, void, dtype=np.int64)
    for s in segments_info:
        out[ids == s["id"]] = s["category_id"]
    return out
