"""Run modes and the budgets that go with them: the one place that decides both.

* ``smoke``: CPU, offline, the bundled Shapes data; each notebook in a few minutes.
* ``full``:  a GPU, the real datasets and pretrained weights.
* ``grade``: set while nbgrader executes a notebook; the least work that still runs every cell.

``LAB_MODE`` overrides the automatic choice (GPU present -> ``full``, else ``smoke``), except
while nbgrader executes (it exports ``NBGRADER_EXECUTION``): then ``grade`` always wins, so no
submission can make grading train or download.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Mode = Literal["smoke", "full", "grade"]
MODES: tuple[Mode, ...] = ("smoke", "full", "grade")

MODE_ENV = "LAB_MODE"
NBGRADER_ENV = "NBGRADER_EXECUTION"


@dataclass(frozen=True)
class ModeChoice:
    """The resolved mode and a one-line reason a student can read."""

    mode: Mode
    reason: str


def resolve_mode(env: Mapping[str, str] | None = None, cuda: bool | None = None) -> ModeChoice:
    """Decide the run mode from the environment (``os.environ`` by default)."""
    env = os.environ if env is None else env
    requested = env.get(MODE_ENV, "").strip().lower()
    if requested and requested not in MODES:
        raise ValueError(
            f"{MODE_ENV}={env[MODE_ENV]!r} is not a run mode. Valid values: {', '.join(MODES)}. "
            f"Unset it to let the lab choose (GPU -> full, CPU -> smoke)."
        )
    if env.get(NBGRADER_ENV):
        return ModeChoice("grade", f"nbgrader is executing this notebook ({NBGRADER_ENV} is set)")
    if requested:
        return ModeChoice(requested, f"{MODE_ENV}={requested} was set")  # type: ignore[arg-type]
    if cuda is None:
        import torch

        cuda = torch.cuda.is_available()
    if cuda:
        return ModeChoice("full", f"a GPU is available (set {MODE_ENV}=smoke for the quick run)")
    return ModeChoice("smoke", "no GPU: the quick CPU run on the bundled Shapes data")


# Budgets per notebook and mode. Notebooks read them through ``Lab.budget``; nothing else
# hard-codes an image size, a step count or a subset size.
BUDGETS: dict[str, dict[Mode, dict[str, Any]]] = {
    "00_setup": {
        "smoke": {"dataset": "shapes"},
        "full": {"dataset": "real"},
        "grade": {"dataset": "shapes"},
    },
    "01_transpose_convolution": {
        "smoke": {"demo_size": 16},
        "full": {"demo_size": 32},
        "grade": {"demo_size": 8},
    },
    "02_unet_pascal_voc": {
        # smoke: 64x80 (half of Shapes' 128x160) and a 16-channel U-Net keep the CPU run short.
        "smoke": {"dataset": "shapes", "image_size": (64, 80), "epochs": 6, "batch_size": 4,
                  "base_channels": 16, "train_images": None, "val_images": None,
                  "optimizer": "adamw", "schedule": "onecycle", "lr": 3e-3, "weight_decay": 1e-4,
                  "num_workers": 0, "pretrained": False},
        "full": {"dataset": "voc", "image_size": (320, 320), "epochs": 30, "batch_size": 16,
                 "base_channels": 64, "train_images": None, "val_images": None,
                 "optimizer": "adamw", "schedule": "poly", "lr": 5e-4, "weight_decay": 1e-4,
                 "num_workers": 4, "pretrained": True},
        "grade": {"dataset": "shapes", "image_size": (64, 80), "epochs": 1, "batch_size": 4,
                  "base_channels": 8, "train_images": 8, "val_images": 4,
                  "optimizer": "adamw", "schedule": "onecycle", "lr": 3e-3, "weight_decay": 1e-4,
                  "num_workers": 0, "pretrained": False},
    },
    "03_mask_rcnn_coco": {
        # threads: torch CPU threads while training (one is faster on a busy 2-core machine);
        # gallery: images per row in the result figures.
        "smoke": {"dataset": "shapes", "image_size": (128, 160), "minutes": 3.0, "max_steps": 1500,
                  "batch_size": 4, "val_images": None, "lr": 1e-3, "workers": 0, "threads": 1,
                  "gallery": 3},
        "full": {"dataset": "coco", "image_size": (480, 640), "minutes": 20.0, "max_steps": 3000,
                 "batch_size": 4, "val_images": 150, "lr": 5e-3, "workers": 4, "threads": None,
                 "gallery": 3},
        "grade": {"dataset": "shapes", "image_size": (64, 80), "minutes": 0.1, "max_steps": 2,
                  "batch_size": 2, "val_images": 4, "lr": 1e-3, "workers": 0, "threads": 1,
                  "gallery": 1},
    },
    "04_panoptic_segmentation": {
        # Part 5 trains two models on Shapes: a light Mask R-CNN (things) for `detector_minutes`
        # or `detector_steps`, whichever comes first, and an smp U-Net (stuff) for
        # `semantic_epochs` at `semantic_size` (stuff regions are large: half resolution is
        # enough on a CPU). `reuse_checkpoint`: take notebook 02's smp U-Net and notebook 03's
        # Mask R-CNN for Shapes when they left them and they fit (smoke: same encoder and image
        # sizes as 02's and 03's smoke budgets; tests/test_detector_checkpoint.py). `threads`: torch CPU
        # threads while training, via `lab.limit_threads` (one is faster on a busy 2-core machine).
        "smoke": {"dataset": "shapes", "val_images": None,
                  "detector_size": (128, 160), "detector_minutes": 2.5, "detector_steps": 1500,
                  "detector_batch": 4, "detector_lr": 1e-3,
                  "encoder": "resnet34", "pretrained": False, "semantic_size": (64, 80),
                  "semantic_epochs": 2, "semantic_batch": 8, "semantic_lr": 3e-3,
                  "semantic_images": None, "reuse_checkpoint": True, "threads": 1},
        "full": {"dataset": "shapes", "val_images": None,
                 "detector_size": (128, 160), "detector_minutes": 5.0, "detector_steps": 5000,
                 "detector_batch": 8, "detector_lr": 1e-3,
                 "encoder": "resnet34", "pretrained": True, "semantic_size": (128, 160),
                 "semantic_epochs": 10, "semantic_batch": 16, "semantic_lr": 1e-3,
                 "semantic_images": None, "reuse_checkpoint": False, "threads": None},
        "grade": {"dataset": "shapes", "val_images": 4,
                  "detector_size": (64, 80), "detector_minutes": 0.05, "detector_steps": 2,
                  "detector_batch": 2, "detector_lr": 1e-3,
                  "encoder": "resnet18", "pretrained": False, "semantic_size": (32, 40),
                  "semantic_epochs": 1, "semantic_batch": 4, "semantic_lr": 3e-3,
                  "semantic_images": 4, "reuse_checkpoint": False, "threads": 1},
    },
}


# How many Shapes scenes each mode generates (grade: a handful, in a private data root).
SHAPES_SIZE: dict[Mode, dict[str, int]] = {
    "smoke": {"train": 400, "val": 100},
    "full": {"train": 400, "val": 100},
    "grade": {"train": 40, "val": 20},
}


def budget(notebook: str, mode: Mode) -> dict[str, Any]:
    """The budget of ``notebook`` (its file stem) in ``mode``, as a fresh dict."""
    try:
        per_mode = BUDGETS[notebook]
    except KeyError:
        raise KeyError(f"no budget for notebook {notebook!r}; known: {', '.join(BUDGETS)}") from None
    return dict(per_mode[mode])
