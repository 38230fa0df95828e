"""Class lists and palettes: the one place that defines them.

Shapes ids are shared by every format: the VOC label map, the COCO ``category_id`` and the
panoptic ``category_id`` are the same numbers, and Mask R-CNN's label ids too (0 is its
background), so no mapping is ever needed between them.
"""

from __future__ import annotations

import numpy as np

VOID = 255  # VOC's "don't care" label along object boundaries

VOC_CLASSES: tuple[str, ...] = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
    "sheep", "sofa", "train", "tvmonitor",
)

# Shapes: 0 is VOC's "background" (kept so that the VOC layout holds; stuff covers every pixel,
# so no Shapes pixel has it), 1-3 are things, 4-6 stuff.
SHAPES_CLASSES: tuple[str, ...] = (
    "background", "circle", "square", "triangle", "sky", "grass", "water",
)
SHAPES_THING_IDS: tuple[int, ...] = (1, 2, 3)
SHAPES_STUFF_IDS: tuple[int, ...] = (4, 5, 6)


def voc_colormap(n: int = 256) -> np.ndarray:
    """Pascal VOC's colour map: an ``(n, 3)`` uint8 array, the palette of its label PNGs."""
    cmap = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


VOC_PALETTE: np.ndarray = voc_colormap()
VOC_PALETTE.setflags(write=False)


def shapes_categories() -> list[dict]:
    """COCO-style category dicts for Shapes (panoptic ones carry ``isthing`` and ``color``)."""
    cats = []
    for cid, name in enumerate(SHAPES_CLASSES):
        if cid == 0:
            continue
        isthing = int(cid in SHAPES_THING_IDS)
        cats.append({
            "id": cid,
            "name": name,
            "supercategory": "shape" if isthing else "scene",
            "isthing": isthing,
            "color": [int(v) for v in VOC_PALETTE[cid]],
        })
    return cats


def class_names(dataset: str) -> tuple[str, ...]:
    """The class names of ``"shapes"`` or ``"voc"``."""
    if dataset == "shapes":
        return SHAPES_CLASSES
    if dataset == "voc":
        return VOC_CLASSES
    raise ValueError(f"unknown dataset {dataset!r}: use 'shapes' or 'voc'")
