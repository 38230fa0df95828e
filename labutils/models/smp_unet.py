"""``segmentation_models_pytorch.Unet`` ready for the lab's data: ImageNet normalisation inside
the model, sides padded to what the encoder needs, and ImageNet encoder weights fetched through
torchvision's weights API and cache (:mod:`labutils.weights`, with its offline fallback)."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from labutils.data.voc import IMAGENET_MEAN, IMAGENET_STD


class NormalizedSegmenter(nn.Module):
    """Wraps a segmentation net that expects ImageNet-normalised input whose sides are a multiple
    of ``multiple``: takes images in [0, 1] of any size, returns logits of the same size."""

    def __init__(self, net: nn.Module, multiple: int = 1):
        super().__init__()
        self.net = net
        self.multiple = multiple
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = (x - self.mean) / self.std
        pad_h, pad_w = (-h) % self.multiple, (-w) % self.multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))  # zeros = the mean colour after normalising
        return self.net(x)[..., :h, :w]


def imagenet_resnet_state(encoder: str) -> dict[str, torch.Tensor] | None:
    """torchvision's ImageNet weights for ``encoder`` (``"resnet18"``, ``"resnet34"``, ...)
    without the classifier, through :func:`labutils.weights.load_weights` (torchvision's cache);
    ``None`` when they cannot be had (offline and not cached: that helper says so)."""
    import torchvision
    from torchvision.models import get_model_weights

    from labutils.weights import load_weights

    model, pretrained = load_weights(getattr(torchvision.models, encoder),
                                     get_model_weights(encoder).IMAGENET1K_V1)
    if not pretrained:
        return None
    return {k: v for k, v in model.state_dict().items() if not k.startswith("fc.")}


class LibraryModel(NamedTuple):
    model: nn.Module
    imagenet: bool  # True when the encoder holds ImageNet weights
    note: str       # one line for the student: which weights, and why


def smp_unet(num_classes: int, encoder: str = "resnet34", pretrained: bool = False) -> LibraryModel:
    """``smp.Unet(encoder)`` for ``num_classes`` (wrapped by :class:`NormalizedSegmenter`).

    ``pretrained`` loads ImageNet weights into the encoder; when they cannot be downloaded the
    encoder keeps its random start and the note says so plainly.
    """
    import segmentation_models_pytorch as smp

    net = smp.Unet(encoder_name=encoder, encoder_weights=None, in_channels=3, classes=num_classes)
    note = f"smp.Unet({encoder!r}): encoder from random weights (no ImageNet weights asked for)"
    imagenet = False
    if pretrained:
        state = imagenet_resnet_state(encoder)
        if state is None:
            note = (f"smp.Unet({encoder!r}): the ImageNet weights could NOT be loaded (see above), so "
                    "the encoder starts from RANDOM weights: expect a lower mIoU than a pretrained "
                    "encoder gives. Re-run this cell online to download them (about 85 MB, once).")
        else:
            net.encoder.load_state_dict(state)
            imagenet = True
            note = f"smp.Unet({encoder!r}): encoder starts from torchvision's ImageNet weights"
    # smp >= 0.5 U-Nets accept any size; older ones need sides divisible by the output stride.
    divisible = getattr(net, "requires_divisible_input_shape", True)
    multiple = getattr(net.encoder, "output_stride", 32) if divisible else 1
    return LibraryModel(NormalizedSegmenter(net, multiple), imagenet, note)
