"""Training and evaluating torchvision detection models (Mask R-CNN) on COCO-format data.

* :func:`train_detection`: a time-budgeted training loop with a tqdm bar, warm-up + cosine
  learning rate over the budget, and the history of every loss term;
* :func:`predict`: a model's outputs on a dataset, on the CPU, keyed by COCO ``image_id``;
* :func:`evaluate_coco`: ``pycocotools.cocoeval.COCOeval`` for ``segm`` and ``bbox`` on COCO
  result dicts, summarised as named numbers (AP, AP50, AP75, per-size AP and AR).
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from copy import deepcopy

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

# The 12 numbers COCOeval.summarize() prints, in its order.
STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl",
              "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


def _to_device(images, targets, device: torch.device):
    images = [im.to(device, non_blocking=True) for im in images]
    targets = [{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in t.items()}
               for t in targets]
    return images, targets


def lr_factor(progress: float, warmup: float = 0.05) -> float:
    """Linear warm-up over the first ``warmup`` of training, then cosine decay to 0."""
    if progress < warmup:
        return (progress + 1e-3) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - warmup) / (1 - warmup))))


def train_detection(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, *,
                    minutes: float, max_steps: int, device: torch.device | str = "cpu",
                    amp: bool = False, warmup: float = 0.05, clip_norm: float | None = 10.0,
                    progress: bool = True) -> dict[str, list[float]]:
    """Train a torchvision detection model until ``max_steps`` or ``minutes``, whichever first.

    The learning rate of each parameter group follows :func:`lr_factor` of the progress, the
    larger of the step and time fractions, so a short budget still ends on a decayed rate.
    Returns the history: one entry per step for ``loss`` (the sum), every term the model
    returns (``loss_classifier``, ``loss_box_reg``, ``loss_mask``, ``loss_objectness``,
    ``loss_rpn_box_reg``), ``lr`` and ``seconds`` (elapsed).
    """
    device = torch.device(device)
    model.to(device).train()
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    budget = max(1e-3, 60.0 * minutes)
    history: dict[str, list[float]] = defaultdict(list)
    bar = tqdm(total=max_steps, desc="training", unit="step", disable=not progress)
    start = time.perf_counter()
    step = 0
    while step < max_steps and time.perf_counter() - start < budget:
        for images, targets in loader:
            done = max(step / max_steps, (time.perf_counter() - start) / budget)
            if done >= 1:
                break
            for group, base in zip(optimizer.param_groups, base_lrs):
                group["lr"] = base * lr_factor(done, warmup)
            images, targets = _to_device(images, targets, device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                losses = model(images, targets)
            loss = sum(losses.values())
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at step {step}: "
                                         f"lower the learning rate or keep warm-up on")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip_norm:
                nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
            optimizer.step()
            step += 1
            history["loss"].append(loss.item())
            for name, value in losses.items():
                history[name].append(value.item())
            history["lr"].append(optimizer.param_groups[0]["lr"])
            history["seconds"].append(time.perf_counter() - start)
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}", mask=f"{losses['loss_mask'].item():.3f}"
                            if "loss_mask" in losses else None)
    bar.close()
    model.eval()
    return dict(history)


@torch.inference_mode()
def predict(model: nn.Module, dataset: Dataset | Iterable, device: torch.device | str = "cpu",
            batch_size: int = 4, progress: bool = True) -> tuple[list[dict], list[int]]:
    """Run ``model`` in eval mode over ``dataset`` of ``(image, target)`` pairs.

    Returns ``(outputs, image_ids)``: the model's output dicts moved to the CPU and each
    image's COCO ``image_id`` (from its target), in dataset order.
    """
    from labutils.data.coco import collate

    device = torch.device(device)
    model.to(device).eval()
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=collate) \
        if isinstance(dataset, Dataset) else dataset
    outputs, image_ids = [], []
    for images, targets in tqdm(loader, desc="predicting", unit="batch", disable=not progress):
        for out in model([im.to(device) for im in images]):
            outputs.append({k: v.cpu() for k, v in out.items()})
        image_ids += [int(t["image_id"]) for t in targets]
    return outputs, image_ids


def _private_copy(coco_gt, image_ids: Sequence[int] | None):
    """A copy of ``coco_gt`` (only the annotations of ``image_ids``) that COCOeval may change:
    it rewrites ground-truth segmentations into RLE in place, which would break a dataset
    that reads the same ``COCO`` object afterwards."""
    from pycocotools.coco import COCO

    keep = None if image_ids is None else {int(i) for i in image_ids}
    anns = [a for a in coco_gt.dataset["annotations"] if keep is None or a["image_id"] in keep]
    copy = COCO()
    copy.dataset = {**coco_gt.dataset, "annotations": deepcopy(anns)}
    copy.createIndex()
    return copy


def evaluate_coco(coco_gt, results: Sequence[dict], iou_types: Sequence[str] = ("segm", "bbox"),
                  image_ids: Sequence[int] | None = None,
                  verbose: bool = False) -> dict[str, dict[str, float]]:
    """COCO AP of ``results`` (COCO result dicts) against ``coco_gt`` (a ``pycocotools.COCO``).

    ``image_ids`` restricts the evaluation (default: every image in ``coco_gt``). Returns one
    dict per IoU type with the numbers in :data:`STAT_NAMES` (NaN where no object has
    that size); with ``verbose`` also prints
    COCOeval's own summary. No detections at all gives zeros (COCO.loadRes refuses an empty list).
    """
    from pycocotools.cocoeval import COCOeval

    out: dict[str, dict[str, float]] = {}
    if len(results) == 0:
        return {t: dict.fromkeys(STAT_NAMES, 0.0) for t in iou_types}
    quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with quiet:
        coco_gt = _private_copy(coco_gt, image_ids)
        coco_dt = coco_gt.loadRes(list(results))
        for iou_type in iou_types:
            if verbose:
                print(f"--- {iou_type} ---")
            ev = COCOeval(coco_gt, coco_dt, iouType=iou_type)
            if image_ids is not None:
                ev.params.imgIds = sorted(int(i) for i in image_ids)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            # COCOeval's -1 means "no ground truth of that size": NaN says so in a table.
            out[iou_type] = {name: float(v) if v >= 0 else float("nan")
                             for name, v in zip(STAT_NAMES, ev.stats)}
    return out
