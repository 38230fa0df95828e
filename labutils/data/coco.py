"""Instance segmentation data in COCO's format (real COCO or Shapes), read by
``torchvision.datasets.CocoDetection`` and turned into Mask R-CNN targets with tv_tensors."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset, Subset
from torchvision import datasets, tv_tensors
from torchvision.transforms import v2

from labutils.data.shapes import CocoSplit

TARGET_KEYS = ("boxes", "labels", "masks", "image_id", "iscrowd")


def detection_transforms(image_size: tuple[int, int] | None, train: bool) -> v2.Compose:
    """Joint image + boxes + masks transforms for Mask R-CNN (images as float in [0, 1])."""
    steps: list = [v2.ToImage()]
    if image_size is not None:
        steps.append(v2.Resize(image_size, antialias=True))
    if train:
        steps.append(v2.RandomHorizontalFlip())
    steps += [v2.ToDtype(torch.float32, scale=True), v2.SanitizeBoundingBoxes()]
    return v2.Compose(steps)


class CocoInstances(Dataset):
    """``(image, target)`` pairs in torchvision's detection format.

    ``target`` holds ``boxes`` (``tv_tensors.BoundingBoxes``, XYXY pixels), ``masks``
    (``tv_tensors.Mask``, N x H x W), ``labels`` (the COCO category ids, which are the model's
    label ids) and ``image_id``. Crowd regions are dropped unless ``keep_crowd``: Mask R-CNN
    is not trained on them, and COCOeval ignores them.
    """

    def __init__(self, split: CocoSplit, image_size: tuple[int, int] | None = None,
                 train: bool = False, keep_crowd: bool = False):
        base = datasets.CocoDetection(str(split.images), str(split.instances),
                                      transforms=detection_transforms(image_size, train))
        self.coco = base.coco
        self.keep_crowd = keep_crowd
        self.inner = datasets.wrap_dataset_for_transforms_v2(base, target_keys=TARGET_KEYS)

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int):
        image, target = self.inner[index]
        h, w = image.shape[-2:]
        if "boxes" not in target:  # an image without annotations
            target["boxes"] = tv_tensors.BoundingBoxes(torch.zeros(0, 4), format="XYXY",
                                                       canvas_size=(h, w))
            target["masks"] = tv_tensors.Mask(torch.zeros(0, h, w, dtype=torch.uint8))
            target["labels"] = torch.zeros(0, dtype=torch.int64)
            target["iscrowd"] = torch.zeros(0, dtype=torch.int64)
        target["labels"] = torch.as_tensor(target["labels"], dtype=torch.int64)
        target["iscrowd"] = torch.as_tensor(target["iscrowd"], dtype=torch.int64)
        if not self.keep_crowd:
            keep = target["iscrowd"] == 0
            for key in ("boxes", "masks", "labels", "iscrowd"):
                value = target[key]
                kept = value[keep]
                target[key] = tv_tensors.wrap(kept, like=value) if isinstance(
                    value, tv_tensors.TVTensor) else kept
        return image, target


def collate(batch):
    """Detection models take lists: ``(images, targets)`` as two tuples."""
    return tuple(zip(*batch))


def instance_dataset(split: CocoSplit, image_size: tuple[int, int] | None = None,
                     train: bool = False, limit: int | None = None) -> Dataset:
    """:class:`CocoInstances`, optionally cut to its first ``limit`` images."""
    ds: Dataset = CocoInstances(split, image_size=image_size, train=train)
    if limit is not None:
        ds = Subset(ds, range(min(limit, len(ds))))
    return ds
