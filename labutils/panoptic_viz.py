"""Figures of panoptic maps: a colour per segment (stuff in its class colour, each thing in a
shade of its class colour), VOID in VOC's cream, white outlines between segments."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labutils.data.classes import VOC_PALETTE
from labutils.viz import VOID_COLOR, to_numpy_image


def _ids(ids) -> np.ndarray:
    arr = ids.detach().cpu().numpy() if hasattr(ids, "detach") else np.asarray(ids)
    if arr.ndim != 2:
        raise ValueError(f"a panoptic id map is (H, W); got shape {arr.shape}")
    return arr.astype(np.int64)


def _category_color(category_id: int, categories: Sequence[dict] | None) -> np.ndarray:
    for c in categories or ():
        if c["id"] == category_id and "color" in c:
            return np.asarray(c["color"], dtype=np.int64)
    return VOC_PALETTE[category_id % len(VOC_PALETTE)].astype(np.int64)


def segment_color(info: dict, categories: Sequence[dict] | None = None) -> tuple[int, int, int]:
    """The drawing colour of a segment: its class colour, shifted per segment for things
    (``isthing`` from ``categories``, or from ``info`` itself), so instances stand apart."""
    base = _category_color(info["category_id"], categories)
    isthing = info.get("isthing")
    if isthing is None:
        isthing = next((c.get("isthing", 0) for c in categories or () if c["id"] == info["category_id"]), 0)
    if not isthing:
        return tuple(int(v) for v in base)
    rng = np.random.default_rng(int(info["id"]) * 7919 + 17)
    shifted = np.clip(base + 40 + rng.integers(-70, 71, 3), 0, 255)
    return tuple(int(v) for v in shifted)


def boundaries(ids) -> np.ndarray:
    """(H, W) bool: pixels whose right or lower neighbour belongs to another segment."""
    arr = _ids(ids)
    edge = np.zeros(arr.shape, bool)
    edge[:, :-1] |= arr[:, :-1] != arr[:, 1:]
    edge[:-1, :] |= arr[:-1, :] != arr[1:, :]
    return edge


def colorize_panoptic(ids, segments_info: Sequence[dict], categories: Sequence[dict] | None = None,
                      outline: bool = True, background: Sequence[int] = VOID_COLOR) -> np.ndarray:
    """An (H, W, 3) uint8 picture of a panoptic map; VOID and ids not in ``segments_info`` get
    ``background`` (VOC's cream by default)."""
    arr = _ids(ids)
    out = np.empty(arr.shape + (3,), np.uint8)
    out[:] = background
    for info in segments_info:
        out[arr == info["id"]] = segment_color(info, categories)
    if outline:
        out[boundaries(arr)] = 255
    return out


def overlay_panoptic(image, ids, segments_info: Sequence[dict], categories: Sequence[dict] | None = None,
                     alpha: float = 0.55) -> np.ndarray:
    """A panoptic map blended over its image, with segment outlines."""
    img = to_numpy_image(image).astype(np.float32)
    color = colorize_panoptic(ids, segments_info, categories, outline=False).astype(np.float32)
    out = (1 - alpha) * img + alpha * color
    out[boundaries(ids)] = 255
    return out.round().astype(np.uint8)


def _interior(mask: np.ndarray) -> np.ndarray:
    """The last non-empty erosion of a bool mask: its most interior pixels."""
    while True:
        inner = mask.copy()
        inner[1:] &= mask[:-1]
        inner[:-1] &= mask[1:]
        inner[:, 1:] &= mask[:, :-1]
        inner[:, :-1] &= mask[:, 1:]
        inner[0] = inner[-1] = False
        inner[:, 0] = inner[:, -1] = False
        if not inner.any():
            return mask
        mask = inner


def label_segments(ax, ids, segments_info: Sequence[dict], names: Sequence[str] | dict,
                   min_area: int = 30, fontsize: float = 6) -> None:
    """Write each segment's class name (and ``score`` when present) at its centre on ``ax``."""
    arr = _ids(ids)
    for info in segments_info:
        mask = arr == info["id"]
        if mask.sum() < min_area:
            continue
        ys, xs = np.nonzero(_interior(mask))
        k = int(np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2))
        text = str(names[info["category_id"]])
        if "score" in info:
            text += f" {info['score']:.2f}"
        ax.text(xs[k], ys[k], text, fontsize=fontsize, ha="center", va="center", color="white",
                bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "linewidth": 0})
