"""Semantic segmentation data in Pascal VOC's layout (the real VOC 2012 or Shapes' VOC tree),
read by ``torchvision.datasets.VOCSegmentation`` and transformed jointly with transforms.v2."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import datasets
from torchvision.transforms import v2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def segmentation_transforms(image_size: tuple[int, int], train: bool) -> v2.Compose:
    """Joint image + mask transforms. The mask is a ``tv_tensors.Mask``, so every geometric
    step resizes it with nearest neighbour: class ids are never interpolated."""
    steps: list = []
    if train:
        steps += [v2.RandomResizedCrop(image_size, scale=(0.5, 1.0), antialias=True),
                  v2.RandomHorizontalFlip()]
    else:
        steps += [v2.Resize(image_size, antialias=True)]
    steps += [
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),  # images only: the mask keeps its integer ids
        v2.ToPureTensor(),
    ]
    return v2.Compose(steps)


class _MaskToLong(Dataset):
    """Wraps a dataset of (image, mask) so the mask comes out as an (H, W) int64 tensor."""

    def __init__(self, inner: Dataset):
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int):
        image, mask = self.inner[index]
        return image, torch.as_tensor(mask).squeeze(0).long()


def voc_segmentation(root: Path | str, image_set: str, image_size: tuple[int, int],
                     train: bool | None = None, limit: int | None = None) -> Dataset:
    """A VOC-layout dataset of ``(image (3, H, W) float in [0, 1], mask (H, W) int64)`` pairs.

    ``root`` holds ``VOCdevkit/VOC2012``; ``image_set`` is ``"train"``, ``"val"`` or
    ``"trainval"``; ``train`` (default: ``image_set == "train"``) turns on augmentation;
    ``limit`` keeps the first images only.
    """
    root = Path(root)
    if not (root / "VOCdevkit" / "VOC2012" / "ImageSets" / "Segmentation").is_dir():
        raise FileNotFoundError(
            f"No Pascal VOC tree under {root} (expected {root}/VOCdevkit/VOC2012/ImageSets/"
            "Segmentation). For the bundled data call labutils.data.ensure_shapes(); for the "
            "real one run `python -m labutils.data download voc`."
        )
    train = image_set == "train" if train is None else train
    base = datasets.VOCSegmentation(str(root), year="2012", image_set=image_set, download=False,
                                    transforms=segmentation_transforms(image_size, train))
    ds: Dataset = _MaskToLong(datasets.wrap_dataset_for_transforms_v2(base))
    if limit is not None:
        ds = Subset(ds, range(min(limit, len(ds))))
    return ds


def segmentation_loaders(root: Path | str, image_size: tuple[int, int], batch_size: int,
                         train_images: int | None = None, val_images: int | None = None,
                         num_workers: int = 0, seed: int = 0) -> tuple[DataLoader, DataLoader]:
    """Train (augmented, shuffled with a seeded generator, last partial batch dropped) and val
    loaders over a VOC-layout tree; ``train_images`` / ``val_images`` keep the first images."""
    num_workers = min(num_workers, os.cpu_count() or 1)
    train_ds = voc_segmentation(root, "train", image_size, limit=train_images)
    val_ds = voc_segmentation(root, "val", image_size, limit=val_images)
    common = {"num_workers": num_workers, "pin_memory": torch.cuda.is_available(),
              "persistent_workers": num_workers > 0}
    train = DataLoader(train_ds, batch_size=batch_size, shuffle=True,
                       drop_last=len(train_ds) > batch_size,
                       generator=torch.Generator().manual_seed(seed), **common)
    val = DataLoader(val_ds, batch_size=batch_size, shuffle=False, **common)
    return train, val
