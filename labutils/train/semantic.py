"""Training and evaluating semantic segmentation models (the U-Net of notebook 02, smp models).

* :func:`fit_segmentation`: epochs of pixel-wise cross-entropy (void pixels ignored), AdamW or
  SGD, a per-step learning-rate schedule, mixed precision on a GPU, one tqdm bar, a validation
  pass (with its own transient bar) after every epoch through ``evaluate_fn`` and a checkpoint.
* :func:`accumulate_confusion` / :func:`segmentation_evaluator`: a confusion matrix summed over a
  loader and named metrics computed from it. The confusion-matrix and metric functions are
  parameters: the notebooks pass the ones their students wrote.
* :func:`predict`: label maps (argmax over classes) for a batch of images.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from labutils.data.classes import VOID
from labutils.train.checkpoint import save_atomic

ConfusionFn = Callable[..., object]
EvaluateFn = Callable[[nn.Module, DataLoader], Mapping[str, float]]


def autocast(device: torch.device, enabled: bool):
    """Mixed precision on CUDA (bfloat16 where supported, else float16); a no-op otherwise."""
    if not enabled or device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def make_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float):
    """``"adamw"`` or ``"sgd"`` (momentum 0.9, Nesterov), fused where torch has it; no weight
    decay on norms and biases."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if name == "adamw":
        make = lambda **kw: torch.optim.AdamW(groups, lr=lr, **kw)  # noqa: E731
    elif name == "sgd":
        make = lambda **kw: torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True, **kw)  # noqa: E731
    else:
        raise ValueError(f"unknown optimizer {name!r}: use 'adamw' or 'sgd'")
    try:  # the fused kernels: about 3x faster steps on a CPU, where they exist
        return make(fused=True)
    except (RuntimeError, TypeError, ValueError):
        return make()


def make_schedule(optimizer, name: str, total_steps: int, warmup: float = 0.05):
    """A per-step schedule: ``"onecycle"`` (warm up, then cosine down: quick convergence in a few
    epochs), ``"poly"`` (linear warm-up, then ``(1 - t)^0.9``, the usual one for segmentation)
    or ``"constant"``."""
    total_steps = max(1, total_steps)
    if name == "onecycle":
        max_lr = [g["lr"] for g in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps,
                                                   pct_start=0.25)
    if name == "poly":
        warm = max(1, int(warmup * total_steps))

        def factor(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            return max(0.0, 1 - (step - warm) / max(1, total_steps - warm)) ** 0.9

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if name == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    raise ValueError(f"unknown schedule {name!r}: use 'onecycle', 'poly' or 'constant'")


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, device: torch.device | str = "cpu",
            amp: bool = False) -> torch.Tensor:
    """``(N, H, W)`` int64 label maps (on the CPU) for ``(N, 3, H, W)`` images."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    with autocast(device, amp):
        logits = model(images.to(device))
    model.train(was_training)
    return logits.argmax(1).cpu()


@torch.no_grad()
def accumulate_confusion(model: nn.Module, loader: DataLoader, confusion_fn: ConfusionFn,
                         num_classes: int, *, device: torch.device | str = "cpu",
                         amp: bool = False, ignore_index: int = VOID,
                         progress: bool = True) -> tuple[np.ndarray, float]:
    """The confusion matrix summed over ``loader`` (an ``(K, K)`` int64 array, rows true) and the
    mean cross-entropy per labelled pixel; a transient tqdm bar unless ``progress`` is false.

    ``confusion_fn(pred, target, num_classes, ignore_index=...)`` gets ``(N, H, W)`` tensors on
    ``device`` and may return a tensor or an array.
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    total = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    loss_sum, pixels = 0.0, 0
    for images, targets in tqdm(loader, desc="validation", leave=False, disable=not progress):
        images, targets = images.to(device), targets.to(device)
        with autocast(device, amp):
            logits = model(images)
        logits = logits.float()
        loss_sum += nn.functional.cross_entropy(logits, targets, ignore_index=ignore_index,
                                                reduction="sum").item()
        pixels += int((targets != ignore_index).sum())
        conf = confusion_fn(logits.argmax(1), targets, num_classes, ignore_index=ignore_index)
        conf = conf.detach().cpu() if isinstance(conf, torch.Tensor) else torch.from_numpy(
            np.asarray(conf))
        total += conf.to(torch.int64)
    model.train(was_training)
    return total.numpy(), loss_sum / max(1, pixels)


