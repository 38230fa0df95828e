"""A table of the tensor shapes through a model's top-level blocks (e.g. down and up a U-Net)."""

from __future__ import annotations

import torch
from torch import nn


def _blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's children, with containers (ModuleList, Sequential) opened one level."""
    out = []
    for name, child in model.named_children():
        if isinstance(child, (nn.ModuleList, nn.Sequential)):
            out += [(f"{name}.{n}", c) for n, c in child.named_children()]
        else:
            out.append((name, child))
    return out


def shape_table(model: nn.Module, input_shape: tuple[int, ...], device: str = "meta") -> str:
    """Run ``model`` on zeros of ``input_shape`` and list each block's output shape in the order
    the blocks ran. On the ``meta`` device (the default) no arithmetic is done: only shapes."""
    model = model.to(device).eval()
    rows: list[tuple[str, str, tuple[int, ...]]] = []
    hooks = [
        block.register_forward_hook(
            lambda mod, args, out, name=name: rows.append((name, type(mod).__name__, tuple(out.shape))))
        for name, block in _blocks(model)
    ]
    try:
        with torch.no_grad():
            out = model(torch.zeros(input_shape, device=device))
    finally:
        for h in hooks:
            h.remove()
    lines = [f"{'step':>4}  {'block':12s} {'type':12s} {'output (C x H x W)':>22s}",
             f"{'':>4}  {'input':12s} {'':12s} {' x '.join(map(str, input_shape[1:])):>22s}"]
    for i, (name, kind, shape) in enumerate(rows, 1):
        lines.append(f"{i:>4}  {name:12s} {kind:12s} {' x '.join(map(str, shape[1:])):>22s}")
    lines.append(f"{'':>4}  {'output':12s} {'':12s} {' x '.join(map(str, tuple(out.shape)[1:])):>22s}")
    return "\n".join(lines)
