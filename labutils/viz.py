"""Figures every notebook uses: coloured label maps, overlays, comparison grids, curves."""

from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from labutils.data.classes import VOC_PALETTE, VOID

VOID_COLOR = (224, 224, 192)  # VOC draws its void band in this cream colour


def to_numpy_image(image) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 array from a ``(C, H, W)`` tensor (float in [0, 1] or uint8),
    an ``(H, W, 3)`` array, or a PIL image."""
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.ndim == 3 and t.shape[0] in (1, 3):
            t = t.permute(1, 2, 0)
        if t.is_floating_point():
            t = (t.clamp(0, 1) * 255).round().to(torch.uint8)
        arr = t.numpy()
    else:
        arr = np.asarray(image)
        if arr.dtype != np.uint8:
            arr = (np.clip(arr, 0, 1) * 255).round().astype(np.uint8)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, -1)
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, -1)
    return arr


def _labels(label_map) -> np.ndarray:
    if isinstance(label_map, torch.Tensor):
        label_map = label_map.detach().cpu().numpy()
    arr = np.asarray(label_map)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise ValueError(f"a label map is (H, W); got shape {arr.shape}")
    return arr.astype(np.int64)


def colorize(label_map, palette: np.ndarray = VOC_PALETTE) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 picture of a label map: class ``k`` in ``palette[k]``, void in cream."""
    labels = _labels(label_map)
    out = np.asarray(palette, dtype=np.uint8)[np.clip(labels, 0, len(palette) - 1)]
    out[labels == VOID] = VOID_COLOR
    return out


def overlay(image, label_map, alpha: float = 0.5, palette: np.ndarray = VOC_PALETTE,
            ignore: Sequence[int] = ()) -> np.ndarray:
    """Blend a coloured label map over an image; classes in ``ignore`` stay unblended."""
    img = to_numpy_image(image).astype(np.float32)
    labels = _labels(label_map)
    color = colorize(labels, palette).astype(np.float32)
    blend = np.ones(labels.shape, bool)
    for k in ignore:
        blend &= labels != k
    out = img.copy()
    out[blend] = (1 - alpha) * img[blend] + alpha * color[blend]
    return out.round().astype(np.uint8)


def legend_handles(class_names: Sequence[str], present: Sequence[int] | None = None,
                   palette: np.ndarray = VOC_PALETTE, void: bool = True) -> list[Patch]:
    """Legend patches for classes (all, or those in ``present``) and the void label."""
    ids = range(len(class_names)) if present is None else sorted(
        int(i) for i in present if 0 <= int(i) < len(class_names))
    handles = [Patch(color=np.asarray(palette[i]) / 255, label=f"{i} {class_names[i]}") for i in ids]
    if void:
        handles.append(Patch(color=np.asarray(VOID_COLOR) / 255, label=f"{VOID} void"))
    return handles


def show_segmentation(samples: Sequence[Mapping], class_names: Sequence[str],
                      title: str = "Segmentation", palette: np.ndarray = VOC_PALETTE):
    """A grid, one row per sample: the image, then each label map it has, with one legend.

    Each sample is a mapping with ``"image"`` and any of ``"target"``, ``"prediction"`` (label
    maps); extra label maps may be given under other keys (the key is the column title).
    """
    columns = [k for k in samples[0] if k != "image"]
    n_rows, n_cols = len(samples), 1 + len(columns)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.8 * n_cols, 2.4 * n_rows + 0.8),
                             squeeze=False)
    present: set[int] = set()
    for r, sample in enumerate(samples):
        axes[r, 0].imshow(to_numpy_image(sample["image"]))
        for c, key in enumerate(columns, start=1):
            labels = _labels(sample[key])
            present |= set(np.unique(labels[labels != VOID]).tolist())
            axes[r, c].imshow(colorize(labels, palette), interpolation="nearest")
        for c, name in enumerate(["image", *columns]):
            if r == 0:
                axes[r, c].set_title(name.replace("_", " "))
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
    fig.suptitle(title)
    handles = legend_handles(class_names, sorted(present), palette)
    ncol = max(1, min(len(handles), 3 * n_cols))
    legend_rows = -(-len(handles) // ncol)
    fig.legend(handles=handles, loc="lower center", ncol=ncol, frameon=False, fontsize="small")
    fig.tight_layout(rect=(0, 0.25 * legend_rows / fig.get_figheight(), 1, 1))
    return fig


def plot_curves(history: Mapping[str, Sequence[float]], title: str = "Training",
                xlabel: str = "epoch", groups: Mapping[str, Sequence[str]] | None = None):
    """Line plots of training curves. ``groups`` maps a y-axis label to the history keys drawn on
    that panel (default: one panel per key)."""
    groups = dict(groups) if groups else {k: [k] for k in history}
    fig, axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.2), squeeze=False)
    for ax, (ylabel, keys) in zip(axes[0], groups.items()):
        for key in keys:
            values = list(history[key])
            ax.plot(range(1, len(values) + 1), values, marker="o" if len(values) < 30 else None,
                    label=key.replace("_", " "))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def instance_colors(n: int, seed: int = 0) -> list[tuple[int, int, int]]:
    """``n`` distinct bright colours for drawing instances."""
    rng = np.random.default_rng(seed)
    hues = (np.arange(n) * 0.618033988749895 + rng.uniform()) % 1.0
    return [tuple(int(255 * v) for v in colorsys.hsv_to_rgb(h, 0.75, 0.95)) for h in hues]
