"""``labutils.setup()``: what a notebook's first cell calls."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from labutils.modes import Mode, budget, resolve_mode
from labutils.paths import data_root, in_colab

DEFAULT_SEED = 0


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device() -> torch.device:
    """CUDA when available, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass
class Lab:
    """Everything a notebook needs to know about where and how it runs."""

    notebook: str
    mode: Mode
    reason: str
    device: torch.device
    data_root: Path
    seed: int
    colab: bool
    budget: dict[str, Any] = field(default_factory=dict)

    @property
    def amp(self) -> bool:
        """Mixed precision: only on a CUDA GPU."""
        return self.device.type == "cuda"

    def limit_threads(self, n: int | None) -> None:
        """Train with ``n`` torch threads on a CPU (``None``: leave the setting as it is).

        A model of many small operations (a Mask R-CNN on 128 x 160 images) keeps two threads
        waiting on each other at every operation; on a busy 2-core machine they spin, and one
        thread trains several times faster. Does nothing on a GPU, or when the environment
        variable ``LAB_THREADS`` has already chosen.
        """
        if n is None or self.device.type != "cpu" or os.environ.get("LAB_THREADS"):
            return
        torch.set_num_threads(int(n))

    def summary(self) -> str:
        import torchvision

        where = "Google Colab" if self.colab else "local machine"
        device = str(self.device)
        if self.device.type == "cuda":
            device += f" ({torch.cuda.get_device_name(0)})"
        elif self.device.type == "cpu":
            device += f" ({torch.get_num_threads()} threads)"
        lines = [
            f"Lab 5 · {self.notebook}",
            f"  mode      : {self.mode}  ({self.reason})",
            f"  device    : {device}",
            f"  torch     : {torch.__version__}   torchvision: {torchvision.__version__}",
            f"  data root : {self.data_root}",
            f"  running in: {where}   seed: {self.seed}",
        ]
        return "\n".join(lines)


def setup(notebook: str, seed: int = DEFAULT_SEED, verbose: bool = True) -> Lab:
    """Seed everything, pick the device, resolve the run mode and data root; print one block.

    ``notebook`` is the notebook's file stem (``"02_unet_pascal_voc"``); it selects the budget.
    """
    choice = resolve_mode()
    seed_everything(seed)
    device = pick_device()
    if choice.mode == "grade":
        # Grading never touches the GPU nor a data root that another submission could see.
        device = torch.device("cpu")
    lab = Lab(
        notebook=notebook,
        mode=choice.mode,
        reason=choice.reason,
        device=device,
        data_root=data_root(),
        seed=seed,
        colab=in_colab(),
        budget=budget(notebook, choice.mode),
    )
    if os.environ.get("LAB_THREADS"):
        torch.set_num_threads(int(os.environ["LAB_THREADS"]))
    if verbose:
        print(lab.summary())
    return lab