def segmentation_evaluator(confusion_fn: ConfusionFn, metrics: Mapping[str, Callable[..., float]],
                           num_classes: int, *, device: torch.device | str = "cpu",
                           amp: bool = False, ignore_index: int = VOID,
                           progress: bool = True) -> EvaluateFn:
    """An ``evaluate_fn(model, loader) -> {"loss": ..., <name>: metric(confusion), ...}`` for
    :func:`fit_segmentation`, built from the given confusion-matrix and metric functions (with a
    validation progress bar unless ``progress`` is false)."""

    def evaluate(model: nn.Module, loader: DataLoader) -> dict[str, float]:
        conf, loss = accumulate_confusion(model, loader, confusion_fn, num_classes, device=device,
                                          amp=amp, ignore_index=ignore_index, progress=progress)
        return {"loss": loss, **{name: float(fn(conf)) for name, fn in metrics.items()}}

    return evaluate


def fit_segmentation(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader, *,
                     epochs: int, lr: float, evaluate_fn: EvaluateFn,
                     device: torch.device | str = "cpu", amp: bool = False,
                     optimizer: str = "adamw", weight_decay: float = 1e-4,
                     schedule: str = "onecycle", ignore_index: int = VOID,
                     checkpoint: Path | str | None = None, desc: str = "train",
                     progress: bool = True) -> dict[str, list[float]]:
    """Train ``model`` for ``epochs`` and validate after each; return the history.

    The history holds ``train_loss`` (mean over the epoch's steps), ``val_<name>`` for every
    number ``evaluate_fn`` returns, ``epoch_seconds`` (training only) and ``lr``. With
    ``checkpoint``, ``{"model": state_dict, "epoch", "history"}`` is written there after every
    epoch (atomically, so an interrupted run never leaves a half-written file).
    """
    device = torch.device(device)
    model.to(device)
    opt = make_optimizer(model, optimizer, lr, weight_decay)
    steps = epochs * len(train_loader)
    sched = make_schedule(opt, schedule, steps)
    fp16 = amp and device.type == "cuda" and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda", enabled=fp16)
    loss_fn = nn.CrossEntropyLoss(ignore_index=ignore_index)
    history: dict[str, list[float]] = {"train_loss": [], "epoch_seconds": [], "lr": []}
    bar = tqdm(total=steps, desc=desc, disable=not progress, leave=True)
    for epoch in range(1, epochs + 1):
        model.train()
        start, losses = time.perf_counter(), []
        for images, targets in train_loader:
            images = images.to(device, non_blocking=True)
            targets = targets.to(device, non_blocking=True)
            with autocast(device, amp):
                loss = loss_fn(model(images).float(), targets)
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"the loss became {loss.item()} at epoch {epoch}: "
                                         "lower the learning rate (budget 'lr')")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(epoch=f"{epoch}/{epochs}", loss=f"{losses[-1]:.3f}")
        if device.type == "cuda":
            torch.cuda.synchronize()
        history["epoch_seconds"].append(time.perf_counter() - start)
        history["train_loss"].append(float(np.mean(losses)))
        history["lr"].append(opt.param_groups[0]["lr"])
        for name, value in evaluate_fn(model, val_loader).items():
            history.setdefault(f"val_{name}", []).append(float(value))
        bar.set_postfix({"epoch": f"{epoch}/{epochs}", "train_loss": f"{history['train_loss'][-1]:.3f}",
                         **{k: f"{v[-1]:.3f}" for k, v in history.items() if k.startswith("val_")}})
        if checkpoint is not None:
            save_atomic({"model": model.state_dict(), "epoch": epoch, "history": history},
                         Path(checkpoint))
    bar.close()
    return history
