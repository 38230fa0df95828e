"""A panoptic model from parts (notebook 04): a Mask R-CNN finds the things, a semantic
segmentation model labels the stuff, and a fusion step (the student's ``fuse_panoptic``)
turns their two outputs into one panoptic map.

* :func:`load_compatible`: reuse a checkpoint an earlier notebook left, when it fits the model;
* :func:`iou_evaluator`: validation loss and the IoU of chosen classes (torchmetrics), the
  ``evaluate_fn`` that :func:`labutils.train.semantic.fit_segmentation` takes;
* :func:`predict_parts`: both models on a list of images, giving for each image the two
  inputs of the fusion: the instances (masks ``(N, H, W)``, scores, labels) and a label map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from labutils.data.classes import VOID


def _plain(value: object) -> object:
    """Tuples as lists, recursively, so that ``(128, 160)`` and ``[128, 160]`` compare equal."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def load_compatible(model: nn.Module, path: Path | str, *,
                    expect: Mapping[str, object] | None = None) -> dict | None:
    """Load the weights saved at ``path`` into ``model`` if the file exists and every tensor's
    name and shape match the model's; return the checkpoint's other entries (e.g. ``epoch``,
    ``history``), or ``None`` (model unchanged) when there is nothing compatible to load.

    Accepts what :func:`labutils.train.semantic.fit_segmentation` writes
    (``{"model": state_dict, "epoch", "history"}``) or a bare state dict. ``expect`` names
    settings that the shapes cannot show (e.g. a Mask R-CNN's ``image_size``): the checkpoint
    must hold each of them with an equal value, or it is refused.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # truncated, from another torch version, not a checkpoint at all
        return None
    if not isinstance(saved, dict):
        return None
    state = saved.get("model", saved)
    if expect and any(key not in saved or _plain(saved[key]) != _plain(value)
                      for key, value in expect.items()):
        return None
    own = model.state_dict()
    if not isinstance(state, dict) or state.keys() != own.keys() or any(
            not isinstance(state[k], torch.Tensor) or state[k].shape != own[k].shape for k in own):
        return None
    model.load_state_dict(state)
    return {k: v for k, v in saved.items() if k != "model"} if "model" in saved else {}


def iou_evaluator(num_classes: int, classes: Mapping[str, int], *,
                  device: torch.device | str = "cpu", ignore_index: int = VOID
                  ) -> Callable[[nn.Module, DataLoader], dict[str, float]]:
    """An ``evaluate_fn(model, loader) -> {"loss": ..., "iou_<name>": ...}``: the mean
    cross-entropy per labelled pixel and, for each ``name: class id`` in ``classes``, its IoU
    over the whole loader (``torchmetrics``' ``MulticlassJaccardIndex``)."""
    from torchmetrics.classification import MulticlassJaccardIndex

    device = torch.device(device)

    @torch.no_grad()
    def evaluate(model: nn.Module, loader: DataLoader) -> dict[str, float]:
        model.eval()
        iou = MulticlassJaccardIndex(num_classes, average="none", ignore_index=ignore_index)
        loss_sum, pixels = 0.0, 0
        for images, targets in loader:
            logits = model(images.to(device)).float().cpu()
            loss_sum += F.cross_entropy(logits, targets, ignore_index=ignore_index,
                                        reduction="sum").item()
            pixels += int((targets != ignore_index).sum())
            iou.update(logits.argmax(1), targets)
        per_class = iou.compute()
        return {"loss": loss_sum / max(1, pixels),
                **{f"iou_{name}": float(per_class[c]) for name, c in classes.items()}}

    return evaluate


@torch.inference_mode()
def predict_parts(detector: nn.Module, segmenter: nn.Module, images: Sequence[torch.Tensor], *,
                  semantic_size: tuple[int, int] | None = None, device: torch.device | str = "cpu",
                  batch_size: int = 8, progress: bool = True) -> list[tuple[dict, torch.Tensor]]:
    """Run a torchvision Mask R-CNN and a semantic model on ``images`` (``(3, H, W)`` floats in
    [0, 1], all of one size); return one ``(instances, semantic)`` pair per image, on the CPU.

    ``instances`` holds ``masks`` (``(N, H, W)`` probabilities: Mask R-CNN's ``(N, 1, H, W)``
    without its channel axis), ``scores`` and ``labels``; ``semantic`` is the ``(H, W)`` int64
    argmax of the segmenter's logits. With ``semantic_size`` the segmenter sees the images
    resized to that size (the size it was trained at) and its logits are resized back
    (bilinear) before the argmax. Both models are left in eval mode.
    """
    device = torch.device(device)
    detector.to(device).eval()
    segmenter.to(device).eval()
    pairs = []
    for start in tqdm(range(0, len(images), batch_size), desc="predicting", unit="batch",
                      disable=not progress):
        batch = torch.stack([im.to(device) for im in images[start:start + batch_size]])
        size = tuple(batch.shape[-2:])
        small = batch if semantic_size is None or tuple(semantic_size) == size else F.interpolate(
            batch, size=tuple(semantic_size), mode="bilinear", antialias=True, align_corners=False)
        logits = segmenter(small).float()
        if tuple(logits.shape[-2:]) != size:
            logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        labels = logits.argmax(1).cpu()
        for out, semantic in zip(detector(list(batch)), labels):
            instances = {"masks": out["masks"][:, 0].cpu(), "scores": out["scores"].cpu(),
                         "labels": out["labels"].cpu()}
            pairs.append((instances, semantic))
    return pairs
