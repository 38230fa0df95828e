"""Pretrained weights through torchvision's own weights API and cache, with an offline fallback.

torchvision keeps downloaded weights in ``<torch hub dir>/checkpoints/`` (``TORCH_HOME``;
``~/.cache/torch`` by default) and loads them from there without the network. Offline and not
cached, :func:`load_weights` says so and falls back to a randomly initialised model (and no
backbone weights either), which is the documented fallback: the notebook then trains its own.
"""

from __future__ import annotations

import inspect
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.models import WeightsEnum


def cache_path(weights: WeightsEnum) -> Path:
    """Where torchvision caches ``weights`` (the file may or may not be there)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


def is_cached(weights: WeightsEnum) -> bool:
    return cache_path(weights).is_file()


def pretrained_or_fallback(build: Callable[[], nn.Module], fallback: Callable[[], nn.Module],
                           what: str, hint: str = "") -> tuple[nn.Module, bool]:
    """``build()`` (which loads pretrained weights), or ``fallback()`` with a clear message when
    they cannot be had (no network, a broken cache file). Returns ``(model, pretrained)``."""
    try:
        return build(), True
    except (urllib.error.URLError, OSError, RuntimeError, ValueError) as err:
        reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        print(f"Could not load the pretrained {what} ({reason}).\n"
              f"Falling back to a randomly initialised model: the notebook trains it itself, so "
              f"its numbers will be lower than with pretrained weights.{' ' + hint if hint else ''}")
        return fallback(), False


def load_weights(builder: Callable[..., nn.Module], weights: WeightsEnum | None,
                 **kwargs: Any) -> tuple[nn.Module, bool]:
    """``builder(weights=weights, **kwargs)`` through torchvision's cache; offline, the same
    architecture with no pretrained weights at all (nor backbone weights).

    >>> from torchvision.models.detection import maskrcnn_resnet50_fpn, MaskRCNN_ResNet50_FPN_Weights
    >>> model, pretrained = load_weights(maskrcnn_resnet50_fpn, MaskRCNN_ResNet50_FPN_Weights.COCO_V1)
    """
    no_weights = dict(kwargs, weights=None)
    if "weights_backbone" in inspect.signature(builder).parameters:
        no_weights.setdefault("weights_backbone", None)
    if weights is None:
        return builder(**no_weights), False
    hint = (f"To use them offline, copy {Path(weights.url).name} (from {weights.url}) into "
            f"{cache_path(weights).parent}.")
    return pretrained_or_fallback(lambda: builder(weights=weights, **kwargs),
                                  lambda: builder(**no_weights), str(weights), hint)
